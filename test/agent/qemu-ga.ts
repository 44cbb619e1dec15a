// The real qemu-ga binary from Debian's qemu-guest-agent package, unpacked into
// the shared test cache (never installed on the host). Tests run it in
// unix-listen mode with every command blocked except a few that only read, so
// the protocol client is checked against the real agent without a guest.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const CACHE = path.join(process.env.QKVM_TEST_CACHE ?? '/var/tmp/qkvm-test-cache', 'qga');
export const QEMU_GA = path.join(CACHE, 'root/usr/sbin/qemu-ga');

/** Only these may run: they read, and change nothing on the host that runs the agent. */
export const HOST_SAFE_RPCS = ['guest-sync-delimited', 'guest-sync', 'guest-ping', 'guest-info', 'guest-get-osinfo', 'guest-get-host-name', 'guest-get-time', 'guest-get-timezone', 'guest-fsfreeze-status'];

/** The qemu-ga binary, fetched with `apt-get download` on first use. */
export function ensureQemuGa(): string {
  if (existsSync(QEMU_GA)) return QEMU_GA;
  mkdirSync(CACHE, { recursive: true });
  execFileSync('apt-get', ['download', 'qemu-guest-agent'], { cwd: CACHE, stdio: 'ignore' });
  const deb = readdirSync(CACHE).find((f) => f.startsWith('qemu-guest-agent_') && f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download qemu-guest-agent left no .deb in ${CACHE}`);
  execFileSync('dpkg-deb', ['-x', path.join(CACHE, deb), path.join(CACHE, 'root')]);
  return QEMU_GA;
}

export interface HostAgent { socket: string; proc: ChildProcess; stop(): Promise<void> }

export async function startHostAgent(): Promise<HostAgent> {
  const bin = ensureQemuGa();
  const all = execFileSync(bin, ['-b', 'help'], { encoding: 'utf8' }).split('\n').map((s) => s.trim()).filter(Boolean);
  const blocked = all.filter((r) => !HOST_SAFE_RPCS.includes(r));
  if (!blocked.includes('guest-exec') || !blocked.includes('guest-fsfreeze-freeze') || !blocked.includes('guest-shutdown')) {
    throw new Error(`qemu-ga -b help did not list the dangerous RPCs: ${all.join(' ')}`);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'qkvm-qga-'));
  const socket = path.join(dir, 'qga.sock');
  const proc = spawn(bin, ['-m', 'unix-listen', '-p', socket, '-t', dir, '-f', path.join(dir, 'qemu-ga.pid'), '-b', blocked.join(',')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (d) => (stderr += d));
  // Its own marker: the socket exists once it listens.
  for (let i = 0; i < 200 && !existsSync(socket); i++) {
    if (proc.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const stop = async () => {
    if (proc.exitCode === null && proc.signalCode === null) {
      const gone = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await gone;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  if (!existsSync(socket)) {
    await stop();
    throw new Error(`qemu-ga did not listen on ${socket}: ${stderr}`);
  }
  return { socket, proc, stop };
}
