// Huge pages on the host: the pools the kernel keeps per page size
// (/sys/kernel/mm/hugepages), hugetlbfs mounts (/proc/self/mountinfo), and the
// check that a guest with `hugepages: true` can really get its memory there.
// A mem-path on a plain directory makes QEMU fall back to a regular file, so the
// guest's memory must point at a real hugetlbfs mount with enough free pages.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { run } from '../config/paths.js';
import { writeFileAtomic } from '../config/atomic.js';
import { loadExeca } from '../config/lazy.js';
import { formatSize, parseSize } from '../config/size.js';
import { QkvmError, invalid } from '../errors.js';

export const DEFAULT_MOUNT = '/dev/hugepages';
const KiB = 1024;

export interface HugePool {
  /** Page size in bytes (2097152 for 2M). */
  pageBytes: number;
  /** As the kernel and `mount -o pagesize=` write it: 2M, 1G. */
  size: string;
  total: number;
  free: number;
  /** Promised to a mapping but not yet faulted in: not free for a new guest. */
  reserved: number;
  surplus: number;
  /** free - reserved: what a new guest can have. */
  available: number;
}

export interface HugetlbfsMount {
  path: string;
  /** The mount's page size in bytes. */
  pageBytes: number;
  /** The kernel's mount ID (/proc/self/mountinfo), the identity qkvm records. */
  mountId: number;
  /** qkvm mounted it (and `qkvm host hugepages unmount` may remove it). */
  ownedByQkvm: boolean;
}

export interface HugepagesStatus {
  /** The default huge page size (Hugepagesize in /proc/meminfo), in bytes. */
  defaultPageBytes: number;
  pools: HugePool[];
  mounts: HugetlbfsMount[];
}

interface MountRecord { path: string; mountId: number; createdDir: boolean }

const SYS = '/sys/kernel/mm/hugepages';
const sizeName = (bytes: number) => formatSize(bytes);
const readNum = (p: string) => Number(readFileSync(p, 'utf8').trim());

function readPools(): HugePool[] {
  if (!existsSync(SYS)) return [];
  return readdirSync(SYS).flatMap((d) => {
    const m = /^hugepages-(\d+)kB$/.exec(d);
    if (!m) return [];
    const pageBytes = Number(m[1]) * KiB;
    const at = (f: string) => readNum(`${SYS}/${d}/${f}`);
    const total = at('nr_hugepages');
    const free = at('free_hugepages');
    const reserved = at('resv_hugepages');
    return [{ pageBytes, size: sizeName(pageBytes), total, free, reserved, surplus: at('surplus_hugepages'), available: Math.max(0, free - reserved) }];
  }).sort((a, b) => a.pageBytes - b.pageBytes);
}

function defaultPageBytes(): number {
  const m = /^Hugepagesize:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return m ? Number(m[1]) * KiB : 2 * 1024 * KiB;
}

/** Undoes the octal escapes of /proc mount tables (\040 for a space). */
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));

/** The hugetlbfs mounts in a /proc/PID/mountinfo text (pure; unit-tested). */
export function parseHugetlbfsMounts(mountinfo: string, defaultPage: number): { path: string; pageBytes: number; mountId: number }[] {
  const out: { path: string; pageBytes: number; mountId: number }[] = [];
  for (const line of mountinfo.split('\n')) {
    const [left, right] = line.split(' - ');
    if (!right) continue;
    const f = left.split(' ');
    const [fstype, , superOpts = ''] = right.split(' ');
    if (fstype !== 'hugetlbfs') continue;
    const ps = /(?:^|,)pagesize=(\d+)([KMG])(?:,|$)/.exec(superOpts);
    const pageBytes = ps ? Number(ps[1]) * { K: KiB, M: KiB ** 2, G: KiB ** 3 }[ps[2] as 'K' | 'M' | 'G'] : defaultPage;
    out.push({ path: unescape(f[4]), pageBytes, mountId: Number(f[0]) });
  }
  return out;
}

function readRecords(): MountRecord[] {
  try { return JSON.parse(readFileSync(run.hugetlbfsRecord(), 'utf8')); } catch { return []; }
}

