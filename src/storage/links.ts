// Records of clones, beside the definitions: vms/NAME.clone.json says which guest
// NAME was cloned from and, for a linked clone, which overlay sits on which base.
// A record counts only while the clone is defined and its overlay still names
// that base, so undefining a clone or rebasing its overlay ends the link.
import { existsSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../config/atomic.js';
import { home } from '../config/paths.js';
import { imageInfoSync } from './qemu-img.js';

export interface CloneRecord {
  source: string;
  linked: boolean;
  created: string;
  /** overlay: the clone's image; backing: the source's image it is built on (host paths). */
  disks: { overlay: string; backing: string }[];
}

const SUFFIX = '.clone.json';
export const cloneRecordFile = (name: string) => join(home.vmsDir(), `${name}${SUFFIX}`);

export function writeCloneRecord(name: string, rec: CloneRecord): void {
  writeFileAtomic(cloneRecordFile(name), JSON.stringify(rec, null, 2) + '\n');
}

export function readCloneRecord(name: string): CloneRecord | undefined {
  try {
    return JSON.parse(readFileSync(cloneRecordFile(name), 'utf8')) as CloneRecord;
  } catch { return undefined; }
}

export function removeCloneRecord(name: string): void {
  try { unlinkSync(cloneRecordFile(name)); } catch { /* none */ }
}

/** Whether the overlay still uses `backing` as its backing file (unreadable counts as yes: fail safe). */
function stillBacked(overlay: string, backing: string): boolean {
  if (!existsSync(overlay)) return false;
  try {
    const [top] = imageInfoSync(overlay, { forceShare: true });
    return top['full-backing-filename'] === backing;
  } catch { return true; }
}

/** The clones whose overlays still sit on this guest's disks. */
export function linkedClonesOf(source: string): string[] {
  let files: string[];
  try { files = readdirSync(home.vmsDir()); } catch { return []; }
  const out: string[] = [];
  for (const f of files) {
    if (!f.endsWith(SUFFIX)) continue;
    const clone = f.slice(0, -SUFFIX.length);
    const rec = readCloneRecord(clone);
    if (!rec || !rec.linked || rec.source !== source) continue;
    if (!existsSync(home.vmFile(clone))) continue;
    if (rec.disks.some((d) => stillBacked(d.overlay, d.backing))) out.push(clone);
  }
  return out.sort();
}
