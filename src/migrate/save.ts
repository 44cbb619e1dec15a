// `qkvm save NAME FILE`: stop the guest, write its definition and then its RAM
// and device state (a migration into a file) to FILE, and end its QEMU. The
// stream goes through `exec:cat >> FILE.part && mv FILE.part FILE`, so FILE
// appears only once it is complete.
import { closeSync, existsSync, fsyncSync, openSync, rmSync, statSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { acquireLock } from '../config/lock.js';
import { QkvmError } from '../errors.js';
import { waitGone } from '../runtime/state.js';
import { cleanupRunDir } from '../runtime/recover.js';
import { connectQmp } from '../runtime/qmp.js';
import { driveMigration, setParameters, type DriveOptions } from './driver.js';
import { encodeHeader } from './header.js';
import { shQuotePath } from './quote.js';
import { portableSpec, requireMigratable } from './common.js';
import type { MigrationResult } from './progress.js';

export interface SaveResult extends MigrationResult { file: string; bytes: number }

export async function saveGuest(name: string, file: string, opts: DriveOptions & { force?: boolean } = {}): Promise<SaveResult> {
  const target = resolve(file);
  const part = `${target}.part`;
  const qTarget = shQuotePath(target), qPart = shQuotePath(part);
  if (!existsSync(dirname(target))) throw new QkvmError('NOT_FOUND', `save: directory ${dirname(target)} does not exist`);
  if (existsSync(target) && !opts.force) throw new QkvmError('EXISTS', `save: ${target} already exists`, { hint: 'choose another file, or use --force to replace it' });
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
      const fd = openSync(part, 'w', 0o600);
      try { writeSync(fd, header); fsyncSync(fd); } finally { closeSync(fd); }
      // Stopped first: the file holds one consistent moment, and no pass is wasted on re-dirtied pages.
      if (wasRunning) await qmp.executeAndWait('stop', {}, 'STOP', { timeoutMs: 10_000 });
      await setParameters(qmp, {});
      await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'events', state: true }] }, { timeoutMs: 5000 });
      let result: MigrationResult;
      try {
        result = await driveMigration(qmp, () => qmp.execute('migrate', { uri: `exec:cat >> ${qPart} && mv -f ${qPart} ${qTarget}` }, { timeoutMs: 10_000 }), opts);
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
