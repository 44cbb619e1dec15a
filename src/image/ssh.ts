// `qkvm ssh NAME [-- CMD]`: where the guest's sshd is reachable from here (a
// user NIC's hostfwd to port 22, else a network NIC's DHCP lease, else the
// address the guest agent reports for that NIC), who to
// log in as (the cloudInit block's user), and the ssh command that does it,
// with qkvm's own known_hosts keyed by the guest's cloud-init instance-id.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { home } from '../config/paths.js';
import type { VmSpec } from '../config/schema.js';
import type { IfAddr } from '../net/addr.js';
import { QkvmError } from '../errors.js';
import { sshUser } from './cloud-init.js';

export interface SshTarget {
  host: string;
  port: number;
  user: string;
  /** The private key to offer, when qkvm knows which one matches the guest's authorized keys. */
  identity?: string;
  /** The name host keys are kept under in qkvm's known_hosts: a new instance has new keys. */
  hostKeyAlias: string;
  via: 'hostfwd' | 'lease' | 'agent';
}

/** The host side of a user NIC's forward to the guest's port 22, from rules like tcp:127.0.0.1:22022-:22. */
export function hostfwdToSsh(rules: string[]): { host: string; port: number } | undefined {
  for (const r of rules) {
    const m = /^tcp:([0-9.]*):(\d+)-([0-9.]*):22$/.exec(r);
    if (m) return { host: !m[1] || m[1] === '0.0.0.0' ? '127.0.0.1' : m[1], port: Number(m[2]) };
  }
  return undefined;
}

/** The key body (the base64 part) of a public key line. */
const keyBody = (line: string) => line.trim().split(/\s+/)[1];

/** The private key whose .pub is one of `keys`: the block's identity first, then ~/.ssh/*.pub. */
export function findIdentity(keys: string[], identity?: string, sshDir = join(homedir(), '.ssh')): string | undefined {
  if (identity && existsSync(identity)) return identity;
  const bodies = new Set(keys.map(keyBody));
  let files: string[] = [];
  try { files = readdirSync(sshDir).filter((f) => f.endsWith('.pub')).sort(); } catch { return undefined; }
  for (const f of files) {
    let text = '';
    try { text = readFileSync(join(sshDir, f), 'utf8'); } catch { continue; }
    const priv = join(sshDir, f.slice(0, -4));
    if (bodies.has(keyBody(text)) && existsSync(priv)) return priv;
  }
  return undefined;
}

/** A network NIC's guest has no address qkvm can see yet: worth asking again while it boots. */
export class SshAddressPending extends QkvmError {}

/**
 * The address to ssh to among a guest's addresses: a lease first, else one the
 * agent reports; IPv4 on a NIC of one of qkvm's networks (not a user NIC's
 * 10.0.2.15, which the host cannot reach, and not link-local).
 */
export function pickSshAddress(rows: IfAddr[]): IfAddr | undefined {
  const usable = rows.filter((r) => r.network && r.address && /^\d+\.\d+\.\d+\.\d+$/.test(r.address) && !r.address.startsWith('169.254.'));
  return usable.find((r) => r.source === 'lease') ?? usable.find((r) => r.source === 'agent');
}

/**
 * Where to reach a guest's sshd: a hostfwd to port 22 on a user NIC first,
 * then a network NIC's lease, then (agent: true) the address the guest agent
 * reports for it, e.g. a static address from cloud-init's network-config.
 */
export async function sshTarget(spec: VmSpec): Promise<SshTarget> {
  const ci = spec.cloudInit;
  const common = {
    user: sshUser(ci),
    identity: findIdentity(ci?.ssh_authorized_keys ?? [], ci?.identity),
    hostKeyAlias: `qkvm-${ci?.['instance-id'] ?? spec.name}`,
  };
  for (const n of spec.nics) {
    const fwd = n.type === 'user' ? hostfwdToSsh(n.hostfwd) : undefined;
    if (fwd) return { ...fwd, ...common, via: 'hostfwd' };
  }
  if (spec.nics.some((n) => n.type === 'network')) {
    const { domifaddr } = await import('../net/addr.js');
    let hit = pickSshAddress(await domifaddr(spec.name));
    if (!hit && spec.agent) {
      // Read-only and short: an agent that does not answer yet (the guest still
      // boots) is asked again on the next round.
      const { domifaddrFromAgent } = await import('../agent/addr.js');
      hit = pickSshAddress(await domifaddrFromAgent(spec.name, { syncTimeoutMs: 1000, defaultTimeoutMs: 3000 }).catch(() => []));
    }
    if (hit?.address) return { host: hit.address, port: 22, ...common, via: hit.source === 'agent' ? 'agent' : 'lease' };
    throw new SshAddressPending('STATE', `guest "${spec.name}" has no address qkvm can see yet: no DHCP lease on its network${spec.agent ? ', and the guest agent reports none' : ''}`, {
      hint: `wait for it to boot, then \`qkvm domifaddr ${spec.name}\`${spec.agent ? '' : '; with `agent: true` qkvm also asks the guest agent'}`,
    });
  }
  throw new QkvmError('STATE', `guest "${spec.name}" has no way in for ssh: no user NIC forwards a host port to its port 22, and no network NIC`, {
    hint: `add a forward to its user NIC: hostfwd: ["tcp:127.0.0.1:22022-:22"] (qkvm edit ${spec.name})`,
  });
}

