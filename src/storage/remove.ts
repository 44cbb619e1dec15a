// Removal of image files (`undefine --remove-storage`, `vol delete`). qkvm
// deletes a file only when every one of these holds (docs/storage.md):
//   a. it is recorded as created by qkvm (owned.ts), for this guest or for none;
//   b. it lies inside a storage pool directory (images/ or a pool's target), its
//      directories resolved, its own name never a symlink;
//   c. it is still the file qkvm created: same device and inode;
//   d. it is a regular file;
//   e. no other definition names it, no image is built on it, no process has it open.
// Everything else is kept, with the reason. CD-ROMs, read-only, .iso, external
// and hostDevice disks are never the guest's own data.
import { lstatSync, unlinkSync } from 'node:fs';
import type { Disk, VmSpec } from '../config/schema.js';
import { imagesBackedBy } from './backing.js';
import { processesHolding } from './guests.js';
import { removeCloneRecord } from './links.js';
import { forgetOwned, ownedRecord, readOwned, realPathNoFollow, type OwnedImage } from './owned.js';
import { insidePool, poolRoots } from './placement.js';
import { resolveDiskPath } from './resolve.js';
import { guestsUsing } from './usage.js';

export interface Kept { path: string; why: string }
export interface RemovalPlan { remove: string[]; keep: Kept[] }

/** What stands in the way of the other processes and images: injectable for tests. */
export interface UseFacts {
  guestsUsing: (path: string, except?: string) => string[];
  backingUsers: (path: string) => string[];
  processesHolding: (path: string) => number[];
}

const realFacts: UseFacts = { guestsUsing, backingUsers: (p) => imagesBackedBy(p), processesHolding };

const TYPES: [keyof import('node:fs').Stats, string][] = [
  ['isSymbolicLink', 'a symbolic link'], ['isDirectory', 'a directory'], ['isBlockDevice', 'a block device'],
  ['isCharacterDevice', 'a character device'], ['isFIFO', 'a FIFO'], ['isSocket', 'a socket'],
];

/**
 * Why the file at `path` must be kept (rules a-d), or undefined when qkvm may
 * delete it as far as ownership goes. `guest`: the guest being undefined (its
 * own and unowned images qualify); none for `vol delete` (any owner qualifies).
 */
export function ownershipProblem(path: string, o: { guest?: string; roots: string[]; owned: OwnedImage[] }): string | undefined {
  let st;
  try { st = lstatSync(path); } catch { return 'it does not exist'; }
  for (const [test, what] of TYPES) {
    if ((st[test] as () => boolean).call(st)) return `it is ${what}, not a regular file: qkvm removes only image files it created`;
  }
  if (!insidePool(realPathNoFollow(path), o.roots)) return `it is outside every storage pool (${o.roots.join(', ')}): qkvm never removes such a file`;
  const { rec, replaced } = ownedRecord(path, o.owned);
  if (!rec) return 'qkvm has no record of creating it (made by hand, or before qkvm kept records): see "Images made before the record" in docs/storage.md';
  if (replaced) return `it is not the file qkvm created there on ${rec.created} (another file took its name)`;
  if (o.guest && rec.guest && rec.guest !== o.guest) return `qkvm created it for guest "${rec.guest}", not "${o.guest}"`;
  return undefined;
}

/** Why a disk of a definition is never the guest's own data to remove, or undefined. */
function mediaProblem(d: Pick<Disk, 'media' | 'readonly' | 'external' | 'hostDevice'>, path: string): string | undefined {
  if (d.media === 'cdrom') return 'a CD-ROM';
  if (d.hostDevice) return 'a host device (hostDevice: true): qkvm never removes it';
  if (d.external) return 'an external file (external: true): qkvm never removes it';
  if (d.readonly) return 'read-only (shared media)';
  if (/\.iso$/i.test(path)) return 'an ISO image';
  return undefined;
}

export function planGuestStorageRemoval(
  spec: Pick<VmSpec, 'name' | 'disks'>,
  ctx: { roots?: string[]; owned?: OwnedImage[]; facts?: UseFacts } = {},
): RemovalPlan {
  const roots = ctx.roots ?? poolRoots();
  const owned = ctx.owned ?? readOwned();
  const facts = ctx.facts ?? realFacts;
  const plan: RemovalPlan = { remove: [], keep: [] };
  const seen = new Set<string>();
  const own: string[] = [];
  for (const d of spec.disks) {
    let path: string;
    try { path = resolveDiskPath(d.file); } catch { continue; }
    const media = mediaProblem(d, path);
    if (media) { plan.keep.push({ path, why: media }); continue; }
    let key: string;
    try { key = realPathNoFollow(path); } catch { continue; }
    if (seen.has(key)) continue;
    seen.add(key);
    const why = ownershipProblem(path, { guest: spec.name, roots, owned });
    if (why === 'it does not exist') continue;
    if (why) { plan.keep.push({ path, why }); continue; }
    const others = facts.guestsUsing(path, spec.name);
    if (others.length) { plan.keep.push({ path, why: `also a disk of ${others.join(', ')}` }); continue; }
    own.push(path);
  }
  for (const path of own) {
    const children = facts.backingUsers(path).filter((c) => !own.includes(c));
    if (children.length) { plan.keep.push({ path, why: `the backing file of ${children.join(', ')}` }); continue; }
    const pids = facts.processesHolding(path);
    if (pids.length) { plan.keep.push({ path, why: `open in process ${pids.join(', ')}` }); continue; }
    plan.remove.push(path);
  }
  return plan;
}

/** Deletes `path` only if it is still the inode that was checked; returns whether it did. */
export function unlinkIfSame(path: string, owned: OwnedImage[]): boolean {
  const { rec, replaced } = ownedRecord(path, owned);
  if (!rec || replaced) return false;
  try { unlinkSync(path); return true; } catch { return false; }
}

/** Deletes only the guest's own disk files (see the rules above); returns what it removed and what it kept, and why. */
export async function removeGuestStorage(spec: Pick<VmSpec, 'name' | 'disks'>): Promise<RemovalPlan> {
  const owned = readOwned();
  const plan = planGuestStorageRemoval(spec, { owned });
  const removed: string[] = [];
  const forget: string[] = [];
  const keep = [...plan.keep];
  for (const path of plan.remove) {
    const real = realPathNoFollow(path);
    if (unlinkIfSame(path, owned)) { removed.push(path); forget.push(real); }
    else keep.push({ path, why: 'it changed while qkvm checked it' });
  }
  await forgetOwned(forget);
  removeCloneRecord(spec.name);
  return { remove: removed, keep };
}
