// Who uses an image file: which definitions name it, and which images are built on it.
import { readFileSync, realpathSync } from 'node:fs';
import YAML from 'yaml';
import { home } from '../config/paths.js';
import { listVmNames } from '../config/store.js';
import { resolveDiskPath } from './resolve.js';
import { imagesBackedBy } from './backing.js';

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

/** Images whose backing chain (at any depth) includes `path` (read from the qcow2 headers). */
export function backingUsers(path: string): string[] {
  return imagesBackedBy(path);
}
