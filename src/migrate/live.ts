// Live migration. The manual form is the tutorial's: the destination waits with
// `qkvm start NAME --incoming tcp:ADDR:PORT` (QEMU's -incoming), and
// `qkvm migrate NAME tcp:HOST:PORT` sends the guest. The one-command form,
// `--to-home DIR`, does both between two qkvm state directories on this host,
// over loopback, by running the destination's qkvm commands itself.
import { execa } from 'execa';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import { acquireLock } from '../config/lock.js';
import { qkvmHome, qkvmRun } from '../config/paths.js';
import { parseVmSpec, type VmSpec } from '../config/schema.js';
import { dumpVmYaml } from '../config/store.js';
import { writeFileAtomic } from '../config/atomic.js';
import { QkvmError, invalid } from '../errors.js';
import { connectQmp } from '../runtime/qmp.js';
import { waitGone } from '../runtime/state.js';
import { cleanupRunDir } from '../runtime/recover.js';
import { driveMigration, MigrationFailed, setParameters, type DriveOptions } from './driver.js';
import { parseTcpUri } from './quote.js';
import { portableSpec, requireMigratable } from './common.js';
import { generateMac, normalizeMac } from '../net/mac.js';
import type { MigrationResult } from './progress.js';

export interface MigrateOptions extends DriveOptions {
  /** max-bandwidth in bytes per second; default: uncapped. */
  bandwidth?: number;
  /** downtime-limit in ms (QEMU's default: 300). */
  downtimeMs?: number;
  onNote?: (line: string) => void;
  /** Runs on the source's QMP once the migration completed, before its QEMU quits (ends --copy-storage's mirror jobs). */
  beforeQuit?: (qmp: import('../qmp/index.js').QmpClient) => Promise<void>;
}

/** `qkvm migrate NAME tcp:HOST:PORT`: on success the source QEMU has ended. */
export async function migrateGuest(name: string, uri: string, opts: MigrateOptions = {}): Promise<MigrationResult> {
  parseTcpUri(uri);
  if (opts.bandwidth !== undefined && !(opts.bandwidth > 0)) throw invalid(`--bandwidth: must be greater than zero, got "${opts.bandwidth}"`);
  if (opts.downtimeMs !== undefined && !(Number.isInteger(opts.downtimeMs) && opts.downtimeMs > 0)) throw invalid(`--downtime: must be a whole number of ms, got "${opts.downtimeMs}"`);
  const lock = await acquireLock('vm', name, `migrating the guest to ${uri}`);
  try {
    const st = await requireMigratable(name);
    const qmp = await connectQmp(name);
    try {
      const wasRunning = (await qmp.execute<{ status: string }>('query-status', {}, { timeoutMs: 5000 })).status === 'running';
      // The return path lets the destination say whether it loaded the state:
      // without it, the source counts a destination that failed at the end as a success.
      await qmp.execute('migrate-set-capabilities', { capabilities: [{ capability: 'return-path', state: true }, { capability: 'events', state: true }] }, { timeoutMs: 5000 });
      await setParameters(qmp, { bandwidth: opts.bandwidth, downtimeMs: opts.downtimeMs });
      let result: MigrationResult;
      try {
        result = await driveMigration(qmp, () => qmp.execute('migrate', { uri }, { timeoutMs: 30_000 }), opts);
      } catch (e) {
        // QEMU resumes a source that was running when a migration fails; make sure of it.
        const now = await qmp.execute<{ status: string }>('query-status', {}, { timeoutMs: 5000 }).catch(() => undefined);
        if (wasRunning && now && now.status !== 'running') await qmp.execute('cont', {}, { timeoutMs: 5000 }).catch(() => undefined);
        const state = now ? (wasRunning ? 'running' : now.status) : 'unknown';
        if (e instanceof MigrationFailed) {
          throw new QkvmError('QEMU', `migration of "${name}" to ${uri} ${e.status === 'cancelled' ? 'was cancelled' : `failed: ${e.desc ?? 'QEMU gave no reason'}`}; the guest stays here (${state})`, {
            hint: e.status === 'cancelled' ? undefined : 'check that the destination runs `qkvm start NAME --incoming ...` with the same definition, and that the port is right',
            cause: e,
          });
        }
        throw e;
      }
      await opts.beforeQuit?.(qmp);
      await qmp.execute('quit', {}, { timeoutMs: 5000 }).catch(() => undefined);
      await qmp.close().catch(() => undefined);
      await waitGone(st.pid, 10_000);
      await cleanupRunDir(name);
      return result;
    } finally {
      await qmp.close().catch(() => undefined);
    }
  } finally {
    lock.release();
  }
}

/** `qkvm migrate NAME --cancel`: migrate_cancel, through the state monitor when a migration holds qmp.sock. */
export async function cancelMigration(name: string): Promise<{ status: string }> {
  let qmp;
  try {
    qmp = await connectQmp(name, { timeoutMs: 1500 });
  } catch (e) {
    if (!(e instanceof QkvmError && e.code === 'LOCKED')) throw e;
    qmp = await connectQmp(name, { timeoutMs: 5000, state: true });
  }
  try {
    const before = await qmp.execute<{ status?: string }>('query-migrate', {}, { timeoutMs: 5000 });
    if (!['setup', 'active', 'pre-switchover', 'device', 'wait-unplug'].includes(before.status ?? '')) {
      throw new QkvmError('STATE', `guest "${name}" has no migration under way (${before.status ?? 'none'})`);
    }
    await qmp.execute('migrate_cancel', {}, { timeoutMs: 5000 });
    return { status: 'cancelling' };
  } finally {
    await qmp.close().catch(() => undefined);
  }
}

