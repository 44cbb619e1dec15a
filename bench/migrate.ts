// Issue 6's benchmark: live migration of an idle 256 MiB demo guest over
// loopback, driven by qkvm (migrateGuest: parameters, progress polling, quit,
// cleanup) and by raw QMP (a bare net.Socket writing JSON lines) in the same
// run, between two qkvm state directories, alternating which goes first. Both sides
// ask QEMU for the same things: return-path and events capabilities, the same
// max-bandwidth. The destination is started the same way for both (untimed).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, type BenchResult } from './types.js';
import { defineGuest } from '../src/runtime/define.js';
import { startGuest } from '../src/runtime/start.js';
import { destroyGuest } from '../src/runtime/stop.js';
import { guestStatus, waitGone } from '../src/runtime/state.js';
import { run as runPaths } from '../src/config/paths.js';
import { freePort, migrateGuest } from '../src/migrate/live.js';
import { UNCAPPED_BANDWIDTH } from '../src/migrate/driver.js';

const REPO = resolve(fileURLToPath(import.meta.url), '../../..');
const DEMO = process.env.QKVM_DEMO_DIR ?? join(process.env.QKVM_TEST_CACHE ?? '/var/tmp/qkvm-test-cache', 'demo');
const NAME = 'bmig';

interface Dirs { home: string; run: string }

/** qkvm's API reads QKVM_HOME/QKVM_RUN at each call: run `fn` with these. */
async function inState<T>(d: Dirs, fn: () => Promise<T>): Promise<T> {
  const saved = { home: process.env.QKVM_HOME, run: process.env.QKVM_RUN };
  process.env.QKVM_HOME = d.home;
  process.env.QKVM_RUN = d.run;
  try { return await fn(); } finally {
    if (saved.home === undefined) delete process.env.QKVM_HOME; else process.env.QKVM_HOME = saved.home;
    if (saved.run === undefined) delete process.env.QKVM_RUN; else process.env.QKVM_RUN = saved.run;
  }
}

/** The raw side: QMP as JSON lines over a UNIX socket, nothing else. */
class RawQmp {
  private buf = '';
  private id = 0;
  private pending = new Map<number, (msg: any) => void>();
  events: any[] = [];
  private onEvent?: (e: any) => void;
  readonly closed: Promise<void>;

  private constructor(private sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let nl;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const msg = JSON.parse(this.buf.slice(0, nl));
        this.buf = this.buf.slice(nl + 1);
        if (msg.event) { this.events.push(msg); this.onEvent?.(msg); } else if (msg.id !== undefined) { this.pending.get(msg.id)?.(msg); this.pending.delete(msg.id); }
      }
    });
    this.closed = new Promise((r) => sock.on('close', () => r()));
    sock.on('error', () => undefined);
  }

  static async connect(path: string): Promise<RawQmp> {
    const sock = net.createConnection(path);
    await new Promise<void>((res, rej) => { sock.once('connect', () => res()); sock.once('error', rej); });
    const q = new RawQmp(sock);
    await q.cmd('qmp_capabilities');
    return q;
  }

  cmd(execute: string, args?: object): Promise<any> {
    const id = ++this.id;
    return new Promise((res, rej) => {
      this.pending.set(id, (m) => (m.error ? rej(new Error(`${execute}: ${m.error.desc}`)) : res(m.return)));
      this.sock.write(JSON.stringify({ execute, arguments: args, id }) + '\n');
    });
  }

  waitEvent(pred: (e: any) => boolean): Promise<any> {
    const hit = this.events.find(pred);
    if (hit) return Promise.resolve(hit);
    return new Promise((res) => { this.onEvent = (e) => { if (pred(e)) res(e); }; });
  }
}

/** Raw QMP migration: caps, params, migrate, wait for the MIGRATION event, numbers, quit, QEMU gone. */
async function rawMigrate(qmpSock: string, pid: number, uri: string): Promise<{ wallMs: number; total: number; downtime: number }> {
  const t0 = performance.now();
  const q = await RawQmp.connect(qmpSock);
  await q.cmd('migrate-set-capabilities', { capabilities: [{ capability: 'return-path', state: true }, { capability: 'events', state: true }] });
  await q.cmd('migrate-set-parameters', { 'max-bandwidth': UNCAPPED_BANDWIDTH });
  await q.cmd('migrate', { uri });
  const end = await q.waitEvent((e) => e.event === 'MIGRATION' && ['completed', 'failed', 'cancelled'].includes(e.data.status));
  if (end.data.status !== 'completed') throw new Error(`raw migration ${end.data.status}`);
  // The event can come before query-migrate shows the outgoing numbers.
  let info = await q.cmd('query-migrate');
  for (let i = 0; i < 500 && !(info.status === 'completed' && info['total-time'] > 0); i++) {
    await new Promise((r) => setTimeout(r, 5));
    info = await q.cmd('query-migrate');
  }
  await q.cmd('quit').catch(() => undefined);
  await q.closed;
  await waitGone(pid, 10_000);
  return { wallMs: performance.now() - t0, total: info['total-time'], downtime: info.downtime };
}

