// `qkvm restore FILE`: check the header, start QEMU with the saved definition and
// -incoming defer, feed it the stream with migrate-incoming (exec:tail -c +N),
// and resume. A broken stream makes QEMU 7.2 exit: then nothing stays behind.
import { resolve } from 'node:path';
import { acquireLock } from '../config/lock.js';
import { validateName } from '../config/schema.js';
import { QkvmError } from '../errors.js';
import { QmpInterruptedError, QmpStateError } from '../qmp/index.js';
import { startGuest } from '../runtime/start.js';
import { guestStatus, isActive, qemuPid, waitGone, type GuestStatus } from '../runtime/state.js';
import { cleanupRunDir } from '../runtime/recover.js';
import { connectQmp } from '../runtime/qmp.js';
import { readHeader, type SaveHeader } from './header.js';
import { shQuotePath } from './quote.js';
import { qemuLogTail } from './common.js';

export interface RestoreResult { name: string; header: SaveHeader; status: GuestStatus; elapsedMs: number }

export async function restoreGuest(file: string, opts: { name?: string; paused?: boolean; timeoutMs?: number; onNote?: (line: string) => void } = {}): Promise<RestoreResult> {
  const t0 = Date.now();
  const abs = resolve(file);
  const quoted = shQuotePath(abs);
  const { header, offset } = readHeader(abs);
  const name = validateName(opts.name ?? header.name, 'guest name');
  const before = await guestStatus(name);
  if (isActive(before.state)) {
    throw new QkvmError('STATE', `guest "${name}" is already ${before.state}`, { hint: 'shut it down first, or restore under another name with --name' });
  }
  const spec = { ...header.spec, name };
  await startGuest(name, { spec, incoming: 'defer', onNote: opts.onNote });
  const lock = await acquireLock('vm', name, 'restoring the guest', 10_000);
  try {
    const qmp = await connectQmp(name);
    try {
      // MIGRATION events come only with the events capability; they wake the poll early.
      await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'events', state: true }] }, { timeoutMs: 5000 });
      let wake: (() => void) | undefined;
      qmp.on('MIGRATION', () => wake?.());
      // tail counts from 1: +N+1 skips the N header bytes.
      await qmp.execute('migrate-incoming', { uri: `exec:tail -c +${offset + 1} ${quoted}` }, { timeoutMs: 10_000 });
      const deadline = Date.now() + (opts.timeoutMs ?? 600_000);
      for (;;) {
        // QEMU 7.2 exits when an incoming migration fails: the call then fails as interrupted.
        const q = await qmp.execute<{ status?: string }>('query-migrate', {}, { timeoutMs: 10_000 });
        if (q.status === 'completed') break;
        if (q.status === 'failed' || q.status === 'cancelled') throw new Error(`the incoming migration ${q.status}`);
        if (Date.now() > deadline) throw new Error(`no result within ${(opts.timeoutMs ?? 600_000) / 1000} s`);
        await new Promise<void>((r) => { const t = setTimeout(r, 200); wake = () => { clearTimeout(t); r(); }; });
      }
      if (header.wasRunning && !opts.paused) await qmp.executeAndWait('cont', {}, 'RESUME', { timeoutMs: 10_000 });
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
  return { name, header, status: await guestStatus(name), elapsedMs: Date.now() - t0 };
}
