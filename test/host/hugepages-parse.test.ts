// The pure part of huge pages: reading hugetlbfs mounts out of /proc/PID/mountinfo.
import { describe, expect, it } from 'vitest';
import { parseHugetlbfsMounts } from '../../src/host/hugepages.js';

const M = 2 * 1024 ** 2;

describe('parseHugetlbfsMounts', () => {
  it('finds hugetlbfs mounts with their page size, escapes undone, other file systems ignored', () => {
    const text = [
      '22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw',
      '40 22 0:35 / /dev/hugepages rw,relatime shared:20 - hugetlbfs hugetlbfs rw,pagesize=2M',
      '41 22 0:36 / /mnt/huge\\0401g rw,relatime - hugetlbfs none rw,pagesize=1024M',
      '42 22 0:37 / /mnt/plain rw - hugetlbfs none rw',
      '43 22 0:38 / /tmp rw - tmpfs tmpfs rw,size=100k',
      '',
    ].join('\n');
    expect(parseHugetlbfsMounts(text, M)).toEqual([
      { path: '/dev/hugepages', pageBytes: M, mountId: 40 },
      { path: '/mnt/huge 1g', pageBytes: 1024 ** 3, mountId: 41 },
      { path: '/mnt/plain', pageBytes: M, mountId: 42 },
    ]);
  });
});
