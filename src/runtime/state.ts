// A guest's state is derived, never stored: from its run directory and its QEMU
// process. The pidfile is trusted only while /proc/PID is that guest's QEMU, a
// zombie counts as dead, and stale files are cleaned by whoever notices first.
import { existsSync, readFileSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../config/paths.js';
import { ensureDir } from '../config/atomic.js';
import { readCmdline, readStat, processStartTime } from './proc.js';
import type { VmSpec } from '../config/schema.js';
import { acquireLock } from '../config/lock.js';
import { stateSocket } from './qmp.js';
import { QmpClient } from '../qmp/index.js';
import { QkvmError } from '../errors.js';

export type GuestState = 'running' | 'paused' | 'shut off' | 'crashed' | 'starting' | 'incoming' | 'shutting down';

export interface GuestStatus {
  name: string;
  state: GuestState;
  pid?: number;
  /** QEMU's own run state (query-status), e.g. "prelaunch", "postmigrate". */
  qemuStatus?: string;
  /** Why: a crash, an interrupted start, a QMP timeout. */
  reason?: string;
}

export const runFiles = {
  /** Present while a `start` is under way: { pid, start } of the qkvm doing it. */
  starting: (name: string) => join(run.vmDir(name), 'starting'),
  /** Left when QEMU died without a clean exit; cleared by start or destroy. */
  crashed: (name: string) => join(run.vmDir(name), 'crashed'),
};

/** The definition the running QEMU was started from (the file in vms/ may have been edited since). */
export function startedSpec(name: string): (VmSpec & { _nics?: { tap?: string; mac: string }[] }) | undefined {
  try { return JSON.parse(readFileSync(run.startedSpec(name), 'utf8')); } catch { return undefined; }
}

function readPid(name: string): number | undefined {
  try {
    const n = parseInt(readFileSync(run.pidFile(name), 'utf8').trim(), 10);
    return Number.isInteger(n) && n > 0 ? n : undefined;
  } catch { return undefined; }
}

/** The guest's QEMU pid, only if that process is alive and really is this guest's QEMU. */
export function qemuPid(name: string): number | undefined {
  const pid = readPid(name);
  if (!pid) return undefined;
  const st = readStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return undefined;
  const argv = readCmdline(pid);
  // PIDs get reused: it must be a QEMU whose QMP socket is this guest's.
  if (!argv || !argv.some((a) => a.includes(run.qmpSocket(name)))) return undefined;
  return pid;
}

function starterAlive(name: string): boolean | undefined {
  try {
    const s = JSON.parse(readFileSync(runFiles.starting(name), 'utf8'));
    return processStartTime(s.pid) === s.start;
  } catch { return undefined; }
}

/**
 * Removes what a stopped QEMU left: sockets, pidfile, taps; keeps the logs for a
 * post-mortem. `crashed` leaves a marker so `list` keeps saying so until the next start.
 */
export async function cleanupRunDir(name: string, opts: { crashed?: string; all?: boolean } = {}): Promise<void> {
  const spec = startedSpec(name);
  // Loaded on demand: networking pulls in execa and zod, which `qkvm list` should not pay for.
  if (spec) await (await import('../net/guest.js')).releaseGuestNetworking(name, spec).catch(() => undefined);
  const dir = run.vmDir(name);
  if (opts.all) {
    rmSync(dir, { recursive: true, force: true });
    return;
  }
  let entries: string[] = [];
  try { entries = readdirSync(dir); } catch { return; }
  for (const f of entries) {
    if (f === 'qemu.log' || f === 'serial.log' || f === 'crashed') continue;
    try { unlinkSync(join(dir, f)); } catch { /* raced */ }
  }
  if (opts.crashed) {
    ensureDir(dir);
    writeFileSync(runFiles.crashed(name), `${new Date().toISOString()} ${opts.crashed}\n`);
  }
}

const QEMU_STATUS: Record<string, GuestState> = {
  running: 'running', paused: 'paused', prelaunch: 'paused', suspended: 'paused', debug: 'paused',
  postmigrate: 'paused', 'finish-migrate': 'paused', 'save-vm': 'paused', 'restore-vm': 'paused',
  'io-error': 'paused', 'internal-error': 'paused', 'colo': 'running', watchdog: 'paused',
  inmigrate: 'incoming', shutdown: 'shutting down', 'guest-panicked': 'crashed',
};

async function queryStatus(name: string, timeoutMs: number): Promise<string | undefined> {
  const qmp = new QmpClient();
  try {
    await qmp.connect(stateSocket(name), { timeoutMs });
    const r = await qmp.execute<{ status: string }>('query-status', {}, { timeoutMs });
    return r.status;
  } catch {
    return undefined;
  } finally {
    await qmp.close().catch(() => undefined);
  }
}

/** Tries to take the guest's lock for a cleanup; a busy guest is left alone. */
async function tryCleanup(name: string, fn: () => Promise<void>): Promise<void> {
  let lock;
  try { lock = await acquireLock('vm', name, 'cleaning up after a stopped QEMU'); } catch { return; }
  try { await fn(); } finally { lock.release(); }
}

/** Derives the state; as a side effect, cleans what a dead QEMU or an interrupted start left behind. */
export async function guestStatus(name: string, opts: { query?: boolean } = {}): Promise<GuestStatus> {
  const dir = run.vmDir(name);
  if (!existsSync(dir)) return { name, state: 'shut off' };
  const starter = starterAlive(name);
  const pid = qemuPid(name);
  if (starter) return { name, state: 'starting', pid };
  if (starter === false) {
    // qkvm died in the middle of a start: whatever it launched is half-configured.
    await tryCleanup(name, async () => {
      const p = qemuPid(name);
      if (p) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
      await waitGone(p, 5000);
      await cleanupRunDir(name, { all: true });
    });
    return { name, state: 'shut off', reason: 'an interrupted start was cleaned up' };
  }
  if (pid) {
    if (opts.query === false) return { name, state: 'running', pid };
    const qs = await queryStatus(name, 2000);
    if (!qs) return { name, state: 'running', pid, reason: 'QMP did not answer' };
    return { name, state: QEMU_STATUS[qs] ?? 'running', pid, qemuStatus: qs };
  }
  if (existsSync(run.pidFile(name))) {
    // The pidfile outlived its QEMU: QEMU removes it on every clean exit, so this was a crash or a kill -9.
    await tryCleanup(name, () => cleanupRunDir(name, { crashed: 'QEMU died without a clean exit' }));
    return { name, state: 'crashed', reason: 'QEMU died without a clean exit' };
  }
  if (existsSync(runFiles.crashed(name))) {
    const text = readFileSync(runFiles.crashed(name), 'utf8').trim();
    return { name, state: 'crashed', reason: text.replace(/^\S+\s/, '') };
  }
  if (existsSync(run.qmpSocket(name)) || existsSync(run.startedSpec(name))) {
    await tryCleanup(name, () => cleanupRunDir(name));
  }
  return { name, state: 'shut off' };
}

export const isActive = (s: GuestState) => s !== 'shut off' && s !== 'crashed';

/**
 * The status of a guest that has a live QEMU, or a STATE error that says so and
 * what to do. `query: false` skips QMP when only liveness matters.
 */
export async function requireActive(name: string, opts: { query?: boolean; hint?: string } = {}): Promise<GuestStatus & { pid: number }> {
  const st = await guestStatus(name, { query: opts.query });
  if (!isActive(st.state) || !st.pid) {
    throw new QkvmError('STATE', `guest "${name}" is not running (${st.state})`, { hint: opts.hint ?? `start it with \`qkvm start ${name}\`` });
  }
  return st as GuestStatus & { pid: number };
}

/** Waits until pid is gone or a zombie (PID 1 reaps late here: never kill -0). */
export async function waitGone(pid: number | undefined, timeoutMs: number): Promise<boolean> {
  if (!pid) return true;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const st = readStat(pid);
    if (!st || st.state === 'Z' || st.state === 'X') return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}
