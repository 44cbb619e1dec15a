// Named remotes (`qkvm remote add NAME URI`), kept in QKVM_HOME/remotes.yaml so
// that `--connect NAME` finds the host, its key, its known_hosts and its qkvm.
import { existsSync, lstatSync, readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { writeFileAtomic } from '../config/atomic.js';
import { home } from '../config/paths.js';
import { parseWith } from '../config/schema.js';
import { validateName } from '../config/name.js';
import { invalid, notFound } from '../errors.js';
import { formatTarget, parseQkvmCommand, parseSshUri, type SshTarget } from './target.js';

const Path = z.string().min(1).max(4096).refine(isAbsolute, 'must be an absolute path');
const Remote = z.object({
  uri: z.string().max(1024),
  identity: Path.optional(),
  knownHosts: Path.optional(),
  qkvm: z.array(z.string().max(4096)).max(32).optional(),
}).strict();
const Remotes = z.record(z.string(), Remote);
export type RemoteEntry = z.output<typeof Remote> & { name: string };

function readAll(): Record<string, z.output<typeof Remote>> {
  const file = home.remotesFile();
  if (!existsSync(file)) return {};
  if (lstatSync(file).isSymbolicLink()) throw invalid(`${file}: is a symbolic link; qkvm reads its own files only from regular files`);
  const doc = YAML.parse(readFileSync(file, 'utf8')) ?? {};
  const all = parseWith(Remotes, doc, file);
  for (const k of Object.keys(all)) validateName(k, `${file}: remote name`);
  return all;
}

export function listRemotes(): RemoteEntry[] {
  return Object.entries(readAll()).map(([name, r]) => ({ name, ...r })).sort((a, b) => a.name.localeCompare(b.name));
}

export interface AddRemoteOptions { identity?: string; knownHosts?: string; qkvm?: string; force?: boolean }

export function addRemote(name: string, uri: string, o: AddRemoteOptions = {}): RemoteEntry {
  validateName(name, 'remote name');
  const t = parseSshUri(uri, 'remote add');
  const all = readAll();
  if (all[name] && !o.force) throw invalid(`remote "${name}" exists (${all[name].uri})`, `qkvm remote add ${name} ${uri} --force replaces it`);
  const entry = {
    uri: formatTarget(t),
    identity: o.identity ? resolve(o.identity) : undefined,
    knownHosts: o.knownHosts ? resolve(o.knownHosts) : undefined,
    qkvm: o.qkvm ? parseQkvmCommand(o.qkvm) : undefined,
  };
  for (const [flag, p] of [['--identity', entry.identity], ['--known-hosts', entry.knownHosts]] as const) {
    if (p && !existsSync(p)) throw invalid(`${flag}: ${p} does not exist`);
  }
  all[name] = Object.fromEntries(Object.entries(entry).filter(([, v]) => v !== undefined)) as typeof entry;
  writeFileAtomic(home.remotesFile(), YAML.stringify(all));
  return { name, ...all[name] };
}

export function removeRemote(name: string): void {
  validateName(name, 'remote name');
  const all = readAll();
  if (!all[name]) throw notFound(`no remote "${name}"`, 'qkvm remote list');
  delete all[name];
  writeFileAtomic(home.remotesFile(), YAML.stringify(all));
}

/** --connect's value: a remote's name, or an ssh:// (qemu+ssh://) URI. */
export function resolveTarget(ref: string): SshTarget {
  if (/^[a-z+]+:\/\//.test(ref)) return parseSshUri(ref);
  validateName(ref, '--connect');
  const r = readAll()[ref];
  if (!r) throw notFound(`--connect: no remote named "${ref}"`, `qkvm remote add ${ref} ssh://root@HOST, or give a URI: --connect ssh://root@HOST`);
  return { ...parseSshUri(r.uri), identity: r.identity, knownHosts: r.knownHosts, qkvm: r.qkvm };
}
