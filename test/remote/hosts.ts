// Two "hosts" on this machine for the remote tests: network namespaces A and B
// joined by a veth pair (10.77.0.1 and 10.77.0.2), each with its own QKVM_HOME
// and QKVM_RUN, and Debian's sshd in B on a private port with a key made here.
// qkvm in A reaches B only through ssh, as it would reach another machine.
import { execa } from 'execa';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { CLI, DEMO_DIR, ensureDemoGuest, Netns, type RunResult } from '../net/lab.js';

export const B_ADDR = '10.77.0.2';
export const SSH_PORT = 2222;

export class TwoHosts {
  readonly a = new Netns();
  readonly b = new Netns();
  readonly dir = mkdtempSync(join(tmpdir(), 'qkvm-remote-'));
  readonly aHome = join(this.dir, 'a-home');
  readonly aRun = join(this.dir, 'a-run');
  readonly bHome = join(this.dir, 'b-home');
  readonly bRun = join(this.dir, 'b-run');
  readonly key = join(this.dir, 'id_ed25519');
  readonly knownHosts = join(this.dir, 'known_hosts');

  async setup(): Promise<this> {
    ensureDemoGuest();
    for (const d of [this.aHome, this.aRun, this.bHome, this.bRun]) mkdirSync(d, { mode: 0o700 });
    await this.a.create();
    await this.b.create();
    const va = `qkr${randomBytes(3).toString('hex')}`;
    await this.a.exec(['ip', 'link', 'add', va, 'type', 'veth', 'peer', 'name', 'hostb0', 'netns', this.b.name]);
    await this.a.exec(['ip', 'addr', 'add', '10.77.0.1/24', 'dev', va]);
    await this.a.exec(['ip', 'link', 'set', va, 'up']);
    await this.b.exec(['ip', 'addr', 'add', `${B_ADDR}/24`, 'dev', 'hostb0']);
    await this.b.exec(['ip', 'link', 'set', 'hostb0', 'up']);

    const hostKey = join(this.dir, 'host_ed25519');
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
    await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', this.key]);
    const keys = join(this.dir, 'authorized_keys');
    writeFileSync(keys, readFileSync(`${this.key}.pub`));
    chmodSync(keys, 0o600);
    writeFileSync(this.knownHosts, `[${B_ADDR}]:${SSH_PORT} ${readFileSync(`${hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ')}\n`);
    mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
    // B's qkvm: its own state directories, set for every session by sshd itself.
    await this.b.exec(['/usr/sbin/sshd', '-f', '/dev/null', '-h', hostKey, '-p', String(SSH_PORT),
      '-o', `ListenAddress=${B_ADDR}`, '-o', `AuthorizedKeysFile=${keys}`, '-o', `PidFile=${join(this.dir, 'sshd.pid')}`,
      '-o', 'StrictModes=no', '-o', 'PermitRootLogin=prohibit-password', '-o', `SetEnv=QKVM_HOME=${this.bHome} QKVM_RUN=${this.bRun} CI=`]);
    // A knows B as "b": its key, its host key and where qkvm is there.
    await this.qkvmA(['remote', 'add', 'b', `ssh://root@${B_ADDR}:${SSH_PORT}`, '--identity', this.key, '--known-hosts', this.knownHosts, '--qkvm', `node ${CLI}`]);
    return this;
  }

  private env(home: string, run: string): Record<string, string> {
    return { QKVM_HOME: home, QKVM_RUN: run, PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', CI: '' };
  }

  /** qkvm on host A (inside namespace A). */
  qkvmA(args: string[], opts: { reject?: boolean; input?: string } = {}): Promise<RunResult> {
    return this.a.exec(['node', CLI, ...args], { env: this.env(this.aHome, this.aRun), ...opts });
  }

  /** qkvm on host B run directly (to check what the remote side really has). */
  qkvmB(args: string[], opts: { reject?: boolean } = {}): Promise<RunResult> {
    return this.b.exec(['node', CLI, ...args], { env: this.env(this.bHome, this.bRun), ...opts });
  }

  /** A demo guest definition file (JSON is YAML) with the counter-friendly defaults of the migration tests. */
  demoDefinition(name: string, extra: Record<string, unknown> = {}): string {
    const file = join(this.dir, `${name}.def.yaml`);
    writeFileSync(file, JSON.stringify({
      name, memory: '192M', accel: 'tcg', kernel: join(DEMO_DIR, 'vmlinuz'), initrd: join(DEMO_DIR, 'initrd.img'),
      append: 'console=ttyS0 panic=-1 quiet', nics: [], ...extra,
    }));
    return file;
  }

  async cleanup(): Promise<void> {
    // Destroying the namespaces kills what runs there (sshd, QEMU, ssh tunnels).
    await this.a.destroy();
    await this.b.destroy();
    rmSync(this.dir, { recursive: true, force: true });
  }
}
