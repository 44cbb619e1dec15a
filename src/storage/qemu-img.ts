// qemu-img, run with argument arrays (never a shell). Every function returns
// values or throws QkvmError; QEMU's image locks are the authority on "in use".
import { spawnSync } from 'node:child_process';
import { loadExeca } from '../config/lazy.js';
import { existsSync, lstatSync, statSync, unlinkSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { formatSize, maxImageSize, parseSize } from '../config/size.js';
import { QkvmError, invalid, notFound } from '../errors.js';
import { inUseHint } from './guests.js';
import { recordOwned } from './owned.js';
import { progressParser, type ProgressCallback } from './progress.js';

export const QEMU_IMG = process.env.QKVM_QEMU_IMG ?? 'qemu-img';

export type ImageFormat = 'qcow2' | 'raw';
export const IMAGE_FORMATS: readonly ImageFormat[] = ['qcow2', 'raw'];
export type Preallocation = 'off' | 'metadata' | 'falloc' | 'full';
export const PREALLOCATIONS: readonly Preallocation[] = ['off', 'metadata', 'falloc', 'full'];

export interface ImageSnapshot {
  id: string;
  name: string;
  'vm-state-size': number;
  'date-sec': number;
  'date-nsec': number;
  'vm-clock-sec': number;
  'vm-clock-nsec': number;
}

/** One image of `qemu-img info --output=json` (a chain is a list of these). */
export interface ImageInfo {
  filename: string;
  format: string;
  'virtual-size': number;
  'actual-size'?: number;
  'cluster-size'?: number;
  'backing-filename'?: string;
  'full-backing-filename'?: string;
  'backing-filename-format'?: string;
  'dirty-flag'?: boolean;
  snapshots?: ImageSnapshot[];
  'format-specific'?: { type: string; data: Record<string, unknown> };
}

const LOCK_RE = /Failed to get (shared )?"(write|consistent read)" lock|Is another process using the image/;

/** Turns qemu-img's stderr into a typed error; a lock failure is IN_USE. */
export function imgError(op: string, file: string, stderr: string, exitCode?: number): QkvmError {
  const text = stderr.trim().replace(/^qemu-img: /gm, '');
  if (LOCK_RE.test(stderr)) {
    const readOnly = op === 'info' || op === 'check' || op === 'convert';
    return new QkvmError('IN_USE', `${file} is in use: QEMU holds a lock on it (qemu-img ${op}: ${text.split('\n')[0]})`, {
      hint: inUseHint(file) + (readOnly ? '; or read it anyway with -U (what is read may be inconsistent while the guest writes)' : ''),
    });
  }
  if (/No such file or directory/.test(stderr) && !existsSync(file)) {
    return notFound(`image ${file} does not exist`);
  }
  return new QkvmError('QEMU', `qemu-img ${op} failed${exitCode !== undefined ? ` (exit ${exitCode})` : ''}: ${text || 'no message'}`);
}

function hostMissing(e: unknown): QkvmError {
  return new QkvmError('HOST', `cannot run ${QEMU_IMG}: ${(e as Error)?.message ?? e}`, {
    hint: 'install qemu-utils (apt-get install qemu-utils), or run scripts/setup-host.sh',
    cause: e,
  });
}

interface RunOpts { file: string; onStdout?: (chunk: string) => void; okCodes?: number[] }

async function img(op: string, args: string[], o: RunOpts): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const child = (await loadExeca()).execa(QEMU_IMG, args, { reject: false, stdin: 'ignore', env: { LC_ALL: 'C' } });
  if (o.onStdout) child.stdout?.on('data', (b: Buffer) => o.onStdout!(b.toString('utf8')));
  const r = await child;
  if (r.exitCode === undefined) throw hostMissing(r.cause ?? r.message);
  const ok = o.okCodes ?? [0];
  if (!ok.includes(r.exitCode)) throw imgError(op, o.file, String(r.stderr), r.exitCode);
  return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode };
}

function imgSync(op: string, args: string[], o: RunOpts): { stdout: string; exitCode: number } {
  // Synchronous callers (the start-time linked-clone check) cannot await execa's lazy import.
  const r = spawnSync(QEMU_IMG, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_ALL: 'C' }, encoding: 'utf8' });
  if (r.error || r.status === null) throw hostMissing(r.error ?? new Error(`killed by ${r.signal}`));
  if (!(o.okCodes ?? [0]).includes(r.status)) throw imgError(op, o.file, r.stderr, r.status);
  return { stdout: r.stdout, exitCode: r.status };
}