async function waitForFile(file: string, re: RegExp, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try { if (re.test(readFileSync(file, 'utf8'))) return; } catch { /* not yet */ }
    if (Date.now() > deadline) throw new Error(`${file}: no ${re} within ${timeoutMs / 1000} s`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function benchMigrate(opts: { rounds?: number; memory?: string } = {}): Promise<BenchResult> {
  const rounds = opts.rounds ?? 9;
  const memory = opts.memory ?? '256M';
  spawnSync('bash', [join(REPO, 'scripts/build-demo-guest.sh'), DEMO], { stdio: 'ignore' });
  const mk = (p: string): Dirs => { const home = mkdtempSync(join(tmpdir(), `qkvm-bench-${p}-`)); return { home, run: join(home, 'run') }; };
  const A = mk('miga'), B = mk('migb');
  const defFile = join(A.home, 'def.yaml');
  writeFileSync(defFile, JSON.stringify({ name: NAME, memory, accel: 'tcg', kernel: join(DEMO, 'vmlinuz'), initrd: join(DEMO, 'initrd.img'), append: 'console=ttyS0 panic=-1 quiet', nics: [] }));
  for (const d of [A, B]) await inState(d, () => defineGuest(defFile));
  const samples = { qkvm: { wall: [] as number[], total: [] as number[], down: [] as number[] }, raw: { wall: [] as number[], total: [] as number[], down: [] as number[] } };
  try {
    await inState(A, () => startGuest(NAME));
    // Idle means booted: wait for the guest's own marker.
    await inState(A, async () => waitForFile(runPaths.serialLog(NAME), /demo# /, 120_000));
    const here = A, there = B;
    const viaQkvm = async (from: Dirs, to: Dirs, record = true) => {
      const port = await freePort();
      await inState(to, () => startGuest(NAME, { incoming: `tcp:127.0.0.1:${port}` }));
      const t0 = performance.now();
      const r = await inState(from, () => migrateGuest(NAME, `tcp:127.0.0.1:${port}`));
      if (!record) return;
      samples.qkvm.wall.push(performance.now() - t0);
      samples.qkvm.total.push(r.totalTimeMs);
      samples.qkvm.down.push(r.downtimeMs ?? NaN);
    };
    const viaRaw = async (from: Dirs, to: Dirs) => {
      const port = await freePort();
      await inState(to, () => startGuest(NAME, { incoming: `tcp:127.0.0.1:${port}` }));
      const pid = (await inState(from, () => guestStatus(NAME, { query: false }))).pid!;
      const raw = await inState(from, async () => rawMigrate(runPaths.qmpSocket(NAME), pid, `tcp:127.0.0.1:${port}`));
      samples.raw.wall.push(raw.wallMs);
      samples.raw.total.push(raw.total);
      samples.raw.down.push(raw.downtime);
      // Let qkvm notice that the raw side's source is gone (it cleans the run dir).
      await inState(from, () => guestStatus(NAME));
    };
    // Warm-up, not counted: the first migration of a freshly booted guest is the slowest.
    await viaQkvm(here, there, false);
    await viaQkvm(there, here, false);
    for (let i = 0; i < rounds; i++) {
      // Each round moves the guest there and back; which side goes first alternates.
      const [first, second] = i % 2 ? [viaRaw, viaQkvm] : [viaQkvm, viaRaw];
      await first(here, there);
      await second(there, here);
      const st = await inState(here, () => guestStatus(NAME));
      if (st.state !== 'running') throw new Error(`after round ${i + 1} the guest is ${st.state}`);
    }
  } finally {
    for (const d of [A, B]) {
      await inState(d, () => destroyGuest(NAME)).catch(() => undefined);
      if (existsSync(d.home)) rmSync(d.home, { recursive: true, force: true });
    }
  }
  return {
    name: `live migration of an idle ${memory} guest over loopback (TCG, median of ${rounds})`,
    rows: [
      { label: 'QEMU total-time', qkvm: median(samples.qkvm.total), raw: median(samples.raw.total), unit: 'ms' },
      { label: 'downtime', qkvm: median(samples.qkvm.down), raw: median(samples.raw.down), unit: 'ms' },
      { label: 'migrate call to source QEMU gone', qkvm: median(samples.qkvm.wall), raw: median(samples.raw.wall), unit: 'ms' },
    ],
    notes: [
      'both sides: return-path and events capabilities, max-bandwidth 2^50 B/s (QEMU 7.2 caps at 128 MiB/s by default)',
      'qkvm polls query-migrate every 250 ms (woken early by MIGRATION events), quits the source and cleans its run directory; raw waits for the MIGRATION event and quits',
      `all samples (ms): qkvm total ${samples.qkvm.total.join(', ')}; raw total ${samples.raw.total.join(', ')}; qkvm downtime ${samples.qkvm.down.join(', ')}; raw downtime ${samples.raw.down.join(', ')}`,
    ],
  };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const r = await benchMigrate();
  process.stdout.write(JSON.stringify(r, null, 2) + '\n');
}