/** A guest that stopped (or crashed) while qkvm ssh waited for it: the wait ends here. */
function stoppedWhileWaiting(name: string, when: string): QkvmError {
  return new QkvmError('STATE', `guest "${name}" stopped ${when}`, { hint: `see why: qkvm info ${name}; then qkvm start ${name} --console` });
}

/**
 * sshTarget, asked again every second while the guest has no address yet
 * (a guest on a network gets its lease a while into its boot).
 */
export async function waitForSshTarget(spec: VmSpec, o: { deadline: number; onWait?: (what: string) => void; running?: () => Promise<boolean> }): Promise<SshTarget> {
  for (;;) {
    try {
      return await sshTarget(spec);
    } catch (e) {
      if (!(e instanceof SshAddressPending) || Date.now() > o.deadline) throw e;
      if (o.running && !(await o.running())) throw stoppedWhileWaiting(spec.name, 'while qkvm ssh waited for its address');
    }
    o.onWait?.(`waiting for ${spec.name}'s address (its DHCP lease${spec.agent ? ' or the guest agent' : ''})`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** Whether the target is a forward on this host's loopback: its packets never leave the machine. */
export const onLoopback = (t: SshTarget) => t.via === 'hostfwd' && /^127\./.test(t.host);

/** ssh's argv: the port, qkvm's known_hosts (new host keys accepted once, then checked), the key, the user. */
export function sshArgs(t: SshTarget, command: string[] = [], extra: string[] = []): string[] {
  return [
    '-p', String(t.port),
    // On loopback, X25519 first: the post-quantum hybrid (sntrup761, OpenSSH's
    // default) costs the guest 1.5-2.5 s per login under TCG, and guards
    // against a recording of traffic that here never leaves the host.
    ...(onLoopback(t) ? ['-o', 'KexAlgorithms=^curve25519-sha256'] : []),
    '-o', 'StrictHostKeyChecking=accept-new',
    '-o', `UserKnownHostsFile=${home.knownHosts()}`,
    '-o', `HostKeyAlias=${t.hostKeyAlias}`,
    // qkvm's own file lists only qkvm guests: kept readable (ssh-keygen -F ALIAS finds them either way).
    '-o', 'HashKnownHosts=no',
    ...(t.identity ? ['-i', t.identity, '-o', 'IdentitiesOnly=yes'] : []),
    ...extra,
    '--', `${t.user}@${t.host}`,
    ...command,
  ];
}

/**
 * The options of one ssh connection shared by the login probe and the command
 * (OpenSSH's multiplexing): the probe authenticates once and stays as the
 * master (`-f -N`), the command runs through it without a second handshake,
 * and `-O exit` ends it. ControlPersist bounds the master's life if qkvm dies
 * in between. The socket lives in the guest's private run directory.
 */
export function sshMaster(controlPath: string) {
  const path = ['-o', `ControlPath=${controlPath}`];
  return {
    start: ['-f', '-N', '-o', 'ControlMaster=yes', '-o', 'ControlPersist=30', ...path],
    use: ['-o', 'ControlMaster=no', ...path],
    exit: ['-O', 'exit', ...path],
  };
}

/** Whether sshd answers with its banner at host:port (a hostfwd accepts even when nothing listens inside). */
export function sshBanner(host: string, port: number, timeoutMs = 5000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let got = '';
    const done = (ok: boolean) => { s.destroy(); clearTimeout(timer); resolve(ok); };
    const timer = setTimeout(() => done(false), timeoutMs);
    s.on('data', (d) => { got += d.toString('latin1'); if (got.startsWith('SSH-')) done(true); });
    s.on('error', () => done(false));
    s.on('close', () => done(got.startsWith('SSH-')));
  });
}

/**
 * Waits until sshd answers and, when a key is known, until a login works
 * (cloud-init installs the key while sshd may already listen). Reports each
 * wait through onWait(seconds so far, what). `running` is asked on every
 * round: a guest that stopped (or crashed) ends the wait at once, not at the
 * deadline.
 */
export async function waitForSsh(t: SshTarget, o: { name: string; timeoutMs?: number; onWait?: (seconds: number, what: string) => void; login?: () => Promise<boolean>; running?: () => Promise<boolean> }): Promise<void> {
  const started = Date.now();
  const deadline = started + (o.timeoutMs ?? 300_000);
  const elapsed = () => Math.round((Date.now() - started) / 1000);
  const stillRunning = async () => {
    if (o.running && !(await o.running())) throw stoppedWhileWaiting(o.name, `after ${elapsed()} s while qkvm ssh waited for it`);
  };
  while (!(await sshBanner(t.host, t.port))) {
    await stillRunning();
    if (Date.now() > deadline) throw new QkvmError('TIMEOUT', `no sshd answered at ${t.host}:${t.port} within ${elapsed()} s`, { hint: `watch the guest boot: qkvm console ${o.name}` });
    o.onWait?.(elapsed(), `waiting for sshd at ${t.host}:${t.port}`);
    // A connection on loopback costs nothing; sshd's start is seen within a quarter second.
    await new Promise((r) => setTimeout(r, 250));
  }
  if (!o.login) return;
  while (!(await o.login())) {
    await stillRunning();
    if (Date.now() > deadline) throw new QkvmError('TIMEOUT', `sshd at ${t.host}:${t.port} answers, but ${t.user} could not log in within ${elapsed()} s`, { hint: 'check the key in the cloudInit block, or pass -i KEY' });
    o.onWait?.(elapsed(), `waiting for cloud-init to let ${t.user} in`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}
