// Live migration with real QEMU under TCG, over loopback between qkvm state
// directories: the guest's counter keeps counting on the destination and its
// serial console answers there; the manual form (start --incoming, migrate
// tcp:) works; a wrong port, a destination killed mid-way and --cancel all
// leave the source running.
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../storage/helpers.js';
import { COUNTER, IN_CI, qemuPids, State, whyNot, type Serial } from '../migrate/harness.js';
import { freePort } from '../../src/migrate/live.js';

const why = whyNot();
if (why && !IN_CI) console.warn(`migrate: skipped: ${why}`);

/** `qkvm migrate ... --json` as a child process; calls onProgress for each progress line. */
function migrateInBackground(st: State, args: string[], onProgress: (p: any) => void) {
  const child = execa('node', [CLI, 'migrate', ...args, '--json'], { reject: false, env: { QKVM_HOME: st.home, QKVM_RUN: st.run, CI: '' } });
  let buf = '';
  child.stdout!.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl); buf = buf.slice(nl + 1);
      try { const j = JSON.parse(line); if (j.type === 'progress') onProgress(j); } catch { /* not JSON */ }
    }
  });
  return child;
}

/** Waits for COUNT=N on `serial` with N greater than `after`, then for the next one. */
async function counterContinues(serial: Serial, after: number, from = 0): Promise<number> {
  const m = await serial.waitFor(/COUNT=(\d+)\r?\n/, 30_000, from);
  const n = Number(m[1]);
  expect(n).toBeGreaterThan(after);
  await serial.waitFor(new RegExp(`COUNT=${n + 1}\\r?\\n`), 30_000, from);
  return n;
}

const lastIn = (text: string) => Math.max(0, ...[...text.matchAll(/COUNT=(\d+)/g)].map((m) => Number(m[1])));

