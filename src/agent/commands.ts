// The guest agent's commands as qkvm uses them: each with its own timeout (as
// Proxmox gives them: a freeze may take long, a query may not), and the pure
// decoding of what qemu-ga returns (base64 output, interface lists).
import { invalid } from '../errors.js';
import type { QgaClient } from './client.js';
import { AgentTimeoutError } from './errors.js';

/** Per-command timeouts (ms). */
export const AGENT_TIMEOUTS = {
  query: 10_000,
  fsfreeze: 60 * 60_000,
  fstrim: 10 * 60_000,
  setPassword: 30_000,
} as const;

export interface GuestInfoReply { version: string; supported_commands: { name: string; enabled: boolean; 'success-response': boolean }[] }
export interface GuestOsInfo { id?: string; name?: string; 'pretty-name'?: string; version?: string; 'version-id'?: string; 'kernel-release'?: string; 'kernel-version'?: string; machine?: string }
export interface GuestUser { user: string; 'login-time': number; domain?: string }
export interface GuestIpAddress { 'ip-address-type': 'ipv4' | 'ipv6'; 'ip-address': string; prefix: number }
export interface GuestInterface { name: string; 'hardware-address'?: string; 'ip-addresses'?: GuestIpAddress[]; statistics?: Record<string, number> }
export interface FstrimReply { paths: { path: string; trimmed?: number; minimum?: number; error?: string }[] }
export type FsfreezeStatus = 'thawed' | 'frozen';

export const ping = (qga: QgaClient) => qga.execute<Record<string, never>>('guest-ping', undefined, { timeoutMs: AGENT_TIMEOUTS.query });
export const agentInfo = (qga: QgaClient) => qga.execute<GuestInfoReply>('guest-info', undefined, { timeoutMs: AGENT_TIMEOUTS.query });
export const osInfo = (qga: QgaClient) => qga.execute<GuestOsInfo>('guest-get-osinfo', undefined, { timeoutMs: AGENT_TIMEOUTS.query });
export const users = (qga: QgaClient) => qga.execute<GuestUser[]>('guest-get-users', undefined, { timeoutMs: AGENT_TIMEOUTS.query });
export const interfaces = (qga: QgaClient) => qga.execute<GuestInterface[]>('guest-network-get-interfaces', undefined, { timeoutMs: AGENT_TIMEOUTS.query });
export const fsfreezeStatus = (qga: QgaClient) => qga.execute<FsfreezeStatus>('guest-fsfreeze-status', undefined, { timeoutMs: AGENT_TIMEOUTS.query });
/** Returns how many filesystems were frozen. */
export const fsfreeze = (qga: QgaClient) => qga.execute<number>('guest-fsfreeze-freeze', undefined, { timeoutMs: AGENT_TIMEOUTS.fsfreeze });
/** Returns how many filesystems were thawed. */
export const fsthaw = (qga: QgaClient) => qga.execute<number>('guest-fsfreeze-thaw', undefined, { timeoutMs: AGENT_TIMEOUTS.fsfreeze });
export const fstrim = (qga: QgaClient, minimum?: number) =>
  qga.execute<FstrimReply>('guest-fstrim', minimum === undefined ? undefined : { minimum }, { timeoutMs: AGENT_TIMEOUTS.fstrim });

export interface GuestTime { nanoseconds: number; iso: string; zone?: string; offsetSeconds?: number }

export async function guestTime(qga: QgaClient): Promise<GuestTime> {
  const ns = await qga.execute<number>('guest-get-time', undefined, { timeoutMs: AGENT_TIMEOUTS.query });
  const tz = await qga.execute<{ zone?: string; offset: number }>('guest-get-timezone', undefined, { timeoutMs: AGENT_TIMEOUTS.query }).catch(() => undefined);
  return { nanoseconds: ns, iso: new Date(Math.floor(ns / 1e6)).toISOString(), zone: tz?.zone, offsetSeconds: tz?.offset };
}

/** Asks qemu-ga to power the guest off; it answers only when it cannot. */
export const guestShutdown = (qga: QgaClient, mode: 'powerdown' | 'halt' | 'reboot' = 'powerdown') =>
  qga.execute<void>('guest-shutdown', { mode }, { noReply: { graceMs: 2000 } });

// Linux's own rule for user names (useradd's default), at most 32 characters.
const USER_RE = /^[a-z_][a-z0-9_.-]{0,30}\$?$/i;

