// Where a disk may live. A file inside a storage pool (QKVM_HOME/images or a
// pool's target) attaches as it is. A regular file elsewhere needs
// `external: true`, a host block device `hostDevice: true`; both are read-only
// unless `readonly: false` is written, and qkvm never removes them. A directory,
// a character device, a FIFO or a socket is never a disk.
import { realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, sep } from 'node:path';
import type { Disk } from '../config/schema.js';
import { home } from '../config/paths.js';
import { invalid } from '../errors.js';
import { listPoolNames, loadPool } from './pool.js';
import { resolveDiskPath } from './resolve.js';

export type DiskFileType = 'missing' | 'file' | 'block' | 'char' | 'directory' | 'fifo' | 'socket';

/** What QEMU would open at `path` (symlinks followed, as QEMU does). */
export function diskFileType(path: string): DiskFileType {
  let st;
  try { st = statSync(path); } catch { return 'missing'; }
  if (st.isFile()) return 'file';
  if (st.isBlockDevice()) return 'block';
  if (st.isCharacterDevice()) return 'char';
  if (st.isDirectory()) return 'directory';
  if (st.isFIFO()) return 'fifo';
  return 'socket';
}

function real(path: string): string {
  try { return realpathSync(path); } catch { /* not there yet */ }
  // A file not yet created: its directory decides (the deepest one that exists).
  const dir = dirname(path);
  if (dir === path) return path;
  return join(real(dir), basename(path));
}

/** The real paths of the directories whose files qkvm manages: images/ and every pool's target. */
export function poolRoots(): string[] {
  const roots = new Set<string>([real(home.imagesDir())]);
  for (const name of listPoolNames()) {
    try { roots.add(real(loadPool(name).target)); } catch { /* an unreadable pool protects nothing */ }
  }
  return [...roots];
}

/** Whether `path`, with every symlink resolved, lies inside one of `roots`. */
export function insidePool(path: string, roots: string[] = poolRoots()): boolean {
  const r = real(path);
  return roots.some((root) => r.startsWith(root.endsWith(sep) ? root : root + sep));
}

const NEVER: Partial<Record<DiskFileType, string>> = {
  char: 'a character device', directory: 'a directory', fifo: 'a FIFO', socket: 'a socket',
};

/** The problem with one disk's place, or undefined. `field` names it for the message (disks[1].file). */
export function placementProblem(d: Pick<Disk, 'file' | 'external' | 'hostDevice'>, field: string, roots?: string[]): { message: string; hint: string } | undefined {
  const path = resolveDiskPath(d.file);
  const type = diskFileType(path);
  const never = NEVER[type];
  if (never) return { message: `${field}: ${path} is ${never}, which can never be a disk`, hint: 'name an image file, or a block device with `hostDevice: true`' };
  if (type === 'block') {
    if (d.hostDevice) return undefined;
    return {
      message: `${field}: ${path} is a host block device; qkvm attaches one only when the definition says so`,
      hint: 'add `hostDevice: true` to that disk (it is then read-only unless you also write `readonly: false`)',
    };
  }
  if (d.hostDevice) return { message: `${field}: ${path} is not a block device (hostDevice: true)`, hint: 'remove `hostDevice: true`, or name a block device' };
  if (d.external || insidePool(path, roots)) return undefined;
  return {
    message: `${field}: ${path} is outside every storage pool (${(roots ?? poolRoots()).join(', ')}); qkvm attaches such a file only when the definition says so`,
    hint: 'add `external: true` to that disk (it is then read-only unless you also write `readonly: false`; qkvm never removes it), or move the image into a pool (`qkvm vol list default` shows where)',
  };
}

/** Refuses (exit 2) a definition whose disks are special files, or outside pools without `external`/`hostDevice`. */
export function assertDiskPlacement(disks: Pick<Disk, 'file' | 'external' | 'hostDevice'>[], who: string): void {
  const roots = poolRoots();
  disks.forEach((d, i) => {
    const p = placementProblem(d, `${who}: disks[${i}].file`, roots);
    if (p) throw invalid(p.message, p.hint);
  });
}
