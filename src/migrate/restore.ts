// `qkvm restore FILE`: check the header, decide which definition to start from,
// start QEMU with it and -incoming defer, hand QEMU the stream as an inherited
// file descriptor (migrate-incoming fd:3: no shell, no program), and resume.
// A broken stream makes QEMU 7.2 exit: then nothing stays behind.
//
// A save file is data from anywhere: its embedded definition is never trusted.
// The guest starts from its stored definition (vms/NAME.yaml); a file whose
// definition differs is refused, with the difference, unless the user passes
// --use-file-definition, and then the file's extraArgs still need this
// command's --allow-extra-args (and --allow-programs) unless they equal the
// allowed ones on record.
import { closeSync, openSync, readSync } from 'node:fs';
import { resolve } from 'node:path';
import { acquireLock } from '../config/lock.js';
import { validateName, type VmSpec } from '../config/schema.js';
import { loadVm, vmExists } from '../config/store.js';
import { assertAllowed, decideExtraArgs, extraArgsWarning, readAllowance, type Allowance, type Grant } from '../config/trust.js';
import { QkvmError, invalid } from '../errors.js';
import { QmpInterruptedError, QmpStateError, type QmpClient } from '../qmp/index.js';
import { shellQuote } from '../qemu/format.js';
import { startGuest, type StartOptions } from '../runtime/start.js';
import { guestStatus, isActive, qemuPid, waitGone, type GuestStatus } from '../runtime/state.js';
import { cleanupRunDir } from '../runtime/recover.js';
import { connectQmp } from '../runtime/qmp.js';
import { readHeader, type SaveHeader } from './header.js';
import { qemuLogTail } from './common.js';

export interface RestoreResult { name: string; header: SaveHeader; status: GuestStatus; elapsedMs: number; definition: 'stored' | 'file' }

export interface RestoreOptions {
  name?: string;
  paused?: boolean;
  timeoutMs?: number;
  /** Start from the definition in the file even though it differs from the stored one (or none is stored). */
  useFileDefinition?: boolean;
  /** This command's own allowance for the extraArgs it starts with (not recorded). */
  allowExtraArgs?: boolean;
  allowPrograms?: boolean;
  onNote?: (line: string) => void;
}

/** The fields a restore compares: what QEMU is started with. Free text and autostart do not matter. */
export function comparable(spec: VmSpec, macsFrom?: VmSpec): Record<string, unknown> {
  const { description: _d, autostart: _a, name: _n, ...rest } = spec;
  // A stored NIC without a MAC gets one at start; the file records the one it got.
  const nics = spec.nics.map((n, i) => ({ ...n, mac: n.mac ?? macsFrom?.nics[i]?.mac }));
  return { ...rest, nics };
}

/** JSON with object keys sorted, so that the order a file was written in does not matter. */
export function canonical(v: unknown): string | undefined {
  return JSON.stringify(v, (_k, x) => (x && typeof x === 'object' && !Array.isArray(x) ? Object.fromEntries(Object.entries(x).sort(([p], [q]) => (p < q ? -1 : 1))) : x));
}

/** "field: stored X, file Y" for each field that differs. */
export function specDiff(stored: VmSpec, file: VmSpec): string[] {
  const a = comparable(stored, file), b = comparable(file);
  const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
  return keys.filter((k) => canonical(a[k]) !== canonical(b[k]))
    .map((k) => `  ${k}: stored ${canonical(a[k]) ?? '(none)'}, in the file ${canonical(b[k]) ?? '(none)'}`);
}

export interface RestorePlan {
  spec: VmSpec;
  definition: 'stored' | 'file';
  /** The warning to show about allowed extraArgs, if any. */
  warning?: string;
}

