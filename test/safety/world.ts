// The safety suite's one harness: a private world (QKVM_HOME, QKVM_RUN and a
// sentinel tree outside both, optionally inside a network namespace of its
// own), qkvm run as a user runs it, and a snapshot of everything a command could
// harm, so that each case can prove that nothing was lost.
import { execa } from 'execa';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { stringify } from 'yaml';
import { CLI, DEMO_DIR, ensureDemoGuest, Netns } from '../net/lab.js';

export const IN_CI = !!process.env.CI;

export interface RunResult { code: number; stdout: string; stderr: string }

const has = (cmd: string) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' }).status === 0;

/** Why this host cannot run the safety suite, or '' when it can. */
export function missing(opts: { netns?: boolean } = {}): string {
  const tools = ['qemu-system-x86_64', 'qemu-img', 'busybox', ...(opts.netns ? ['ip', 'nft', 'dnsmasq'] : [])].filter((c) => !has(c));
  if (tools.length) return `missing on this host: ${tools.join(', ')} (run scripts/setup-host.sh)`;
  if (opts.netns && process.getuid?.() !== 0) return 'needs root (network namespaces)';
  if (!existsSync(CLI)) return `${CLI} is missing: run \`npm run build\` first`;
  return '';
}

/** One entry of a snapshot: what lstat and the content say, never following a link. */
export interface Entry { type: string; mode: number; uid: number; size: number; sha256?: string; link?: string }

export interface Snapshot {
  files: Map<string, Entry>;
  qemu: number[];
  dnsmasq: number[];
  links: string[];
  nftTables: string[];
}

function typeOf(st: ReturnType<typeof lstatSync>): string {
  if (st.isSymbolicLink()) return 'symlink';
  if (st.isDirectory()) return 'dir';
  if (st.isFile()) return 'file';
  if (st.isSocket()) return 'socket';
  if (st.isFIFO()) return 'fifo';
  if (st.isBlockDevice()) return 'block';
  if (st.isCharacterDevice()) return 'char';
  return 'other';
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Processes whose executable name starts with `comm` and one of whose arguments mentions `needle`. */
function pidsOf(comm: RegExp, needle: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (!comm.test(name) || state === 'Z' || state === 'X') continue;
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(needle)) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out.sort((a, b) => a - b);
}

export class World {
  readonly root: string;
  readonly home: string;
  readonly run: string;
  /** A sentinel tree that no command may touch: symlink and path-traversal targets point here. */
  readonly outside: string;
  readonly ns?: Netns;

  private constructor(root: string, ns?: Netns) {
    this.root = root;
    this.home = join(root, 'home');
    this.run = join(root, 'run');
    this.outside = join(root, 'outside');
    this.ns = ns;
  }

  /** In CI a missing prerequisite throws (the suite fails); elsewhere too, with the reason. */
  static async create(opts: { netns?: boolean } = {}): Promise<World> {
    const why = missing(opts);
    if (why) throw new Error(`safety suite cannot run: ${why}`);
    ensureDemoGuest();
    const root = mkdtempSync(join(tmpdir(), 'qkvm-safety-'));
    const ns = opts.netns ? await new Netns().create() : undefined;
    const w = new World(root, ns);
    for (const d of [w.home, w.run]) mkdirSync(d, { mode: 0o700 });
    mkdirSync(join(w.outside, 'dir'), { recursive: true });
    writeFileSync(join(w.outside, 'precious.txt'), 'data that no qkvm command may touch\n');
    writeFileSync(join(w.outside, 'dir', 'precious.img'), Buffer.alloc(64 * 1024, 7));
    writeFileSync(join(w.outside, 'shadow'), 'root:$6$not-a-real-hash:19000:0:99999:7:::\n', { mode: 0o600 });
    return w;
  }

