// Turns a definition's disk `file` into a host path. (Stub: the storage work
// adds POOL/VOLUME names.)
import { isAbsolute, join } from 'node:path';
import { home } from '../config/paths.js';

export function resolveDiskPath(file: string): string {
  if (isAbsolute(file)) return file;
  return join(home.imagesDir(), file);
}

/** Refuses to start a guest whose disks back linked clones, unless forced. (Stub.) */
export function assertStartable(name: string, force = false): void {
  void name; void force;
}