/** The command the user typed, with the flags it lacks: the hint that works when pasted. */
export function restoreCommand(file: string, opts: RestoreOptions, add: string[]): string {
  const words = ['qkvm', 'restore', shellQuote(file)];
  if (opts.name !== undefined) words.push('--name', shellQuote(opts.name));
  if (opts.paused) words.push('--paused');
  const flags = new Set([...(opts.useFileDefinition ? ['--use-file-definition'] : []), ...(opts.allowExtraArgs ? ['--allow-extra-args'] : []), ...(opts.allowPrograms ? ['--allow-programs'] : []), ...add]);
  return [...words, ...flags].join(' ');
}

/**
 * Which definition a restore starts from, and whether its extraArgs may run.
 * Pure but for its inputs: the stored definition (or undefined) and its allowance.
 */
export function planRestore(file: string, fileSpec: VmSpec, stored: VmSpec | undefined, allowance: Allowance | undefined, opts: RestoreOptions): RestorePlan {
  const name = fileSpec.name;
  let spec: VmSpec;
  let definition: RestorePlan['definition'];
  if (!stored) {
    if (!opts.useFileDefinition) {
      throw invalid(`restore: no guest "${name}" is defined here, and qkvm does not start a guest from the definition carried in a save file`,
        `define "${name}" first (qkvm define FILE), or start from the file's definition without storing it:\n  ${restoreCommand(file, opts, ['--use-file-definition'])}`);
    }
    spec = fileSpec;
    definition = 'file';
  } else {
    const diff = specDiff(stored, fileSpec);
    if (diff.length && !opts.useFileDefinition) {
      throw invalid(`restore: the definition in ${file} differs from the stored definition of "${name}":\n${diff.join('\n')}`,
        `the guest's state may need the file's definition; to start from it (it is not stored):\n  ${restoreCommand(file, opts, ['--use-file-definition'])}`);
    }
    // Stored, with the MACs the guest had (the stored one may leave them to qkvm).
    spec = diff.length ? fileSpec : { ...stored, name, nics: stored.nics.map((n, i) => ({ ...n, mac: n.mac ?? fileSpec.nics[i]?.mac })) };
    definition = diff.length ? 'file' : 'stored';
  }
  const grant: Grant = { extraArgs: opts.allowExtraArgs, programs: opts.allowPrograms };
  const d = decideExtraArgs(spec.extraArgs, allowance, grant);
  const subject = definition === 'file' ? `the definition in ${file}` : `guest "${name}"`;
  assertAllowed(spec.extraArgs, d, subject, restoreCommand(file, opts, d.missing));
  return { spec, definition, warning: spec.extraArgs.length ? extraArgsWarning(name, spec.extraArgs, d) : undefined };
}

