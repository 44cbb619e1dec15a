// The checks before QEMU opens a disk (start, attach-disk): the disk's place
// (placement.ts) and the bases of linked clones. A base is protected by what it
// is (device and inode), whoever's guest names it: QEMU's image locks cannot
// help, since the clone that would read the damage is not running.
import type { Disk } from '../config/schema.js';
import { resolve as resolvePath } from 'node:path';
import { QkvmError } from '../errors.js';
import { imagesBackedBy, knownImages } from './backing.js';
import { assertDiskPlacement } from './placement.js';
import { resolveDiskPath } from './resolve.js';
import { definedDisks } from './usage.js';

type GuardedDisk = Pick<Disk, 'file' | 'readonly' | 'snapshot' | 'media' | 'external' | 'hostDevice'>;

/** Whether QEMU would open the disk for writing (snapshot=on writes go to a throw-away overlay). */
export const opensWritable = (d: Pick<Disk, 'readonly' | 'snapshot' | 'media'>) => !d.readonly && !d.snapshot && d.media !== 'cdrom';

const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Refuses to open writable any disk that is the base of another image (a linked clone, an overlay). */
export function assertNotBase(disks: GuardedDisk[], who: string, field = (i: number) => `disks[${i}]`): void {
  const writable = disks.map((d, i) => ({ d, i })).filter(({ d }) => opensWritable(d));
  if (!writable.length) return;
  const images = knownImages();
  for (const { d, i } of writable) {
    const path = resolveDiskPath(d.file);
    const overlays = imagesBackedBy(path, images);
    if (!overlays.length) continue;
    const uses = definedDisks();
    const named = overlays.map((o) => {
      const guests = [...new Set(uses.filter((u) => u.path === o).map((u) => u.guest))];
      return guests.length ? `${o} (disk of ${guests.map((g) => `"${g}"`).join(', ')})` : o;
    });
    throw new QkvmError('IN_USE', `${who}: ${field(i)} ${path} is the base image of ${named.join(', ')}; writing to it would corrupt ${overlays.length > 1 ? 'them' : 'it'}, so qkvm does not open it writable (--force does not change this)`, {
      hint: `open it read-only (\`readonly: true\` on that disk, or attach-disk --readonly), or first make the overlay standalone: ${overlays.map((o) => `\`qkvm disk rebase ${q(o)} ''\``).join(', ')}`,
    });
  }
}

/** Both checks for a whole definition: at start, and for attach-disk. */
export function assertDisksUsable(disks: GuardedDisk[], who: string): void {
  assertDiskPlacement(disks, who);
  assertNotBase(disks, who);
}

/**
 * Refuses a change to an image's data (qemu-img commit into it, snapshot --apply,
 * shrink) while other images are built on it: they would read the change as
 * their own. `except`: the overlays the change comes from (commit's own chain).
 */
export function assertNoOverlays(path: string, what: string, except: string[] = []): void {
  const skip = new Set(except.map((e) => resolvePath(e)));
  const overlays = imagesBackedBy(path).filter((o) => !skip.has(resolvePath(o)));
  if (!overlays.length) return;
  throw new QkvmError('IN_USE', `${what}: ${path} is the base image of ${overlays.join(', ')}; changing its data would corrupt ${overlays.length > 1 ? 'them' : 'it'}`, {
    hint: `make each overlay standalone first: ${overlays.map((o) => `\`qkvm disk rebase ${q(o)} ''\``).join(', ')}`,
  });
}
