// -smp topology the way QEMU 7.2 checks it (hw/core/machine-smp.c): missing
// values are computed, then sockets*dies*cores*threads must equal maxcpus.
import { formatKeyVal, getKey, parseKeyVal, type KeyVal } from './keyval.js';

export interface Smp {
  cpus?: number;
  sockets?: number;
  dies?: number;
  cores?: number;
  threads?: number;
  maxcpus?: number;
}

export interface SmpCheck {
  ok: boolean;
  /** The figures QEMU ends up with (after computing the missing ones). */
  resolved: Required<Smp>;
  problem?: string;
  /** A value of 0 was written: taken, but deprecated since QEMU 6.2. */
  zero?: boolean;
}

const FIELDS = ['cpus', 'sockets', 'dies', 'cores', 'threads', 'maxcpus'] as const;

export function parseSmp(value: string): { smp: Smp; other: KeyVal[] } {
  const kv = parseKeyVal(value, 'cpus');
  const smp: Smp = {};
  for (const f of FIELDS) {
    const v = getKey(kv, f);
    if (v !== undefined && /^\d+$/.test(v)) smp[f] = Number(v);
  }
  const other = kv.filter((k) => !(FIELDS as readonly string[]).includes(k.key));
  return { smp, other };
}

/** QEMU 7.2's computation for machine types since 6.2 (cores preferred over sockets). */
export function checkSmp(s: Smp): SmpCheck {
  const g = (n?: number) => (n && n > 0 ? n : 0);
  let cpus = g(s.cpus);
  let sockets = g(s.sockets);
  const dies = g(s.dies) || 1;
  let cores = g(s.cores);
  let threads = g(s.threads);
  let maxcpus = g(s.maxcpus);
  if (cpus === 0 && maxcpus === 0) {
    sockets ||= 1;
    cores ||= 1;
    threads ||= 1;
  } else {
    maxcpus ||= cpus;
    if (cores === 0) {
      sockets ||= 1;
      threads ||= 1;
      cores = Math.floor(maxcpus / (sockets * dies * threads));
    } else if (sockets === 0) {
      threads ||= 1;
      sockets = Math.floor(maxcpus / (dies * cores * threads));
    }
    if (threads === 0) threads = Math.floor(maxcpus / (sockets * dies * cores));
  }
  const product = sockets * dies * cores * threads;
  maxcpus ||= product;
  cpus ||= maxcpus;
  const resolved = { cpus, sockets, dies, cores, threads, maxcpus };
  if (product !== maxcpus) {
    return { ok: false, resolved, problem: `sockets (${sockets}) * dies (${dies}) * cores (${cores}) * threads (${threads}) = ${product}, not maxcpus (${maxcpus})` };
  }
  if (cpus > maxcpus) return { ok: false, resolved, problem: `cpus (${cpus}) is more than maxcpus (${maxcpus})` };
  return { ok: true, resolved, zero: Object.values(s).some((n) => n === 0) };
}

/**
 * A valid topology close to what was written: the vCPU count stays, then the
 * sockets, then the cores, then the threads are kept where they divide it.
 */
export function fixSmp(s: Smp): Smp {
  const total = s.maxcpus || s.cpus || (s.sockets ?? 1) * (s.dies ?? 1) * (s.cores ?? 1) * (s.threads ?? 1) || 1;
  const cpus = Math.min(s.cpus || total, total);
  const divides = (n: number | undefined, of: number) => !!n && n > 0 && of % n === 0;
  const threads = divides(s.threads, total) ? s.threads! : 1;
  let sockets: number;
  let cores: number;
  if (divides(s.sockets, total / threads)) {
    sockets = s.sockets!;
    cores = total / threads / sockets;
  } else if (divides(s.cores, total / threads)) {
    cores = s.cores!;
    sockets = total / threads / cores;
  } else {
    sockets = 1;
    cores = total / threads;
  }
  const fixed: Smp = { cpus, sockets, cores, threads };
  if (total !== cpus) fixed.maxcpus = total;
  return fixed;
}

export function formatSmp(s: Smp, other: KeyVal[] = []): string {
  const kv: KeyVal[] = [];
  if (s.cpus !== undefined) kv.push({ key: 'cpus', value: String(s.cpus), implied: true });
  for (const f of ['sockets', 'dies', 'cores', 'threads', 'maxcpus'] as const) {
    if (s[f] !== undefined) kv.push({ key: f, value: String(s[f]) });
  }
  return formatKeyVal([...kv, ...other]);
}
