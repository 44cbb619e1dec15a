// Turns a definition's disk `file` into a host path, and guards the sources of
// linked clones. The forms of `file`:
//   /abs/path.qcow2   as it is
//   ./x.qcow2, ../x   against the current directory (write absolute paths in definitions)
//   POOL/VOLUME       exactly one slash: that pool's directory + the volume
//   NAME              a volume of the default pool (QKVM_HOME/images)
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, normalize, resolve } from 'node:path';
import { ensureDir } from '../config/atomic.js';
import { validateName } from '../config/schema.js';
import { invalid } from '../errors.js';
import { loadVm } from '../config/store.js';
import type { VmSpec } from '../config/schema.js';
import { loadPool, poolExists, DEFAULT_POOL } from './pool.js';

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

// ---- disk paths typed on the command line --------------------------------
// One rule for every command (disk create, attach-disk, -hda, --disk path=): a
// path typed on the command line is a file path relative to the current
// directory, as in qemu-img, virsh and qemu-kvm, and is recorded absolute.
// POOL/VOLUME still names a volume when no such file exists and POOL is a
// defined pool; the default pool's directory is made on first use.

export interface CliDiskPath {
  /** The absolute path. */
  path: string;
  /** The user typed a path relative to the current directory (not POOL/VOLUME, not absolute). */
  relative: boolean;
  /** It names a pool volume (POOL/VOLUME, or an existing default-pool volume with `existing`). */
  pool?: string;
}

/**
 * Where a disk path typed on the command line points. With `existing`, a bare
 * NAME that is not in `cwd` but is a volume of the default pool means that
 * volume (so `attach-disk g vol.qcow2` keeps working for pool volumes).
 */
export function resolveCliDisk(arg: string, cwd: string = process.cwd(), o: { existing?: boolean } = {}): CliDiskPath {
  if (!arg) throw invalid('disk path: empty', 'give an image file, like disk.qcow2 or /var/lib/qkvm/images/disk.qcow2');
  if (arg.includes('\0')) throw invalid(`disk path ${JSON.stringify(arg)}: contains a NUL byte`);
  const here = resolve(cwd, arg);
  if (isAbsolute(arg)) return { path: normalize(arg), relative: false };
  if (arg.startsWith('./') || arg.startsWith('../') || existsSync(here)) return { path: here, relative: true };
  const parts = arg.split('/');
  if (parts.length === 2 && parts[0] && parts[1] && poolExists(parts[0])) {
    const ref = parseDiskRef(arg);
    // A new home has no images/ yet: the default pool's directory is qkvm's to make (0700, like the state dirs).
    if (ref.pool === DEFAULT_POOL) ensureDir(dirname(ref.path));
    return { path: ref.path, relative: false, pool: ref.pool };
  }
  if (o.existing && parts.length === 1) {
    try {
      const ref = parseDiskRef(arg);
      if (existsSync(ref.path)) return { path: ref.path, relative: false, pool: ref.pool };
    } catch { /* not a volume name: a file path */ }
  }
  return { path: here, relative: true };
}

/** The absolute path a disk argument typed on the command line means (see resolveCliDisk). */
export function resolveCliDiskPath(arg: string, cwd: string = process.cwd(), o: { existing?: boolean } = {}): string {
  return resolveCliDisk(arg, cwd, o).path;
}

/**
 * The format to record for a disk: an explicit one wins; else the file is
 * probed once, now, with qemu-img info, and the answer is written into the
 * definition, so QEMU never probes it later (probing raw images is a known
 * hole: a guest could write a qcow2 header into its raw disk). A file that
 * does not exist yet gives undefined: its creator decides.
 */
export async function recordedFormat(path: string, explicit?: string): Promise<string | undefined> {
  if (explicit) return explicit;
  if (!existsSync(path)) return undefined;
  const { imageInfo } = await import('./qemu-img.js');
  return (await imageInfo(path, { forceShare: true }))[0].format;
}

/**
 * A disk entry from the command line, made ready for a definition: the file
 * absolute, the format recorded, and a file the user named relative to the
 * current directory outside the pools marked `external: true` (it is the
 * user's own file: qkvm attaches it as asked and never removes it). An
 * absolute path outside the pools still needs `external` said explicitly.
 */
export async function cliDiskEntry<D extends { file: string; format?: string; external?: boolean; hostDevice?: boolean; readonly?: boolean }>(d: D, cwd: string = process.cwd()): Promise<D> {
  const r = resolveCliDisk(d.file, cwd, { existing: true });
  const out: D = { ...d, file: r.path };
  const format = await recordedFormat(r.path, d.format).catch(() => undefined);
  if (format) out.format = format;
  if (r.relative && !d.external && !d.hostDevice) {
    const { insidePool } = await import('./placement.js');
    if (!insidePool(r.path)) {
      out.external = true;
      // `external` alone means read-only; a file the user named in their own directory is theirs to write.
      if (out.readonly === undefined) out.readonly = false;
    }
  }
  return out;
}

/**
 * The format of a new image made without -f: raw for .img, .raw and .bin (what
 * qemu-img makes, and what tutorials mean by them), qcow2 otherwise (qkvm's
 * default, for snapshots and thin allocation).
 */
export function newImageFormat(file: string): 'qcow2' | 'raw' {
  return /\.(img|raw|bin)$/i.test(file) ? 'raw' : 'qcow2';
}