export function validateUserName(user: string): string {
  if (!USER_RE.test(user)) throw invalid(`bad user name "${user}": it must be a Linux user name (letters, digits, _ . -; at most 32)`, 'for example: qkvm agent NAME set-user-password debian < password.txt');
  return user;
}

/** The arguments of guest-set-user-password: the password travels base64-encoded, never on a command line. */
export function passwordArgs(user: string, password: string): { username: string; password: string; crypted: false } {
  validateUserName(user);
  if (password.length === 0) throw invalid('empty password on stdin', 'pipe the password in: printf %s "$PW" | qkvm agent NAME set-user-password USER');
  if (/[\n\r\0]/.test(password)) throw invalid('the password on stdin holds a line break or a NUL byte', 'give one line; a single trailing newline is dropped');
  return { username: user, password: Buffer.from(password, 'utf8').toString('base64'), crypted: false };
}

/** A password as read from stdin: one trailing newline (echo's) is not part of it. */
export const passwordFromStdin = (text: string): string => text.replace(/\r?\n$/, '');

export async function setUserPassword(qga: QgaClient, user: string, password: string): Promise<void> {
  await qga.execute('guest-set-user-password', passwordArgs(user, password), { timeoutMs: AGENT_TIMEOUTS.setPassword });
}

export interface ExecStatus { exited: boolean; exitcode?: number; signal?: number; 'out-data'?: string; 'err-data'?: string; 'out-truncated'?: boolean; 'err-truncated'?: boolean }
export interface ExecResult { pid: number; exitCode?: number; signal?: number; stdout: Buffer; stderr: Buffer; truncated: boolean }

/** Decodes guest-exec-status once it exited: base64 output, the exit code or the killing signal. */
export function decodeExecStatus(pid: number, s: ExecStatus): ExecResult {
  return {
    pid,
    exitCode: s.exitcode,
    signal: s.signal,
    stdout: Buffer.from(s['out-data'] ?? '', 'base64'),
    stderr: Buffer.from(s['err-data'] ?? '', 'base64'),
    truncated: s['out-truncated'] === true || s['err-truncated'] === true,
  };
}

/** The exit status qkvm itself ends with: the command's, or 128+N for a signal, like a shell. */
export const execExitStatus = (r: ExecResult): number => (r.signal !== undefined ? 128 + r.signal : r.exitCode ?? 1);

export interface ExecOptions {
  /** Bytes fed to the command's stdin. */
  input?: Buffer;
  env?: string[];
  /** How long the command may run in the guest (default 5 min). */
  timeoutMs?: number;
}

/** guest-exec (argv, not a shell line), then guest-exec-status until it exits. */
export async function exec(qga: QgaClient, argv: string[], o: ExecOptions = {}): Promise<ExecResult> {
  if (argv.length === 0 || argv[0] === '') throw invalid('no command to run', 'for example: qkvm agent NAME exec -- cat /etc/hostname');
  const args: Record<string, unknown> = { path: argv[0], arg: argv.slice(1), 'capture-output': true };
  if (o.env?.length) args.env = o.env;
  if (o.input) args['input-data'] = o.input.toString('base64');
  const { pid } = await qga.execute<{ pid: number }>('guest-exec', args, { timeoutMs: AGENT_TIMEOUTS.query });
  const timeoutMs = o.timeoutMs ?? 5 * 60_000;
  const until = Date.now() + timeoutMs;
  // Short first polls for quick commands, then at most twice a second.
  for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
    const s = await qga.execute<ExecStatus>('guest-exec-status', { pid }, { timeoutMs: AGENT_TIMEOUTS.query });
    if (s.exited) return decodeExecStatus(pid, s);
    if (Date.now() + delay > until) throw new AgentTimeoutError(`guest-exec ${argv[0]} (pid ${pid} in the guest)`, timeoutMs);
    await new Promise((r) => setTimeout(r, delay));
  }
}

export interface AgentAddress { name: string; mac?: string; family: 'ipv4' | 'ipv6'; address: string; prefix: number }

/** The addresses of an interface list, loopback left out. */
export function agentAddresses(ifaces: GuestInterface[]): AgentAddress[] {
  const out: AgentAddress[] = [];
  for (const i of ifaces) {
    if (i.name === 'lo') continue;
    for (const a of i['ip-addresses'] ?? []) {
      out.push({ name: i.name, mac: i['hardware-address']?.toLowerCase(), family: a['ip-address-type'], address: a['ip-address'], prefix: a.prefix });
    }
  }
  return out;
}
