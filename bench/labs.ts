// Issue 11's lab benchmark, each figure beside its baseline from the same run:
// - host memory of 6 demo guests with KSM merging against KSM off: the PSS and
//   the RSS of their QEMUs summed, read once with KSM off and again once ksmd
//   has settled (the same six guests, so nothing but merging differs);
// - disk used by 6 linked clones (`qkvm clone --linked`) of a base qcow2 against
//   6 full copies (`qkvm clone`);
// - wall time until 6 demo nodes answer on their consoles: `qkvm lab up FILE`
//   (all at once) against 6 `qkvm start` run one after another, each followed
//   by the boot to the ready marker and a shell that answers.
// The host's KSM settings are put back as they were found, always (also on a
// failure or ^C), and every guest, image and lab is removed.
//
//   npm run build && node dist/bench/run.js labs
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEMO_DIR, REPO, Serial } from '../test/net/lab.js';
import type { BenchResult, BenchRow } from './types.js';

const CLI = join(REPO, 'dist/src/cli/main.js');
const KSM = '/sys/kernel/mm/ksm';
const NODES = 6;
const GUEST_MEMORY = '128M';
const BASE_MIB = 128;
const BOOT_MS = 180_000;

/** The KSM knobs this benchmark changes, as found; written back by restore(). */
class KsmSettings {
  private found = new Map<string, string>();
  private restored = false;
  private readonly onSignal = () => { this.restore(); process.exit(130); };

  constructor(private knobs = ['run', 'pages_to_scan', 'sleep_millisecs']) {
    for (const k of knobs) this.found.set(k, readFileSync(`${KSM}/${k}`, 'utf8').trim());
    // Synchronous writes: restore() also runs from 'exit', where nothing async can.
    process.once('exit', () => this.restore());
    process.once('SIGINT', this.onSignal);
    process.once('SIGTERM', this.onSignal);
  }

  describe(): string { return [...this.found].map(([k, v]) => `${k}=${v}`).join(', '); }

  set(knob: string, value: string | number): void { writeFileSync(`${KSM}/${knob}`, `${value}\n`); }

  restore(): void {
    if (this.restored) return;
    this.restored = true;
    // run last: the scan rate is back before ksmd runs again at the found setting.
    for (const k of [...this.knobs.filter((x) => x !== 'run'), 'run']) {
      const v = this.found.get(k);
      if (v === undefined) continue;
      try { writeFileSync(`${KSM}/${k}`, `${v}\n`); } catch (e) { process.stderr.write(`bench labs: could not restore ${KSM}/${k}=${v}: ${(e as Error).message}\n`); }
    }
    process.removeListener('SIGINT', this.onSignal);
    process.removeListener('SIGTERM', this.onSignal);
  }
}

const ksmNumber = (f: string) => Number(readFileSync(`${KSM}/${f}`, 'utf8').trim());

