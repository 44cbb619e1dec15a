import { invalid } from '../errors.js';

const UNITS: Record<string, number> = { '': 1, B: 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/**
 * Parses sizes the way QEMU users write them: 512M, 2G, 1.5G, 20GiB, 4096K.
 * A bare number is in `bareUnit` (QEMU's -m takes MiB; qemu-img takes bytes).
 */
export function parseSize(input: string | number, what = 'size', bareUnit: 'B' | 'M' = 'B'): number {
  const text = String(input).trim();
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?$/i.exec(text);
  if (!m) throw invalid(`${what}: invalid size "${input}"`, 'write a size like 512M, 2G or 20G');
  const unit = m[2].toUpperCase() || (bareUnit === 'M' && !/B$/i.test(text) ? 'M' : '');
  const bytes = Math.round(parseFloat(m[1]) * UNITS[unit]);
  if (!Number.isFinite(bytes) || bytes <= 0) throw invalid(`${what}: size must be greater than zero, got "${input}"`);
  return bytes;
}

export const MiB = 1024 ** 2;

export function formatSize(bytes: number): string {
  for (const [u, f] of [['T', 1024 ** 4], ['G', 1024 ** 3], ['M', MiB], ['K', 1024]] as const) {
    if (bytes >= f) {
      const v = bytes / f;
      return `${Number.isInteger(v) ? v : v.toFixed(1)}${u}`;
    }
  }
  return `${bytes}B`;
}

/** Memory sizes for QEMU's -m: whole MiB. */
export function toMiB(bytes: number): number {
  return Math.ceil(bytes / MiB);
}
