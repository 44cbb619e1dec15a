// `undefine --remove-storage`: deletes a guest's own disk files, and nothing else.
//
// The rule: a disk file is removed only when all of these hold:
//   - it is a disk (media: disk), not a CD-ROM, not read-only, and not an .iso:
//     those are shared installation media, never the guest's own data;
//   - no other definition names the same file (after resolving POOL/VOLUME and symlinks);
//   - no other image qkvm knows of (other guests' disks, pool volumes) has it in
//     its backing chain: deleting a base would destroy its linked clones;
//   - no process has it open.
// A file kept for one of these reasons is simply not in the returned list.
import { existsSync, unlinkSync } from 'node:fs';
import type { VmSpec } from '../config/schema.js';
import { processesHolding } from './guests.js';
import { removeCloneRecord } from './links.js';
import { resolveDiskPath } from './resolve.js';
import { backingUsers, guestsUsing, realPath } from './usage.js';

export interface RemovalPlan { remove: string[]; keep: { path: string; why: string }[] }

export function planGuestStorageRemoval(spec: Pick<VmSpec, 'name' | 'disks'>): RemovalPlan {
  const plan: RemovalPlan = { remove: [], keep: [] };
  const own = new Set<string>();
  for (const d of spec.disks) {
    let path: string;
    try { path = resolveDiskPath(d.file); } catch { continue; }
    if (d.media === 'cdrom') { plan.keep.push({ path, why: 'a CD-ROM' }); continue; }
    if (d.readonly) { plan.keep.push({ path, why: 'read-only (shared media)' }); continue; }
    if (/\.iso$/i.test(path)) { plan.keep.push({ path, why: 'an ISO image' }); continue; }
    if (!existsSync(path)) continue;
    const real = realPath(path);
    if (own.has(real)) continue;
    const others = guestsUsing(real, spec.name);
    if (others.length) { plan.keep.push({ path, why: `also a disk of ${others.join(', ')}` }); continue; }
    own.add(real);
  }
  for (const path of own) {
    const children = backingUsers(path).filter((c) => !own.has(c));
    if (children.length) { plan.keep.push({ path, why: `the backing file of ${children.join(', ')}` }); continue; }
    const pids = processesHolding(path);
    if (pids.length) { plan.keep.push({ path, why: `open in process ${pids.join(', ')}` }); continue; }
    plan.remove.push(path);
  }
  return plan;
}

/** Deletes only the guest's own disk files (see the rule above); returns what it removed. */
export function removeGuestStorage(spec: Pick<VmSpec, 'name' | 'disks'>): string[] {
  const { remove } = planGuestStorageRemoval(spec);
  const removed: string[] = [];
  for (const path of remove) {
    try { unlinkSync(path); removed.push(path); } catch { /* already gone */ }
  }
  removeCloneRecord(spec.name);
  return removed;
}