/** Every format qemu-img creates and converts to; guests' disks stay qcow2 or raw (IMAGE_FORMATS). */
export const ANY_IMAGE_FORMATS: readonly string[] = ['qcow2', 'raw', 'vmdk', 'vdi', 'vhdx', 'vpc', 'qed'];

function checkFormat(format: string | undefined, what = 'format', any = false): ImageFormat | undefined {
  if (format === undefined) return undefined;
  const list: readonly string[] = any ? ANY_IMAGE_FORMATS : IMAGE_FORMATS;
  if (!list.includes(format)) throw invalid(`${what}: unsupported format "${format}"`, any ? `use one of ${list.join(', ')}` : 'use qcow2 or raw');
  return format as ImageFormat;
}

/** Whether anything has this name, a dangling symlink included (existsSync follows links). */
function taken(file: string): boolean {
  try { lstatSync(file); return true; } catch { return false; }
}

/** Who a new image is recorded for (storage/owned.ts): the command, and the guest if any. */
export interface ImageOwner { by: string; guest?: string }

/** Records a new image; an image qkvm cannot record is removed again, so nothing unrecorded stays behind. */
async function recordNew(file: string, owner: ImageOwner): Promise<void> {
  try {
    await recordOwned(file, owner);
  } catch (e) {
    try { unlinkSync(file); } catch { /* gone */ }
    throw e;
  }
}

function mustExist(file: string): void {
  if (!existsSync(file)) throw notFound(`image ${file} does not exist`);
}

// ---- create -------------------------------------------------------------

export interface CreateOptions {
  file: string;
  format?: ImageFormat;
  /** Required without a backing file; with one, defaults to the backing file's size. */
  size?: string | number;
  backingFile?: string;
  backingFormat?: ImageFormat;
  preallocation?: Preallocation;
  /** Recorded as created by qkvm (default: by "disk create", for no guest). */
  owner?: ImageOwner;
  /** Accept every format qemu-img has (vmdk, vdi, vhdx, vpc, qed), not only a guest disk's. */
  anyFormat?: boolean;
  /** More -o options (cluster_size, compat, lazy_refcounts...), checked by qemu-img itself. */
  options?: [string, string][];
  /** qemu-img create -u: do not open the backing file (a size must be given). */
  unsafe?: boolean;
}

/** The argv of `qemu-img create`, after every option was checked. */
export function createArgs(o: CreateOptions): string[] {
  const format = checkFormat(o.format, 'format', o.anyFormat) ?? 'qcow2';
  const size = o.size !== undefined ? parseSize(o.size, 'size', 'B', maxImageSize(format)) : undefined;
  if (size === undefined && !o.backingFile) throw invalid('size: a new image needs a size (or a backing file)', 'write a size like 10G');
  if (o.backingFile && format !== 'qcow2' && !(o.anyFormat && ['qed', 'vmdk'].includes(format))) throw invalid('backing file: only qcow2 images can have a backing file', 'use --format qcow2');
  if (o.preallocation && !PREALLOCATIONS.includes(o.preallocation)) {
    throw invalid(`preallocation: unknown mode "${o.preallocation}"`, `use one of ${PREALLOCATIONS.join(', ')}`);
  }
  if (o.preallocation === 'metadata' && format === 'raw') throw invalid('preallocation: "metadata" applies only to qcow2', 'use falloc or full for raw images');
  const opts: [string, string][] = [];
  if (o.backingFile) opts.push(['backing_file', o.backingFile], ['backing_fmt', checkFormat(o.backingFormat, 'backing format') ?? 'qcow2']);
  if (o.preallocation) opts.push(['preallocation', o.preallocation]);
  opts.push(...(o.options ?? []));
  const args = ['create', '-q', '-f', format];
  if (o.unsafe) args.push('-u');
  // A comma inside an -o value must be doubled for QEMU's option parser.
  if (opts.length) args.push('-o', opts.map(([k, v]) => `${k}=${v.replace(/,/g, ',,')}`).join(','));
  args.push(o.file);
  if (size !== undefined) args.push(String(size));
  return args;
}

export async function createImage(o: CreateOptions): Promise<void> {
  const args = createArgs(o);
  if (taken(o.file)) {
    throw new QkvmError('EXISTS', `${o.file} already exists`, { hint: 'qkvm never overwrites an image: pick another name, or delete it first' });
  }
  if (o.backingFile && !o.unsafe) {
    const b = isAbsolute(o.backingFile) ? o.backingFile : resolve(dirname(o.file), o.backingFile);
    mustExist(b);
  }
  await img('create', args, { file: o.file });
  await recordNew(o.file, o.owner ?? { by: 'disk create' });
}

