// Issue 3's benchmarks, each side by side with its raw equivalent in one run:
// - `qkvm start` to ready vs a shell script: qemu -daemonize + the QMP greeting
// - `qkvm list` with 1 and with 10 guests vs `node -e 0`
// - QmpClient query-status round trip vs a bare net.Socket loop
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { QmpClient } from '../src/qmp/index.js';
import { median, type BenchResult } from './types.js';

const REPO = resolve(fileURLToPath(import.meta.url), '../../..');
const CLI = join(REPO, 'dist/src/cli/main.js');
const DEMO = process.env.QKVM_DEMO_DIR ?? join(process.env.QKVM_TEST_CACHE ?? '/var/tmp/qkvm-test-cache', 'demo');

function ms(fn: () => void): number {
  const t0 = process.hrtime.bigint();
  fn();
  return Number(process.hrtime.bigint() - t0) / 1e6;
}

export async function benchLifecycle(opts: { rounds?: number } = {}): Promise<BenchResult> {
  const rounds = opts.rounds ?? 7;
  spawnSync('bash', [join(REPO, 'scripts/build-demo-guest.sh'), DEMO], { stdio: 'ignore' });
  const home = mkdtempSync(join(tmpdir(), 'qkvm-bench-home-'));
  const runDir = mkdtempSync(join(tmpdir(), 'qkvm-bench-run-'));
  const env = { ...process.env, QKVM_HOME: home, QKVM_RUN: runDir };
  const qkvm = (...args: string[]) => execFileSync('node', [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] }).toString();
  const define = (name: string) => {
    const f = join(home, `${name}.yaml`);
    writeFileSync(f, `name: ${name}\nmemory: 128M\naccel: tcg\nkernel: ${DEMO}/vmlinuz\ninitrd: ${DEMO}/initrd.img\nappend: console=ttyS0 panic=-1 quiet\n`);
    qkvm('define', f);
  };
  const rows: BenchResult['rows'] = [];
  const notes: string[] = [];
  try {
    // --- start: qkvm start (QMP answers, guest running) vs raw daemonize + greeting.
    define('b0');
    const { binary, args } = JSON.parse(qkvm('cmdline', 'b0', '--json')) as { binary: string; args: string[] };
    const rawDir = join(runDir, 'raw');
    const rawArgs = args.map((a) => a.replaceAll(join(runDir, 'vms', 'b0'), rawDir));
    const script = join(home, 'raw-start.sh');
    const hasPython = spawnSync('python3', ['-c', '0']).status === 0;
    if (!hasPython) notes.push('python3 is missing: the raw script reads the QMP greeting with node, which adds its start-up time to the raw side');
    const q = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    writeFileSync(script, [
      'set -e',
      `mkdir -p ${q(rawDir)}`,
      `${q(binary)} ${rawArgs.map(q).join(' ')}`,
      // The greeting is the first line QEMU writes on the monitor. python3 starts faster
      // than node, so the raw side is not slowed by its own reader; node is the fallback.
      hasPython
        ? `python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.recv(4096)' ${q(join(rawDir, 'qmp.sock'))}`
        : `node -e 'require("net").connect(process.argv[1]).once("data", () => process.exit(0))' ${q(join(rawDir, 'qmp.sock'))}`,
    ].join('\n'));
    const qkvmStart: number[] = [];
    const rawStart: number[] = [];
    for (let i = 0; i < rounds; i++) {
      qkvmStart.push(ms(() => qkvm('start', 'b0')));
      qkvm('destroy', 'b0');
      rawStart.push(ms(() => execFileSync('bash', [script], { stdio: 'ignore' })));
      const pid = Number(readFileSync(join(rawDir, 'qemu.pid'), 'utf8'));
      process.kill(pid, 'SIGKILL');
      await new Promise((r) => setTimeout(r, 200));
      rmSync(rawDir, { recursive: true, force: true });
    }
    rows.push({ label: 'start to ready', qkvm: median(qkvmStart), raw: median(rawStart), unit: 'ms', target: 'qkvm <= raw + 100 ms' });

    // --- list with 1 and 10 guests (started paused: same QMP work for list, no CPU taken from the measurement).
    const listRun = () => ms(() => qkvm('list'));
    const nodeRun = () => ms(() => execFileSync('node', ['-e', '0']));
    const listRows = async (n: number) => {
      const l: number[] = [];
      const b: number[] = [];
      for (let i = 0; i < rounds * 2; i++) { l.push(listRun()); b.push(nodeRun()); }
      rows.push({ label: `list, ${n} guest${n > 1 ? 's' : ''}`, qkvm: median(l), raw: median(b), unit: 'ms', target: 'qkvm <= 1.5x node -e 0' });
    };
    qkvm('start', 'b0', '--paused');
    await listRows(1);
    for (let i = 1; i < 10; i++) { define(`b${i}`); qkvm('start', `b${i}`, '--paused'); }
    if (JSON.parse(qkvm('list', '--json')).length !== 10) throw new Error('expected 10 guests');
    await listRows(10);

    // --- QMP round trip: the client vs a bare socket, on the same monitor.
    // Interleaved blocks after a warm-up, so that neither side is measured while
    // the freshly started guests are still settling.
    const sock = join(runDir, 'vms', 'b0', 'qmp.sock');
    const N = 100;
    const clientLoop = async (n: number) => {
      const client = new QmpClient();
      await client.connect(sock);
      const out: number[] = [];
      for (let i = 0; i < n; i++) {
        const t0 = process.hrtime.bigint();
        await client.execute('query-status');
        out.push(Number(process.hrtime.bigint() - t0) / 1e3);
      }
      await client.close();
      return out;
    };
    await clientLoop(N);
    await bareLoop(sock, N);
    const cl: number[] = [];
    const bare: number[] = [];
    for (let block = 0; block < 5; block++) {
      cl.push(...await clientLoop(N));
      bare.push(...await bareLoop(sock, N));
    }
    rows.push({ label: 'QMP query-status p50', qkvm: median(cl), raw: median(bare), unit: 'µs', target: 'qkvm <= 1.2x bare socket' });
    notes.push(`${rounds} rounds per start/list figure (medians); ${5 * N} QMP round trips a side, in interleaved blocks; guests run under TCG${process.env.CI ? ' in CI' : ''}`);
  } finally {
    for (let i = 0; i < 10; i++) { try { qkvm('destroy', `b${i}`); } catch { /* not running */ } }
    rmSync(home, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  }
  return { name: 'lifecycle (issue 3)', rows, notes };
}

/** The same round trip with nothing but a socket and string handling. */
async function bareLoop(path: string, n: number): Promise<number[]> {
  const s = net.createConnection(path);
  let buf = '';
  let wake: (() => void) | undefined;
  s.on('data', (d) => { buf += d.toString(); wake?.(); });
  const line = async () => {
    for (;;) {
      const i = buf.indexOf('\n');
      if (i >= 0) { const l = buf.slice(0, i); buf = buf.slice(i + 1); return l; }
      await new Promise<void>((r) => { wake = r; });
    }
  };
  await line(); // greeting
  s.write('{"execute":"qmp_capabilities"}\n');
  await line();
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = process.hrtime.bigint();
    s.write('{"execute":"query-status"}\n');
    let l: string;
    do { l = await line(); } while (!l.includes('"return"'));
    out.push(Number(process.hrtime.bigint() - t0) / 1e3);
  }
  s.destroy();
  return out;
}
