// Snapshot metadata qkvm keeps beside the definition (vms/NAME.snapshots.json):
// what qcow2 does not store. The snapshots themselves live inside the images.
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../config/atomic.js';
import { home } from '../config/paths.js';

export interface SnapshotMeta {
  name: string;
  description?: string;
  /** The snapshot that was current when this one was taken. */
  parent?: string;
  /** ISO 8601 time of creation. */
  created: string;
  /** Whether it holds the RAM and device state (taken live). */
  vmState: boolean;
  /**
   * The guest agent froze the guest's filesystems around it: its RAM state is
   * a frozen guest, so a live revert thaws them after loading.
   */
  fsFrozen?: boolean;
}

export interface SnapshotBook {
  current?: string;
  snapshots: SnapshotMeta[];
}

export function readBook(guest: string): SnapshotBook {
  try {
    const v = JSON.parse(readFileSync(home.snapshotsFile(guest), 'utf8'));
    if (v && Array.isArray(v.snapshots)) return { current: v.current, snapshots: v.snapshots };
  } catch { /* none yet */ }
  return { snapshots: [] };
}

export function writeBook(guest: string, book: SnapshotBook): void {
  writeFileAtomic(home.snapshotsFile(guest), JSON.stringify(book, null, 2) + '\n');
}

/** snap-YYYYMMDD-HHMMSS (UTC), with -2, -3... when that name is taken. */
export function autoSnapshotName(book: SnapshotBook, now = new Date(), taken: string[] = []): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const base = `snap-${now.getUTCFullYear()}${p(now.getUTCMonth() + 1)}${p(now.getUTCDate())}-${p(now.getUTCHours())}${p(now.getUTCMinutes())}${p(now.getUTCSeconds())}`;
  const used = new Set([...book.snapshots.map((s) => s.name), ...taken]);
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) if (!used.has(`${base}-${i}`)) return `${base}-${i}`;
}

/** The new snapshot's parent is the current one, and it becomes current. */
export function addSnapshot(book: SnapshotBook, s: Omit<SnapshotMeta, 'parent'>): SnapshotBook {
  const snapshots = book.snapshots.filter((x) => x.name !== s.name);
  snapshots.push({ ...s, parent: book.current });
  return { current: s.name, snapshots };
}

export function revertTo(book: SnapshotBook, name: string): SnapshotBook {
  return { ...book, current: name };
}

/** Children of a deleted snapshot move up to its parent; so does "current". */
export function removeSnapshot(book: SnapshotBook, name: string): SnapshotBook {
  const gone = book.snapshots.find((s) => s.name === name);
  const parent = gone?.parent;
  const snapshots = book.snapshots
    .filter((s) => s.name !== name)
    .map((s) => (s.parent === name ? { ...s, parent } : s));
  return { current: book.current === name ? parent : book.current, snapshots };
}
