// Shared fixtures of the networking integration tests: a network namespace per
// test file, its own QKVM_HOME/QKVM_RUN, qkvm run through `ip netns exec`, and
// demo guests driven through their serial console.
import { execa } from 'execa';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../../src/config/paths.js';
import { randomBytes } from 'node:crypto';

// The package root, found the same way from test/ (vitest) and from dist/ (the benchmark).
export const REPO = projectRoot;
export const CLI = path.join(REPO, 'dist/src/cli/main.js');
export const IN_CI = !!process.env.CI;
export const DEMO_DIR = process.env.QKVM_DEMO_DIR ?? path.join(process.env.QKVM_TEST_CACHE ?? '/var/tmp/qkvm-test-cache', 'demo');
export const BOOT_MS = 90_000;

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v "$1"`, 'sh', cmd], { stdio: 'ignore' }).status === 0;

/**
 * Why these tests cannot run here, or '' when they can. Outside CI the tests
 * skip with this message; in CI the caller turns it into a failure.
 */
export function missingPrerequisites(): string {
  if (process.getuid?.() !== 0) return 'needs root (network namespaces, bridges, taps)';
  const tools = ['ip', 'nft', 'dnsmasq', 'qemu-system-x86_64', 'busybox'].filter((c) => !has(c));
  if (tools.length) return `missing on this host: ${tools.join(', ')} (run scripts/setup-host.sh)`;
  if (!existsSync(CLI)) return `${CLI} is missing: run \`npm run build\` first`;
  if (!existsSync('/dev/net/tun')) return '/dev/net/tun is missing';
  return '';
}

/** Builds the demo guest into DEMO_DIR if it is not there (a no-op when it is up to date). */
export function ensureDemoGuest(): void {
  if (existsSync(path.join(DEMO_DIR, 'vmlinuz')) && existsSync(path.join(DEMO_DIR, 'initrd.img'))) return;
  const r = spawnSync('bash', [path.join(REPO, 'scripts/build-demo-guest.sh'), DEMO_DIR], { encoding: 'utf8', timeout: 280_000 });
  if (r.status !== 0) throw new Error(`build-demo-guest.sh failed:\n${r.stdout}\n${r.stderr}`);
}

export interface RunResult { code: number; stdout: string; stderr: string }

/** One network namespace, created here and always removed in cleanup(). */
export class Netns {
  readonly name = `qkt-${randomBytes(4).toString('hex')}`;
  private created = false;

  async create(): Promise<this> {
    await execa('ip', ['netns', 'add', this.name]);
    this.created = true;
    await this.exec(['ip', 'link', 'set', 'lo', 'up']);
    return this;
  }

  async exec(argv: string[], opts: { env?: Record<string, string>; reject?: boolean; input?: string } = {}): Promise<RunResult> {
    const r = await execa('ip', ['netns', 'exec', this.name, ...argv], { reject: false, env: opts.env, input: opts.input, timeout: 180_000 });
    const out = { code: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
    if (opts.reject !== false && out.code !== 0) throw new Error(`[${this.name}] ${argv.join(' ')} failed (${out.code}):\n${out.stdout}\n${out.stderr}`);
    return out;
  }

  /** Kills whatever still runs in the namespace (QEMU, dnsmasq, nc), then deletes it. */
  async destroy(): Promise<void> {
    if (!this.created) return;
    const pids = await execa('ip', ['netns', 'pids', this.name], { reject: false });
    for (const p of String(pids.stdout).split('\n').filter(Boolean)) { try { process.kill(Number(p), 'SIGKILL'); } catch { /* gone */ } }
    await execa('ip', ['netns', 'del', this.name], { reject: false });
    this.created = false;
  }
}

/**
 * A second namespace joined to the lab's by a veth pair: the "far side" of a
 * routed or NAT network (10.200.0.1 in the lab, 10.200.0.2 here), with a TCP
 * server on port 8080 that answers with the address it sees the client come from.
 */
export class FarSide {
  readonly ns = new Netns();
  readonly address = '10.200.0.2';
  readonly port = 8080;

  async setup(lab: Lab): Promise<this> {
    await this.ns.create();
    const vl = `qkv${randomBytes(3).toString('hex')}`;
    await lab.ns.exec(['ip', 'link', 'add', vl, 'type', 'veth', 'peer', 'name', 'far0', 'netns', this.ns.name]);
    await lab.ns.exec(['ip', 'addr', 'add', '10.200.0.1/24', 'dev', vl]);
    await lab.ns.exec(['ip', 'link', 'set', vl, 'up']);
    await this.ns.exec(['ip', 'addr', 'add', `${this.address}/24`, 'dev', 'far0']);
    await this.ns.exec(['ip', 'link', 'set', 'far0', 'up']);
    const server = `require('net').createServer((s) => { s.on('error', () => {}); s.end('SEEN-FROM ' + s.remoteAddress.replace('::ffff:', '') + '\\n'); }).listen(${this.port}, () => console.log('listening'));`;
    const child = execa('ip', ['netns', 'exec', this.ns.name, 'node', '-e', server], { reject: false });
    await new Promise<void>((resolve, reject) => {
      child.stdout?.on('data', (d) => { if (String(d).includes('listening')) resolve(); });
      child.catch(reject).then(() => reject(new Error('far-side server exited')));
    });
    return this;
  }

