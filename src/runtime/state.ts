// A guest's state is derived, never stored, and deriving it only reads: no
// kill, no unlink, no write, no lock. `list`, `info`, `domstate` and every
// `requireActive` stand on this; repairing what a crash left is recover.ts's job,
// under the guest's lock.
//
// Process identity never rests on the pidfile's content:
// - liveness: the kernel's witness. QEMU holds a POSIX write lock on its own
//   -pidfile for its whole life; /proc/locks names the holder by the file's
//   device and inode, whatever is later written into the file;
// - ownership: the holder must be a qemu-system process one of whose argv
//   elements carries this guest's QMP socket as a whole option field
//   (`unix:PATH` or `path=PATH`), not as a substring of something else;
// - without a witness (pidfile deleted), a scan of qemu-system processes for that
//   exact argv field still finds a live QEMU, so `start` never runs a second one.
//   (Not when the whole run directory is gone: its sockets are gone with it.)
import { lstatSync, readFileSync, readdirSync, readlinkSync, type Stats } from 'node:fs';
import { basename, join } from 'node:path';
import { run } from '../config/paths.js';
import { NAME_RE } from '../config/name.js';
import type { VmSpec } from '../config/schema.js';
import { QmpClient } from '../qmp/index.js';
import { QkvmError, notFound } from '../errors.js';
import { notDefinedHint, vmExists } from '../config/store.js';

export type GuestState = 'running' | 'paused' | 'shut off' | 'crashed' | 'starting' | 'incoming' | 'shutting down' | 'needs recovery';

export interface GuestStatus {
  name: string;
  state: GuestState;
  pid?: number;
  /** QEMU's own run state (query-status), e.g. "prelaunch", "postmigrate". */
  qemuStatus?: string;
  /** Why: a crash, an interrupted start, a QMP timeout, a run directory qkvm will not touch. */
  reason?: string;
}

/** Names under QKVM_RUN that are qkvm's own subtrees, never a guest's (old-layout) directory. */
export const RESERVED_RUN_NAMES = ['vms', 'net', 'taps', 'pools', 'locks'];

/**
 * Where a guest's run files are. The layout moved from QKVM_RUN/NAME to
 * QKVM_RUN/vms/NAME; a QEMU started before that still has the old socket paths in
 * its argv, so an old directory is found here until recover.ts moves it.
 */
export interface RunDir { dir: string; legacy: boolean }

export function legacyDir(name: string): string | undefined {
  if (RESERVED_RUN_NAMES.includes(name)) return undefined;
  return join(run.root(), name);
}

function lstatOr(p: string): Stats | undefined {
  try { return lstatSync(p); } catch { return undefined; }
}

/** An old-layout guest directory: a real directory holding a file only a guest's run dir has. */
export function isLegacyGuestDir(name: string): boolean {
  const dir = legacyDir(name);
  if (!dir || !lstatOr(dir)?.isDirectory()) return false;
  return ['qemu.pid', 'qmp.sock', 'spec.json', 'starting', 'crashed'].some((f) => lstatOr(join(dir, f)) !== undefined);
}

export function runDirOf(name: string): RunDir {
  const dir = run.vmDir(name);
  if (lstatOr(dir) === undefined && isLegacyGuestDir(name)) return { dir: legacyDir(name)!, legacy: true };
  return { dir, legacy: false };
}

/**
 * What is wrong with a run directory, or undefined if it is one qkvm made: a real
 * directory (lstat: a symlink is refused, never followed), owned by this user,
 * not writable by group or others.
 */
export function runDirProblem(dir: string): string | undefined {
  const st = lstatOr(dir);
  if (!st) return undefined;
  if (st.isSymbolicLink()) return `its run directory ${dir} is a symbolic link`;
  if (!st.isDirectory()) return `its run directory ${dir} is not a directory`;
  const uid = process.getuid?.() ?? 0;
  if (st.uid !== uid) return `its run directory ${dir} is owned by uid ${st.uid}, not ${uid}`;
  if (st.mode & 0o022) return `its run directory ${dir} is writable by group or others (mode ${(st.mode & 0o777).toString(8)})`;
  return undefined;
}

export const runFiles = {
  /** Present while a `start` is under way: { pid, start } of the qkvm doing it. */
  starting: (name: string) => join(runDirOf(name).dir, 'starting'),
  /** Written by recovery when QEMU died without a clean exit; cleared by start or destroy. */
  crashed: (name: string) => join(runDirOf(name).dir, 'crashed'),
};