/** Opens the save file positioned at QEMU's stream: QEMU inherits it as fd 3 and reads from there. */
export function openStream(file: string, offset: number): number {
  const fd = openSync(file, 'r');
  try {
    // No lseek in Node: reading with position null moves the shared file offset.
    const buf = Buffer.alloc(Math.min(offset, 1 << 16));
    for (let left = offset; left > 0;) {
      const n = readSync(fd, buf, 0, Math.min(left, buf.length), null);
      if (n <= 0) throw invalid(`${file}: ends inside its header (truncated)`);
      left -= n;
    }
    return fd;
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}

/** The fd number the stream has inside QEMU (stdin, stdout, stderr, then it). */
export const STREAM_FD = 3;

/** What restoreGuest reaches outside itself: unit tests pass a stand-in starter and a scripted QMP peer. */
export interface RestoreDeps {
  startGuest: (name: string, opts: StartOptions) => Promise<unknown>;
  connectQmp: (name: string) => Promise<QmpClient>;
  guestStatus: (name: string) => Promise<GuestStatus>;
  /** How long the poll sleeps between two query-migrate when no MIGRATION event wakes it. */
  pollMs: number;
}

const realDeps: RestoreDeps = { startGuest, connectQmp: (name) => connectQmp(name), guestStatus: (name) => guestStatus(name), pollMs: 200 };

/**
 * Feeds QEMU (started with -incoming defer, the stream inherited as fd 3) its state
 * over QMP, waits until the migration completes, and resumes the guest if it ran.
 * Throws on a failed or cancelled migration, on a timeout, or when QEMU exits.
 */
export async function feedStream(qmp: QmpClient, o: { resume: boolean; timeoutMs: number; pollMs: number }): Promise<void> {
  // MIGRATION events come only with the events capability; they wake the poll early.
  await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'events', state: true }] }, { timeoutMs: 5000 });
  let wake: (() => void) | undefined;
  qmp.on('MIGRATION', () => wake?.());
  await qmp.execute('migrate-incoming', { uri: `fd:${STREAM_FD}` }, { timeoutMs: 10_000 });
  const deadline = Date.now() + o.timeoutMs;
  for (;;) {
    // QEMU 7.2 exits when an incoming migration fails: the call then fails as interrupted.
    const q = await qmp.execute<{ status?: string }>('query-migrate', {}, { timeoutMs: 10_000 });
    if (q.status === 'completed') break;
    if (q.status === 'failed' || q.status === 'cancelled') throw new Error(`the incoming migration ${q.status}`);
    if (Date.now() > deadline) throw new Error(`no result within ${o.timeoutMs / 1000} s`);
    await new Promise<void>((r) => { const t = setTimeout(r, o.pollMs); wake = () => { clearTimeout(t); r(); }; });
  }
  if (o.resume) await qmp.executeAndWait('cont', {}, 'RESUME', { timeoutMs: 10_000 });
}

export async function restoreGuest(file: string, opts: RestoreOptions = {}, deps: RestoreDeps = realDeps): Promise<RestoreResult> {
  const t0 = Date.now();
  const abs = resolve(file);
  const { header, offset } = readHeader(abs);
  const name = validateName(opts.name ?? header.name, 'guest name');
  const stored = vmExists(name) ? loadVm(name) : undefined;
  const plan = planRestore(abs, { ...header.spec, name }, stored, readAllowance(name), opts);
  const before = await deps.guestStatus(name);
  if (isActive(before.state)) {
    throw new QkvmError('STATE', `guest "${name}" is already ${before.state}`, { hint: 'shut it down first, or restore under another name with --name' });
  }
  if (plan.warning) opts.onNote?.(plan.warning);
  if (plan.definition === 'file') opts.onNote?.(`note: guest "${name}" starts from the definition in ${abs}; it is not stored`);
  const fd = openStream(abs, offset);
  try {
    await deps.startGuest(name, { spec: plan.spec, incoming: 'defer', onNote: opts.onNote, extraArgsChecked: true, inheritFd: fd });
  } finally {
    closeSync(fd);
  }
  const lock = await acquireLock('vm', name, 'restoring the guest', 10_000);
  try {
    const qmp = await deps.connectQmp(name);
    try {
      await feedStream(qmp, { resume: header.wasRunning && !opts.paused, timeoutMs: opts.timeoutMs ?? 600_000, pollMs: deps.pollMs });
    } finally {
      await qmp.close().catch(() => undefined);
    }
  } catch (e) {
    const why = qemuLogTail(name) || (e as Error).message;
    const pid = qemuPid(name);
    if (pid) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    await waitGone(pid, 5000);
    await cleanupRunDir(name, { all: true });
    // The socket may close during a call (interrupted) or between two calls (the client is then closed).
    const msg = e instanceof QmpInterruptedError || e instanceof QmpStateError ? 'QEMU exited while loading the state' : (e as Error).message;
    throw new QkvmError('QEMU', `restore of ${abs} failed: ${msg}\n${why}`, {
      hint: 'the file is probably truncated or damaged; nothing was left running', cause: e,
    });
  } finally {
    lock.release();
  }
  return { name, header, status: await deps.guestStatus(name), elapsedMs: Date.now() - t0, definition: plan.definition };
}
