// The bundled demo guest, booted for real under TCG with a raw QEMU command
// line (no qkvm code involved): it must print its markers, run a console shell
// that a test can type into, write to its raw disk, take a static address from
// qkvm.ip=, bring up a hot-added NIC, and power off on the ACPI power button
// and on `poweroff` typed in its shell.
//
// The guest is built once into a shared cache (QKVM_DEMO_DIR, or
// $QKVM_TEST_CACHE/demo, default /var/tmp/qkvm-test-cache/demo) and rebuilt
// only when its inputs change.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  copyFileSync,
  cpSync,
  existsSync,
  ftruncateSync,
  linkSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BUILD_SCRIPT = path.join(REPO, 'scripts/build-demo-guest.sh');
const DEMO_DIR =
  process.env.QKVM_DEMO_DIR ?? path.join(process.env.QKVM_TEST_CACHE ?? '/var/tmp/qkvm-test-cache', 'demo');
const QEMU = 'qemu-system-x86_64';
const IN_CI = !!process.env.CI;
const BOOT_TIMEOUT_MS = 90_000;

function commandExists(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

// Outside CI a host without QEMU or the build tools skips, and says why. In CI
// that is a failure: the `it` below fails with the reason.
const missing = [QEMU, 'apt-get', 'dpkg-deb', 'cpio', 'busybox'].filter((c) => !commandExists(c));
const skipReason = missing.length > 0 ? `missing on this host: ${missing.join(', ')} (run scripts/setup-host.sh)` : '';
if (skipReason && !IN_CI) {
  console.warn(`demo-guest integration test skipped: ${skipReason}`);
}

/** Collects everything a guest writes on its serial socket. */
class Serial {
  text = '';
  private waiters: Array<() => void> = [];
  constructor(private sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.text += d;
      for (const w of this.waiters.splice(0)) w();
    });
    sock.on('close', () => {
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async connect(sockPath: string, guest: Guest): Promise<Serial> {
    const sock = await connectWhenReady(sockPath, guest);
    return new Serial(sock);
  }

  write(s: string): void {
    this.sock.write(s);
  }

  /** Waits until the output, from offset `from` on, matches `re`. */
  async waitFor(re: RegExp, guest: Guest, timeoutMs = BOOT_TIMEOUT_MS, from = 0): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.text.slice(from).match(re);
      if (m) return m;
      if (guest.exited) {
        throw new Error(`QEMU exited (${guest.exitDescription()}) before ${re} appeared.\n${guest.describe(this)}`);
      }
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${re}.\n${guest.describe(this)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  /** Types a command line into the guest's shell and waits for `expect`. */
  async run(command: string, expect: RegExp, guest: Guest, timeoutMs = 30_000): Promise<RegExpMatchArray> {
    const from = this.text.length;
    this.write(`${command}\n`);
    return this.waitFor(expect, guest, timeoutMs, from);
  }

  destroy(): void {
    this.sock.destroy();
  }
}

/** A minimal QMP client: one command at a time, replies matched by id. */
class Qmp {
  private buf = '';
  private nextId = 1;
  private pending = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  events: Array<{ event: string; data?: unknown }> = [];
  closed: Promise<void>;
  isClosed = false;

  private constructor(private sock: net.Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (d: string) => {
      this.buf += d;
      let nl: number;
      while ((nl = this.buf.indexOf('\n')) >= 0) {
        const line = this.buf.slice(0, nl).trim();
        this.buf = this.buf.slice(nl + 1);
        if (!line) continue;
        const msg = JSON.parse(line) as Record<string, unknown>;
        if (typeof msg.event === 'string') this.events.push({ event: msg.event, data: msg.data });
        const id = msg.id as string | undefined;
        if (id && this.pending.has(id)) {
          const p = this.pending.get(id)!;
          this.pending.delete(id);
          if (msg.error) p.reject(new Error(`QMP error: ${JSON.stringify(msg.error)}`));
          else p.resolve(msg.return);
        }
      }
    });
    this.closed = new Promise((resolve) => {
      sock.on('close', () => {
        this.isClosed = true;
        for (const p of this.pending.values()) p.reject(new Error('QMP socket closed'));
        this.pending.clear();
        resolve();
      });
    });
    sock.on('error', () => {});
  }

  static async connect(sockPath: string, guest: Guest): Promise<Qmp> {
    const sock = await connectWhenReady(sockPath, guest);
    const qmp = new Qmp(sock);
    await qmp.execute('qmp_capabilities');
    return qmp;
  }

  execute(command: string, args?: Record<string, unknown>): Promise<unknown> {
    const id = `t${this.nextId++}`;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.sock.write(`${JSON.stringify({ execute: command, ...(args ? { arguments: args } : {}), id })}\n`);
    });
  }

  destroy(): void {
    this.sock.destroy();
  }
}

