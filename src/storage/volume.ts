// Volumes: the image files of a directory pool, by name.
import { shellQuote } from '../qemu/format.js';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { validateName } from '../config/schema.js';
import { QkvmError, notFound } from '../errors.js';
import { activePool } from './pool.js';
import { convertImage, createImage, imageInfo, type ImageFormat, type ImageInfo, type Preallocation } from './qemu-img.js';
import { resolveDiskPath } from './resolve.js';
import { processesHolding } from './guests.js';
import { guestsUsing } from './usage.js';
import { imagesBackedBy } from './backing.js';
import { forgetOwned, identity, ownedRecord, readOwned, realPathNoFollow, recordOwned, type OwnedImage } from './owned.js';
import { insidePool, poolRoots } from './placement.js';
import { ownershipProblem, unlinkIfSame } from './remove.js';
import type { ProgressCallback } from './progress.js';

export interface VolumeInfo {
  pool: string;
  name: string;
  path: string;
  format?: string;
  capacity?: number;
  allocation?: number;
  backing?: string;
}

export function volumePath(pool: string, name: string): string {
  validateName(name, 'volume name');
  return join(activePool(pool).target, name);
}

function existingVolume(pool: string, name: string): string {
  const path = volumePath(pool, name);
  if (!existsSync(path)) throw notFound(`volume "${name}" does not exist in pool "${pool}"`, `see \`qkvm vol list ${pool}\``);
  return path;
}

/** A backing volume: NAME in the same pool, POOL/NAME, or an absolute path. */
function backingPath(pool: string, backing: string): string {
  if (isAbsolute(backing) || backing.includes('/')) return resolveDiskPath(backing);
  return volumePath(pool, backing);
}

export async function createVolume(pool: string, name: string, o: { size?: string; format?: ImageFormat; backing?: string; backingFormat?: ImageFormat; preallocation?: Preallocation }): Promise<VolumeInfo> {
  const path = volumePath(pool, name);
  let backingFile: string | undefined;
  let backingFormat = o.backingFormat;
  if (o.backing) {
    backingFile = backingPath(pool, o.backing);
    if (!existsSync(backingFile)) throw notFound(`backing volume ${o.backing} does not exist (${backingFile})`);
    backingFormat ??= (await imageInfo(backingFile, { forceShare: true }))[0].format as ImageFormat;
  }
  await createImage({ file: path, format: o.format ?? 'qcow2', size: o.size, backingFile, backingFormat, preallocation: o.preallocation, owner: { by: 'vol create' } });
  return volumeInfo(pool, name);
}

function toVolume(pool: string, name: string, path: string, info?: ImageInfo): VolumeInfo {
  return {
    pool, name, path,
    format: info?.format,
    capacity: info?.['virtual-size'],
    allocation: info?.['actual-size'],
    backing: info?.['full-backing-filename'],
  };
}

/** The volume's own info; -U so a running guest's image can still be described. */
export async function volumeInfo(pool: string, name: string): Promise<VolumeInfo & { chain: ImageInfo[] }> {
  const path = existingVolume(pool, name);
  const chain = await imageInfo(path, { backingChain: true, forceShare: true });
  return { ...toVolume(pool, name, path, chain[0]), chain };
}

export async function listVolumes(pool: string): Promise<VolumeInfo[]> {
  const dir = activePool(pool).target;
  let files: string[] = [];
  try { files = readdirSync(dir); } catch { return []; }
  const out: VolumeInfo[] = [];
  for (const f of files.sort()) {
    if (f.startsWith('.')) continue;
    const path = join(dir, f);
    try { if (!statSync(path).isFile()) continue; } catch { continue; }
    let info: ImageInfo | undefined;
    try { [info] = await imageInfo(path, { forceShare: true }); } catch { /* shown without details */ }
    out.push(toVolume(pool, f, path, info));
  }
  return out;
}

/**
 * Deletes a volume only when qkvm created it (recorded, same inode, a regular
 * file in the pool) and no definition, overlay or process uses it.
 */
export async function deleteVolume(pool: string, name: string): Promise<string> {
  const path = existingVolume(pool, name);
  const owned = readOwned();
  const why = ownershipProblem(path, { roots: poolRoots(), owned });
  if (why) {
    const unrecorded = !ownedRecord(path, owned).rec && identityOrUndefined(path)?.regular;
    throw new QkvmError('IN_USE', `volume ${pool}/${name} (${path}) is kept: ${why}`, {
      hint: unrecorded ? `if it is yours to delete, adopt it first: \`qkvm vol adopt ${pool} ${name}\`` : 'qkvm deletes only the regular image files it created in a pool',
    });
  }
  const users = guestsUsing(path);
  if (users.length) {
    throw new QkvmError('IN_USE', `volume ${pool}/${name} is a disk of ${users.map((g) => `"${g}"`).join(', ')}`, { hint: 'detach it from those guests first (`qkvm detach-disk NAME TARGET --persist`)' });
  }
  const children = imagesBackedBy(path);
  if (children.length) {
    throw new QkvmError('IN_USE', `volume ${pool}/${name} is the backing file of ${children.join(', ')}`, { hint: `delete those overlays first, or make them standalone: ${children.map((c) => `\`qkvm disk rebase ${shellQuote(c)} ''\``).join(', ')}` });
  }
  const pids = processesHolding(path);
  if (pids.length) throw new QkvmError('IN_USE', `volume ${pool}/${name} is open in process ${pids.join(', ')}`, { hint: 'stop the guest that uses it first' });
  const real = realPathNoFollow(path);
  if (!unlinkIfSame(path, owned)) throw new QkvmError('STATE', `volume ${pool}/${name} changed while qkvm checked it; nothing was deleted`);
  await forgetOwned([real]);
  return path;
}

function identityOrUndefined(path: string) {
  try { return identity(path); } catch { return undefined; }
}

/**
 * `vol adopt`: records a regular file already in a pool (made by hand, or
 * before qkvm kept records) as qkvm's, so that vol delete or, with `guest`,
 * undefine --remove-storage of that guest may remove it.
 */
export async function adoptVolume(pool: string, name: string, guest?: string): Promise<OwnedImage> {
  const path = existingVolume(pool, name);
  if (guest !== undefined) validateName(guest, 'guest name');
  const id = identity(path);
  if (!id.regular) throw new QkvmError('INVALID', `volume ${pool}/${name} (${path}) is not a regular file (a symlink, device or directory): qkvm adopts only image files`);
  if (!insidePool(realPathNoFollow(path), poolRoots())) throw new QkvmError('INVALID', `${path} resolves outside every storage pool: qkvm adopts only files in a pool`);
  return recordOwned(path, { by: 'vol adopt', guest });
}

export async function cloneVolume(pool: string, source: string, name: string, onProgress?: ProgressCallback): Promise<VolumeInfo> {
  const src = existingVolume(pool, source);
  const dst = volumePath(pool, name);
  const [info] = await imageInfo(src);
  await convertImage({ source: src, target: dst, format: info.format as ImageFormat, sourceFormat: info.format as ImageFormat, onProgress, owner: { by: 'vol clone' } });
  return volumeInfo(pool, name);
}
