// Recovery: the one place that repairs what a crash, a kill -9 or an interrupted
// start left in a guest's run directory. It runs under the guest's lock, taken by
// the commands that change state (start, destroy, shutdown, undefine, restore)
// and by `qkvm recover NAME`; reading state (state.ts) never does it.
//
// It acts only on what qkvm made: the run directory is lstat'ed (a symlink, a
// foreign owner or a loose mode is refused, never followed), entries are removed
// with unlink (which never follows a link), and it kills only a process proven
// to be this guest's QEMU (state.ts: witness + exact argv).
import { lstatSync, mkdirSync, readdirSync, renameSync, rmdirSync, unlinkSync, writeFileSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import { run } from '../config/paths.js';
import { acquireLock, runDirError } from '../config/lock.js';
import { QkvmError } from '../errors.js';
import {
  guestStatus, isLegacyGuestDir, legacyDir, qemuIdentity, runDirOf, runDirProblem, startedSpec, waitGone, type GuestStatus, type RunDir,
} from './state.js';

export interface RecoverResult {
  name: string;
  /** What recovery did, one line each (empty: nothing to do). */
  actions: string[];
  status: GuestStatus;
}

function lstatOr(p: string): Stats | undefined {
  try { return lstatSync(p); } catch { return undefined; }
}

/** Throws unless dir is absent or a directory qkvm made (see runDirProblem). */
export function assertOwnDir(dir: string, name?: string): void {
  const problem = runDirProblem(dir);
  if (problem) {
    throw new QkvmError('STATE', `${name ? `guest "${name}": ` : ''}${problem}: qkvm will not touch it`, {
      hint: `qkvm made none of that; look at it, and remove it by hand (\`rm ${dir}\`) if it is not needed`,
    });
  }
}

/** Files recovery keeps for a post-mortem unless asked for a clean slate. */
const KEEP = new Set(['qemu.log', 'serial.log', 'crashed']);

/**
 * Removes what a stopped QEMU left: its taps and tap files, then the run files;
 * the logs stay for a post-mortem unless `all`. `crashed` leaves a marker so the
 * state stays "crashed" until the next start or destroy. Only after QEMU is gone.
 */
export async function cleanupRunDir(name: string, opts: { crashed?: string; all?: boolean; at?: RunDir } = {}): Promise<string[]> {
  // `at`: where the QEMU ran, taken while it lived (its exit removes what marks an old-layout dir).
  const { dir, legacy } = opts.at ?? runDirOf(name);
  assertOwnDir(dir, name);
  const done: string[] = [];
  const spec = startedSpec(name);
  if (spec) {
    // Loaded on demand: networking pulls in execa and zod.
    await (await import('../net/guest.js')).releaseGuestNetworking(name, spec).catch(() => undefined);
    if (spec._nics?.some((n) => n.tap)) done.push('released its taps');
  }
  let entries: string[] = [];
  try { entries = readdirSync(dir); } catch { return done; }
  for (const f of entries) {
    if (!opts.all && KEEP.has(f)) continue;
    // Subdirectories are not qkvm's: left alone. unlink removes a link, never its target.
    if (lstatOr(join(dir, f))?.isDirectory()) continue;
    try { unlinkSync(join(dir, f)); } catch { /* raced */ }
  }
  if (entries.length) done.push(`removed the run files in ${dir}`);
  let now = dir;
  if (opts.all || legacy) {
    try { rmdirSync(dir); now = run.vmDir(name); } catch { /* not empty (logs, or a subdirectory of someone else's) or gone */ }
  }
  if (legacy && now === dir) {
    // Its QEMU is gone, so the old layout's last user is: what is left (the logs) moves to the new place.
    migrateLegacy(name, done, { emptied: true, from: dir });
    now = run.vmDir(name);
  }
  if (opts.crashed) {
    try {
      mkdirSync(now, { recursive: true, mode: 0o700 });
      writeFileSync(join(now, 'crashed'), `${new Date().toISOString()} ${opts.crashed}\n`, { mode: 0o600 });
    } catch (e) { throw runDirError(e, now); }
  }
  return done;
}

/**
 * Moves an old-layout QKVM_RUN/NAME to QKVM_RUN/vms/NAME once its QEMU is gone.
 * A live one keeps its directory: its sockets' paths are in its argv.
 */
function migrateLegacy(name: string, actions: string[], opts: { emptied?: boolean; from?: string } = {}): void {
  const old = opts.from ?? legacyDir(name);
  if (!old || lstatOr(run.vmDir(name)) || !(opts.emptied ? lstatOr(old)?.isDirectory() : isLegacyGuestDir(name))) return;
  if (qemuIdentity(name)) return;
  assertOwnDir(old, name);
  try {
    mkdirSync(run.vmsDir(), { recursive: true, mode: 0o700 });
    renameSync(old, run.vmDir(name));
  } catch (e) { throw runDirError(e, run.root()); }
  actions.push(`moved ${old} to ${run.vmDir(name)} (the new run layout)`);
}

/** The repair itself; the caller holds the guest's lock. */
export async function recoverLocked(name: string): Promise<RecoverResult> {
  const actions: string[] = [];
  if (lstatOr(run.vmsDir())) assertOwnDir(run.vmsDir());
  migrateLegacy(name, actions);
  const { dir } = runDirOf(name);
  assertOwnDir(dir, name);
  const before = await guestStatus(name, { query: false });
  if (before.state === 'needs recovery' && before.pid) {
    // qkvm died mid-start: this QEMU (proven ours) never finished its setup.
    const id = qemuIdentity(name);
    if (id && id.pid === before.pid) {
      try { process.kill(id.pid, 'SIGKILL'); } catch { /* gone */ }
      if (!(await waitGone(id.pid, 10_000))) throw new QkvmError('TIMEOUT', `guest "${name}": QEMU pid ${id.pid} survived SIGKILL`);
      actions.push(`killed QEMU pid ${id.pid}, left half set up by an interrupted start`);
    }
  }
  if (before.state === 'needs recovery') {
    actions.push(...await cleanupRunDir(name, { all: true }));
  } else if (before.state === 'crashed' && lstatOr(join(dir, 'qemu.pid'))) {
    actions.push(...await cleanupRunDir(name, { crashed: 'QEMU died without a clean exit' }));
  } else if (before.state === 'shut off' && ['qmp.sock', 'spec.json'].some((f) => lstatOr(join(dir, f)))) {
    // A clean exit nobody saw (the guest powered itself off): its taps are still up.
    actions.push(...await cleanupRunDir(name));
  }
  return { name, actions, status: actions.length ? await guestStatus(name, { query: false }) : before };
}

/** `qkvm recover NAME`: the explicit repair, under the guest's lock. */
export async function recoverGuest(name: string): Promise<RecoverResult> {
  const lock = await acquireLock('vm', name, 'recovering the guest');
  try { return await recoverLocked(name); } finally { lock.release(); }
}