// ---- info ---------------------------------------------------------------

export interface InfoOptions {
  backingChain?: boolean;
  /** qemu-img -U: read an image that a running guest holds (may be inconsistent). */
  forceShare?: boolean;
  format?: ImageFormat;
}

function infoArgs(file: string, o: InfoOptions): string[] {
  const args = ['info', '--output=json'];
  if (o.backingChain) args.push('--backing-chain');
  if (o.forceShare) args.push('-U');
  if (o.format) args.push('-f', o.format);
  args.push(file);
  return args;
}

/** Resolves each image's backing file to an absolute path (qemu-img gives it relative to the image). */
function absolutize(list: ImageInfo[], file: string): ImageInfo[] {
  return list.map((i) => {
    const base = dirname(isAbsolute(i.filename) ? i.filename : resolve(dirname(file), i.filename));
    const full = i['full-backing-filename'] ?? i['backing-filename'];
    return full && !isAbsolute(full) && !/^\w+:/.test(full) ? { ...i, 'full-backing-filename': resolve(base, full) } : i;
  });
}

function parseInfo(stdout: string, file: string, chain: boolean): ImageInfo[] {
  const v = JSON.parse(stdout);
  return absolutize(chain ? v : [v], file);
}

/** The image, then (with backingChain) each backing file down to the base. */
export async function imageInfo(file: string, o: InfoOptions = {}): Promise<ImageInfo[]> {
  mustExist(file);
  const { stdout } = await img('info', infoArgs(file, o), { file });
  return parseInfo(stdout, file, !!o.backingChain);
}

export function imageInfoSync(file: string, o: InfoOptions = {}): ImageInfo[] {
  mustExist(file);
  const { stdout } = imgSync('info', infoArgs(file, o), { file });
  return parseInfo(stdout, file, !!o.backingChain);
}

// ---- check --------------------------------------------------------------

export interface CheckResult {
  filename: string;
  format: string;
  /** ok, corrupt (errors found), leaks (leaked clusters only), or unsupported (raw). */
  status: 'ok' | 'corrupt' | 'leaks' | 'unsupported';
  'check-errors'?: number;
  corruptions?: number;
  leaks?: number;
  'corruptions-fixed'?: number;
  'leaks-fixed'?: number;
  'image-end-offset'?: number;
  'total-clusters'?: number;
  'allocated-clusters'?: number;
}

export async function checkImage(file: string, o: { repair?: 'leaks' | 'all'; forceShare?: boolean; format?: ImageFormat } = {}): Promise<CheckResult> {
  mustExist(file);
  const args = ['check', '--output=json'];
  if (o.repair) {
    if (o.forceShare) throw invalid('check: --repair cannot be combined with force-share', 'stop the guest that uses the image first');
    args.push('-r', o.repair);
  }
  if (o.forceShare) args.push('-U');
  if (o.format) args.push('-f', o.format);
  args.push(file);
  // Exit codes (qemu-img(1)): 0 clean, 2 corrupt, 3 leaks, 63 format without checks.
  const r = await img('check', args, { file, okCodes: [0, 2, 3, 63] });
  if (r.exitCode === 63) return { filename: file, format: o.format ?? 'raw', status: 'unsupported' };
  const v = JSON.parse(r.stdout);
  const status = r.exitCode === 2 ? 'corrupt' : r.exitCode === 3 ? 'leaks' : 'ok';
  return { ...v, status };
}

// ---- convert ------------------------------------------------------------

export interface ConvertOptions {
  source: string;
  target: string;
  format: ImageFormat;
  sourceFormat?: ImageFormat;
  /** Read a source that a paused guest holds (qemu-img -U). */
  forceShare?: boolean;
  compress?: boolean;
  onProgress?: ProgressCallback;
  /** Recorded as created by qkvm (default: by "disk convert", for no guest). */
  owner?: ImageOwner;
  /** Accept every format qemu-img has, and qemu-img's own checks of compression. */
  anyFormat?: boolean;
  /** More source images, concatenated after `source` (qemu-img convert SRC... DST). */
  moreSources?: string[];
  /** -o options for the new image. */
  options?: [string, string][];
  /** Checked qemu-img options passed as they are (-t, -T, -S, -W, -m...). */
  extra?: string[];
  /** qemu-img convert -n: write into an existing target, which qkvm then does not record (it did not create it). */
  noCreate?: boolean;
  /** The copy is the user's file (an export written where they said), not an image qkvm keeps: not recorded. */
  unrecorded?: boolean;
}

