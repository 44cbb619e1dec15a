// Turns a definition's disk `file` into a host path, and guards the sources of
// linked clones. The forms of `file`:
//   /abs/path.qcow2   as it is
//   ./x.qcow2, ../x   against the current directory (write absolute paths in definitions)
//   POOL/VOLUME       exactly one slash: that pool's directory + the volume
//   NAME              a volume of the default pool (QKVM_HOME/images)
import { isAbsolute, join, normalize, resolve } from 'node:path';
import { validateName } from '../config/schema.js';
import { invalid } from '../errors.js';
import { loadVm } from '../config/store.js';
import type { VmSpec } from '../config/schema.js';
import { loadPool, DEFAULT_POOL } from './pool.js';

export interface DiskRef { pool?: string; volume?: string; path: string }

export function parseDiskRef(file: string): DiskRef {
  if (!file) throw invalid('disk file: empty');
  if (isAbsolute(file)) return { path: normalize(file) };
  if (file.startsWith('./') || file.startsWith('../') || file === '.' || file === '..') return { path: resolve(file) };
  const parts = file.split('/');
  if (parts.length === 1) {
    validateName(file, 'volume name');
    return { pool: DEFAULT_POOL, volume: file, path: join(loadPool(DEFAULT_POOL).target, file) };
  }
  if (parts.length === 2) {
    const [pool, volume] = parts;
    validateName(pool, `disk "${file}": pool name`);
    validateName(volume, `disk "${file}": volume name`);
    const spec = loadPool(pool);
    return { pool, volume, path: join(spec.target, volume) };
  }
  throw invalid(`disk file "${file}": not a path, POOL/VOLUME or a volume name`, 'write an absolute path, ./relative/path, POOL/VOLUME, or a volume name of the default pool');
}

export function resolveDiskPath(file: string): string {
  return parseDiskRef(file).path;
}

/** For definitions: ./relative paths become absolute now, so they mean the same later. */
export function normalizeDiskFile(file: string): string {
  if (file.startsWith('./') || file.startsWith('../')) return resolve(file);
  resolveDiskPath(file);
  return file;
}

/**
 * The checks before a start: every disk in its place (pools, or external /
 * hostDevice said explicitly), and no writable disk that an overlay or a
 * linked clone is built on, whoever's guest that is. --force does not lift them.
 */
export async function assertStartable(name: string, _force = false, spec?: Pick<VmSpec, 'disks'>): Promise<void> {
  const { assertDisksUsable } = await import('./guard.js');
  assertDisksUsable((spec ?? loadVm(name)).disks, `guest "${name}"`);
}
