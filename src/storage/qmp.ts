// Short QMP sessions with a running guest, for storage commands (through the runtime's client).
import { QkvmError } from '../errors.js';
import type { QmpClient } from '../qmp/client.js';
import { QmpExecuteError } from '../qmp/errors.js';
import { withQmp } from '../runtime/qmp.js';
import { guestStatus, requireActive } from '../runtime/state.js';
import { inUseHint } from './guests.js';

/** Opens the guest's QMP socket, runs fn, closes. QEMU takes one client per socket. */
export async function withGuestQmp<T>(name: string, fn: (qmp: QmpClient) => Promise<T>): Promise<T> {
  await requireActive(name, { query: false });
  return withQmp(name, fn, { timeoutMs: 10_000 });
}

/** qkvm's state of the guest: running, paused, shut off... */
export async function guestRunState(name: string): Promise<string> {
  return (await guestStatus(name)).state;
}

const LOCK_RE = /Failed to get (shared )?"(write|consistent read)" lock|Is another process using the image/;

/** A QMP error as a QkvmError: an image lock conflict is IN_USE, the rest QEMU. */
export function qmpToQkvm(e: unknown, what: string, image?: string): unknown {
  if (e instanceof QmpExecuteError) {
    if (LOCK_RE.test(e.desc)) return new QkvmError('IN_USE', `${what}: ${e.desc}`, { hint: image ? inUseHint(image) : 'another guest or process uses that image', cause: e });
    return new QkvmError('QEMU', `${what}: ${e.desc}`, { cause: e });
  }
  return e;
}
