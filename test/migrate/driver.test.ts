// driveMigration against a scripted QMP peer: the protocol of one migration,
// including QEMU 7.2's window where "completed" comes before the numbers.
import { afterEach, describe, expect, it } from 'vitest';
import { QmpClient } from '../../src/qmp/index.js';
import { driveMigration, MigrationFailed } from '../../src/migrate/driver.js';
import { startScriptServer, type Step } from '../qmp/script-server.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => { for (const c of cleanups.splice(0).reverse()) await c(); });

async function drive(script: Step[]) {
  const server = await startScriptServer([{ expect: 'migrate', return: {} }, ...script]);
  cleanups.push(() => server.stop());
  const client = await QmpClient.connect(server.path);
  cleanups.push(() => client.close());
  const result = driveMigration(client, () => client.execute('migrate', { uri: 'tcp:127.0.0.1:1' }), { intervalMs: 5 });
  return { server, result };
}

const active = { status: 'active', 'total-time': 10, ram: { transferred: 100, remaining: 50, total: 150, 'dirty-sync-count': 1 } };

describe('driveMigration', () => {
  it('returns QEMU\'s numbers once completed', async () => {
    const { result, server } = await drive([
      { expect: 'query-migrate', return: active },
      { expect: 'query-migrate', return: { status: 'completed', 'total-time': 42, downtime: 7, ram: { transferred: 150, 'dirty-sync-count': 2 } } },
    ]);
    await expect(result).resolves.toMatchObject({ status: 'completed', totalTimeMs: 42, downtimeMs: 7, transferredBytes: 150, iterations: 2 });
    await server.done;
  });

  it('asks again when "completed" arrives before total-time is computed (QEMU 7.2 race)', async () => {
    const { result, server } = await drive([
      { expect: 'query-migrate', return: { status: 'completed', 'total-time': 0, ram: { transferred: 150 } } },
      { expect: 'query-migrate', return: { status: 'completed', 'total-time': 0, ram: { transferred: 150 } } },
      { expect: 'query-migrate', return: { status: 'completed', 'total-time': 31, downtime: 4, ram: { transferred: 150, 'dirty-sync-count': 3 } } },
    ]);
    await expect(result).resolves.toMatchObject({ totalTimeMs: 31, downtimeMs: 4, iterations: 3 });
    await server.done;
  });

  it('throws MigrationFailed with QEMU\'s reason on failed', async () => {
    const { result } = await drive([
      { expect: 'query-migrate', return: active },
      { expect: 'query-migrate', return: { status: 'failed', 'error-desc': 'Connection refused' } },
    ]);
    const err = await result.catch((e) => e);
    expect(err).toBeInstanceOf(MigrationFailed);
    expect(err.message).toBe('the migration failed: Connection refused');
  });
});