/** The definition the running QEMU was started from (the file in vms/ may have been edited since). */
export function startedSpec(name: string): (VmSpec & { _nics?: { tap?: string; mac: string }[] }) | undefined {
  const { dir } = runDirOf(name);
  if (runDirProblem(dir)) return undefined;
  try { return JSON.parse(readFileSync(join(dir, 'spec.json'), 'utf8')); } catch { return undefined; }
}

// ---- process identity -------------------------------------------------------

function procState(pid: number): string | undefined {
  let text: string;
  try { text = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { return undefined; }
  return text.slice(text.lastIndexOf(')') + 2, text.lastIndexOf(')') + 3);
}

/** Alive means: exists and is not a zombie (PID 1 reaps late here: never kill -0). */
export function pidAlive(pid: number): boolean {
  const s = procState(pid);
  return s !== undefined && s !== 'Z' && s !== 'X';
}

function cmdline(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((x, i, a) => !(i === a.length - 1 && x === ''));
  } catch { return undefined; }
}

/** True if some argv element carries `sock` as a whole QEMU option field: `unix:SOCK` or `path=SOCK`. */
export function argvHasSocket(argv: string[], sock: string): boolean {
  return argv.some((el) => el.split(',').some((f) => f === `unix:${sock}` || f === `path=${sock}`));
}

/** A qemu-system-* binary, by argv[0]'s base name. */
export function isQemuArgv(argv: string[]): boolean {
  return argv.length > 0 && basename(argv[0]).startsWith('qemu-system-');
}

/** The executable's base name ("qemu-system-x86_64"; " (deleted)" after an upgrade is kept). */
function exeName(pid: number): string {
  try { return basename(readlinkSync(`/proc/${pid}/exe`)); } catch { return ''; }
}

/**
 * This process is a QEMU started for the QMP socket `sock`: the exact-argv half
 * of identity. Its executable must be a qemu-system binary too, so a renamed
 * argv[0] or a symlink named qemu-system-* to another program does not pass.
 */
export function isQemuFor(pid: number, sock: string): boolean {
  const argv = cmdline(pid);
  return !!argv && isQemuArgv(argv) && argvHasSocket(argv, sock) && exeName(pid).startsWith('qemu-system-') && pidAlive(pid);
}

/** Device numbers as /proc/locks prints them: major and minor in hex. */
export function devId(dev: number): string {
  const major = Math.floor(dev / 256) & 0xfff;
  const minor = (dev & 0xff) | (Math.floor(dev / 4096) & ~0xff);
  return `${major.toString(16).padStart(2, '0')}:${minor.toString(16).padStart(2, '0')}`;
}

/** Pids holding a POSIX write lock on the file with this device and inode (the kernel's witness). */
export function posixLockHolders(dev: number, ino: number, locksText?: string): number[] {
  let text = locksText;
  if (text === undefined) { try { text = readFileSync('/proc/locks', 'utf8'); } catch { return []; } }
  const want = `${devId(dev)}:${ino}`;
  const out: number[] = [];
  for (const line of text.split('\n')) {
    // "1: POSIX  ADVISORY  WRITE 11201 fe:00:2146936 0 EOF"; a blocked waiter's line has "->" first.
    const f = line.trim().split(/\s+/);
    if (f[1] !== 'POSIX' || f[3] !== 'WRITE') continue;
    if (f[5] === want) out.push(Number(f[4]));
  }
  return out;
}

/** The pid whose POSIX lock on the pidfile witnesses that QEMU lives; never read from the file's content. */
export function witnessPid(pidFile: string, locksText?: string): number | undefined {
  const st = lstatOr(pidFile);
  if (!st?.isFile()) return undefined;
  return posixLockHolders(st.dev, st.ino, locksText)[0];
}

/** /proc/locks as one text, read once for a whole `list`; undefined when unreadable. */
export function readLocks(): string | undefined {
  try { return readFileSync('/proc/locks', 'utf8'); } catch { return undefined; }
}

// One pass over /proc serves every guest of a `list`; liveness is rechecked fresh on each use.
let table: { at: number; procs: { pid: number; argv: string[] }[] } | undefined;

