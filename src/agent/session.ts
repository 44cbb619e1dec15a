// A guest's agent channel, found the qkvm way: the guest must run, and must have
// been started with `agent: true` (the definition it runs, not the one on disk).
import { run } from '../config/paths.js';
import { isActive, guestStatus, notRunningError, startedSpec } from '../runtime/state.js';
import { QkvmError } from '../errors.js';
import { QgaClient, type QgaClientOptions } from './client.js';
import { AgentError, AgentNotWiredError } from './errors.js';

export interface AgentSessionOptions extends QgaClientOptions {}

const wireHint = (name: string) =>
  `set \`agent: true\` in the definition (qkvm edit ${name}), restart the guest, and install qemu-guest-agent inside it`;

/** Opens the guest's agent socket. The first command syncs; nothing is sent here. */
export async function connectAgent(name: string, opts: AgentSessionOptions = {}): Promise<QgaClient> {
  const st = await guestStatus(name, { query: false });
  if (!isActive(st.state)) {
    throw notRunningError(name, st.state, `start it with \`qkvm start ${name}\``);
  }
  if (startedSpec(name)?.agent !== true) {
    throw new AgentNotWiredError(`guest "${name}" has no guest agent channel (it was started without \`agent: true\`)`, { hint: wireHint(name) });
  }
  const path = run.agentSocket(name);
  try {
    return await QgaClient.connect(path, opts);
  } catch (e: any) {
    if (e?.code === 'ENOENT' || e?.code === 'ECONNREFUSED') {
      throw new AgentNotWiredError(`guest "${name}": no guest agent socket at ${path} (${e.code})`, { hint: wireHint(name), cause: e });
    }
    throw new AgentError('AGENT_PROTOCOL', `guest "${name}": cannot open ${path}: ${e?.message ?? e}`, { cause: e });
  }
}

/** Runs fn with a connected client and always closes it. */
export async function withAgent<T>(name: string, fn: (qga: QgaClient) => Promise<T>, opts: AgentSessionOptions = {}): Promise<T> {
  const qga = await connectAgent(name, opts);
  try {
    return await fn(qga);
  } finally {
    qga.close();
  }
}

export type AgentAnswer = 'answers' | 'not wired' | 'not answering' | 'not running';

/**
 * Does the agent answer guest-sync within timeoutMs? Read-only (sync changes
 * nothing in the guest) and never throws: info and the fallbacks ask this.
 */
export async function agentAnswers(name: string, timeoutMs = 1000): Promise<AgentAnswer> {
  try {
    await withAgent(name, (qga) => qga.sync(timeoutMs), { syncTimeoutMs: timeoutMs });
    return 'answers';
  } catch (e) {
    if (e instanceof AgentNotWiredError) return 'not wired';
    if (e instanceof QkvmError && e.code === 'STATE' && !(e instanceof AgentError)) return 'not running';
    return 'not answering';
  }
}