/** Waits until ksmd has made two full scans since `since` and pages_sharing moved by under 1 % over the last one. */
async function ksmSettled(timeoutMs = 300_000): Promise<{ scans: number; sharing: number; seconds: number }> {
  const t0 = Date.now();
  const start = ksmNumber('full_scans');
  let lastScan = start;
  let lastSharing = -1;
  for (;;) {
    const scans = ksmNumber('full_scans');
    if (scans !== lastScan) {
      const sharing = ksmNumber('pages_sharing');
      if (scans - start >= 2 && lastSharing >= 0 && Math.abs(sharing - lastSharing) <= Math.max(16, lastSharing * 0.01)) {
        return { scans: scans - start, sharing, seconds: (Date.now() - t0) / 1000 };
      }
      lastScan = scans;
      lastSharing = sharing;
    }
    if (Date.now() - t0 > timeoutMs) throw new Error(`ksmd did not settle in ${timeoutMs / 1000} s (full_scans ${scans - start})`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** PSS and RSS of one process in KiB, from /proc/PID/smaps_rollup. */
function memOf(pid: number): { pss: number; rss: number } {
  const t = readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(t)?.[1] ?? NaN);
  return { pss: kb('Pss'), rss: kb('Rss') };
}

/** Allocated bytes of a file (what `du` counts), not its apparent size. */
const allocated = (f: string) => statSync(f).blocks * 512;

export async function benchLabs(): Promise<BenchResult> {
  if (process.getuid?.() !== 0) throw new Error('needs root (KSM settings in /sys, guests)');
  if (!existsSync(`${KSM}/run`)) throw new Error('this kernel has no KSM');
  spawnSync('bash', [join(REPO, 'scripts/build-demo-guest.sh'), DEMO_DIR], { stdio: 'ignore' });
  const home = mkdtempSync(join(tmpdir(), 'qkvm-bench-labs-home-'));
  const runDir = mkdtempSync(join(tmpdir(), 'qkvm-bench-labs-run-'));
  const env = { ...process.env, QKVM_HOME: home, QKVM_RUN: runDir };
  const qkvm = (...args: string[]) => execFileSync('node', [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 }).toString();
  const tryQkvm = (...args: string[]) => { try { qkvm(...args); } catch { /* not there */ } };
  // The demo template reads the guest from QKVM_HOME/cache/demo.
  mkdirSync(join(home, 'cache', 'demo'), { recursive: true });
  for (const f of ['vmlinuz', 'initrd.img', 'VERSION']) copyFileSync(join(DEMO_DIR, f), join(home, 'cache', 'demo', f));
  const demo = join(home, 'cache', 'demo');
  const guestFields = { memory: GUEST_MEMORY, accel: 'tcg', kernel: join(demo, 'vmlinuz'), initrd: join(demo, 'initrd.img'), append: 'console=ttyS0 panic=-1 quiet', balloon: false, memMerge: true };
  const define = (name: string, extra: Record<string, unknown> = {}) => {
    const f = join(home, `${name}.yaml`);
    writeFileSync(f, JSON.stringify({ name, ...guestFields, ...extra })); // JSON is YAML
    qkvm('define', f);
  };
  const seq = Array.from({ length: NODES }, (_, i) => `s${i + 1}`);
  const consoles: Serial[] = [];
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  const ksm = new KsmSettings();
  notes.push(`KSM as found: ${ksm.describe()}; put back at the end`);
  const labFile = join(home, 'benchlab.yaml');
  let labUp = false;
  try {
    // Both timings run with KSM off, so that ksmd's scanning takes no CPU from either.
    ksm.set('run', 0);

    // --- (b, baseline) 6 sequential `qkvm start` + boot to a shell that answers.
    for (const n of seq) define(n);
    const t0 = performance.now();
    for (const n of seq) {
      qkvm('start', n);
      const s = await Serial.connect(join(runDir, 'vms', n, 'serial.sock'));
      consoles.push(s);
      await s.waitFor(/QKVM-DEMO-READY/, BOOT_MS);
      await s.run('true', BOOT_MS);
    }
    const sequentialS = (performance.now() - t0) / 1000;

    // --- (a) memory of these 6 guests: KSM off, then on once ksmd settled.
    const pids = (JSON.parse(qkvm('list', '--json')) as { name: string; pid?: number }[])
      .filter((g) => seq.includes(g.name)).map((g) => g.pid);
    if (pids.length !== NODES || pids.some((p) => !p)) throw new Error(`expected ${NODES} running QEMUs, found ${pids.length}`);
    const sum = () => pids.map((p) => memOf(p!)).reduce((a, b) => ({ pss: a.pss + b.pss, rss: a.rss + b.rss }), { pss: 0, rss: 0 });
    const off = sum();
    // Faster scanning than the default (100 pages / 20 ms), so that ksmd settles in under a minute.
    ksm.set('pages_to_scan', 1000);
    ksm.set('sleep_millisecs', 20);
    ksm.set('run', 1);
    const settled = await ksmSettled();
    const on = sum();
    ksm.set('run', 0);
    const mib = (kib: number) => kib / 1024;
    rows.push({ label: `host memory of ${NODES} demo guests (${GUEST_MEMORY}), PSS sum: KSM on vs off`, qkvm: mib(on.pss), raw: mib(off.pss), unit: 'MiB' });
    rows.push({ label: `host memory of ${NODES} demo guests, RSS sum: KSM on vs off`, qkvm: mib(on.rss), raw: mib(off.rss), unit: 'MiB' });
    notes.push(`ksmd settled after ${settled.scans} full scans in ${settled.seconds.toFixed(0)} s (pages_to_scan 1000, sleep 20 ms); pages_sharing then ${settled.sharing} (host-wide: other QEMUs with mem-merge count too). RSS counts a merged page in every process that maps it, so only PSS shows the saving`);
    for (const c of consoles.splice(0)) c.close();
    for (const n of seq) tryQkvm('destroy', n);

    // --- (a) disk: 6 linked clones vs 6 full copies of a base qcow2 with BASE_MIB MiB of data.
    // The base is a volume of the default pool, so its clones are qkvm's own images beside it.
    const images = join(home, 'images');
    mkdirSync(images, { recursive: true, mode: 0o700 });
    const raw = join(home, 'base.raw');
    const base = join(images, 'dbase.qcow2');
    execFileSync('dd', ['if=/dev/urandom', `of=${raw}`, 'bs=1M', `count=${BASE_MIB}`], { stdio: 'ignore' });
    execFileSync('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, base]);
    rmSync(raw);
    define('dbase', { disks: [{ file: 'dbase.qcow2', format: 'qcow2' }] });
    const imagesOf = (guest: string) => readdirSync(images).filter((f) => f.startsWith(`${guest}`) && f.endsWith('.qcow2')).map((f) => join(images, f));
    const full: string[] = [];
    const linked: string[] = [];
    for (let i = 1; i <= NODES; i++) {
      qkvm('clone', 'dbase', `full${i}`);
      full.push(...imagesOf(`full${i}`));
      qkvm('clone', '--linked', 'dbase', `link${i}`);
      linked.push(...imagesOf(`link${i}`));
    }
    if (full.length !== NODES || linked.length !== NODES) throw new Error(`expected ${NODES} full and ${NODES} linked images, found ${full.length} and ${linked.length}`);
    const fullBytes = full.reduce((a, f) => a + allocated(f), 0);
    const linkedBytes = linked.reduce((a, f) => a + allocated(f), 0);
    rows.push({ label: `disk of ${NODES} clones of a ${BASE_MIB} MiB qcow2: linked vs full copies`, qkvm: linkedBytes / 2 ** 20, raw: fullBytes / 2 ** 20, unit: 'MiB' });
    notes.push(`disk is allocated blocks (du), the base image (${(allocated(base) / 2 ** 20).toFixed(0)} MiB) not counted on either side`);
    for (let i = 1; i <= NODES; i++) { tryQkvm('undefine', `full${i}`, '--remove-storage'); tryQkvm('undefine', `link${i}`, '--remove-storage'); }
    tryQkvm('undefine', 'dbase');

    // --- (b) `qkvm lab up` of 6 nodes, all at once, to every node's shell answering.
    const nodes = Object.fromEntries(Array.from({ length: NODES }, (_, i) => [`n${i + 1}`, {}]));
    writeFileSync(labFile, JSON.stringify({ name: 'benchlab', defaults: { template: 'demo', ...guestFields }, nodes }, null, 2));
    const t1 = performance.now();
    labUp = true;
    qkvm('lab', 'up', labFile, '--boot-timeout', String(BOOT_MS / 1000));
    const labS = (performance.now() - t1) / 1000;
    const status = JSON.parse(qkvm('lab', 'status', 'benchlab', '--json')) as { nodes?: { state?: string }[] };
    const running = (status.nodes ?? []).filter((n) => n.state === 'running').length;
    if (running !== NODES) throw new Error(`lab up returned with ${running} of ${NODES} nodes running`);
    rows.push({ label: `wall time to ${NODES} demo nodes ready: lab up vs ${NODES} sequential start + boot`, qkvm: labS, raw: sequentialS, unit: 's' });
    notes.push(`guests under TCG, ${GUEST_MEMORY} each, no NICs; "ready" is a shell that answers on the serial console on both sides; both timings with KSM off; load average at the end ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  } finally {
    for (const c of consoles) c.close();
    if (labUp) tryQkvm('lab', 'down', 'benchlab');
    for (const n of seq) tryQkvm('destroy', n);
    ksm.restore();
    rmSync(home, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  }
  return { name: 'labs (issue 11)', rows, notes };
}
