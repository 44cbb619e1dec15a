// Sizes as QEMU users write them (512M, 2G, 1.5G, 20GiB), parsed exactly (BigInt)
// and bounded, so a typo like 999999T is refused instead of rounded or passed on.
import { invalid } from '../errors.js';

const KiB = 1024n;
const UNITS: Record<string, bigint> = { '': 1n, B: 1n, K: KiB, M: KiB ** 2n, G: KiB ** 3n, T: KiB ** 4n, P: KiB ** 5n, E: KiB ** 6n };

export const MiB = 1024 ** 2;

/**
 * The most memory a guest may have: 64 TiB, the physical memory an x86_64 Linux
 * host with 4-level paging can address (MAX_PHYSMEM_BITS = 46). QEMU 7.2 itself
 * sets no bound below that; it just fails to allocate.
 */
export const MAX_MEMORY = 64n * UNITS.T;

/** qemu-img 7.2's own bounds: qcow2 with its default 64 KiB clusters holds at most 2 PiB. */
export const MAX_QCOW2 = 2n * UNITS.P;
/**
 * qemu-img takes raw sizes up to 2^63-1; qkvm stops at 2^53-1 (8 PiB), where a
 * JavaScript number is still exact and far beyond any Linux file system's file limit.
 */
export const MAX_RAW = BigInt(Number.MAX_SAFE_INTEGER);

export function maxImageSize(format: string | undefined): bigint {
  return format === 'raw' ? MAX_RAW : MAX_QCOW2;
}

const SIZE_RE = /^(\d+)(?:\.(\d+))?\s*([KMGTPE]?)(?:i?B)?$/i;

/**
 * What is wrong with a size, or undefined when it is fine. A bare number is in
 * `bareUnit` (QEMU's -m takes MiB; qemu-img takes bytes).
 */
export function sizeProblem(input: unknown, bareUnit: 'B' | 'M' = 'B', max = MAX_RAW): string | undefined {
  const r = exactSize(input, bareUnit);
  if (typeof r === 'string') return r;
  if (r > max) return `${String(input).trim()} is more than the maximum, ${formatSize(max)}`;
  return undefined;
}

/** Bytes, exactly (rounded to a whole byte), or a problem. */
function exactSize(input: unknown, bareUnit: 'B' | 'M'): bigint | string {
  if (typeof input === 'bigint') input = input.toString();
  if (typeof input !== 'string' && typeof input !== 'number') return `invalid size ${JSON.stringify(input)}`;
  const text = String(input).trim();
  if (/^-\s*\d/.test(text)) return `${text} is negative`;
  const m = SIZE_RE.exec(text);
  if (!m) return `invalid size "${text}"`;
  const [, whole, frac = '', u] = m;
  const unit = u.toUpperCase() || (bareUnit === 'M' && !/B$/i.test(text) ? 'M' : '');
  const scale = 10n ** BigInt(frac.length);
  const scaled = (BigInt(whole) * scale + BigInt(frac || '0')) * UNITS[unit];
  // Round half up to a whole byte.
  const bytes = (scaled * 2n + scale) / (2n * scale);
  if (bytes <= 0n) return `${text}: a size must be greater than zero`;
  return bytes;
}

/** A size in bytes as a BigInt, exact, at most `max`; throws INVALID naming `what` and the value. */
export function parseSizeExact(input: unknown, what = 'size', bareUnit: 'B' | 'M' = 'B', max = MAX_RAW): bigint {
  const problem = sizeProblem(input, bareUnit, max);
  if (problem) throw invalid(`${what}: ${problem}`, 'write a size like 512M, 2G or 20G');
  return exactSize(input, bareUnit) as bigint;
}

/**
 * Parses sizes the way QEMU users write them: 512M, 2G, 1.5G, 20GiB, 4096K.
 * The result is a number: `max` may not exceed 2^53-1, so it is always exact.
 */
export function parseSize(input: string | number, what = 'size', bareUnit: 'B' | 'M' = 'B', max = MAX_RAW): number {
  return Number(parseSizeExact(input, what, bareUnit, max < MAX_RAW ? max : MAX_RAW));
}

/** Guest memory in bytes, at most MAX_MEMORY. */
export function parseMemory(input: string | number, what = 'memory'): number {
  return parseSize(input, what, 'M', MAX_MEMORY);
}

export function formatSize(bytes: number | bigint): string {
  const b = BigInt(bytes);
  for (const u of ['E', 'P', 'T', 'G', 'M', 'K'] as const) {
    const f = UNITS[u];
    if (b >= f) {
      if (b % f === 0n) return `${b / f}${u}`;
      return `${(Number(b) / Number(f)).toFixed(1)}${u}`;
    }
  }
  return `${b}B`;
}

/** Memory sizes for QEMU's -m: whole MiB. */
export function toMiB(bytes: number): number {
  return Math.ceil(bytes / MiB);
}