async function connectWhenReady(sockPath: string, guest: Guest, timeoutMs = 20_000): Promise<net.Socket> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (guest.exited) throw new Error(`QEMU exited (${guest.exitDescription()}): ${guest.stderr}`);
    if (existsSync(sockPath)) {
      try {
        return await new Promise<net.Socket>((resolve, reject) => {
          const s = net.createConnection(sockPath);
          s.once('connect', () => {
            s.removeAllListeners('error');
            resolve(s);
          });
          s.once('error', reject);
        });
      } catch {
        // QEMU has made the socket file but does not listen yet: try again.
      }
    }
    if (Date.now() > deadline) throw new Error(`cannot connect to ${sockPath}: ${guest.stderr}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** One QEMU process, our own child (not daemonized): its exit event is exact. */
class Guest {
  proc: ChildProcess;
  stderr = '';
  exited = false;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  exitedPromise: Promise<void>;
  startedAt = Date.now();
  readonly serialSock: string;
  readonly qmpSock: string;
  readonly serialLog: string;

  constructor(
    readonly dir: string,
    extraArgs: string[],
    append = '',
  ) {
    this.serialSock = path.join(dir, 'serial.sock');
    this.qmpSock = path.join(dir, 'qmp.sock');
    this.serialLog = path.join(dir, 'serial.log');
    const args = [
      '-machine', 'pc',
      '-accel', 'tcg',
      '-m', '192',
      '-nodefaults',
      '-no-reboot',
      '-display', 'none',
      '-kernel', path.join(DEMO_DIR, 'vmlinuz'),
      '-initrd', path.join(DEMO_DIR, 'initrd.img'),
      '-append', `console=ttyS0 panic=-1 quiet${append ? ` ${append}` : ''}`,
      '-chardev', `socket,id=ser0,path=${this.serialSock},server=on,wait=off,logfile=${this.serialLog}`,
      '-serial', 'chardev:ser0',
      '-qmp', `unix:${this.qmpSock},server=on,wait=off`,
      ...extraArgs,
    ];
    this.proc = spawn(QEMU, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    this.proc.stderr!.setEncoding('utf8');
    this.proc.stderr!.on('data', (d: string) => (this.stderr += d));
    this.exitedPromise = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exited = true;
        this.exitCode = code;
        this.exitSignal = signal;
        resolve();
      });
      this.proc.on('error', (err) => {
        this.stderr += String(err);
        this.exited = true;
        resolve();
      });
    });
  }

  exitDescription(): string {
    return this.exitSignal ? `signal ${this.exitSignal}` : `code ${this.exitCode}`;
  }

  describe(serial?: Serial): string {
    const output = serial?.text ?? (existsSync(this.serialLog) ? readFileSync(this.serialLog, 'utf8') : '');
    return `--- serial console ---\n${output.slice(-3000)}\n--- qemu stderr ---\n${this.stderr.slice(-2000)}`;
  }

  async waitExit(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.exitedPromise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`QEMU did not exit within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
  }

  async kill(): Promise<void> {
    if (this.exited) return;
    this.proc.kill('SIGKILL');
    await this.waitExit(10_000).catch(() => {});
  }
}

function makeRawDisk(file: string, bytes: number): void {
  const fd = openSync(file, 'w');
  ftruncateSync(fd, bytes);
  closeSync(fd);
}

