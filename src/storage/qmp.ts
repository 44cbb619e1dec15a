// Short QMP sessions with a running guest, for storage commands.
import { run } from '../config/paths.js';
import { QkvmError } from '../errors.js';
import { QmpClient } from '../qmp/client.js';
import { QmpExecuteError } from '../qmp/errors.js';
import { guestPid } from './guests.js';

/** Opens the guest's QMP socket, runs fn, closes. QEMU takes one client per socket. */
export async function withGuestQmp<T>(name: string, fn: (qmp: QmpClient) => Promise<T>): Promise<T> {
  if (guestPid(name) === undefined) throw new QkvmError('STATE', `guest "${name}" is not running`);
  let qmp: QmpClient;
  try {
    qmp = await QmpClient.connect(run.qmpSocket(name), { timeoutMs: 10_000, retryUntil: Date.now() + 5_000 });
  } catch (e) {
    throw new QkvmError('STATE', `cannot reach guest "${name}" over QMP: ${(e as Error).message}`, { hint: 'another client may hold its QMP socket (QEMU takes one at a time)', cause: e });
  }
  try {
    return await fn(qmp);
  } finally {
    await qmp.close();
  }
}

/** "shut off", or QEMU's own run state (running, paused, ...). */
export async function guestRunState(name: string): Promise<string> {
  if (guestPid(name) === undefined) return 'shut off';
  return withGuestQmp(name, async (q) => (await q.execute<{ status: string }>('query-status')).status);
}

const LOCK_RE = /Failed to get (shared )?"(write|consistent read)" lock|Is another process using the image/;

/** A QMP error as a QkvmError: an image lock conflict is IN_USE, the rest QEMU. */
export function qmpToQkvm(e: unknown, what: string): unknown {
  if (e instanceof QmpExecuteError) {
    if (LOCK_RE.test(e.desc)) return new QkvmError('IN_USE', `${what}: ${e.desc}`, { hint: 'another guest or process uses that image', cause: e });
    return new QkvmError('QEMU', `${what}: ${e.desc}`, { cause: e });
  }
  return e;
}
