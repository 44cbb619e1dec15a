// Facts about a qemu-system binary: version, accelerators, machines, devices,
// netdev backends. Asking QEMU takes a few hundred milliseconds, so the answer is
// cached host-wide (config/paths.ts hostCacheDir; else QKVM_HOME/cache) in qemu-probe.json, keyed by the binary's path, mtime
// and size (an upgrade of the package changes the key).
import { readFileSync, realpathSync, statSync } from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { loadExeca } from '../config/lazy.js';
import { writeFileAtomic } from '../config/atomic.js';
import { home, hostCacheDir } from '../config/paths.js';
import { QkvmError } from '../errors.js';

/** The oldest QEMU whose options the builder's output is checked against. */
export const MIN_QEMU_VERSION = '7.2.0';

export interface QemuProbe {
  /** The binary as asked for. */
  binary: string;
  /** Its resolved absolute path. */
  path: string;
  /** "7.2.22" */
  version: string;
  accels: string[];
  /** Machine types and their aliases (pc, q35, pc-i440fx-7.2...). */
  machines: string[];
  /** Device names and aliases (virtio-net-pci, ahci...). */
  devices: string[];
  /** -netdev backends (user, tap, ...). */
  netdevs: string[];
}

const CACHE_VERSION = 1;
const memo = new Map<string, QemuProbe>();

/** Finds the binary the way a shell would: a path as given, a bare name on PATH. */
export function resolveBinary(binary: string, env: NodeJS.ProcessEnv = process.env): string {
  const candidates = binary.includes('/')
    ? [resolve(binary)]
    : (env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(delimiter).filter(Boolean).map((d) => join(d, binary));
  for (const c of candidates) {
    try {
      const st = statSync(c);
      if (st.isFile() && (st.mode & 0o111)) return isAbsolute(c) ? realpathSync(c) : resolve(c);
    } catch { /* not here */ }
  }
  throw new QkvmError('HOST', `QEMU binary "${binary}" not found${binary.includes('/') ? '' : ' on PATH'}`, {
    hint: 'install QEMU: bash scripts/setup-host.sh (or apt-get install qemu-system-x86)',
  });
}

/** "QEMU emulator version 7.2.22 (Debian ...)" -> "7.2.22". */
export function parseVersion(text: string): string {
  const m = /version (\d+\.\d+(?:\.\d+)?)/.exec(text);
  if (!m) throw new QkvmError('QEMU', `cannot read QEMU's version from: ${text.split('\n')[0]}`);
  return m[1];
}

/** `-accel help`: a header line, then one name a line. */
export function parseAccelHelp(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => /^[a-z0-9_-]+$/.test(l));
}

/** `-machine help`: "pc   Standard PC ... (alias of pc-i440fx-7.2)". */
export function parseMachineHelp(text: string): string[] {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^(\S+)\s+\S/.exec(line);
    if (!m || line.startsWith('Supported machines')) continue;
    out.add(m[1]);
    const alias = /\(alias of ([^)]+)\)/.exec(line);
    if (alias) out.add(alias[1]);
  }
  return [...out].sort();
}

/** `-device help`: 'name "ich9-ahci", bus PCI, alias "ahci"'. */
export function parseDeviceHelp(text: string): string[] {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    const m = /^name "([^"]+)"/.exec(line);
    if (!m) continue;
    out.add(m[1]);
    const alias = /alias "([^"]+)"/.exec(line);
    if (alias) out.add(alias[1]);
  }
  return [...out].sort();
}

/** `-netdev help`: a header line, then one backend a line. */
export const parseNetdevHelp = parseAccelHelp;

export function compareVersions(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d) return Math.sign(d);
  }
  return 0;
}

export const versionAtLeast = (p: Pick<QemuProbe, 'version'>, min: string) => compareVersions(p.version, min) >= 0;
export const hasDevice = (p: Pick<QemuProbe, 'devices'>, name: string) => p.devices.includes(name);
export const hasMachine = (p: Pick<QemuProbe, 'machines'>, name: string) => p.machines.includes(name);
export const hasAccel = (p: Pick<QemuProbe, 'accels'>, name: string) => p.accels.includes(name);
export const hasNetdev = (p: Pick<QemuProbe, 'netdevs'>, name: string) => p.netdevs.includes(name);

async function ask(path: string, args: string[]): Promise<string> {
  const r = await (await loadExeca()).execa(path, args, { reject: false, timeout: 30_000, stdin: 'ignore', env: { LC_ALL: 'C' } });
  if (r.exitCode !== 0) {
    throw new QkvmError('QEMU', `${path} ${args.join(' ')} failed (exit ${r.exitCode ?? r.signal}): ${String(r.stderr).trim()}`);
  }
  return String(r.stdout);
}

/** Runs the binary to learn its facts; no cache. */
export async function probeUncached(binary: string): Promise<QemuProbe> {
  const path = resolveBinary(binary);
  const [version, accels, machines, devices, netdevs] = await Promise.all([
    ask(path, ['--version']).then(parseVersion),
    ask(path, ['-accel', 'help']).then(parseAccelHelp),
    ask(path, ['-machine', 'help']).then(parseMachineHelp),
    ask(path, ['-device', 'help']).then(parseDeviceHelp),
    ask(path, ['-netdev', 'help']).then(parseNetdevHelp),
  ]);
  return { binary, path, version, accels, machines, devices, netdevs };
}

// Host-wide when the host cache is usable (a new home does not probe again), else in the home.
export const probeCacheFile = () => join(hostCacheDir() ?? home.cacheDir(), 'qemu-probe.json');

interface CacheFile { version: number; entries: Record<string, QemuProbe> }

function readCache(file: string): CacheFile {
  try {
    const c = JSON.parse(readFileSync(file, 'utf8')) as CacheFile;
    if (c.version === CACHE_VERSION && c.entries && typeof c.entries === 'object') return c;
  } catch { /* missing or unreadable: probe again */ }
  return { version: CACHE_VERSION, entries: {} };
}

/**
 * The facts about `binary` (default qemu-system-x86_64), from the cache when
 * the binary has not changed since. Throws QkvmError HOST when it is missing.
 */
export async function probeQemu(binary = 'qemu-system-x86_64', opts: { refresh?: boolean } = {}): Promise<QemuProbe> {
  const path = resolveBinary(binary);
  const st = statSync(path);
  const key = `${path}:${st.mtimeMs}:${st.size}`;
  if (!opts.refresh && memo.has(key)) return { ...memo.get(key)!, binary };
  const file = probeCacheFile();
  const cache = readCache(file);
  let p = opts.refresh ? undefined : cache.entries[key];
  if (!p) {
    p = await probeUncached(path);
    // One entry per binary path: a changed binary replaces its old entry.
    for (const k of Object.keys(cache.entries)) if (cache.entries[k].path === path) delete cache.entries[k];
    cache.entries[key] = p;
    try {
      writeFileAtomic(file, JSON.stringify(cache, null, 2) + '\n');
    } catch { /* a cache we cannot write only costs time */ }
  }
  memo.set(key, p);
  return { ...p, binary };
}

/** Throws QkvmError HOST when the binary is older than MIN_QEMU_VERSION. */
export function assertMinVersion(p: Pick<QemuProbe, 'version' | 'path'>): void {
  if (compareVersions(p.version, MIN_QEMU_VERSION) < 0) {
    throw new QkvmError('HOST', `QEMU ${p.version} at ${p.path} is older than ${MIN_QEMU_VERSION}, the oldest qkvm is tested with`);
  }
}
