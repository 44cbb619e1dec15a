// Who uses an image file: which definitions name it, and which images are built on it.
import { existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { home } from '../config/paths.js';
import { listVmNames } from '../config/store.js';
import { resolveDiskPath } from './resolve.js';
import { imageInfoSync } from './qemu-img.js';
import { listPoolNames, loadPool } from './pool.js';

export interface DiskUse { guest: string; file: string; path: string; readonly: boolean; media: string }

export function realPath(path: string): string {
  try { return realpathSync(path); } catch { return path; }
}

/** Every disk of every definition, read leniently: an invalid definition still protects its files. */
export function definedDisks(): DiskUse[] {
  const out: DiskUse[] = [];
  for (const guest of listVmNames()) {
    let doc: any;
    try { doc = YAML.parse(readFileSync(home.vmFile(guest), 'utf8')); } catch { continue; }
    const disks = Array.isArray(doc?.disks) ? doc.disks : [];
    for (const d of disks) {
      if (typeof d?.file !== 'string') continue;
      let path: string;
      try { path = resolveDiskPath(d.file); } catch { continue; }
      out.push({ guest, file: d.file, path: realPath(path), readonly: !!d.readonly, media: d.media ?? 'disk' });
    }
  }
  return out;
}

export function guestsUsing(path: string, except?: string): string[] {
  const p = realPath(path);
  return [...new Set(definedDisks().filter((d) => d.path === p && d.guest !== except).map((d) => d.guest))];
}

/** Image files qkvm knows of: every guest's disks and every pool's files. */
function knownImages(): string[] {
  const set = new Set(definedDisks().map((d) => d.path));
  for (const name of listPoolNames()) {
    let target: string;
    try { target = loadPool(name).target; } catch { continue; }
    let files: string[] = [];
    try { files = readdirSync(target); } catch { continue; }
    for (const f of files) if (!f.startsWith('.')) set.add(realPath(join(target, f)));
  }
  return [...set].filter((p) => existsSync(p));
}

/** Images whose backing chain (at any depth) includes `path`. */
export function backingUsers(path: string): string[] {
  const p = realPath(path);
  const out: string[] = [];
  for (const img of knownImages()) {
    if (img === p) continue;
    let chain;
    try { chain = imageInfoSync(img, { backingChain: true, forceShare: true }); } catch { continue; }
    if (chain.slice(0, -1).some((i) => i['full-backing-filename'] && realPath(i['full-backing-filename']) === p)) out.push(img);
  }
  return out;
}