  async cleanup(): Promise<void> { await this.ns.destroy(); }
}

export interface GuestOpts { nics?: Record<string, unknown>[]; ip?: string; memory?: string; extraAppend?: string; kernel?: string }

/** A namespace plus private qkvm state, and the guests defined in it. */
export class Lab {
  readonly ns = new Netns();
  readonly home = mkdtempSync(path.join(os.tmpdir(), 'qkvm-nettest-home-'));
  readonly run = mkdtempSync(path.join(os.tmpdir(), 'qkvm-nettest-run-'));
  private consoles: Serial[] = [];

  async setup(): Promise<this> {
    ensureDemoGuest();
    await this.ns.create();
    return this;
  }

  get env(): Record<string, string> {
    return { QKVM_HOME: this.home, QKVM_RUN: this.run, PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
  }

  /** Runs the qkvm CLI inside the namespace. */
  async qkvm(args: string[], opts: { reject?: boolean; input?: string } = {}): Promise<RunResult> {
    return this.ns.exec(['node', CLI, ...args], { env: this.env, reject: opts.reject, input: opts.input });
  }

  async sh(script: string, reject = true): Promise<RunResult> {
    return this.ns.exec(['sh', '-c', script], { reject });
  }

  /** Defines a demo guest under TCG: `ip` gives eth0 a static address (qkvm.ip=), else DHCP. */
  async defineGuest(name: string, o: GuestOpts = {}): Promise<void> {
    const append = ['console=ttyS0', 'quiet', o.ip ? `qkvm.ip=${o.ip}` : '', o.extraAppend ?? ''].filter(Boolean).join(' ');
    const spec = {
      name, memory: o.memory ?? '160M', accel: 'tcg',
      kernel: o.kernel ?? path.join(DEMO_DIR, 'vmlinuz'), initrd: path.join(DEMO_DIR, 'initrd.img'), append,
      nics: o.nics ?? [], balloon: false,
    };
    const file = path.join(this.home, `${name}.json.yaml`);
    writeFileSync(file, JSON.stringify(spec)); // JSON is YAML
    await this.qkvm(['define', file]);
  }

  /** Starts a guest and waits for its ready marker on the console. */
  async boot(name: string): Promise<Serial> {
    await this.qkvm(['start', name]);
    const s = await Serial.connect(path.join(this.run, 'vms', name, 'serial.sock'));
    this.consoles.push(s);
    await s.waitFor(/QKVM-DEMO-READY/);
    await s.waitFor(/demo# /);
    return s;
  }

  /** Interface names in the namespace. */
  async links(): Promise<string[]> {
    const r = await this.ns.exec(['ip', '-j', 'link', 'show']);
    return (JSON.parse(r.stdout) as { ifname: string }[]).map((l) => l.ifname);
  }

  async nftTables(): Promise<string> {
    return (await this.ns.exec(['nft', 'list', 'tables'])).stdout;
  }

  /** dnsmasq processes running in this namespace. */
  async dnsmasqPids(): Promise<number[]> {
    const r = await execa('ip', ['netns', 'pids', this.ns.name], { reject: false });
    return String(r.stdout).split('\n').filter(Boolean).map(Number).filter((p) => {
      try { return /dnsmasq/.test(readFileSync(`/proc/${p}/comm`, 'utf8')); } catch { return false; }
    });
  }

  async cleanup(): Promise<void> {
    for (const c of this.consoles) c.close();
    await this.ns.destroy();
    rmSync(this.home, { recursive: true, force: true });
    rmSync(this.run, { recursive: true, force: true });
  }
}

let markerSeq = 0;

/** A guest's serial console: everything it printed, and a way to type commands. */
export class Serial {
  text = '';
  private waiters: (() => void)[] = [];
  private closed = false;

  private constructor(private sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => { this.text += d; this.wake(); });
    sock.on('close', () => { this.closed = true; this.wake(); });
    sock.on('error', () => undefined);
  }

  private wake() { for (const w of this.waiters.splice(0)) w(); }

  static async connect(sockPath: string, timeoutMs = 20_000): Promise<Serial> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const sock = await new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(sockPath);
          s.once('connect', () => resolve(s));
          s.once('error', reject);
        });
        return new Serial(sock);
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  async waitFor(re: RegExp, timeoutMs = BOOT_MS, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.text.slice(from).match(re);
      if (m) return m;
      if (this.closed) throw new Error(`console closed before ${re}; output:\n${this.text.slice(-2000)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${re}; output:\n${this.text.slice(-2000)}`);
      await new Promise<void>((r) => { const t = setTimeout(r, left); this.waiters.push(() => { clearTimeout(t); r(); }); });
    }
  }

  /**
   * Types a shell command and waits until it has finished. The end marker is
   * computed by the guest's shell ($((...))), so the echo of the typed line never matches it.
   * Returns the command's output and exit status.
   */
  async run(cmd: string, timeoutMs = 60_000): Promise<{ out: string; status: number }> {
    const n = ++markerSeq;
    const from = this.text.length;
    // On its own line, so that a command ending in & works too; $? is still the command's status.
    this.sock.write(`${cmd}\necho "QKVM-END-$((${n}+0))-rc=$?"\n`);
    const m = await this.waitFor(new RegExp(`QKVM-END-${n}-rc=(\\d+)`), timeoutMs, from);
    const chunk = this.text.slice(from);
    const out = chunk.slice(0, chunk.indexOf(m[0]));
    return { out, status: Number(m[1]) };
  }

  close(): void { this.sock.destroy(); }
}