function writeRecords(recs: MountRecord[]): void {
  writeFileAtomic(run.hugetlbfsRecord(), JSON.stringify(recs, null, 2));
}

/** Reads only: the pools and the hugetlbfs mounts. */
export function hugepagesStatus(): HugepagesStatus {
  const def = defaultPageBytes();
  const recs = readRecords();
  const mounts = parseHugetlbfsMounts(readFileSync('/proc/self/mountinfo', 'utf8'), def).map((m) => ({
    ...m, ownedByQkvm: recs.some((r) => r.path === m.path && r.mountId === m.mountId),
  }));
  return { defaultPageBytes: def, pools: readPools(), mounts };
}

function poolFor(sizeArg: string | undefined, st: HugepagesStatus): HugePool {
  const bytes = sizeArg === undefined ? st.defaultPageBytes : parseSize(sizeArg, '--size', 'B');
  const pool = st.pools.find((p) => p.pageBytes === bytes);
  if (!pool) {
    throw invalid(`--size ${sizeArg}: this kernel has no huge pages of ${formatSize(bytes)} (it has ${st.pools.map((p) => p.size).join(', ') || 'none'})`,
      `qkvm host hugepages reserve 64 --size ${st.pools[0]?.size ?? '2M'}`);
  }
  return pool;
}

export interface ReserveResult { size: string; pageBytes: number; previous: number; requested: number; total: number; free: number }

/**
 * Sets the pool's nr_hugepages to `count` and reports what the kernel really gave:
 * it may give fewer when memory is fragmented, and never takes back pages in use.
 */
export function reserveHugepages(count: string | number, size?: string): ReserveResult {
  const n = typeof count === 'number' ? count : /^\d+$/.test(count) ? Number(count) : NaN;
  if (!Number.isSafeInteger(n) || n < 0 || n > 1_000_000) throw invalid(`huge page count: "${count}" is not a whole number from 0 to 1000000`, 'qkvm host hugepages reserve 64');
  const pool = poolFor(size, hugepagesStatus());
  const file = `${SYS}/hugepages-${pool.pageBytes / KiB}kB/nr_hugepages`;
  try {
    writeFileSync(file, `${n}\n`);
  } catch (e: any) {
    throw new QkvmError('HOST', `cannot write ${file}: ${e.code ?? e.message}`, { hint: 'run qkvm as root', cause: e });
  }
  const after = readPools().find((p) => p.pageBytes === pool.pageBytes)!;
  return { size: pool.size, pageBytes: pool.pageBytes, previous: pool.total, requested: n, total: after.total, free: after.free };
}

export interface MountResult { path: string; mounted: boolean; existing?: HugetlbfsMount; pageBytes: number }

function checkDir(dir: string): string {
  if (!dir || dir.includes('\0') || dir.length > 4096) throw invalid(`hugetlbfs mount point: "${dir}" is not a path`);
  return isAbsolute(dir) ? resolve(dir) : resolve(process.cwd(), dir);
}

/**
 * Mounts hugetlbfs at `dir` (default /dev/hugepages) unless it is one already; with
 * no dir, any hugetlbfs mount of the default page size will do. Records the mount
 * so that `unmount` removes only qkvm's own.
 */
export async function mountHugetlbfs(dir?: string, opts: { size?: string } = {}): Promise<MountResult> {
  const st = hugepagesStatus();
  const pool = poolFor(opts.size, st);
  const path = checkDir(dir ?? DEFAULT_MOUNT);
  const here = st.mounts.find((m) => m.path === path);
  if (here) {
    if (here.pageBytes !== pool.pageBytes) throw invalid(`${path} is already a hugetlbfs mount of ${formatSize(here.pageBytes)} pages, not ${pool.size}`, `qkvm host hugepages mount DIR --size ${pool.size} (another directory)`);
    return { path, mounted: false, existing: here, pageBytes: here.pageBytes };
  }
  const any = st.mounts.find((m) => m.pageBytes === pool.pageBytes);
  if (dir === undefined && any) return { path: any.path, mounted: false, existing: any, pageBytes: any.pageBytes };
  let createdDir = false;
  if (!existsSync(path)) { mkdirSync(path, { mode: 0o755 }); createdDir = true; }
  const r = await (await loadExeca()).execa('mount', ['-t', 'hugetlbfs', '-o', `pagesize=${pool.size}`, 'hugetlbfs', path], { reject: false });
  if (r.exitCode !== 0) {
    if (createdDir) { try { rmdirSync(path); } catch { /* not empty: leave it */ } }
    throw new QkvmError('HOST', `mount -t hugetlbfs at ${path} failed: ${String(r.stderr).trim()}`, { hint: 'run qkvm as root' });
  }
  const m = hugepagesStatus().mounts.find((x) => x.path === path);
  if (!m) throw new QkvmError('HOST', `mount said yes, but ${path} is not a hugetlbfs mount`);
  writeRecords([...readRecords().filter((x) => x.path !== path), { path, mountId: m.mountId, createdDir }]);
  return { path, mounted: true, pageBytes: m.pageBytes };
}