describe.skipIf(why !== '' && !IN_CI)('live migration', () => {
  const src = new State('mig');
  const dstHome = mkdtempSync(join(tmpdir(), 'qkvm-mig-dst-'));
  const dst = new State('mig-dst', { home: dstHome, run: join(dstHome, 'run') });
  const extra: State[] = [];
  let srcSerial: Serial;

  beforeAll(async () => {
    if (why) throw new Error(why);
    await src.define('mg');
    srcSerial = await src.boot('mg');
    await srcSerial.run(COUNTER);
    await srcSerial.waitFor(/COUNT=2\b/);
  });
  afterAll(() => { src.cleanup(); dst.cleanup(); for (const s of extra) s.cleanup(); });

  it('--to-home moves the running guest: the counter continues there and its console answers', async () => {
    const before = lastIn(srcSerial.text);
    const r = await src.ok('migrate', 'mg', '--to-home', dstHome, '--json');
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    const progress = lines.filter((l) => l.type === 'progress');
    expect(progress.length).toBeGreaterThan(0);
    for (const k of ['transferredBytes', 'remainingBytes', 'speedBytesPerSec', 'dirtyRateBytesPerSec', 'iteration']) expect(typeof progress[0][k], k).toBe('number');
    const result = lines.at(-1);
    expect(result).toMatchObject({ type: 'result', status: 'completed', home: dstHome });
    expect(result.totalTimeMs).toBeGreaterThan(0);
    expect(typeof result.downtimeMs).toBe('number');
    expect(result.destination).toMatch(/^tcp:127\.0\.0\.1:\d+$/);

    // The source QEMU is gone and its state says so.
    expect(qemuPids(src.run)).toEqual([]);
    expect((await src.ok('domstate', 'mg')).stdout.trim()).toBe('shut off');
    // The destination has the definition and runs the guest, which carried on.
    expect(existsSync(join(dstHome, 'vms', 'mg.yaml'))).toBe(true);
    expect((await dst.ok('domstate', 'mg')).stdout.trim()).toBe('running');
    const serial = await dst.console('mg');
    await counterContinues(serial, before);
    expect(serial.text).not.toMatch(/QKVM-DEMO-READY/);
    expect((await serial.run('echo here-$((6*7))')).out).toContain('here-42');
    serial.close();
  });

  it('the manual form: start --incoming on the destination, migrate tcp: on the source; a wrong port changes nothing', async () => {
    // The guest now runs under dst; bring it back to src by hand.
    const port = await freePort();
    const wrong = await freePort();
    const bad = await dst.qkvm('migrate', 'mg', `tcp:127.0.0.1:${wrong}`);
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toMatch(/migration of "mg" to tcp:127\.0\.0\.1:\d+ failed: .*the guest stays here \(running\)/);
    expect((await dst.ok('domstate', 'mg')).stdout.trim()).toBe('running');

    const started = await src.ok('start', 'mg', '--incoming', `tcp:127.0.0.1:${port}`);
    expect(started.stderr).toMatch(/is incoming/);
    const dSerial = await dst.console('mg');
    const before = await counterContinues(dSerial, 0);
    dSerial.close();
    const r = await dst.ok('migrate', 'mg', `tcp:127.0.0.1:${port}`);
    expect(r.stdout).toMatch(/migrated to tcp:127\.0\.0\.1:\d+: total [\d.]+ s, downtime \d+ ms/);
    expect(qemuPids(dst.run)).toEqual([]);
    expect((await dst.ok('domstate', 'mg')).stdout.trim()).toBe('shut off');
    expect((await src.ok('domstate', 'mg')).stdout.trim()).toBe('running');
    srcSerial.close();
    srcSerial = await src.console('mg');
    await counterContinues(srcSerial, before);
  });

  it('a destination killed mid-way leaves the source running, and says why', async () => {
    const home2 = mkdtempSync(join(tmpdir(), 'qkvm-mig-dst2-'));
    const dst2 = new State('mig-dst2', { home: home2, run: join(home2, 'run') });
    extra.push(dst2);
    let killed = false;
    // 1 MiB/s: the guest's ~70 MiB of used RAM takes long enough to kill the destination.
    const child = migrateInBackground(src, ['mg', '--to-home', home2, '--bandwidth', '1M'], (p) => {
      if (!killed && p.transferredBytes > 2 ** 20) {
        killed = true;
        process.kill(Number(readFileSync(join(home2, 'run', 'vms', 'mg', 'qemu.pid'), 'utf8')), 'SIGKILL');
      }
    });
    const r = await child;
    expect(killed).toBe(true);
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toMatch(/migration of "mg" to tcp:127\.0\.0\.1:\d+ failed: .*the guest stays here \(running\)/);
    expect((await src.ok('domstate', 'mg')).stdout.trim()).toBe('running');
    const from = srcSerial.text.length;
    await counterContinues(srcSerial, lastIn(srcSerial.text), from);
    // The destination was cleaned up: no QEMU, and the definition it was given is gone.
    expect(qemuPids(home2)).toEqual([]);
    expect(existsSync(join(home2, 'vms', 'mg.yaml'))).toBe(false);
    expect((await dst2.ok('domstate', 'mg')).stdout.trim()).toBe('shut off');
  });

  it('migrate --cancel stops a migration under way; the source keeps running', async () => {
    const home3 = mkdtempSync(join(tmpdir(), 'qkvm-mig-dst3-'));
    extra.push(new State('mig-dst3', { home: home3, run: join(home3, 'run') }));
    let cancel: Promise<any> | undefined;
    const child = migrateInBackground(src, ['mg', '--to-home', home3, '--bandwidth', '1M'], (p) => {
      if (!cancel && p.transferredBytes > 2 ** 20) cancel = src.qkvm('migrate', 'mg', '--cancel');
    });
    const r = await child;
    const c = await cancel;
    expect(c.exitCode, c.stderr).toBe(0);
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toMatch(/was cancelled; the guest stays here \(running\)/);
    expect((await src.ok('domstate', 'mg')).stdout.trim()).toBe('running');
    expect(qemuPids(home3)).toEqual([]);
    const from = srcSerial.text.length;
    await counterContinues(srcSerial, lastIn(srcSerial.text), from);
  });

  it('refuses a destination whose definition differs, before anything starts', async () => {
    const home4 = mkdtempSync(join(tmpdir(), 'qkvm-mig-dst4-'));
    const dst4 = new State('mig-dst4', { home: home4, run: join(home4, 'run') });
    extra.push(dst4);
    await dst4.define('mg', { memory: '256M' });
    const r = await src.qkvm('migrate', 'mg', '--to-home', home4);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/defines "mg" differently \(memory\)/);
    expect(qemuPids(home4)).toEqual([]);
    expect((await src.ok('domstate', 'mg')).stdout.trim()).toBe('running');
  });

  it('a manual destination started from a different definition fails the migration; the source keeps running', async () => {
    const home5 = mkdtempSync(join(tmpdir(), 'qkvm-mig-dst5-'));
    const dst5 = new State('mig-dst5', { home: home5, run: join(home5, 'run') });
    extra.push(dst5);
    await dst5.define('mg', { memory: '256M' });
    const port = await freePort();
    await dst5.ok('start', 'mg', '--incoming', `tcp:127.0.0.1:${port}`);
    const r = await src.qkvm('migrate', 'mg', `tcp:127.0.0.1:${port}`);
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/failed: .*the guest stays here \(running\)/);
    expect((await src.ok('domstate', 'mg')).stdout.trim()).toBe('running');
    const from = srcSerial.text.length;
    await counterContinues(srcSerial, lastIn(srcSerial.text), from);
    // The destination QEMU refused the state and exited.
    expect(readFileSync(join(home5, 'run', 'vms', 'mg', 'qemu.log'), 'utf8')).toMatch(/Length mismatch|load of migration failed/);
  });
});
