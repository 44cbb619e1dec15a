// Builds the demo guest once per test run into the shared test cache (a no-op
// when it is up to date), so that integration tests only boot it.
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export default function setup(): void {
  const repo = resolve(fileURLToPath(import.meta.url), '../..');
  const cache = process.env.QKVM_DEMO_DIR ?? join(process.env.QKVM_TEST_CACHE ?? '/var/tmp/qkvm-test-cache', 'demo');
  const hasQemu = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64 && command -v busybox'], { stdio: 'ignore' }).status === 0;
  if (!hasQemu) {
    if (process.env.CI) throw new Error('CI: qemu-system-x86_64 or busybox is missing; .ci/run must install them (scripts/setup-host.sh)');
    console.warn('global setup: QEMU is not installed; integration tests will skip');
    return;
  }
  const r = spawnSync('bash', [join(repo, 'scripts/build-demo-guest.sh'), cache], { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) throw new Error(`scripts/build-demo-guest.sh failed:\n${r.stdout}\n${r.stderr}`);
}
