import { describe, expect, it } from 'vitest';
import { formatBytes, formatProgress, formatResult, progressOf, resultOf } from '../../src/migrate/progress.js';

const active = {
  status: 'active', 'total-time': 420, 'expected-downtime': 30,
  ram: { transferred: 64 * 2 ** 20, remaining: 128 * 2 ** 20, total: 256 * 2 ** 20, mbps: 838.8608, 'dirty-pages-rate': 256, 'page-size': 4096, 'dirty-sync-count': 2 },
};

describe('migration progress', () => {
  it('turns query-migrate into progress', () => {
    const p = progressOf(active);
    expect(p).toMatchObject({ status: 'active', transferredBytes: 64 * 2 ** 20, remainingBytes: 128 * 2 ** 20, iteration: 2, elapsedMs: 420, expectedDowntimeMs: 30 });
    expect(p.fraction).toBeCloseTo(0.5);
    expect(p.dirtyRateBytesPerSec).toBe(2 ** 20);
    expect(p.speedBytesPerSec).toBe(104857600);
  });

  it('formats it as one line', () => {
    expect(formatProgress(progressOf(active))).toBe('64.0 MiB sent, 128.0 MiB left, 100.0 MiB/s, dirty 1.0 MiB/s, pass 2');
  });

  it('is 0 before setup and 1 when completed', () => {
    expect(progressOf({ status: 'setup' }).fraction).toBe(0);
    expect(progressOf({ status: 'completed', ram: { total: 10, remaining: 5 } }).fraction).toBe(1);
  });

  it('reports total time and downtime at the end', () => {
    const r = resultOf({ status: 'completed', 'total-time': 712, downtime: 22, 'setup-time': 3, ram: { transferred: 80 * 2 ** 20, 'dirty-sync-count': 3 } });
    expect(r).toEqual({ status: 'completed', totalTimeMs: 712, downtimeMs: 22, setupTimeMs: 3, transferredBytes: 80 * 2 ** 20, iterations: 3 });
    expect(formatResult(r)).toBe('total 0.71 s, downtime 22 ms, 80.0 MiB sent in 3 passes');
  });

  it('formats sizes', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(2048)).toBe('2 KiB');
    expect(formatBytes(3 * 2 ** 30)).toBe('3.00 GiB');
  });
});
