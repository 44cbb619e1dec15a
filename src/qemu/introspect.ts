// What one QEMU binary accepts, from its own introspection: option keys
// (query-command-line-options), machines and their max CPUs (query-machines),
// CPU models, device types, -netdev/-net keys (the QAPI schema of netdev_add),
// NIC models, displays and VGA cards. `qkvm explain` checks a line against it, so
// it never says [ok] to what this QEMU refuses. One QEMU run with -machine none
// (~0.4 s), cached beside the probe, keyed the same way (path, mtime, size).
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadExeca } from '../config/lazy.js';
import { writeFileAtomic } from '../config/atomic.js';
import { home } from '../config/paths.js';
import { QkvmError } from '../errors.js';
import { parseAccelHelp, resolveBinary } from './probe.js';

export interface MachineInfo { name: string; alias?: string; cpuMax: number; isDefault?: boolean }

export interface QemuIntrospection {
  version: string;
  /** Every option -help lists, with its dash (-machine, -hda...). */
  options: string[];
  /** query-command-line-options: option group -> parameter names ([] = not described). */
  optionKeys: Record<string, string[]>;
  machines: MachineInfo[];
  /** QOM properties of the pc and q35 machine types (-machine pc,hpet=off). */
  machineProps: string[];
  cpus: string[];
  /** Concrete device types and their -device help aliases. */
  devices: string[];
  /** -device help's sound devices, for -soundhw ?. */
  soundDevices: string[];
  /** -netdev/-net backend type -> its keys (the nic case is -net nic's keys). */
  netdevKeys: Record<string, string[]>;
  /** -net nic,model=help. */
  nicModels: string[];
  displays: string[];
  vgas: string[];
  accels: string[];
}

type Json = any;

/** Parses QMP replies, one JSON object a line, into the returns in order. */
export function qmpReturns(text: string): Json[] {
  const out: Json[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    let j: Json;
    try { j = JSON.parse(line); } catch { continue; }
    if ('return' in j) out.push(j.return);
    else if ('error' in j) out.push({ error: j.error });
  }
  return out;
}

/** -net/-netdev types and keys from query-qmp-schema (netdev_add's union). */
export function netdevKeysFromSchema(schema: Json[]): Record<string, string[]> {
  const by = new Map<string, Json>(schema.map((e) => [e.name, e]));
  const cmd = by.get('netdev_add');
  const args = cmd && by.get(cmd['arg-type']);
  const out: Record<string, string[]> = {};
  for (const v of args?.variants ?? []) out[v.case] = (by.get(v.type)?.members ?? []).map((m: Json) => m.name);
  return out;
}

/** `-help`: every line that starts with an option. */
export function parseHelpOptions(text: string): string[] {
  const out = new Set<string>();
  for (const line of text.split('\n')) {
    // "-machine [type=]name", "-hda/-hdb file", "-h or -help".
    const m = /^(-\S+)(?: or (-\S+))?/.exec(line);
    if (!m) continue;
    for (const word of [...m[1].split('/'), ...(m[2] ? [m[2]] : [])]) if (/^--?[a-zA-Z0-9_-]+$/.test(word)) out.add(word.replace(/^--/, '-'));
  }
  return [...out].sort();
}

/** `-device help`: names and aliases, and the names in the "Sound devices:" section. */
export function parseDeviceSections(text: string): { devices: string[]; sound: string[] } {
  const devices = new Set<string>();
  const sound: string[] = [];
  let section = '';
  for (const line of text.split('\n')) {
    if (/^\S.*:$/.test(line)) { section = line; continue; }
    const m = /^name "([^"]+)"/.exec(line);
    if (!m) continue;
    devices.add(m[1]);
    const alias = /alias "([^"]+)"/.exec(line);
    if (alias) devices.add(alias[1]);
    if (/^Sound/.test(section)) sound.push(m[1]);
  }
  return { devices: [...devices].sort(), sound };
}

/** `-vga help`: "std    standard VGA (default)". */
export function parseVgaHelp(text: string): string[] {
  return text.split('\n').map((l) => /^(\S+)\s{2,}/.exec(l)?.[1]).filter((x): x is string => !!x);
}

/** `-net nic,model=help` and `-display help`: a header, then one name a line. */
export function parseList(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => /^[a-zA-Z0-9_.-]+$/.test(l));
}