export function convertArgs(o: ConvertOptions): string[] {
  const format = checkFormat(o.format, 'output format', o.anyFormat)!;
  const args = ['convert', '-p', '-O', format];
  if (o.sourceFormat) args.push('-f', checkFormat(o.sourceFormat, 'source format', o.anyFormat)!);
  if (o.forceShare) args.push('-U');
  if (o.compress) {
    if (format === 'raw' || (!o.anyFormat && format !== 'qcow2')) throw invalid('convert: compression needs the qcow2 output format');
    args.push('-c');
  }
  if (o.options?.length) args.push('-o', o.options.map(([k, v]) => `${k}=${v.replace(/,/g, ',,')}`).join(','));
  if (o.noCreate) args.push('-n');
  args.push(...(o.extra ?? []));
  args.push(o.source, ...(o.moreSources ?? []), o.target);
  return args;
}

export async function convertImage(o: ConvertOptions): Promise<void> {
  const args = convertArgs(o);
  for (const s of [o.source, ...(o.moreSources ?? [])]) mustExist(s);
  if (o.noCreate) {
    mustExist(o.target);
    // -n writes over the target's data: never into an image that others are built on.
    (await import('./guard.js')).assertNoOverlays(o.target, 'convert -n');
    await img('convert', args, { file: o.target, onStdout: o.onProgress ? progressParser(o.onProgress) : undefined });
    return;
  }
  if (taken(o.target)) throw new QkvmError('EXISTS', `${o.target} already exists`, { hint: 'qkvm never overwrites an image: pick another name' });
  const parse = o.onProgress ? progressParser(o.onProgress) : undefined;
  try {
    await img('convert', args, { file: o.source, onStdout: parse });
  } catch (e) {
    // A half-written copy is worthless and would block a retry.
    try { unlinkSync(o.target); } catch { /* never created */ }
    throw e;
  }
  if (!o.unrecorded) await recordNew(o.target, o.owner ?? { by: 'disk convert' });
}

// ---- resize -------------------------------------------------------------

/** Reads "10G", "+1G" or "-512M" against the current size; returns the new size in bytes, at most the format's maximum. */
export function targetSize(current: number, size: string, format?: string): number {
  const m = /^([+-]?)(.*)$/.exec(size.trim())!;
  const max = maxImageSize(format);
  const n = BigInt(parseSize(m[2], 'size', 'B', max));
  const next = m[1] === '+' ? BigInt(current) + n : m[1] === '-' ? BigInt(current) - n : n;
  if (next <= 0n) throw invalid(`size: "${size}" would leave the image with no space`);
  if (next > max) throw invalid(`size: "${size}" would make the image larger than the maximum for ${format ?? 'qcow2'}, ${formatSize(max)}`);
  return Number(next);
}

export interface ResizePlan { file: string; format: string; current: number; target: number; shrink: boolean }

export async function planResize(file: string, size: string, format?: ImageFormat): Promise<ResizePlan> {
  const m = /^[+-]?(.*)$/.exec(size.trim())!;
  parseSize(m[1], 'size');
  const [info] = await imageInfo(file, { format });
  const target = targetSize(info['virtual-size'], size, info.format);
  return { file, format: info.format, current: info['virtual-size'], target, shrink: target < info['virtual-size'] };
}

/**
 * Grows an image (or shrinks it, when `shrink` is set). Shrinking cuts off data
 * at the end of the disk: the guest's partitions and file systems must be made
 * smaller first. `onWarning` hears that before anything runs.
 */
export async function resizeImage(file: string, size: string, o: { shrink?: boolean; format?: ImageFormat; preallocation?: Preallocation; onWarning?: (msg: string) => void } = {}): Promise<ResizePlan> {
  const plan = await planResize(file, size, o.format);
  if (plan.shrink && !o.shrink) {
    throw invalid(`resize: ${size} is smaller than the image (${plan.current} bytes); that would shrink it`,
      'shrinking destroys the data past the new end: shrink the guest\'s file system and partitions first, then add --shrink');
  }
  if (plan.target === plan.current) return plan;
  if (plan.shrink) (await import('./guard.js')).assertNoOverlays(file, 'resize --shrink');
  if (plan.shrink) o.onWarning?.(`shrinking ${file} from ${plan.current} to ${plan.target} bytes: data past the new end is lost`);
  const args = ['resize', '-q', '-f', plan.format];
  if (plan.shrink) args.push('--shrink');
  if (o.preallocation) args.push(`--preallocation=${o.preallocation}`);
  args.push(file, String(plan.target));
  await img('resize', args, { file });
  return plan;
}