  get env(): Record<string, string> {
    return { QKVM_HOME: this.home, QKVM_RUN: this.run, PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', CI: '' };
  }

  /** Runs the built CLI as a user would, inside the world's namespace if it has one. */
  async qkvm(args: string[], opts: { input?: string; timeoutMs?: number; env?: Record<string, string> } = {}): Promise<RunResult> {
    const argv = this.ns ? ['ip', 'netns', 'exec', this.ns.name, process.execPath, CLI, ...args] : [process.execPath, CLI, ...args];
    const r = await execa(argv[0], argv.slice(1), {
      reject: false, env: { ...this.env, ...opts.env }, extendEnv: false,
      input: opts.input, stdin: opts.input === undefined ? 'ignore' : undefined,
      timeout: opts.timeoutMs ?? 180_000,
    });
    return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  }

  /** Runs any command in the world's namespace (or on the host when it has none). */
  async exec(argv: string[], opts: { reject?: boolean } = {}): Promise<RunResult> {
    const full = this.ns ? ['ip', 'netns', 'exec', this.ns.name, ...argv] : argv;
    const r = await execa(full[0], full.slice(1), { reject: false, timeout: 60_000 });
    const out = { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    if (opts.reject !== false && out.code !== 0) throw new Error(`${argv.join(' ')} failed (${out.code}): ${out.stderr}`);
    return out;
  }

  /** The YAML of a demo guest: TCG, serial console, no display, no NIC unless given. */
  demoSpec(name: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
    return {
      name, machine: 'pc', accel: 'tcg', memory: '128M', smp: 1,
      kernel: join(DEMO_DIR, 'vmlinuz'), initrd: join(DEMO_DIR, 'initrd.img'),
      append: `console=ttyS0 panic=-1 quiet`,
      nics: [], disks: [], display: { type: 'none' }, balloon: true, serial: true,
      ...extra,
    };
  }

  /** Writes a definition file in the world's root (not in QKVM_HOME) and returns its path. */
  writeSpec(name: string, spec: Record<string, unknown>): string {
    const dir = join(this.root, 'defs');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name}.yaml`);
    writeFileSync(file, stringify(spec));
    return file;
  }

  /** Defines a demo guest through `qkvm define FILE`; throws with qkvm's message if refused. */
  async defineDemo(name: string, extra: Record<string, unknown> = {}, flags: string[] = []): Promise<RunResult> {
    const r = await this.qkvm(['define', this.writeSpec(name, this.demoSpec(name, extra)), ...flags]);
    if (r.code !== 0) throw new Error(`qkvm define ${name} failed (${r.code}):\n${r.stderr}`);
    return r;
  }

  /** Starts a defined guest and waits for the demo guest's own ready marker; returns its QEMU pid. */
  async startDemo(name: string, timeoutMs = 120_000): Promise<number> {
    const r = await this.qkvm(['start', name]);
    if (r.code !== 0) throw new Error(`qkvm start ${name} failed (${r.code}):\n${r.stderr}`);
    const log = join(this.run, 'vms', name, 'serial.log');
    const deadline = Date.now() + timeoutMs;
    while (!/QKVM-DEMO-READY/.test(existsSync(log) ? readFileSync(log, 'utf8') : '')) {
      if (Date.now() > deadline) throw new Error(`guest ${name}: no QKVM-DEMO-READY within ${timeoutMs} ms`);
      await new Promise((res) => setTimeout(res, 100));
    }
    const pids = pidsOf(/^qemu-system/, join(this.run, 'vms', name, 'qmp.sock'));
    if (pids.length !== 1) throw new Error(`guest ${name}: expected one QEMU, found ${pids.length}`);
    return pids[0];
  }

  /** A qcow2 image made directly with qemu-img (not by qkvm) in home/images; returns its path. */
  async image(file: string, size = '16M', format = 'qcow2'): Promise<string> {
    const dir = join(this.home, 'images');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const path = join(dir, file);
    await execa('qemu-img', ['create', '-q', '-f', format, path, size]);
    return path;
  }

  /** Everything a command could harm, read without following any link. */
  async snapshot(): Promise<Snapshot> {
    const files = new Map<string, Entry>();
    const walk = (dir: string) => {
      let names: string[];
      try { names = readdirSync(dir); } catch { return; }
      for (const n of names.sort()) {
        const p = join(dir, n);
        let st;
        try { st = lstatSync(p); } catch { continue; }
        const e: Entry = { type: typeOf(st), mode: st.mode & 0o7777, uid: st.uid, size: st.isFile() ? st.size : 0 };
        if (st.isFile()) { try { e.sha256 = sha256File(p); } catch { e.sha256 = 'unreadable'; } }
        if (st.isSymbolicLink()) e.link = readlinkSync(p);
        files.set(p, e);
        if (st.isDirectory()) walk(p);
      }
    };
    walk(this.root);
    const links: string[] = [];
    const nftTables: string[] = [];
    if (this.ns) {
      const ip = await this.exec(['ip', '-o', 'link', 'show'], { reject: false });
      for (const line of ip.stdout.split('\n')) {
        const m = /^\d+:\s+([^:@]+)[:@]/.exec(line);
        if (!m || m[1] === 'lo') continue;
        const master = /master (\S+)/.exec(line)?.[1];
        links.push([m[1], master ? `master ${master}` : '', /\bUP\b/.test(line.split('>')[0]) ? 'UP' : 'DOWN'].filter(Boolean).join(' '));
      }
      const nft = await this.exec(['nft', 'list', 'tables'], { reject: false });
      nftTables.push(...nft.stdout.split('\n').map((l) => l.trim()).filter(Boolean));
    }
    return {
      files,
      qemu: pidsOf(/^qemu-system/, this.root),
      dnsmasq: pidsOf(/^dnsmasq/, this.root),
      links: links.sort(),
      nftTables: nftTables.sort(),
    };
  }

  /** What differs between two snapshots, one line each; paths matching `ignore` may change freely. */
  diff(a: Snapshot, b: Snapshot, opts: { ignore?: (string | RegExp)[] } = {}): string[] {
    const ignored = (p: string) => (opts.ignore ?? []).some((i) => (typeof i === 'string' ? p.startsWith(i) : i.test(p)));
    const out: string[] = [];
    for (const [p, e] of a.files) {
      if (ignored(p)) continue;
      const f = b.files.get(p);
      if (!f) { out.push(`removed: ${p} (${e.type})`); continue; }
      // Logs grow while a guest runs: only their existence and type count.
      const grows = /\.log$/.test(p) && e.type === 'file' && f.type === 'file';
      const keys: (keyof Entry)[] = grows ? ['type', 'mode', 'uid'] : ['type', 'mode', 'uid', 'size', 'sha256', 'link'];
      for (const k of keys) if (e[k] !== f[k]) out.push(`changed: ${p} ${k} ${String(e[k])} -> ${String(f[k])}`);
    }
    for (const [p, f] of b.files) if (!a.files.has(p) && !ignored(p)) out.push(`created: ${p} (${f.type})`);
    const list = (what: string, x: (string | number)[], y: (string | number)[]) => {
      for (const v of x) if (!y.includes(v)) out.push(`${what} gone: ${v}`);
      for (const v of y) if (!x.includes(v)) out.push(`${what} new: ${v}`);
    };
    list('QEMU', a.qemu, b.qemu);
    list('dnsmasq', a.dnsmasq, b.dnsmasq);
    list('link', a.links, b.links);
    list('nft table', a.nftTables, b.nftTables);
    return out;
  }

  /** Asserts that nothing changed since `before`, apart from growing logs and `ignore`d paths. */
  async expectNothingLost(before: Snapshot, opts: { ignore?: (string | RegExp)[] } = {}): Promise<void> {
    const after = await this.snapshot();
    expect(this.diff(before, after, opts), 'changes since the snapshot').toEqual([]);
  }

  /** The run directory's files only: for purity proofs (byte-identical, logs included). */
  runTree(s: Snapshot): [string, Entry][] {
    return [...s.files].filter(([p]) => p.startsWith(this.run + '/'));
  }

  /** Kills this world's QEMUs and dnsmasq, unmounts what a case mounted in it, removes its namespace and files. */
  async destroy(): Promise<void> {
    for (const pid of [...pidsOf(/^qemu-system/, this.root), ...pidsOf(/^dnsmasq/, this.root)]) {
      try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
    }
    const mounts = readFileSync('/proc/mounts', 'utf8').split('\n').map((l) => l.split(' ')[1]).filter((m) => m && m.startsWith(this.root + '/'));
    for (const m of mounts.sort().reverse()) spawnSync('umount', ['-l', m]);
    await this.ns?.destroy();
    spawnSync('chattr', ['-R', '-i', this.root], { stdio: 'ignore' });
    rmSync(this.root, { recursive: true, force: true });
  }
}

/** A refused command: the exit code, stderr naming each bad thing, and no stack trace. */
export function expectRefused(r: RunResult, opts: { code: number; mentions: (string | RegExp)[] }): void {
  const shown = `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
  expect(r.code, shown).toBe(opts.code);
  for (const m of opts.mentions) {
    if (typeof m === 'string') expect(r.stderr, shown).toContain(m);
    else expect(r.stderr, shown).toMatch(m);
  }
  expect(r.stderr, 'no stack trace').not.toMatch(/^\s+at .+(:\d+:\d+\)?|<anonymous>\)?)$/m);
  expect(r.stderr, 'no unexpected error').not.toMatch(/unexpected error/i);
}
