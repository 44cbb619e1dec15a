// The serial console: a UNIX socket QEMU serves (one client at a time), with
// everything the guest prints also logged to serial.log.
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { run } from '../config/paths.js';
import { QkvmError } from '../errors.js';
import { requireActive, startedSpec } from './state.js';
import { execLine, parseExec, type ExecResult } from './console-exec.js';

export async function openConsole(name: string, opts: { timeoutMs?: number } = {}): Promise<net.Socket> {
  await requireActive(name, { query: false, hint: `\`qkvm start ${name} --console\`` });
  const spec = startedSpec(name);
  if (spec && !spec.serial) throw new QkvmError('STATE', `guest "${name}" has no serial console (serial: false in its definition)`);
  return new Promise((resolve, reject) => {
    const sock = net.createConnection(run.serialSocket(name));
    const timer = setTimeout(() => { sock.destroy(); reject(new QkvmError('TIMEOUT', `guest "${name}": serial console did not answer`)); }, opts.timeoutMs ?? 5000);
    sock.once('connect', () => { clearTimeout(timer); resolve(sock); });
    sock.once('error', (e) => {
      clearTimeout(timer);
      reject(new QkvmError('STATE', `guest "${name}": cannot open the serial console: ${e.message}`, { cause: e }));
    });
  });
}

/** What the guest has printed on its serial console since it started. */
export function consoleLog(name: string): string {
  try { return readFileSync(run.serialLog(name), 'utf8'); } catch { return ''; }
}

/**
 * Connects to the console, waits until the guest prints `pattern`, and returns
 * what was printed. Used by the demo and by tests; the serial socket is free again afterwards.
 */
export async function waitForConsole(name: string, pattern: RegExp | string, opts: { timeoutMs?: number; send?: string; onData?: (s: string) => void } = {}): Promise<string> {
  const sock = await openConsole(name);
  return new Promise((resolve, reject) => {
    let seen = '';
    const done = (err?: Error) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err); else resolve(seen);
    };
    const test = () => (typeof pattern === 'string' ? seen.includes(pattern) : pattern.test(seen));
    const timer = setTimeout(() => done(new QkvmError('TIMEOUT', `guest "${name}" did not print ${pattern} within ${(opts.timeoutMs ?? 60_000) / 1000} s`)), opts.timeoutMs ?? 60_000);
    sock.on('data', (d) => {
      const s = d.toString('utf8');
      seen += s;
      opts.onData?.(s);
      if (test()) done();
    });
    sock.on('close', () => done(test() ? undefined : new QkvmError('STATE', `guest "${name}": console closed before ${pattern}`)));
    if (opts.send) sock.write(opts.send);
  });
}

/**
 * `qkvm console NAME --exec CMD`: types CMD on the guest's console shell and
 * returns its output and exit status (see console-exec.ts for the marker).
 */
export async function execOnConsole(name: string, cmd: string, opts: { timeoutMs?: number } = {}): Promise<ExecResult> {
  const { line, tag } = execLine(cmd);
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const sock = await openConsole(name);
  return new Promise((resolve, reject) => {
    let seen = '';
    const done = (err?: Error, r?: ExecResult) => {
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err); else resolve(r!);
    };
    const timer = setTimeout(() => done(new QkvmError('TIMEOUT', `console --exec: guest "${name}" did not finish ${JSON.stringify(cmd)} within ${timeoutMs / 1000} s`, { hint: `is its shell at a prompt? look: \`qkvm console ${name} --replay\`` })), timeoutMs);
    sock.on('data', (d) => {
      seen = (seen + d.toString('utf8')).slice(-1_048_576);
      const r = parseExec(seen, tag);
      if (r) done(undefined, r);
    });
    sock.on('close', () => done(new QkvmError('STATE', `guest "${name}": console closed before ${JSON.stringify(cmd)} finished`)));
    sock.write(line);
  });
}
