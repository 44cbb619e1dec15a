// Drives one migration on a connected QMP client: start it, poll query-migrate
// for progress (woken early by MIGRATION events), and stop at a final status.
import { QkvmError } from '../errors.js';
import type { QmpClient } from '../qmp/index.js';
import { progressOf, resultOf, type MigrationProgress, type MigrationResult, type QueryMigrate } from './progress.js';

const FINAL = new Set(['completed', 'failed', 'cancelled']);

/** QEMU 7.2's default max-bandwidth is 128 MiB/s; qkvm lifts it unless told otherwise. */
export const UNCAPPED_BANDWIDTH = 2 ** 50;

export interface DriveOptions {
  onProgress?: (p: MigrationProgress) => void;
  intervalMs?: number;
  /** Give up (and cancel) after this long; default: no limit. */
  timeoutMs?: number;
}

export class MigrationFailed extends QkvmError {
  constructor(readonly status: string, readonly desc: string | undefined, message: string, hint?: string) {
    super('QEMU', message, { hint });
  }
}

export async function setParameters(qmp: QmpClient, p: { bandwidth?: number; downtimeMs?: number }): Promise<void> {
  const args: Record<string, unknown> = { 'max-bandwidth': p.bandwidth ?? UNCAPPED_BANDWIDTH };
  if (p.downtimeMs !== undefined) args['downtime-limit'] = p.downtimeMs;
  await qmp.execute('migrate-set-parameters', args, { timeoutMs: 5000 });
}

/**
 * Runs `start` (a migrate command) and waits for the end. Resolves with QEMU's
 * numbers on completion; throws MigrationFailed on failed or cancelled.
 */
export async function driveMigration(qmp: QmpClient, start: () => Promise<unknown>, opts: DriveOptions = {}): Promise<MigrationResult> {
  const interval = opts.intervalMs ?? 250;
  let wake: (() => void) | undefined;
  const off = qmp.on('MIGRATION', () => wake?.());
  const deadline = opts.timeoutMs ? Date.now() + opts.timeoutMs : Infinity;
  try {
    await start();
    for (;;) {
      const q = await qmp.execute<QueryMigrate>('query-migrate', {}, { timeoutMs: 10_000 });
      const status = q.status ?? 'none';
      if (status !== 'none') opts.onProgress?.(progressOf(q));
      if (status === 'completed') return resultOf(await settled(qmp, q));
      if (FINAL.has(status)) {
        throw new MigrationFailed(status, q['error-desc'], status === 'cancelled'
          ? 'the migration was cancelled'
          : `the migration failed: ${q['error-desc'] ?? 'QEMU gave no reason'}`);
      }
      if (Date.now() > deadline) {
        await qmp.execute('migrate_cancel', {}, { timeoutMs: 5000 }).catch(() => undefined);
        throw new QkvmError('TIMEOUT', `the migration did not finish within ${Math.round(opts.timeoutMs! / 1000)} s and was cancelled`);
      }
      await new Promise<void>((r) => { const t = setTimeout(r, interval); wake = () => { clearTimeout(t); r(); }; });
      wake = undefined;
    }
  } finally {
    off();
  }
}

/**
 * QEMU 7.2's migration thread sets the state to "completed" before it computes
 * total-time and downtime, and query-migrate can run in between: it then says
 * total-time 0. Asks again for a moment until the numbers are in.
 */
async function settled(qmp: QmpClient, q: QueryMigrate): Promise<QueryMigrate> {
  for (let i = 0; i < 20 && !((q['total-time'] ?? 0) > 0); i++) {
    await new Promise((r) => setTimeout(r, 25));
    q = await qmp.execute<QueryMigrate>('query-migrate', {}, { timeoutMs: 10_000 });
  }
  return q;
}
