// A remote host: where `qkvm --connect URI ...` runs its command. qkvm has no
// daemon, so ssh is the whole transport: the far side's own qkvm does the work
// and its output, exit status and --json come back unchanged. Pure: no I/O.
import { invalid } from '../errors.js';
import { shellQuote } from '../qemu/format.js';

export interface SshTarget {
  user?: string;
  host: string;
  port?: number;
  /** A private key for ssh -i. */
  identity?: string;
  /** A known_hosts file for this host (ssh's UserKnownHostsFile). */
  knownHosts?: string;
  /** The qkvm command on the far side, as words (default: qkvm on its PATH). */
  qkvm?: string[];
}

const USER_RE = /^[a-z_][a-z0-9_.-]{0,31}$/i;
/** A DNS name, an IPv4 address, or an IPv6 address in brackets in the URI. */
const HOST_RE = /^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const IPV6_RE = /^[0-9a-fA-F:]+$/;

/**
 * Reads ssh://[user@]host[:port], and virsh's qemu+ssh://[user@]host[:port]/system
 * (so a tutorial's `virsh -c qemu+ssh://root@kvm2/system list` works with the
 * tool name swapped). Anything else is refused before ssh sees it.
 */
export function parseSshUri(uri: string, what = '--connect'): SshTarget {
  const m = /^(ssh|qemu\+ssh):\/\/(?:([^@/]+)@)?(\[[^\]]+\]|[^:/]+)(?::(\d{1,5}))?(\/[a-z]*)?$/.exec(uri);
  if (!m) throw invalid(`${what}: invalid remote ${JSON.stringify(uri)}`, 'write ssh://[USER@]HOST[:PORT], e.g. ssh://root@192.0.2.7 (or the name of a remote: qkvm remote list)');
  const [, scheme, user, rawHost, port, path] = m;
  if (scheme === 'ssh' && path) throw invalid(`${what}: ${JSON.stringify(uri)}: an ssh:// remote takes no path`, `write ssh://${user ? `${user}@` : ''}${rawHost}${port ? `:${port}` : ''}`);
  if (scheme === 'qemu+ssh' && path && path !== '/system') {
    throw invalid(`${what}: ${JSON.stringify(uri)}: qkvm has only the system instance (${path} is libvirt's)`, `write qemu+ssh://${user ? `${user}@` : ''}${rawHost}/system`);
  }
  if (user !== undefined && !USER_RE.test(user)) throw invalid(`${what}: invalid user ${JSON.stringify(user)} in ${JSON.stringify(uri)}`, 'a user name is letters, digits, _ . -');
  const host = rawHost.startsWith('[') ? rawHost.slice(1, -1) : rawHost;
  if (rawHost.startsWith('[') ? !IPV6_RE.test(host) : !HOST_RE.test(host)) throw invalid(`${what}: invalid host ${JSON.stringify(rawHost)} in ${JSON.stringify(uri)}`, 'a host name, an IPv4 address, or an IPv6 address in brackets');
  let p: number | undefined;
  if (port !== undefined) {
    p = Number(port);
    if (!(p >= 1 && p <= 65535)) throw invalid(`${what}: invalid port ${port} in ${JSON.stringify(uri)}`, 'a port is 1-65535');
  }
  return { user, host, port: p };
}

/** The URI back, in qkvm's own spelling. */
export function formatTarget(t: SshTarget): string {
  const host = t.host.includes(':') ? `[${t.host}]` : t.host;
  return `ssh://${t.user ? `${t.user}@` : ''}${host}${t.port ? `:${t.port}` : ''}`;
}

/** ssh's options for this target; the caller adds -t, -L or -N as it needs. */
export function sshOptions(t: SshTarget): string[] {
  const o = ['-o', 'ConnectTimeout=15', '-o', 'ServerAliveInterval=15'];
  if (t.port) o.push('-p', String(t.port));
  if (t.identity) o.push('-i', t.identity, '-o', 'IdentitiesOnly=yes');
  if (t.knownHosts) o.push('-o', `UserKnownHostsFile=${t.knownHosts}`);
  return o;
}

export const sshDestination = (t: SshTarget) => (t.user ? `${t.user}@${t.host}` : t.host);

/**
 * The one string ssh hands to the far side's shell: every word quoted, so no
 * argument the user typed is read by that shell as anything but itself.
 */
export function remoteCommand(t: SshTarget, argv: string[]): string {
  return [...(t.qkvm ?? ['qkvm']), ...argv].map(shellQuote).join(' ');
}

/** The whole ssh argv that runs `qkvm ARGV` on the target. */
export function sshArgv(t: SshTarget, argv: string[], o: { tty?: boolean } = {}): string[] {
  return [...sshOptions(t), ...(o.tty ? ['-t'] : ['-T']), '--', sshDestination(t), remoteCommand(t, argv)];
}

/** Splits `--qkvm "node /opt/qkvm/dist/src/cli/main.js"` into words; each must be a plain word (no shell syntax). */
export function parseQkvmCommand(text: string): string[] {
  const words = text.trim().split(/\s+/).filter(Boolean);
  if (!words.length) throw invalid('--qkvm: empty command', 'give the far side\'s qkvm, e.g. --qkvm /usr/local/bin/qkvm');
  for (const w of words) {
    if (!/^[A-Za-z0-9_@%+=:,./-]+$/.test(w)) throw invalid(`--qkvm: ${JSON.stringify(w)} is not a plain word`, 'give the program and its arguments as plain words, e.g. --qkvm "node /opt/qkvm/dist/src/cli/main.js"');
  }
  return words;
}

/** libvirt's URIs for this host (qemu:///system): no remote; virsh's spelling notes and drops them. */
export const isLocalUri = (uri: string) => /^qemu(\+unix)?:\/\/\/(system|session)?$/.test(uri);

/**
 * Takes the global --connect URI (or -c URI, virsh's spelling) from the front of
 * argv. Only before the command word: `qkvm migrate g ssh://h` is not a --connect.
 */
export function takeConnect(argv: string[], env: NodeJS.ProcessEnv = process.env): { connect?: string; rest: string[] } {
  const a = argv[0];
  if (a === '--connect' || a === '-c') {
    if (argv[1] === undefined || argv[1].startsWith('-')) throw invalid(`${a}: needs a remote`, 'qkvm --connect ssh://root@HOST list');
    return { connect: argv[1], rest: argv.slice(2) };
  }
  if (a?.startsWith('--connect=')) return { connect: a.slice('--connect='.length), rest: argv.slice(1) };
  const fromEnv = env.QKVM_CONNECT;
  if (fromEnv) return { connect: fromEnv, rest: argv };
  return { rest: argv };
}