export interface UnmountResult { path: string; unmounted: boolean; removedDir: boolean }

/** Unmounts a hugetlbfs mount that qkvm made and recorded (same path, same mount ID); refuses any other. */
export async function unmountHugetlbfs(dir?: string): Promise<UnmountResult> {
  const path = checkDir(dir ?? DEFAULT_MOUNT);
  const recs = readRecords();
  const rec = recs.find((r) => r.path === path);
  const live = hugepagesStatus().mounts.find((m) => m.path === path);
  if (!live) {
    if (rec) writeRecords(recs.filter((r) => r !== rec));
    throw invalid(`${path} is not a hugetlbfs mount`, 'qkvm host hugepages (lists the mounts)');
  }
  if (!rec || rec.mountId !== live.mountId) {
    throw invalid(`the hugetlbfs mount at ${path} was not made by qkvm: left in place`, `umount ${path} (yourself, if nothing uses it)`);
  }
  const r = await (await loadExeca()).execa('umount', [path], { reject: false });
  if (r.exitCode !== 0) {
    throw new QkvmError('IN_USE', `umount ${path} failed: ${String(r.stderr).trim()}`, { hint: 'a guest with hugepages: true may still use it: `qkvm list`' });
  }
  let removedDir = false;
  if (rec.createdDir) { try { rmdirSync(path); removedDir = true; } catch { /* not empty or gone */ } }
  writeRecords(recs.filter((x) => x !== rec));
  return { path, unmounted: true, removedDir };
}

/**
 * Where a guest's huge-page memory goes: a hugetlbfs mount whose pages are of
 * `pageBytes`, with enough available pages for `memoryBytes`. Prefers
 * /dev/hugepages. Throws INVALID naming what is missing, with a fix to paste.
 */
export function hugepagesFor(name: string, memoryBytes: number, st: HugepagesStatus = hugepagesStatus()): { path: string; pages: number; pool: HugePool } {
  const pageBytes = st.defaultPageBytes;
  const pool = st.pools.find((p) => p.pageBytes === pageBytes);
  const pages = Math.ceil(memoryBytes / pageBytes);
  const size = sizeName(pageBytes);
  const mount = st.mounts.find((m) => m.path === DEFAULT_MOUNT && m.pageBytes === pageBytes) ?? st.mounts.find((m) => m.pageBytes === pageBytes);
  if (!mount) {
    throw invalid(`guest "${name}" has hugepages: true, but no hugetlbfs of ${size} pages is mounted on this host (QEMU would put its ${formatSize(memoryBytes)} in a regular file instead)`,
      (pool?.available ?? 0) >= pages ? 'qkvm host hugepages mount'
        : `qkvm host hugepages mount && qkvm host hugepages reserve ${(pool?.total ?? 0) + pages - (pool?.available ?? 0)}`);
  }
  if (!pool || pool.available < pages) {
    const have = pool?.available ?? 0;
    throw invalid(`guest "${name}" needs ${pages} huge pages of ${size} (${formatSize(memoryBytes)}), but only ${have} are free (${pool?.total ?? 0} reserved in all)`,
      `qkvm host hugepages reserve ${(pool?.total ?? 0) + pages - have}`);
  }
  return { path: mount.path, pages, pool };
}
