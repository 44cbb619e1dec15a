// A real QEMU as a cheap process-identity witness: no guest, no accelerator,
// just the -pidfile lock and the QMP sockets a qkvm guest's QEMU has.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';

/** Starts a daemonized QEMU whose run files are in dir (as qkvm's would be); returns its pid. */
export function startWitness(dir: string, opts: { pidfile?: boolean } = {}): number {
  const args = ['-S', '-display', 'none', '-machine', 'none', '-nodefaults',
    '-qmp', `unix:${join(dir, 'qmp.sock')},server=on,wait=off`,
    '-qmp', `unix:${join(dir, 'qmp-state.sock')},server=on,wait=off`,
    ...(opts.pidfile === false ? [] : ['-pidfile', join(dir, 'qemu.pid')]), '-daemonize'];
  const r = spawnSync('qemu-system-x86_64', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`qemu-system-x86_64 failed: ${r.stderr}`);
  if (opts.pidfile === false) return pidsWithArg(`unix:${join(dir, 'qmp.sock')},server=on,wait=off`)[0];
  return Number(readFileSync(join(dir, 'qemu.pid'), 'utf8').trim());
}

/** Pids of processes with this exact argv element. */
export function pidsWithArg(arg: string): number[] {
  const r = spawnSync('pgrep', ['-f', '--', arg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')], { encoding: 'utf8' });
  return r.stdout.split('\n').filter(Boolean).map(Number).filter((p) => {
    try { return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(arg); } catch { return false; }
  });
}

/** A process that is not QEMU (or only pretends by argv[0]) whose argv holds `args`. */
export function impostor(args: string[], argv0?: string): ChildProcess {
  // sh -c SCRIPT $0 $1...: the arguments stay in sh's argv; "; :" keeps sh from exec'ing sleep.
  return spawn('sh', ['-c', 'sleep 1000; :', ...args], { argv0, stdio: 'ignore', detached: false });
}

export function alive(pid: number): boolean {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const st = s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3);
    return st !== 'Z' && st !== 'X';
  } catch { return false; }
}

export function killHard(pid: number | undefined): void {
  if (!pid) return;
  try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
}

/** Every entry under dir: type, mode, size, content, link target (lstat, never followed). */
export function tree(dir: string): string[] {
  const r = spawnSync('sh', ['-c', 'cd "$1" && find . -printf "%y %m %s %l %p\\n" | sort', 'sh', dir], { encoding: 'utf8' });
  const sums = spawnSync('sh', ['-c', 'cd "$1" && find . -type f -exec sha256sum {} + | sort', 'sh', dir], { encoding: 'utf8' });
  return [...r.stdout.split('\n'), ...sums.stdout.split('\n')].filter(Boolean);
}
