// The NoCloud seed's three files, rendered from a definition's `cloudInit:`
// block. Pure: the same block gives the same bytes, so the seed is keyed by
// their hash and rebuilt only when they change.
import { createHash, randomBytes } from 'node:crypto';
import YAML from 'yaml';
import type { CloudInit } from '../config/cloud-init.js';
import { invalid } from '../errors.js';

/** The user cloud-init creates when the block names none: Debian's cloud images call it debian too. */
export const DEFAULT_USER = 'debian';

export interface SeedFiles {
  'user-data': string;
  'meta-data': string;
  'network-config'?: string;
}

/** A fresh instance-id: the guest's name and 8 random hex digits (a clone gets a new one). */
export function newInstanceId(name: string): string {
  return `${name}-${randomBytes(4).toString('hex')}`;
}

/** The user-data file the block brings (`create --cloud-init FILE`), as a YAML mapping. */
export function parseUserData(text: string, source = 'user-data'): Record<string, unknown> {
  if (!/^#cloud-config\s*\n/.test(text)) {
    throw invalid(`${source}: user-data must start with the line "#cloud-config"`, 'qkvm merges only #cloud-config YAML; write that line first');
  }
  let doc: unknown;
  try { doc = YAML.parse(text); } catch (e: any) { throw invalid(`${source}: not valid YAML: ${e.message.split('\n')[0]}`); }
  if (doc === null || doc === undefined) return {};
  if (typeof doc !== 'object' || Array.isArray(doc)) throw invalid(`${source}: user-data must be a YAML mapping (key: value lines)`);
  return doc as Record<string, unknown>;
}

/** The seed's files for guest `name`. The block's fields win over the same keys of its user-data. */
export function renderSeed(name: string, ci: CloudInit): SeedFiles {
  const doc: Record<string, unknown> = ci['user-data'] ? parseUserData(ci['user-data']) : {};
  const hostname = ci.hostname ?? name.replace(/[^A-Za-z0-9-]/g, '-').replace(/^-+|-+$/g, '').slice(0, 63);
  doc.hostname = hostname;
  // /etc/hosts gets the name too, so sudo does not wait on resolving it.
  doc.manage_etc_hosts = doc.manage_etc_hosts ?? true;
  if (ci.user || ci.ssh_authorized_keys.length || ci.passwd) {
    const user: Record<string, unknown> = {
      name: ci.user ?? DEFAULT_USER,
      groups: ['sudo'],
      shell: '/bin/bash',
      sudo: 'ALL=(ALL) NOPASSWD:ALL',
      lock_passwd: !ci.passwd,
    };
    if (ci.passwd) user.passwd = ci.passwd;
    if (ci.ssh_authorized_keys.length) user.ssh_authorized_keys = ci.ssh_authorized_keys;
    const theirs = Array.isArray(doc.users) ? doc.users : [];
    doc.users = [...theirs, user];
  }
  if (ci.packages.length) doc.packages = [...(Array.isArray(doc.packages) ? doc.packages : []), ...ci.packages];
  if (ci.runcmd.length) doc.runcmd = [...(Array.isArray(doc.runcmd) ? doc.runcmd : []), ...ci.runcmd];
  if (ci.write_files.length) doc.write_files = [...(Array.isArray(doc.write_files) ? doc.write_files : []), ...ci.write_files];
  const files: SeedFiles = {
    'user-data': `#cloud-config\n${YAML.stringify(doc)}`,
    'meta-data': YAML.stringify({ 'instance-id': ci['instance-id'] ?? name, 'local-hostname': hostname }),
  };
  if (ci['network-config']) files['network-config'] = YAML.stringify(ci['network-config']);
  return files;
}

/** The content key of a seed: 16 hex digits of SHA-256 over its files, in a fixed order. */
export function seedKey(files: SeedFiles): string {
  const h = createHash('sha256');
  for (const k of ['user-data', 'meta-data', 'network-config'] as const) h.update(`${k}\0${files[k] ?? ''}\0`);
  return h.digest('hex').slice(0, 16);
}

/** The user `qkvm ssh` logs in as. */
export const sshUser = (ci: CloudInit | undefined): string => ci?.user ?? DEFAULT_USER;
