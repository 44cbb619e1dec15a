// Filesystems frozen around a snapshot, as Proxmox does: qemu-ga flushes and
// freezes every guest filesystem, the snapshot is taken, and they are thawed
// again whatever happened, so a failed snapshot never leaves a frozen guest.
import { QkvmError } from '../errors.js';
import type { QgaClient } from './client.js';
import { fsfreeze, fsfreezeStatus, fsthaw } from './commands.js';

export interface FreezeReport { frozen: number; thawed: number }

export async function withFrozenFilesystems<T>(qga: QgaClient, name: string, fn: () => Promise<T>): Promise<{ result: T; freeze: FreezeReport }> {
  let frozen = 0;
  let result: T;
  let failure: unknown;
  try {
    frozen = await fsfreeze(qga);
    result = await fn();
  } catch (e) {
    failure = e;
  }
  // Thawed even when the freeze itself failed part-way: qemu-ga may have frozen some.
  let thawed = 0;
  try {
    thawed = await fsthaw(qga);
  } catch (e) {
    // A thaw that fails on an already thawed guest is no problem; a frozen guest is.
    const still = await fsfreezeStatus(qga).catch(() => 'unknown');
    if (still !== 'thawed') {
      throw new QkvmError('QEMU', `guest "${name}": its filesystems may still be frozen (fsfreeze status: ${still}): ${(e as Error).message}`, {
        hint: `thaw them now: \`qkvm agent ${name} fsfreeze thaw\``, cause: failure ?? e,
      });
    }
  }
  if (failure !== undefined) throw failure;
  return { result: result!, freeze: { frozen, thawed } };
}
