import { describe, expect, it } from 'vitest';
import { memStatsFrom, parseBalloonTarget } from '../../src/runtime/memory.js';

const MiB = 2 ** 20;

describe('balloon target', () => {
  it('takes sizes, bare numbers in MiB', () => {
    expect(parseBalloonTarget('128M', 192 * MiB)).toBe(128 * MiB);
    expect(parseBalloonTarget('128', 192 * MiB)).toBe(128 * MiB);
    expect(parseBalloonTarget('192M', 192 * MiB)).toBe(192 * MiB);
  });
  it('refuses more than the guest has, zero, tiny and junk', () => {
    expect(() => parseBalloonTarget('256M', 192 * MiB)).toThrow(/more than the guest's memory \(192M\)/);
    expect(() => parseBalloonTarget('0', 192 * MiB)).toThrow(/greater than zero/);
    expect(() => parseBalloonTarget('4M', 192 * MiB)).toThrow(/too small/);
    expect(() => parseBalloonTarget('lots', 192 * MiB)).toThrow(/invalid size/);
  });
});

describe('guest memory statistics', () => {
  it('maps QEMU names, and drops what the guest did not report (-1)', () => {
    const s = memStatsFrom(128 * MiB, {
      'last-update': 1700000000,
      stats: { 'stat-total-memory': 150 * MiB, 'stat-free-memory': 100 * MiB, 'stat-swap-in': 0, 'stat-swap-out': 0, 'stat-major-faults': 1, 'stat-minor-faults': 2000, 'stat-disk-caches': -1 },
    });
    expect(s).toMatchObject({ actualBytes: 128 * MiB, totalBytes: 150 * MiB, freeBytes: 100 * MiB, swapInBytes: 0, majorFaults: 1, minorFaults: 2000, lastUpdate: 1700000000 });
    expect(s.diskCachesBytes).toBeUndefined();
  });
});
