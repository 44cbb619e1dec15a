// Migration progress, from QMP's query-migrate: what qkvm reports to the user
// (the CLI draws it). Pure functions, so they are tested without QEMU.

/** The parts of query-migrate's answer that qkvm reads. */
export interface QueryMigrate {
  status?: string;
  'total-time'?: number;
  'expected-downtime'?: number;
  downtime?: number;
  'setup-time'?: number;
  'error-desc'?: string;
  ram?: {
    transferred?: number;
    remaining?: number;
    total?: number;
    mbps?: number;
    'dirty-pages-rate'?: number;
    'page-size'?: number;
    'dirty-sync-count'?: number;
  };
}

export interface MigrationProgress {
  status: string;
  /** Bytes sent so far, and RAM still to send (QEMU's estimate). */
  transferredBytes: number;
  remainingBytes: number;
  totalBytes: number;
  /** Bytes per second on the wire now. */
  speedBytesPerSec: number;
  /** How fast the guest dirties its RAM, bytes per second. */
  dirtyRateBytesPerSec: number;
  /** RAM passes so far (dirty-sync-count). */
  iteration: number;
  elapsedMs: number;
  expectedDowntimeMs?: number;
  /** Fraction of RAM already sent (0..1). */
  fraction: number;
}

export function progressOf(q: QueryMigrate): MigrationProgress {
  const ram = q.ram ?? {};
  const total = ram.total ?? 0;
  const remaining = ram.remaining ?? 0;
  const done = q.status === 'completed';
  return {
    status: q.status ?? 'none',
    transferredBytes: ram.transferred ?? 0,
    remainingBytes: remaining,
    totalBytes: total,
    speedBytesPerSec: Math.round(((ram.mbps ?? 0) * 1e6) / 8),
    dirtyRateBytesPerSec: (ram['dirty-pages-rate'] ?? 0) * (ram['page-size'] ?? 4096),
    iteration: ram['dirty-sync-count'] ?? 0,
    elapsedMs: q['total-time'] ?? 0,
    expectedDowntimeMs: q['expected-downtime'],
    fraction: done ? 1 : total > 0 ? Math.max(0, Math.min(1, (total - remaining) / total)) : 0,
  };
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(2)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(0)} KiB`;
  return `${n} B`;
}

export const formatRate = (n: number) => `${formatBytes(n)}/s`;

/** One line of detail after the bar: "120.0 MiB sent, 64.0 MiB left, 80.0 MiB/s, dirty 1.2 MiB/s, pass 2". */
export function formatProgress(p: MigrationProgress): string {
  return [
    `${formatBytes(p.transferredBytes)} sent`,
    `${formatBytes(p.remainingBytes)} left`,
    formatRate(p.speedBytesPerSec),
    `dirty ${formatRate(p.dirtyRateBytesPerSec)}`,
    `pass ${p.iteration}`,
  ].join(', ');
}

export interface MigrationResult {
  status: 'completed';
  /** From QEMU: the whole migration, and the time the guest was stopped (ms). */
  totalTimeMs: number;
  downtimeMs?: number;
  setupTimeMs?: number;
  transferredBytes: number;
  iterations: number;
}

export function resultOf(q: QueryMigrate): MigrationResult {
  return {
    status: 'completed',
    totalTimeMs: q['total-time'] ?? 0,
    downtimeMs: q.downtime,
    setupTimeMs: q['setup-time'],
    transferredBytes: q.ram?.transferred ?? 0,
    iterations: q.ram?.['dirty-sync-count'] ?? 0,
  };
}

export function formatResult(r: MigrationResult): string {
  const parts = [`total ${(r.totalTimeMs / 1000).toFixed(2)} s`];
  if (r.downtimeMs !== undefined) parts.push(`downtime ${r.downtimeMs} ms`);
  parts.push(`${formatBytes(r.transferredBytes)} sent in ${r.iterations} pass${r.iterations === 1 ? '' : 'es'}`);
  return parts.join(', ');
}