/** A free TCP port on 127.0.0.1 (the kernel picks it). */
export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = net.createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => res(port));
    });
  });
}

const cliPath = () => fileURLToPath(new URL('../cli/main.js', import.meta.url));

export interface ToHomeOptions extends MigrateOptions {
  toHome: string;
  /** The destination's QKVM_RUN; default DIR/run. */
  toRun?: string;
}

export interface ToHomeResult extends MigrationResult { home: string; run: string; port: number; destination: string }

/** Field-by-field differences between two definitions (for "mismatched definition"). */
export function specDifferences(a: VmSpec, b: VmSpec): string[] {
  const [x, y] = [withDerivedValues(a), withDerivedValues(b)];
  const keys = new Set([...Object.keys(x), ...Object.keys(y)]);
  return [...keys].filter((k) => k !== 'autostart' && k !== 'description' && canonical((x as any)[k]) !== canonical((y as any)[k]));
}

/** JSON with object keys sorted and undefined fields dropped: the same value always reads the same. */
function canonical(v: unknown): string {
  return JSON.stringify(v, (_k, val) => (val && typeof val === 'object' && !Array.isArray(val)
    ? Object.fromEntries(Object.keys(val).sort().filter((k) => val[k] !== undefined).map((k) => [k, val[k]]))
    : val));
}

/**
 * The definition with what qkvm derives spelled out (a NIC's MAC from the
 * guest's name and index), so that a copy that writes a derived value (the one
 * --to-home leaves at the destination) equals the original that leaves it out.
 */
export function withDerivedValues(spec: VmSpec): VmSpec {
  const nics = (spec.nics ?? []).map((n, i) => ({ ...n, mac: normalizeMac(n.mac ?? generateMac(spec.name, i)) }));
  return { ...spec, nics } as VmSpec;
}

/**
 * `qkvm migrate NAME --to-home DIR`: defines the guest under DIR (unless the
 * same definition is there), starts it with -incoming on a free loopback port,
 * migrates, and on failure removes what it made there.
 */
export async function migrateToHome(name: string, opts: ToHomeOptions): Promise<ToHomeResult> {
  const home = resolve(opts.toHome);
  const runDir = resolve(opts.toRun ?? join(home, 'run'));
  if (home === qkvmHome() || runDir === qkvmRun()) throw invalid(`--to-home: ${home} is this guest's own state directory`);
  await requireMigratable(name);
  const spec = portableSpec(name);
  const env = { ...process.env, QKVM_HOME: home, QKVM_RUN: runDir };
  const dest = (args: string[]) => execa(process.execPath, [cliPath(), ...args], { env, reject: false, timeout: 180_000 });
  const defFile = join(home, 'vms', `${name}.yaml`);
  let wroteDefinition = false;
  if (existsSync(defFile)) {
    let there: VmSpec;
    try { there = parseVmSpec(YAML.parse(readFileSync(defFile, 'utf8')), defFile); } catch (e) {
      throw invalid(`--to-home: ${defFile} is not a valid definition: ${(e as Error).message}`);
    }
    const diff = specDifferences(spec, there);
    if (diff.length) {
      throw invalid(`--to-home: ${defFile} defines "${name}" differently (${diff.join(', ')}); the guest stays here`,
        'the destination must be started from the same definition; remove or fix that file');
    }
  } else {
    writeFileAtomic(defFile, dumpVmYaml(spec));
    wroteDefinition = true;
  }
  const port = await freePort();
  const uri = `tcp:127.0.0.1:${port}`;
  const undo = async () => {
    const s = await dest(['domstate', name]);
    if (!/shut off/.test(String(s.stdout))) await dest(['destroy', name]);
    // A destination killed mid-way shows as crashed; destroy clears that too.
    if (/crashed/.test(String((await dest(['domstate', name])).stdout))) await dest(['destroy', name]);
    if (wroteDefinition) rmSync(defFile, { force: true });
  };
  opts.onNote?.(`destination: QKVM_HOME=${home} QKVM_RUN=${runDir} qkvm start ${name} --incoming ${uri}`);
  const started = await dest(['start', name, '--incoming', uri]);
  if (started.exitCode !== 0) {
    await undo();
    throw new QkvmError('QEMU', `the destination could not start: ${String(started.stderr).trim()}; the guest stays here`);
  }
  let result: MigrationResult;
  try {
    result = await migrateGuest(name, uri, opts);
  } catch (e) {
    await undo().catch(() => undefined);
    throw e;
  }
  // The destination's QEMU runs the guest on its own once the state is in (-incoming without -S).
  const deadline = Date.now() + 10_000;
  let state = '';
  for (;;) {
    state = String((await dest(['domstate', name])).stdout).trim();
    if (state.startsWith('running') || Date.now() > deadline) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (!state.startsWith('running')) {
    const r = await dest(['resume', name]);
    if (r.exitCode !== 0) opts.onNote?.(`warning: the destination guest is ${state}: ${String(r.stderr).trim()}`);
  }
  return { ...result, home, run: runDir, port, destination: uri };
}

