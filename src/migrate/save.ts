// `qkvm save NAME FILE`: stop the guest, write its definition and then its RAM
// and device state (a migration into a file) to FILE, and end its QEMU. The
// stream goes to a fresh temporary file beside FILE (`exec:cat >> .FILE.PID.RAND.part
// && mv -fT ...`), so FILE appears only once it is complete; --force replaces
// only an earlier save file, never a device, a directory or a symlink.
import { randomBytes } from 'node:crypto';
import { closeSync, constants, existsSync, fsyncSync, lstatSync, openSync, readSync, rmSync, statSync, writeSync, type Stats } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { acquireLock } from '../config/lock.js';
import { QkvmError } from '../errors.js';
import { waitGone } from '../runtime/state.js';
import { cleanupRunDir } from '../runtime/recover.js';
import { connectQmp } from '../runtime/qmp.js';
import { driveMigration, setParameters, type DriveOptions } from './driver.js';
import { SAVE_MAGIC, encodeHeader } from './header.js';
import { shQuotePath } from './quote.js';
import { portableSpec, requireMigratable } from './common.js';
import type { MigrationResult } from './progress.js';

export interface SaveResult extends MigrationResult { file: string; bytes: number }

const KINDS: [keyof Stats, string][] = [
  ['isSymbolicLink', 'a symbolic link'], ['isDirectory', 'a directory'], ['isBlockDevice', 'a block device'],
  ['isCharacterDevice', 'a character device'], ['isFIFO', 'a FIFO'], ['isSocket', 'a socket'],
];

/** Whether the regular file at `path` starts as a qkvm save file does (read without following a symlink). */
function isSaveFile(path: string): boolean {
  let fd: number;
  try { fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK); } catch { return false; }
  try {
    const head = Buffer.alloc(SAVE_MAGIC.length);
    return readSync(fd, head, 0, head.length, 0) === head.length && head.toString('latin1') === SAVE_MAGIC;
  } finally { closeSync(fd); }
}

/**
 * What `save` may write to: a new name, or with --force a save file qkvm wrote
 * before. Never a device, a directory, a symlink, or a file of another kind.
 */
export function checkSaveTarget(target: string, force: boolean): void {
  let dir;
  try { dir = statSync(dirname(target)); } catch { throw new QkvmError('NOT_FOUND', `save: directory ${dirname(target)} does not exist`); }
  if (!dir.isDirectory()) throw new QkvmError('INVALID', `save: ${dirname(target)} is not a directory`);
  let st: Stats;
  try { st = lstatSync(target); } catch { return; }
  const kind = KINDS.find(([test]) => (st[test] as () => boolean).call(st))?.[1];
  if (kind) throw new QkvmError('INVALID', `save: ${target} is ${kind}; qkvm writes a save only to a new file or over an earlier save file${force ? ' (--force does not change this)' : ''}`, { hint: 'choose a new file name' });
  if (!force) throw new QkvmError('EXISTS', `save: ${target} already exists`, { hint: 'choose another file, or use --force to replace it (only an earlier qkvm save file is replaced)' });
  if (!isSaveFile(target)) throw new QkvmError('INVALID', `save: ${target} is not a qkvm save file; --force replaces only a file that \`qkvm save\` wrote`, { hint: 'choose a new file name' });
}

export async function saveGuest(name: string, file: string, opts: DriveOptions & { force?: boolean } = {}): Promise<SaveResult> {
  const target = resolve(file);
  checkSaveTarget(target, !!opts.force);
  // A fresh name in the same directory, created exclusively: never a file or link someone put there.
  const part = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.part`);
  const qTarget = shQuotePath(target), qPart = shQuotePath(part);
  const lock = await acquireLock('vm', name, 'saving the guest to a file');
  try {
    const st = await requireMigratable(name);
    const spec = portableSpec(name);
    const qmp = await connectQmp(name);
    let wasRunning = false;
    try {
      const status = (await qmp.execute<{ status: string }>('query-status', {}, { timeoutMs: 5000 })).status;
      wasRunning = status === 'running';
      const v = await qmp.execute<{ qemu: { major: number; minor: number; micro: number } }>('query-version', {}, { timeoutMs: 5000 });
      const header = encodeHeader({
        version: 1, name, savedAt: new Date().toISOString(), wasRunning, spec,
        qemuVersion: `${v.qemu.major}.${v.qemu.minor}.${v.qemu.micro}`,
      });
      const fd = openSync(part, 'wx', 0o600);
      try { writeSync(fd, header); fsyncSync(fd); } finally { closeSync(fd); }
      // Stopped first: the file holds one consistent moment, and no pass is wasted on re-dirtied pages.
      if (wasRunning) await qmp.executeAndWait('stop', {}, 'STOP', { timeoutMs: 10_000 });
      await setParameters(qmp, {});
      await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'events', state: true }] }, { timeoutMs: 5000 });
      let result: MigrationResult;
      try {
        result = await driveMigration(qmp, () => qmp.execute('migrate', { uri: `exec:cat >> ${qPart} && mv -fT ${qPart} ${qTarget}` }, { timeoutMs: 10_000 }), opts);
        await waitForFile(target, part);
      } catch (e) {
        rmSync(part, { force: true });
        if (wasRunning) await qmp.execute('cont', {}, { timeoutMs: 5000 }).catch(() => undefined);
        throw e instanceof QkvmError ? new QkvmError(e.code, `save of guest "${name}" failed: ${e.message}; the guest keeps running`, { hint: e.hint, cause: e }) : e;
      }
      await qmp.execute('quit', {}, { timeoutMs: 5000 }).catch(() => undefined);
      await waitGone(st.pid, 10_000);
      await cleanupRunDir(name);
      return { ...result, file: target, bytes: statSync(target).size };
    } finally {
      await qmp.close().catch(() => undefined);
    }
  } finally {
    lock.release();
  }
}

/** QEMU reports "completed" when it has written the last byte; the shell renames once cat has it all. */
async function waitForFile(target: string, part: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(existsSync(target) && !existsSync(part))) {
    if (Date.now() > deadline) throw new QkvmError('TIMEOUT', `save: ${target} did not appear (cat or mv failed?)`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