describe.skipIf(!!skipReason && !IN_CI)('demo guest (real QEMU, TCG)', () => {
  let tmp = '';
  const guests: Guest[] = [];
  const sockets: Array<{ destroy(): void }> = [];
  let kernelVersion = '';

  beforeAll(() => {
    if (skipReason) throw new Error(`CI host is not set up: ${skipReason}`);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'qkvm-demo-test-'));
    const build = spawnSync('bash', [BUILD_SCRIPT, DEMO_DIR], { encoding: 'utf8', timeout: 280_000 });
    if (build.status !== 0) {
      throw new Error(`build-demo-guest.sh failed (${build.status}):\n${build.stdout}\n${build.stderr}`);
    }
    console.log(`demo guest: ${build.stdout.trim()}`);
    kernelVersion = readFileSync(path.join(DEMO_DIR, 'VERSION'), 'utf8').trim();
  }, 300_000);

  afterAll(async () => {
    for (const s of sockets) s.destroy();
    for (const g of guests) await g.kill();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('builds the outputs, and a second run finds them up to date', () => {
    for (const f of ['vmlinuz', 'initrd.img', 'VERSION', 'inputs.sha256']) {
      expect(existsSync(path.join(DEMO_DIR, f)), f).toBe(true);
    }
    expect(kernelVersion).toMatch(/^\d+\.\d+\.\d+-\d+-cloud-amd64$/);
    const again = spawnSync('bash', [BUILD_SCRIPT, DEMO_DIR], { encoding: 'utf8', timeout: 60_000 });
    expect(again.status, again.stderr).toBe(0);
    expect(again.stdout).toContain('demo guest is up to date');
  });

  it('rebuilds after a change to a guest file, reusing the downloaded kernel package', () => {
    // A copy of the scripts and of the built guest: the copy is up to date,
    // then a changed /init makes it rebuild, from the cached .deb.
    const work = mkdtempSync(path.join(tmp, 'rebuild-'));
    const script = path.join(work, 'scripts/build-demo-guest.sh');
    mkdirSync(path.dirname(script), { recursive: true });
    cpSync(BUILD_SCRIPT, script);
    cpSync(path.join(REPO, 'scripts/demo-guest'), path.join(work, 'scripts/demo-guest'), { recursive: true });
    const out = path.join(work, 'demo');
    mkdirSync(path.join(out, 'debs'), { recursive: true });
    for (const f of ['vmlinuz', 'initrd.img', 'VERSION', 'inputs.sha256']) {
      copyFileSync(path.join(DEMO_DIR, f), path.join(out, f));
    }
    for (const deb of readdirSync(path.join(DEMO_DIR, 'debs'))) {
      const from = path.join(DEMO_DIR, 'debs', deb);
      const to = path.join(out, 'debs', deb);
      try {
        linkSync(from, to);
      } catch {
        copyFileSync(from, to);
      }
    }

    const same = spawnSync('bash', [script, out], { encoding: 'utf8', timeout: 60_000 });
    expect(same.status, same.stderr).toBe(0);
    expect(same.stdout).toContain('demo guest is up to date');

    const before = readFileSync(path.join(out, 'initrd.img'));
    appendFileSync(path.join(work, 'scripts/demo-guest/init'), '# a change\n');
    const rebuilt = spawnSync('bash', [script, out], { encoding: 'utf8', timeout: 120_000 });
    expect(rebuilt.status, rebuilt.stderr).toBe(0);
    expect(rebuilt.stdout).toContain('demo guest built');
    expect(rebuilt.stderr).not.toMatch(/downloading/);
    expect(readFileSync(path.join(out, 'initrd.img')).equals(before)).toBe(false);
    expect(readFileSync(path.join(out, 'inputs.sha256'), 'utf8')).not.toBe(
      readFileSync(path.join(DEMO_DIR, 'inputs.sha256'), 'utf8'),
    );
  });

  it(
    'boots to its markers, runs typed commands, writes its disk, and powers off on system_powerdown',
    async () => {
      const dir = mkdtempSync(path.join(tmp, 'g1-'));
      const disk = path.join(dir, 'disk.raw');
      makeRawDisk(disk, 16 * 1024 * 1024);
      const guest = new Guest(dir, [
        '-device', 'virtio-net-pci,netdev=n0',
        '-netdev', 'user,id=n0',
        '-drive', `if=virtio,file=${disk},format=raw`,
      ]);
      guests.push(guest);
      const serial = await Serial.connect(guest.serialSock, guest);
      sockets.push(serial);
      const qmp = await Qmp.connect(guest.qmpSock, guest);
      sockets.push(qmp);

      const ready = await serial.waitFor(/^QKVM-DEMO-READY kernel=(\S+)\r?\n/m, guest);
      console.log(`demo guest: ready marker ${Date.now() - guest.startedAt} ms after QEMU started (TCG)`);
      expect(ready[1]).toBe(kernelVersion);
      await serial.waitFor(/^QKVM-DISK vda present\r?\n/m, guest, 30_000);
      await serial.waitFor(/demo# /, guest, 30_000);

      await serial.run('echo MARK-$((1+1))', /MARK-2/, guest);

      // The raw disk is /dev/vda: a marker written with dd shows in the host file.
      await serial.run(
        'echo QKVM-DISK-MARKER-ON-VDA | dd of=/dev/vda bs=512 conv=sync,fsync 2>/dev/null; echo DD-$((20+1))',
        /DD-21/,
        guest,
      );
      expect(readFileSync(disk).subarray(0, 512).toString('latin1')).toContain('QKVM-DISK-MARKER-ON-VDA');

      // DHCP from QEMU's user-mode network.
      await serial.waitFor(/^QKVM-NET eth0 10\.0\.2\.15\r?\n/m, guest, 30_000);

      // The ACPI power button: the guest says so, powers off, and QEMU exits.
      await qmp.execute('system_powerdown');
      await serial.waitFor(/^QKVM-POWEROFF\r?\n/m, guest, 30_000);
      await Promise.race([
        qmp.closed,
        new Promise((_, reject) => setTimeout(() => reject(new Error('QMP socket did not close')), 30_000)),
      ]);
      await guest.waitExit(30_000);
      expect(guest.exitCode).toBe(0);
      expect(qmp.events.map((e) => e.event)).toContain('SHUTDOWN');
    },
    180_000,
  );

  it(
    'takes a static address from qkvm.ip=, brings up a hot-added NIC, passes ^C, and powers off on `poweroff`',
    async () => {
      const dir = mkdtempSync(path.join(tmp, 'g2-'));
      // No disk: the guest must say so. The address is inside QEMU's own
      // user-mode network, which exists only in this QEMU process.
      const guest = new Guest(
        dir,
        ['-device', 'virtio-net-pci,netdev=n0', '-netdev', 'user,id=n0'],
        'qkvm.ip=10.0.2.50/24,10.0.2.2',
      );
      guests.push(guest);
      const serial = await Serial.connect(guest.serialSock, guest);
      sockets.push(serial);
      const qmp = await Qmp.connect(guest.qmpSock, guest);
      sockets.push(qmp);

      await serial.waitFor(/^QKVM-DEMO-READY kernel=\S+\r?\n/m, guest);
      await serial.waitFor(/^QKVM-NET eth0 10\.0\.2\.50\r?\n/m, guest, 30_000);
      await serial.waitFor(/^QKVM-DISK vda absent\r?\n/m, guest, 30_000);
      await serial.waitFor(/demo# /, guest, 30_000);
      await serial.run('ip route show default | sed "s/^/ROUTE: /"', /ROUTE: default via 10\.0\.2\.2 dev eth0/, guest);

      // Hot-add a NIC: it comes up by itself, and an address typed in works.
      await qmp.execute('netdev_add', { type: 'user', id: 'n1' });
      await qmp.execute('device_add', { driver: 'virtio-net-pci', netdev: 'n1', id: 'nic1' });
      await serial.run(
        'for i in $(seq 60); do [ -e /sys/class/net/eth1 ] && ip link show eth1 | grep -q ",UP" && break; sleep 0.5; done; ' +
          'ip addr add 10.0.2.60/24 dev eth1 && ip -o -4 addr show dev eth1 | sed "s/^/ETH1: /"',
        /ETH1: .*inet 10\.0\.2\.60\/24/,
        guest,
        60_000,
      );

      // ^C reaches the command running in the shell: the shell owns ttyS0.
      // A ^C that comes before `sleep` owns the terminal is taken by the shell
      // (which then waits for sleep to end), so send it until a new prompt shows.
      await serial.run('echo SLEEPING-$((1+1)); sleep 600', /SLEEPING-2/, guest);
      const sleeping = serial.text.lastIndexOf('SLEEPING-2');
      let interrupted = false;
      for (let i = 0; i < 10 && !interrupted; i++) {
        serial.write('\x03');
        interrupted = await serial.waitFor(/demo# /, guest, 3_000, sleeping).then(
          () => true,
          () => false,
        );
      }
      expect(interrupted, 'a new prompt after ^C').toBe(true);
      await serial.run('echo AFTER-$((2+3))', /AFTER-5/, guest);

      // `poweroff` typed in the shell signals PID 1, which powers off.
      serial.write('poweroff\n');
      await serial.waitFor(/^QKVM-POWEROFF\r?\n/m, guest, 30_000);
      await guest.waitExit(30_000);
      expect(guest.exitCode).toBe(0);
    },
    180_000,
  );

  it(
    'reboots on Ctrl-Alt-Del, and with -no-reboot QEMU exits',
    async () => {
      const dir = mkdtempSync(path.join(tmp, 'g3-'));
      const guest = new Guest(dir, []);
      guests.push(guest);
      const serial = await Serial.connect(guest.serialSock, guest);
      sockets.push(serial);
      const qmp = await Qmp.connect(guest.qmpSock, guest);
      sockets.push(qmp);

      await serial.waitFor(/^QKVM-DEMO-READY kernel=\S+\r?\n/m, guest);
      const keys = ['ctrl', 'alt', 'delete'].map((k) => ({ type: 'qcode', data: k }));
      await qmp.execute('send-key', { keys });
      await serial.waitFor(/^QKVM-REBOOT\r?\n/m, guest, 30_000);
      await guest.waitExit(30_000);
      expect(guest.exitCode).toBe(0);
    },
    180_000,
  );
});