/** qemu-system processes (by argv[0] and executable, not comm: -name process= changes comm) and their argv. */
export function qemuProcesses(maxAgeMs = 200): { pid: number; argv: string[] }[] {
  if (table && Date.now() - table.at <= maxAgeMs) return table.procs;
  const procs: { pid: number; argv: string[] }[] = [];
  let pids: string[] = [];
  try { pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d)); } catch { /* no /proc */ }
  for (const d of pids) {
    const argv = cmdline(Number(d));
    if (argv && isQemuArgv(argv) && exeName(Number(d)).startsWith('qemu-system-')) procs.push({ pid: Number(d), argv });
  }
  table = { at: Date.now(), procs };
  return procs;
}

/** Live qemu-system processes whose argv carries this socket exactly (the fallback when the pidfile is gone). */
export function scanQemuFor(sock: string): number[] {
  return qemuProcesses().filter((p) => argvHasSocket(p.argv, sock) && pidAlive(p.pid)).map((p) => p.pid);
}

export interface Identity { pid: number; by: 'witness' | 'argv' }

/** The guest's QEMU, proven: the witness's pid confirmed by argv, else an exact argv match. */
export function qemuIdentity(name: string, locksText?: string): Identity | undefined {
  const { dir } = runDirOf(name);
  const sock = join(dir, 'qmp.sock');
  if (!runDirProblem(dir)) {
    const w = witnessPid(join(dir, 'qemu.pid'), locksText);
    if (w !== undefined && isQemuFor(w, sock)) return { pid: w, by: 'witness' };
  }
  // No run directory, no sockets: nothing to scan for (and a plain `list` stays fast).
  if (!lstatOr(dir)) return undefined;
  const [pid] = scanQemuFor(sock);
  return pid === undefined ? undefined : { pid, by: 'argv' };
}

/** The guest's QEMU pid, only if that process is alive and proven to be this guest's QEMU. */
export function qemuPid(name: string): number | undefined {
  return qemuIdentity(name)?.pid;
}

function starterAlive(dir: string): boolean | undefined {
  let s: { pid?: unknown; start?: unknown };
  try { s = JSON.parse(readFileSync(join(dir, 'starting'), 'utf8')); } catch { return lstatOr(join(dir, 'starting')) ? false : undefined; }
  if (!Number.isInteger(s.pid) || (s.pid as number) <= 0) return false;
  let text: string;
  try { text = readFileSync(`/proc/${s.pid}/stat`, 'utf8'); } catch { return false; }
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return f[0] !== 'Z' && f[0] !== 'X' && Number(f[19]) === s.start;
}

// ---- the derived state ------------------------------------------------------

const QEMU_STATUS: Record<string, GuestState> = {
  running: 'running', paused: 'paused', prelaunch: 'paused', suspended: 'paused', debug: 'paused',
  postmigrate: 'paused', 'finish-migrate': 'paused', 'save-vm': 'paused', 'restore-vm': 'paused',
  'io-error': 'paused', 'internal-error': 'paused', 'colo': 'running', watchdog: 'paused',
  inmigrate: 'incoming', shutdown: 'shutting down', 'guest-panicked': 'crashed',
};

async function queryStatus(sock: string, timeoutMs: number): Promise<string | undefined> {
  const qmp = new QmpClient();
  try {
    await qmp.connect(sock, { timeoutMs });
    const r = await qmp.execute<{ status: string }>('query-status', {}, { timeoutMs });
    return r.status;
  } catch {
    return undefined;
  } finally {
    await qmp.close().catch(() => undefined);
  }
}

const RECOVER = (name: string) => `\`qkvm recover ${name}\` (or start/destroy) clears it`;

/**
 * Derives the state from the run directory and /proc. Reads only. `locks` is
 * /proc/locks read once by a caller that asks about many guests (`list`): a
 * witness it names is still confirmed fresh in /proc/PID.
 */
