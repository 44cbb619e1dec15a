// A private libvirt for the interop tests: libvirt 9.0's session daemon run as
// the unprivileged user `nobody`, with every directory it reads or writes
// (config, state, sockets, logs, domain definitions) inside one temporary
// directory. So the host's /etc/libvirt, /var/lib/libvirt and /run/libvirt are
// never touched, no libvirt-qemu user or kvm group is needed, and nothing has to
// be restored. virtlogd and libvirtd are started here with -d and stopped by the
// pids they wrote, after checking /proc/PID/cmdline. Guests run under TCG
// (domain type 'qemu') with user-mode networking, which needs no privilege.
import { execa } from 'execa';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const LIBVIRT_USER = 'nobody';

const has = (cmd: string) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' }).status === 0;

/** Why libvirt cannot run here, or '' when it can. */
export function libvirtMissing(): string {
  if (process.getuid?.() !== 0) return 'needs root (to run libvirtd as another user)';
  const tools = ['virsh', 'libvirtd', 'virtlogd', 'runuser', 'qemu-system-x86_64', 'qemu-img'].filter((c) => !has(c) && !existsSync(`/usr/sbin/${c}`));
  if (tools.length) return `missing on this host: ${tools.join(', ')} (run scripts/setup-host.sh)`;
  if (spawnSync('id', ['-u', LIBVIRT_USER], { stdio: 'ignore' }).status !== 0) return `no user ${LIBVIRT_USER}`;
  return '';
}

export class PrivateLibvirt {
  readonly root = mkdtempSync(join(tmpdir(), 'qkvm-libvirt-'));
  /** The daemon user's home: config, logs, domain definitions. */
  readonly home = join(this.root, 'home');
  /** Files the daemon's QEMU may read and write (disks, serial logs). */
  readonly files = join(this.root, 'files');
  private readonly runtime = join(this.root, 'run');
  private uid = 0;
  private gid = 0;
  private pids: { name: string; pid: number }[] = [];
  private started: { name: string; pid: number }[] = [];

  private get env(): Record<string, string> {
    return {
      HOME: this.home, XDG_CONFIG_HOME: join(this.home, '.config'), XDG_CACHE_HOME: join(this.home, '.cache'),
      XDG_DATA_HOME: join(this.home, '.local', 'share'), XDG_RUNTIME_DIR: this.runtime, PATH: '/usr/sbin:/usr/bin:/sbin:/bin',
    };
  }

  private asUser(argv: string[]) {
    return ['runuser', '-u', LIBVIRT_USER, '--', 'env', '-i', ...Object.entries(this.env).map(([k, v]) => `${k}=${v}`), ...argv];
  }

  async start(): Promise<this> {
    this.uid = Number(spawnSync('id', ['-u', LIBVIRT_USER], { encoding: 'utf8' }).stdout.trim());
    this.gid = Number(spawnSync('id', ['-g', LIBVIRT_USER], { encoding: 'utf8' }).stdout.trim());
    chmodSync(this.root, 0o755);
    for (const d of [this.home, this.files, this.runtime]) { mkdirSync(d, { mode: 0o700 }); chownSync(d, this.uid, this.gid); }
    for (const daemon of ['virtlogd', 'libvirtd']) {
      const argv = this.asUser([daemon, '-d']);
      await execa(argv[0], argv.slice(1), { timeout: 30_000 });
      const pidFile = join(this.runtime, 'libvirt', `${daemon}.pid`);
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (!this.isOurs(daemon, pid)) throw new Error(`${daemon} wrote pid ${pid}, which is not the ${daemon} just started`);
      this.pids.push({ name: daemon, pid });
      this.started.push({ name: daemon, pid });
    }
    await this.virsh(['version']);
    return this;
  }

  /** The process is that daemon, run by our user: its pidfile alone is not trusted. */
  private isOurs(daemon: string, pid: number): boolean {
    try {
      const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      const st = readFileSync(`/proc/${pid}/status`, 'utf8');
      const uid = Number(/^Uid:\s+(\d+)/m.exec(st)?.[1]);
      return args[0].endsWith(daemon) && uid === this.uid && !/^State:\s+Z/m.test(st);
    } catch { return false; }
  }

  /** A file owned by the daemon's user, for its QEMU to use. */
  own(path: string): string { chownSync(path, this.uid, this.gid); return path; }

  async virsh(args: string[], opts: { reject?: boolean } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
    const argv = this.asUser(['virsh', '-c', 'qemu:///session', ...args]);
    const r = await execa(argv[0], argv.slice(1), { reject: false, timeout: 120_000 });
    const out = { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
    if (opts.reject !== false && out.code !== 0) throw new Error(`virsh ${args.join(' ')} failed (${out.code}): ${out.stderr}`);
    return out;
  }

  /** Every domain libvirt knows, running or not. */
  async domains(): Promise<string[]> {
    return (await this.virsh(['list', '--all', '--name'])).stdout.split('\n').map((s) => s.trim()).filter(Boolean);
  }

  /** Destroys and undefines every domain, stops both daemons by pid, removes the directory. */
  async stop(): Promise<void> {
    if (this.pids.length) {
      for (const d of await this.domains().catch(() => [] as string[])) {
        await this.virsh(['destroy', d], { reject: false });
        await this.virsh(['undefine', d], { reject: false });
      }
    }
    for (const { name, pid } of [...this.pids].reverse()) {
      if (!this.isOurs(name, pid)) continue;
      process.kill(pid, 'SIGTERM');
      for (let i = 0; i < 100 && this.isOurs(name, pid); i++) await new Promise((r) => setTimeout(r, 100));
      if (this.isOurs(name, pid)) process.kill(pid, 'SIGKILL');
    }
    this.pids = [];
    // A QEMU libvirt started and lost track of would still hold files here: none may outlive the test.
    for (const p of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
      try {
        const args = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        if (args.startsWith('/usr/bin/qemu-system') && args.includes(this.root)) process.kill(Number(p), 'SIGKILL');
      } catch { /* gone */ }
    }
    rmSync(this.root, { recursive: true, force: true });
  }

  /** Daemons still alive (for the test's own check that stop() worked). */
  alive(): number[] { return this.started.filter(({ name, pid }) => this.isOurs(name, pid)).map((p) => p.pid); }
}
