// Runs qkvm on a remote host over ssh: `qkvm --connect URI COMMAND...`. The far
// side's qkvm prints and exits as it would locally; ssh passes both through.
import { spawn } from 'node:child_process';
import { execa } from 'execa';
import { QkvmError } from '../errors.js';
import { formatTarget, sshArgv, type SshTarget } from './target.js';

/** ssh exits 255 for its own failures (no route, refused, bad key); qkvm itself never does. */
export const SSH_FAILED = 255;
/** The far shell's "command not found". */
const NOT_FOUND = 127;

function sshFailure(t: SshTarget, stderr = ''): QkvmError {
  const why = stderr.trim().split('\n').filter(Boolean).pop();
  return new QkvmError('HOST', `cannot reach ${formatTarget(t)} over ssh${why ? `: ${why}` : ''}`, {
    hint: `check that \`ssh${t.port ? ` -p ${t.port}` : ''} ${t.user ? `${t.user}@` : ''}${t.host} true\` works (key, known_hosts, sshd)`,
  });
}

function notInstalled(t: SshTarget): QkvmError {
  return new QkvmError('HOST', `${formatTarget(t)}: qkvm is not installed there (the far shell found no ${(t.qkvm ?? ['qkvm'])[0]})`, {
    hint: 'install qkvm on that host, or name its path: qkvm remote add NAME URI --qkvm /path/to/qkvm',
  });
}

/** Runs `qkvm ARGV` there with this terminal; resolves to the far command's exit status. */
export function runRemote(t: SshTarget, argv: string[], o: { tty?: boolean; forceTty?: boolean; forward?: [number, number] } = {}): Promise<number> {
  return new Promise((res, rej) => {
    const extra = [...(o.forceTty ? ['-tt'] : []), ...(o.forward ? ['-o', 'ExitOnForwardFailure=yes', '-L', `127.0.0.1:${o.forward[0]}:127.0.0.1:${o.forward[1]}`] : [])];
    const child = spawn('ssh', [...extra, ...sshArgv(t, argv, { tty: o.tty || o.forceTty })], { stdio: ['inherit', 'inherit', 'pipe'] });
    let err = '';
    // stderr passes through as it comes, and is kept for ssh's own failure message.
    child.stderr.on('data', (d: Buffer) => { err += d.toString(); if (err.length > 65536) err = err.slice(-65536); process.stderr.write(d); });
    child.on('error', (e: NodeJS.ErrnoException) => rej(e.code === 'ENOENT' ? new QkvmError('HOST', 'ssh is not installed here', { hint: 'apt-get install openssh-client' }) : e));
    // Ctrl-C or a kill of qkvm ends ssh too (and with it the far command), never leaving it behind.
    const forward = (sig: NodeJS.Signals) => () => { child.kill(sig); };
    const handlers = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((sig) => [sig, forward(sig)] as const);
    for (const [sig, h] of handlers) process.on(sig, h);
    child.on('close', (code, signal) => {
      for (const [sig, h] of handlers) process.off(sig, h);
      if (code === SSH_FAILED) return rej(sshFailure(t, err));
      if (code === NOT_FOUND && /not found|No such file/.test(err)) return rej(notInstalled(t));
      res(code ?? (signal ? 128 + 1 : 1));
    });
  });
}

/** Runs `qkvm ARGV` there and returns what it printed (for qkvm's own steps, e.g. migration). */
export async function captureRemote(t: SshTarget, argv: string[], o: { input?: string; timeoutMs?: number } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  const r = await execa('ssh', sshArgv(t, argv), { reject: false, input: o.input ?? '', timeout: o.timeoutMs ?? 180_000 });
  const out = { code: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
  if (out.code === SSH_FAILED) throw sshFailure(t, out.stderr);
  if (out.code === NOT_FOUND && /not found|No such file/.test(out.stderr)) throw notInstalled(t);
  return out;
}

/** The far side's qkvm version: the first thing `doctor --connect` checks. */
export async function remoteVersion(t: SshTarget): Promise<string> {
  const r = await captureRemote(t, ['--version'], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new QkvmError('HOST', `${formatTarget(t)}: \`qkvm --version\` failed there: ${r.stderr.trim()}`);
  return r.stdout.trim();
}