// ---- internal snapshots --------------------------------------------------

function checkTag(tag: string): string {
  if (!/^[A-Za-z0-9_.:@+-]{1,127}$/.test(tag) || /^\d+$/.test(tag)) {
    throw invalid(`snapshot: invalid name "${tag}"`, 'a snapshot name is 1-127 characters of A-Z a-z 0-9 _ . : @ + - and not all digits (digits alone are ids)');
  }
  return tag;
}
export const validateSnapshotTag = checkTag;

export async function listImageSnapshots(file: string, o: { forceShare?: boolean } = {}): Promise<ImageSnapshot[]> {
  const [info] = await imageInfo(file, { forceShare: o.forceShare });
  return info.snapshots ?? [];
}

export async function imageSnapshot(op: 'create' | 'apply' | 'delete', file: string, tag: string): Promise<void> {
  checkTag(tag);
  mustExist(file);
  const flag = op === 'create' ? '-c' : op === 'apply' ? '-a' : '-d';
  if (op === 'apply') (await import('./guard.js')).assertNoOverlays(file, `snapshot --apply ${tag}`);
  await img(`snapshot ${flag}`, ['snapshot', flag, tag, file], { file });
}

// ---- commit and rebase ---------------------------------------------------

/** Writes an overlay's changes down into its backing file (or `base`, further down). */
export async function commitImage(file: string, o: { base?: string; keepOverlay?: boolean; onProgress?: ProgressCallback } = {}): Promise<void> {
  mustExist(file);
  const [top] = await imageInfo(file);
  if (!top['backing-filename']) throw invalid(`commit: ${file} has no backing file, so there is nothing to commit into`);
  const args = ['commit', '-p'];
  if (o.base) { mustExist(o.base); args.push('-b', o.base); }
  // The commit writes into the base: no other image may be built on it (or on the images it passes).
  const { backingChain } = await import('./backing.js');
  const chain = backingChain(file);
  const into = o.base ?? top['full-backing-filename'] ?? chain[0];
  if (into) (await import('./guard.js')).assertNoOverlays(into, `commit ${file}`, [file, ...chain]);
  // qemu-img empties the overlay after a commit unless -d.
  if (o.keepOverlay) args.push('-d');
  args.push(file);
  await img('commit', args, { file, onStdout: o.onProgress ? progressParser(o.onProgress) : undefined });
}

/**
 * Points an overlay at another backing file. Safe mode (the default) copies the
 * differences so the guest sees the same data; `unsafe` only rewrites the name.
 * An empty `backing` makes the image standalone.
 */
export async function rebaseImage(file: string, backing: string, o: { backingFormat?: ImageFormat; unsafe?: boolean; onProgress?: ProgressCallback } = {}): Promise<void> {
  mustExist(file);
  if (backing) {
    const b = isAbsolute(backing) ? backing : resolve(dirname(file), backing);
    mustExist(b);
  }
  const args = ['rebase', '-p', '-b', backing];
  if (backing) args.push('-F', checkFormat(o.backingFormat, 'backing format') ?? (await imageInfo(isAbsolute(backing) ? backing : resolve(dirname(file), backing)))[0].format);
  if (o.unsafe) args.push('-u');
  args.push(file);
  await img('rebase', args, { file, onStdout: o.onProgress ? progressParser(o.onProgress) : undefined });
}

/**
 * Runs one qemu-img command that qkvm has checked (the qemu-img front-end's
 * read-only commands, amend, dd); `okCodes` are the exit codes that are answers.
 */
export async function runQemuImg(op: string, args: string[], file: string, okCodes = [0]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  return img(op, args, { file, okCodes });
}

/** Records an image the qemu-img front-end made (dd's output); removes it if the record fails. */
export async function recordCreated(file: string, owner: ImageOwner): Promise<void> {
  await recordNew(file, owner);
}

/** The format of an image, as qemu-img sees it. */
export async function detectFormat(file: string): Promise<string> {
  return (await imageInfo(file))[0].format;
}

export function fileSize(file: string): number | undefined {
  try { return statSync(file).size; } catch { return undefined; }
}
