// The guest agent's errors. Each is a QkvmError (the CLI prints its message and
// hint) with a stable agentCode, so callers such as shutdown and snapshots can
// tell "no agent here" from "the agent said no".
import { QkvmError, type QkvmErrorCode } from '../errors.js';

export type AgentErrorCode =
  | 'AGENT_NOT_WIRED'      // the guest has no agent channel (definition field `agent`), or no socket
  | 'AGENT_NOT_ANSWERING'  // the channel exists, nobody answered guest-sync (booting, no qemu-ga, or another client)
  | 'AGENT_TIMEOUT'        // synced, but this command got no reply in time
  | 'AGENT_COMMAND'        // qemu-ga answered with an error
  | 'AGENT_PROTOCOL'       // the peer broke the protocol (malformed reply), or the connection dropped
  | 'AGENT_CLOSED';        // the client was closed

const QKVM_CODE: Record<AgentErrorCode, QkvmErrorCode> = {
  AGENT_NOT_WIRED: 'STATE',
  AGENT_NOT_ANSWERING: 'TIMEOUT',
  AGENT_TIMEOUT: 'TIMEOUT',
  AGENT_COMMAND: 'QEMU',
  AGENT_PROTOCOL: 'QEMU',
  AGENT_CLOSED: 'STATE',
};

export class AgentError extends QkvmError {
  readonly agentCode: AgentErrorCode;

  constructor(agentCode: AgentErrorCode, message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(QKVM_CODE[agentCode], message, opts);
    this.name = 'AgentError';
    this.agentCode = agentCode;
  }
}

export class AgentNotWiredError extends AgentError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super('AGENT_NOT_WIRED', message, opts);
    this.name = 'AgentNotWiredError';
  }
}

export class AgentNotAnsweringError extends AgentError {
  readonly timeoutMs: number;

  constructor(message: string, timeoutMs: number, opts: { hint?: string; cause?: unknown } = {}) {
    super('AGENT_NOT_ANSWERING', message, opts);
    this.name = 'AgentNotAnsweringError';
    this.timeoutMs = timeoutMs;
  }
}

export class AgentTimeoutError extends AgentError {
  readonly command: string;
  readonly timeoutMs: number;

  constructor(command: string, timeoutMs: number) {
    super('AGENT_TIMEOUT', `guest agent: ${command} got no reply within ${formatMs(timeoutMs)}`, {
      hint: 'the command may still be running in the guest',
    });
    this.name = 'AgentTimeoutError';
    this.command = command;
    this.timeoutMs = timeoutMs;
  }
}

export class AgentCommandError extends AgentError {
  readonly command: string;
  /** qemu-ga's error class, e.g. "GenericError", "CommandNotFound". */
  readonly errorClass: string;
  readonly desc: string;

  constructor(command: string, errorClass: string, desc: string) {
    super('AGENT_COMMAND', `guest agent: ${command}: ${desc} (${errorClass})`, {
      hint: /frozen state/i.test(desc)
        ? 'the guest\'s filesystems are frozen, and qemu-ga refuses most commands until they are thawed: `qkvm agent NAME fsfreeze thaw`'
        : errorClass === 'CommandNotFound' || /has been disabled|not supported/i.test(desc)
          ? 'this qemu-ga does not offer it: `qkvm agent NAME info` lists what it supports'
          : undefined,
    });
    this.name = 'AgentCommandError';
    this.command = command;
    this.errorClass = errorClass;
    this.desc = desc;
  }
}

export const isAgentError = (e: unknown, ...codes: AgentErrorCode[]): e is AgentError =>
  e instanceof AgentError && (codes.length === 0 || codes.includes(e.agentCode));

export function formatMs(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}