const QUERIES = [
  { execute: 'qmp_capabilities' },
  { execute: 'query-version' },
  { execute: 'query-command-line-options' },
  { execute: 'query-machines' },
  { execute: 'query-cpu-definitions' },
  { execute: 'query-qmp-schema' },
  { execute: 'qom-list-properties', arguments: { typename: 'pc-i440fx-7.2-machine' } },
  { execute: 'qom-list-properties', arguments: { typename: 'pc-q35-7.2-machine' } },
  { execute: 'quit' },
];

async function run(path: string, args: string[], input?: string): Promise<string> {
  const r = await (await loadExeca()).execa(path, args, {
    reject: false, timeout: 30_000, env: { LC_ALL: 'C' }, ...(input !== undefined ? { input } : { stdin: 'ignore' as const }),
  });
  return `${String(r.stdout)}\n${String(r.stderr)}`;
}

export async function introspectUncached(binary: string): Promise<QemuIntrospection> {
  const path = resolveBinary(binary);
  const qmp = await run(path, ['-machine', 'none', '-nodefaults', '-display', 'none', '-S', '-qmp', 'stdio'], QUERIES.map((q) => JSON.stringify(q)).join('\n') + '\n');
  const [, ver, opts, machines, cpus, schema, pcProps, q35Props] = qmpReturns(qmp);
  if (!ver?.qemu) throw new QkvmError('QEMU', `${path}: QMP introspection failed: ${qmp.slice(0, 300)}`);
  const optionKeys: Record<string, string[]> = {};
  for (const o of opts as Json[]) optionKeys[o.option] = o.parameters.map((p: Json) => p.name);
  const props = new Set<string>();
  for (const list of [pcProps, q35Props]) if (Array.isArray(list)) for (const p of list) props.add(p.name);
  const [help, devHelp, nics, displays, vgas, accels] = [
    await run(path, ['-help']),
    await run(path, ['-device', 'help']),
    await run(path, ['-nodefaults', '-net', 'nic,model=help']),
    await run(path, ['-display', 'help']),
    await run(path, ['-vga', 'help']),
    await run(path, ['-accel', 'help']),
  ];
  const dev = parseDeviceSections(devHelp);
  // "module ui-ui-gtk not found" lines go to stderr: keep only real list lines.
  const clean = (t: string) => t.split('\n').filter((l) => !/^qemu|^Supported|^Available|^Possible|^Accelerators/i.test(l)).join('\n');
  return {
    version: `${ver.qemu.major}.${ver.qemu.minor}.${ver.qemu.micro}`,
    options: parseHelpOptions(help),
    optionKeys,
    machines: (machines as Json[]).map((m) => ({ name: m.name, ...(m.alias ? { alias: m.alias } : {}), cpuMax: m['cpu-max'], ...(m['is-default'] ? { isDefault: true } : {}) }))
      .sort((a, b) => a.name.localeCompare(b.name)),
    machineProps: [...props].sort(),
    cpus: (cpus as Json[]).map((c) => c.name).sort(),
    devices: dev.devices,
    soundDevices: dev.sound,
    netdevKeys: netdevKeysFromSchema(schema as Json[]),
    nicModels: parseList(clean(nics)),
    displays: parseList(clean(displays)),
    vgas: parseVgaHelp(vgas),
    accels: parseAccelHelp(clean(accels)),
  };
}

const CACHE_VERSION = 1;
const memo = new Map<string, QemuIntrospection>();
export const introspectCacheFile = () => join(home.cacheDir(), 'qemu-introspect.json');

/** The introspection of `binary`, cached per binary (path, mtime and size: an upgrade changes the key). */
export async function introspectQemu(binary = 'qemu-system-x86_64'): Promise<QemuIntrospection> {
  const path = resolveBinary(binary);
  const st = statSync(path);
  const key = `${path}:${st.mtimeMs}:${st.size}`;
  const hit = memo.get(key);
  if (hit) return hit;
  const file = introspectCacheFile();
  let cache: { version: number; entries: Record<string, QemuIntrospection> } = { version: CACHE_VERSION, entries: {} };
  try {
    const c = JSON.parse(readFileSync(file, 'utf8'));
    if (c.version === CACHE_VERSION && c.entries) cache = c;
  } catch { /* missing: introspect */ }
  let q = cache.entries[key];
  if (!q) {
    q = await introspectUncached(path);
    for (const k of Object.keys(cache.entries)) if (k.startsWith(`${path}:`)) delete cache.entries[k];
    cache.entries[key] = q;
    try { writeFileAtomic(file, JSON.stringify(cache) + '\n'); } catch { /* a cache we cannot write only costs time */ }
  }
  memo.set(key, q);
  return q;
}