export async function guestStatus(name: string, opts: { query?: boolean; locks?: string } = {}): Promise<GuestStatus> {
  const { dir, legacy } = runDirOf(name);
  const id = qemuIdentity(name, opts.locks);
  const pid = id?.pid;
  const problem = runDirProblem(dir);
  if (problem) {
    // Nothing in it is read: it may point anywhere. A live QEMU found by argv still counts.
    if (pid) return { name, state: 'running', pid, reason: `${problem}; qkvm will not touch it` };
    return { name, state: 'needs recovery', reason: `${problem}; qkvm will not touch it: remove it by hand if qkvm did not make it` };
  }
  if (!lstatOr(dir)) return pid ? { name, state: 'running', pid, reason: 'its run directory is gone' } : { name, state: 'shut off' };
  const starter = starterAlive(dir);
  if (starter) return { name, state: 'starting', pid };
  if (starter === false) {
    return { name, state: 'needs recovery', pid, reason: `an interrupted start${pid ? ` left QEMU pid ${pid} half set up` : ''}; ${RECOVER(name)}` };
  }
  if (pid) {
    const note = legacy ? `started by an older qkvm: its run files are in ${dir}` : undefined;
    if (opts.query === false || legacy) return { name, state: 'running', pid, ...(note ? { reason: note } : {}) };
    const qs = await queryStatus(join(dir, 'qmp-state.sock'), 2000);
    if (!qs) return { name, state: 'running', pid, reason: 'QMP did not answer' };
    return { name, state: QEMU_STATUS[qs] ?? 'running', pid, qemuStatus: qs };
  }
  if (lstatOr(join(dir, 'qemu.pid'))) {
    // QEMU removes its pidfile on every clean exit: this was a crash or a kill -9.
    return { name, state: 'crashed', reason: `QEMU died without a clean exit; its files are left in ${dir}; ${RECOVER(name)}` };
  }
  const crashed = lstatOr(join(dir, 'crashed'));
  if (crashed?.isFile()) {
    let text = '';
    try { text = readFileSync(join(dir, 'crashed'), 'utf8').trim(); } catch { /* unreadable: still a crash */ }
    return { name, state: 'crashed', reason: text.replace(/^\S+\s/, '') || 'QEMU died without a clean exit' };
  }
  return { name, state: 'shut off' };
}

export const isActive = (s: GuestState) => s !== 'shut off' && s !== 'crashed' && s !== 'needs recovery';

/**
 * The error for a command that needs a running guest and found none: a name
 * that is not defined says so (not "shut off", which is what its missing run
 * directory alone would look like).
 */
export function notRunningError(name: string, state: GuestState, hint?: string): QkvmError {
  if (state === 'shut off' && !vmExists(name)) return notFound(`guest "${name}" is not defined`, notDefinedHint(name));
  return new QkvmError('STATE', `guest "${name}" is not running (${state})`, hint ? { hint } : {});
}

/**
 * The status of a guest that has a live QEMU, or a STATE error that says so and
 * what to do. `query: false` skips QMP when only liveness matters.
 */
export async function requireActive(name: string, opts: { query?: boolean; hint?: string } = {}): Promise<GuestStatus & { pid: number }> {
  const st = await guestStatus(name, { query: opts.query });
  if (!isActive(st.state) || !st.pid) {
    const hint = st.state === 'needs recovery' ? st.reason : opts.hint ?? `start it with \`qkvm start ${name}\``;
    throw notRunningError(name, st.state, hint);
  }
  return st as GuestStatus & { pid: number };
}

/** Waits until pid is gone or a zombie (PID 1 reaps late here: never kill -0). */
export async function waitGone(pid: number | undefined, timeoutMs: number): Promise<boolean> {
  if (!pid) return true;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (!pidAlive(pid)) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Guests with run files, by their run directories (new layout and old): names only, nothing opened. */
export function runGuestNames(): string[] {
  const names = new Set<string>();
  const marks = ['qemu.pid', 'spec.json', 'starting', 'crashed', 'qmp.sock'];
  // Outside the try: a refused QKVM_RUN (symlink, foreign owner) must be reported, not read as empty.
  const vms = run.vmsDir();
  try {
    for (const d of readdirSync(vms)) {
      if (!NAME_RE.test(d)) continue;
      const dir = join(vms, d);
      const st = lstatOr(dir);
      // A symlinked run dir is listed, so that its problem is seen.
      if (st?.isSymbolicLink() || (st?.isDirectory() && marks.some((f) => lstatOr(join(dir, f))))) names.add(d);
    }
  } catch { /* none */ }
  try {
    for (const d of readdirSync(run.root())) if (NAME_RE.test(d) && isLegacyGuestDir(d)) names.add(d);
  } catch { /* none */ }
  return [...names];
}
