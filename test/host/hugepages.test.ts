// Huge pages with the real kernel and QEMU: `qkvm host hugepages` reads the pools
// and mounts, `reserve` writes nr_hugepages, `mount`/`unmount` handle a hugetlbfs
// of qkvm's own (at a temp dir of the test), and `start` refuses a guest with
// hugepages: true that cannot get huge pages, before QEMU runs, and runs one that
// can with its memory in that hugetlbfs. The reservation is host-wide: the test
// puts the previous nr_hugepages back in afterAll.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_CI, State, qemuPids, whyNot } from '../migrate/harness.js';

const why = whyNot() || (process.getuid?.() === 0 ? '' : 'needs root (nr_hugepages, mount)');
if (why && !IN_CI) console.warn(`hugepages: skipped: ${why}`);

const POOL = '/sys/kernel/mm/hugepages/hugepages-2048kB';
const nr = () => Number(readFileSync(`${POOL}/nr_hugepages`, 'utf8'));
const poolNum = (f: string) => Number(readFileSync(`${POOL}/${f}`, 'utf8'));
const hugetlbfsMounts = () => readFileSync('/proc/mounts', 'utf8').split('\n').filter((l) => l.split(' ')[2] === 'hugetlbfs').map((l) => l.split(' ')[1]);

describe.skipIf(why !== '' && !IN_CI)('host hugepages', () => {
  const st = new State('hp');
  let previous = 0;
  let mnt = '';
  let foreign = '';
  const hadDevHugepages = existsSync('/dev/hugepages');

  beforeAll(async () => {
    if (why) throw new Error(why);
    previous = nr();
    mnt = mkdtempSync(join(tmpdir(), 'qkvm-hp-mnt-'));
    foreign = mkdtempSync(join(tmpdir(), 'qkvm-hp-foreign-'));
    // 96 MiB of 2M pages: 48 pages.
    await st.define('hp', { memory: '96M', hugepages: true, balloon: false });
  });
  afterAll(() => {
    st.cleanup();
    for (const d of [mnt, foreign]) {
      if (d && hugetlbfsMounts().includes(d)) execFileSync('umount', [d]);
      if (d) rmSync(d, { recursive: true, force: true });
    }
    writeFileSync(`${POOL}/nr_hugepages`, `${previous}\n`);
  });

  it('status reads the pools and the mounts', async () => {
    const s = JSON.parse((await st.ok('host', 'hugepages', '--json')).stdout);
    const p2m = s.pools.find((p: any) => p.size === '2M');
    expect(p2m).toMatchObject({ pageBytes: 2 * 2 ** 20, total: nr(), free: poolNum('free_hugepages'), reserved: poolNum('resv_hugepages') });
    expect(s.mounts.map((m: any) => m.path).sort()).toEqual(hugetlbfsMounts().sort());
    const text = (await st.ok('host', 'hugepages')).stdout;
    expect(text).toMatch(new RegExp(`^2M\\s+${nr()}\\s`, 'm'));
  });

  it('reserve writes nr_hugepages and reports what the kernel gave', async () => {
    const r = JSON.parse((await st.ok('host', 'hugepages', 'reserve', '8', '--size', '2M', '--json')).stdout);
    expect(r).toMatchObject({ size: '2M', previous, requested: 8, total: 8 });
    expect(nr()).toBe(8);
    const text = (await st.ok('host', 'hugepages', 'reserve', '8')).stdout;
    expect(text).toMatch(/huge pages of 2M: 8 reserved \(asked 8, was 8\)/);
  });

  it('reserve refuses a bad count or a page size the kernel lacks (exit 2, nothing changed)', async () => {
    for (const bad of ['-1', 'abc', '1.5']) {
      const r = await st.qkvm('host', 'hugepages', 'reserve', bad);
      expect(r.exitCode, bad).toBe(2);
      expect(r.stderr).toContain(`"${bad}"`);
    }
    const size = await st.qkvm('host', 'hugepages', 'reserve', '8', '--size', '3M');
    expect(size.exitCode).toBe(2);
    expect(size.stderr).toMatch(/no huge pages of 3M \(it has 2M/);
    expect(nr()).toBe(8);
  });

  it('start refuses hugepages: true when no hugetlbfs is mounted: exit 2, nothing made', async () => {
    // This host mounts none by itself (a fresh machine does not); the test's own come later.
    expect(hugetlbfsMounts()).toEqual([]);
    const r = await st.qkvm('start', 'hp');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/hugepages: true, but no hugetlbfs of 2M pages is mounted/);
    expect(r.stderr).toMatch(/hint: qkvm host hugepages mount && qkvm host hugepages reserve 48/);
    expect(qemuPids(st.home)).toEqual([]);
    expect(existsSync(join(st.run, 'vms', 'hp'))).toBe(false);
    // The old failure: QEMU made a regular file of the guest's size at /dev/hugepages.
    expect(existsSync('/dev/hugepages')).toBe(hadDevHugepages);
  });

  it('mount puts hugetlbfs at a directory, records it, and a second mount does nothing', async () => {
    const r = JSON.parse((await st.ok('host', 'hugepages', 'mount', mnt, '--json')).stdout);
    expect(r).toMatchObject({ path: mnt, mounted: true, pageBytes: 2 * 2 ** 20 });
    const line = readFileSync('/proc/mounts', 'utf8').split('\n').find((l) => l.split(' ')[1] === mnt)!;
    expect(line.split(' ')[2]).toBe('hugetlbfs');
    expect(line).toContain('pagesize=2M');
    const again = JSON.parse((await st.ok('host', 'hugepages', 'mount', mnt, '--json')).stdout);
    expect(again.mounted).toBe(false);
    const s = JSON.parse((await st.ok('host', 'hugepages', '--json')).stdout);
    expect(s.mounts).toEqual([expect.objectContaining({ path: mnt, ownedByQkvm: true })]);
  });

  it('start refuses a guest that needs more huge pages than are free, and its hint works when pasted', async () => {
    const r = await st.qkvm('start', 'hp');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/needs 48 huge pages of 2M \(96M\), but only 8 are free \(8 reserved in all\)/);
    const hint = /hint: qkvm (.*)/.exec(r.stderr)![1];
    expect(hint).toBe('host hugepages reserve 48');
    expect(qemuPids(st.home)).toEqual([]);
    await st.ok(...hint.split(' '));
    expect(nr()).toBe(48);
  });

  it('starts a guest whose memory is in the hugetlbfs mount, and unmount waits until it is gone', async () => {
    const availBefore = poolNum('free_hugepages') - poolNum('resv_hugepages');
    const serial = await st.boot('hp');
    const pid = st.pid('hp');
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(cmdline).toContain(`memory-backend-file,id=ram0,size=96M,mem-path=${mnt}`);
    // The guest's RAM: a hugetlb mapping of a (deleted) file in the mount, 2 MiB pages.
    const smaps = readFileSync(`/proc/${pid}/smaps`, 'utf8');
    const block = smaps.split(/\n(?=[0-9a-f]+-[0-9a-f]+ )/).find((b) => b.split('\n')[0].includes(mnt))!;
    expect(block).toBeDefined();
    expect(block).toMatch(/^KernelPageSize:\s+2048 kB$/m);
    expect(block).toMatch(/^Size:\s+98304 kB$/m);
    expect(poolNum('free_hugepages') - poolNum('resv_hugepages')).toBe(availBefore - 48);
    // Nothing of the guest's memory became a regular file anywhere visible.
    expect(readdirSync(mnt)).toEqual([]);
    expect((await serial.run('grep MemTotal /proc/meminfo')).status).toBe(0);
    // Starting it again says so; the pages it holds are not taken for missing ones.
    const again = await st.qkvm('start', 'hp');
    expect(again.stderr).toMatch(/guest "hp" is already running/);

    const busy = await st.qkvm('host', 'hugepages', 'unmount', mnt);
    expect(busy.exitCode).toBe(1);
    expect(busy.stderr).toMatch(/umount .* failed/);
    expect(hugetlbfsMounts()).toContain(mnt);
    await st.ok('destroy', 'hp');
    expect(poolNum('free_hugepages') - poolNum('resv_hugepages')).toBe(availBefore);
  });

  it('unmount removes only the mount qkvm made', async () => {
    execFileSync('mount', ['-t', 'hugetlbfs', 'hugetlbfs', foreign]);
    const r = await st.qkvm('host', 'hugepages', 'unmount', foreign);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/was not made by qkvm: left in place/);
    expect(hugetlbfsMounts()).toContain(foreign);
    execFileSync('umount', [foreign]);

    const out = JSON.parse((await st.ok('host', 'hugepages', 'unmount', mnt, '--json')).stdout);
    expect(out).toMatchObject({ path: mnt, unmounted: true, removedDir: false });
    expect(hugetlbfsMounts()).not.toContain(mnt);
    const none = await st.qkvm('host', 'hugepages', 'unmount', mnt);
    expect(none.exitCode).toBe(2);
    expect(none.stderr).toMatch(/is not a hugetlbfs mount/);
  });
});
