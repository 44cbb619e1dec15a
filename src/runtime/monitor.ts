// Passthroughs for learners and for whatever qkvm does not wrap: HMP and raw QMP.
import { withQmp } from './qmp.js';
import { invalid } from '../errors.js';
import { requireActive } from './state.js';


/** `qkvm monitor NAME 'info balloon'`: an HMP command through QMP's human-monitor-command. */
/** A monitor command that names an exec: URI makes QEMU run a shell command as root: only in so many words. */
export function refuseExec(what: string, text: string, allowPrograms?: boolean): void {
  if (!allowPrograms && /exec:/i.test(text)) {
    throw invalid(`${what}: ${JSON.stringify(text)} holds an exec: URI: QEMU would run it through /bin/sh as root`, 'if you mean it, repeat the command with --allow-programs (see docs/safety.md)');
  }
}

export async function hmp(name: string, command: string, opts: { allowPrograms?: boolean } = {}): Promise<string> {
  if (!command.trim()) throw invalid('monitor: the HMP command is empty', "for example: qkvm monitor NAME 'info status'");
  refuseExec('monitor', command, opts.allowPrograms);
  await requireActive(name, { query: false });
  return withQmp(name, (qmp) => qmp.hmp(command, { timeoutMs: 60_000 }));
}

/** `qkvm qmp NAME '{"execute":"query-status"}'`: one raw QMP command; returns its `return` value. */
export async function qmpPassthrough(name: string, json: string, opts: { allowPrograms?: boolean } = {}): Promise<unknown> {
  let msg: any;
  try {
    msg = JSON.parse(json);
  } catch (e: any) {
    throw invalid(`qmp: not valid JSON: ${json}`, `write it like '{"execute":"query-status"}'`);
  }
  if (!msg || typeof msg.execute !== 'string') throw invalid(`qmp: the message needs an "execute" member: ${json}`);
  if (msg.execute === 'qmp_capabilities') throw invalid('qmp: qkvm negotiates capabilities itself; send the command you want');
  refuseExec('qmp', json, opts.allowPrograms);
  await requireActive(name, { query: false });
  return withQmp(name, (qmp) => qmp.execute(msg.execute, msg.arguments ?? {}, { timeoutMs: 60_000 }));
}

/** The VNC address, and optionally a new password (set over QMP, never on a command line). */
export async function vnc(name: string, opts: { password?: string } = {}): Promise<{ address?: string; display?: number; enabled: boolean; auth?: string }> {
  await requireActive(name, { query: false });
  return withQmp(name, async (qmp) => {
    if (opts.password !== undefined) {
      if (!opts.password || opts.password.length > 8) {
        throw invalid('vnc: the password must be 1-8 characters (VNC authentication uses only 8)');
      }
      await qmp.execute('set_password', { protocol: 'vnc', password: opts.password });
    }
    const v = await qmp.execute<{ enabled: boolean; host?: string; service?: string; auth?: string }>('query-vnc');
    if (!v.enabled) return { enabled: false };
    return { enabled: true, address: `${v.host}:${v.service}`, display: Number(v.service) - 5900, auth: v.auth };
  });
}
