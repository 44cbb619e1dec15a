// What this host has that a pasted QEMU line may need: /dev/vhost-net,
// hugetlbfs mounts, /dev/kvm, and whether a file on the line exists. Read-only.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { HostFacts } from '../qemu/legacy/verdict.js';

/** hugetlbfs mount points in /proc/mounts' text. */
export function hugetlbfsMounts(mounts: string): string[] {
  return mounts.split('\n').map((l) => l.split(' ')).filter((f) => f[2] === 'hugetlbfs').map((f) => f[1]);
}

export function readHostFacts(cwd = process.cwd()): HostFacts {
  let mounts = '';
  try { mounts = readFileSync('/proc/mounts', 'utf8'); } catch { /* no /proc: none mounted */ }
  return {
    vhostNet: existsSync('/dev/vhost-net'),
    hugetlbfs: hugetlbfsMounts(mounts),
    kvm: existsSync('/dev/kvm'),
    exists: (file) => existsSync(resolve(cwd, file)),
  };
}
