// The record of the images qkvm created: QKVM_HOME/storage/owned.json. Removal
// (undefine --remove-storage, vol delete) trusts only this record, checked
// against the file's device and inode, never a file's name or place alone.
import { lstatSync, readFileSync, realpathSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { writeFileAtomic } from '../config/atomic.js';
import { withLock } from '../config/lock.js';
import { qkvmHome } from '../config/paths.js';
import { QkvmError } from '../errors.js';

export interface OwnedImage {
  /** The real path when it was created (its directory resolved, the file itself never a symlink). */
  path: string;
  /** st_dev and st_ino as decimal strings (an inode number can exceed 2^53). */
  dev: string;
  ino: string;
  /** The guest it was made for (create, clone); none for volumes and `disk create`. */
  guest?: string;
  created: string;
  /** The command that made it: create, clone, vol create, disk create... */
  by: string;
}

interface OwnedFile { version: 1; images: OwnedImage[] }

export const ownedFile = () => join(qkvmHome(), 'storage', 'owned.json');

/** The real path of `path` without following its last component: a symlink stays itself. */
export function realPathNoFollow(path: string): string {
  return join(realpathSync(dirname(path)), basename(path));
}

/** The records; a missing or unreadable record counts as empty, so nothing is removable (fail safe). */
export function readOwned(): OwnedImage[] {
  let doc: unknown;
  try { doc = JSON.parse(readFileSync(ownedFile(), 'utf8')); } catch { return []; }
  const images = (doc as OwnedFile | null)?.images;
  if (!Array.isArray(images)) return [];
  return images.filter((r) => typeof r?.path === 'string' && typeof r.dev === 'string' && typeof r.ino === 'string');
}

function writeOwned(images: OwnedImage[]): void {
  const doc: OwnedFile = { version: 1, images };
  writeFileAtomic(ownedFile(), JSON.stringify(doc, null, 2) + '\n');
}

/** One writer at a time, so two concurrent creations never lose each other's record. */
async function update(change: (images: OwnedImage[]) => OwnedImage[]): Promise<void> {
  await withLock('storage', 'owned', 'updating the image record', async () => { writeOwned(change(readOwned())); }, 10_000);
}

/** The identity qkvm checks before it deletes: device and inode of the file itself (lstat). */
export function identity(path: string): { dev: string; ino: string; regular: boolean } {
  const st = lstatSync(path, { bigint: true });
  return { dev: String(st.dev), ino: String(st.ino), regular: st.isFile() };
}

/** Records a file qkvm has just created. It must be a regular file (never a symlink). */
export async function recordOwned(path: string, o: { by: string; guest?: string }): Promise<OwnedImage> {
  const id = identity(path);
  if (!id.regular) throw new QkvmError('INVALID', `${path} is not a regular file: qkvm records only image files it created`);
  const rec: OwnedImage = { path: realPathNoFollow(path), dev: id.dev, ino: id.ino, created: new Date().toISOString(), by: o.by };
  if (o.guest) rec.guest = o.guest;
  await update((images) => [...images.filter((r) => r.path !== rec.path), rec]);
  return rec;
}

/** The record of the file now at `path`, when its device and inode are still the recorded ones. */
export function ownedRecord(path: string, images: OwnedImage[] = readOwned()): { rec?: OwnedImage; replaced: boolean } {
  let real: string;
  let id: ReturnType<typeof identity>;
  try { real = realPathNoFollow(path); id = identity(path); } catch { return { replaced: false }; }
  const rec = images.find((r) => r.path === real);
  if (!rec) return { replaced: false };
  if (rec.dev !== id.dev || rec.ino !== id.ino) return { rec, replaced: true };
  return { rec, replaced: false };
}

/** Drops the records of files qkvm removed (or that are gone). */
export async function forgetOwned(paths: string[]): Promise<void> {
  if (!paths.length) return;
  const drop = new Set(paths);
  await update((images) => images.filter((r) => !drop.has(r.path)));
}

/** Gives a recorded image to a guest (or none), e.g. after `vol adopt --guest`. */
export async function setOwner(path: string, guest: string | undefined): Promise<void> {
  const real = realPathNoFollow(path);
  await update((images) => images.map((r) => {
    if (r.path !== real) return r;
    const { guest: _old, ...rest } = r;
    return guest ? { ...rest, guest } : rest;
  }));
}
