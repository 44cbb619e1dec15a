// `qkvm create --ssh-key/--user/--hostname/--cloud-init/--password-stdin`: the
// cloudInit block those flags write, checked before anything is made.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { loadExeca } from '../config/lazy.js';
import { HOSTNAME_RE, SSH_KEY_RE, USER_RE, type CloudInitInput } from '../config/cloud-init.js';
import { QkvmError, invalid } from '../errors.js';
import { parseUserData } from './cloud-init.js';

export interface CloudInitFlags {
  sshKey?: string[];
  user?: string;
  hostname?: string;
  cloudInit?: string;
  /** The password, read by the CLI from stdin; hashed here, never stored or passed in clear. */
  password?: string;
}

function readFlagFile(flag: string, file: string): string {
  try { return readFileSync(file, 'utf8'); } catch (e: any) { throw invalid(`${flag}: cannot read ${file} (${e.code ?? e.message})`, 'give a readable file'); }
}

/** The public key lines of a .pub file (or an authorized_keys file), each checked. */
export function readPublicKeys(file: string): string[] {
  const lines = readFlagFile('--ssh-key', file).split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  if (!lines.length) throw invalid(`--ssh-key: ${file} holds no public key`, 'give a .pub file, e.g. --ssh-key ~/.ssh/id_ed25519.pub (make one: ssh-keygen -t ed25519)');
  for (const l of lines) {
    if (!SSH_KEY_RE.test(l)) {
      const priv = /PRIVATE KEY/.test(l);
      throw invalid(`--ssh-key: ${file} ${priv ? 'is a private key' : `has a line that is not a public key: "${l.slice(0, 40)}..."`}`, priv ? `give its public half: --ssh-key ${file}.pub` : 'give a .pub file, e.g. --ssh-key ~/.ssh/id_ed25519.pub');
    }
  }
  return lines;
}

/** A SHA-512 crypt hash made by `openssl passwd -6 -stdin`: the password goes through stdin, never argv. */
export async function hashPassword(password: string): Promise<string> {
  if (!password) throw invalid('--password-stdin: the password read from stdin is empty', "echo 'secret' | qkvm create ... --password-stdin");
  if (/[\n\r]/.test(password)) throw invalid('--password-stdin: the password must be one line');
  const r = await (await loadExeca()).execa('openssl', ['passwd', '-6', '-stdin'], { input: `${password}\n`, reject: false });
  const hash = String(r.stdout ?? '').trim();
  if (r.exitCode !== 0 || !hash.startsWith('$6$')) throw new QkvmError('HOST', `openssl passwd -6 failed: ${String(r.stderr ?? r.shortMessage).trim()}`, { hint: 'install openssl' });
  return hash;
}

/** The cloudInit fields the flags give (undefined when no flag was used). */
export async function cloudInitFromFlags(f: CloudInitFlags): Promise<Partial<CloudInitInput> | undefined> {
  const out: Partial<CloudInitInput> = {};
  if (f.user !== undefined) {
    if (!USER_RE.test(f.user)) throw invalid(`--user: invalid user name "${f.user}"`, 'lower case letters, digits, _ and -, starting with a letter: --user alice');
    out.user = f.user;
  }
  if (f.hostname !== undefined) {
    if (!HOSTNAME_RE.test(f.hostname)) throw invalid(`--hostname: invalid hostname "${f.hostname}"`, 'letters, digits and hyphens: --hostname web1');
    out.hostname = f.hostname;
  }
  if (f.sshKey?.length) {
    out.ssh_authorized_keys = f.sshKey.flatMap((k) => readPublicKeys(k));
    // qkvm ssh offers the private half when it sits beside the first .pub given.
    const first = resolve(f.sshKey[0]);
    if (first.endsWith('.pub') && existsSync(first.slice(0, -4))) out.identity = first.slice(0, -4);
  }
  if (f.cloudInit !== undefined) {
    const text = readFlagFile('--cloud-init', f.cloudInit);
    parseUserData(text, `--cloud-init ${f.cloudInit}`);
    out['user-data'] = text;
  }
  if (f.password !== undefined) out.passwd = await hashPassword(f.password);
  return Object.keys(out).length ? out : undefined;
}
