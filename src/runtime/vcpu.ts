// vCPUs as host threads: each vCPU is one QEMU thread ("CPU N/TCG" with
// debug-threads=on). query-cpus-fast names the thread; /proc says where it ran,
// how long, and where it may run; taskset pins it; device_add/device_del plug
// vCPUs in and out up to maxcpus.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { loadExeca } from '../config/lazy.js';
import { smpOf, type VmSpec } from '../config/schema.js';
import { QkvmError, invalid } from '../errors.js';
import { QmpExecuteError, type QmpClient } from '../qmp/index.js';
import { CLK_TCK, readStat } from './proc.js';
import { guestStatus, isActive, qemuPid, requireActive, startedSpec } from './state.js';
import { withQmp } from './qmp.js';
import { knownGuests } from './info.js';
import { updateDefinition } from './define.js';

/** Parses a Linux CPU list ("0-2,5") into sorted, unique CPU numbers. */
export function parseCpuList(text: string, what = 'CPU list'): number[] {
  const t = String(text).trim();
  if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(t)) throw invalid(`${what}: invalid CPU list "${text}"`, 'write it like 0, 0-1 or 0,2-3');
  const out = new Set<number>();
  for (const part of t.split(',')) {
    const [a, b] = part.split('-').map(Number);
    const hi = b ?? a;
    if (hi < a) throw invalid(`${what}: range "${part}" runs backwards`);
    if (hi - a > 4096) throw invalid(`${what}: range "${part}" is too large`);
    for (let c = a; c <= hi; c++) out.add(c);
  }
  return [...out].sort((x, y) => x - y);
}

/** The inverse of parseCpuList: [0,1,2,5] -> "0-2,5". */
export function formatCpuList(cpus: number[]): string {
  const s = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  for (let i = 0; i < s.length;) {
    let j = i;
    while (j + 1 < s.length && s[j + 1] === s[j] + 1) j++;
    parts.push(i === j ? `${s[i]}` : `${s[i]}-${s[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}

/** The host CPUs that are online. */
export function hostCpus(): number[] {
  try { return parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'utf8')); } catch {
    return Array.from({ length: availableParallelism() }, (_, i) => i);
  }
}

/** Checks that every CPU of `list` exists on this host; returns the normalised list. */
export function validateHostCpuList(list: string, host: number[] = hostCpus()): string {
  const cpus = parseCpuList(list);
  const missing = cpus.filter((c) => !host.includes(c));
  if (missing.length) throw invalid(`CPU list "${list}": host CPU(s) ${formatCpuList(missing)} do not exist (this host has ${formatCpuList(host)})`);
  return formatCpuList(cpus);
}

export interface VcpuInfo {
  vcpu: number;
  threadId: number;
  /** The host CPU the thread last ran on. */
  hostCpu?: number;
  cpuTimeSeconds?: number;
  state?: string;
  /** The host CPUs the thread may run on (its affinity). */
  affinity?: string;
  /** QEMU's own name for the thread, e.g. "CPU 0/TCG". */
  threadName?: string;
  qomPath?: string;
}

interface CpuFast { 'cpu-index': number; 'thread-id': number; 'qom-path': string; props?: Record<string, number> }

/** The affinity of a thread, from /proc/PID/task/TID/status (what sched_getaffinity returns). */
export function threadAffinity(pid: number, tid: number): string | undefined {
  try {
    const m = /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'));
    return m?.[1];
  } catch { return undefined; }
}

async function activePid(name: string): Promise<number> {
  return (await requireActive(name, { query: false })).pid;
}

export function describeVcpus(pid: number, cpus: CpuFast[]): VcpuInfo[] {
  return cpus.map((c) => {
    const tid = c['thread-id'];
    const stat = readStat(pid, tid);
    return {
      vcpu: c['cpu-index'], threadId: tid, qomPath: c['qom-path'],
      hostCpu: stat?.processor, state: stat?.state, threadName: stat?.comm,
      cpuTimeSeconds: stat ? (stat.utime + stat.stime) / CLK_TCK : undefined,
      affinity: threadAffinity(pid, tid),
    };
  }).sort((a, b) => a.vcpu - b.vcpu);
}

/** `vcpuinfo`: each vCPU's index, host thread, last host CPU, CPU time and affinity. */
export async function vcpuInfo(name: string): Promise<VcpuInfo[]> {
  const pid = await activePid(name);
  // The state socket: this is a query, and it answers while a migration holds qmp.sock.
  const cpus = await withQmp(name, (q) => q.execute<CpuFast[]>('query-cpus-fast', {}, { timeoutMs: 5000 }), { state: true });
  return describeVcpus(pid, cpus);
}

/** Runs `taskset -pc LIST TID`: the command a person would type. */
async function taskset(tid: number, list: string): Promise<void> {
  const r = await (await loadExeca()).execa('taskset', ['-pc', list, String(tid)], { reject: false });
  if (r.exitCode !== 0) {
    if ((r as any).code === 'ENOENT') throw new QkvmError('HOST', 'taskset is missing', { hint: 'apt-get install util-linux' });
    throw new QkvmError('HOST', `taskset -pc ${list} ${tid} failed: ${String(r.stderr).trim()}`);
  }
}

async function pinThreads(pid: number, cpus: CpuFast[], vcpu: number, list: string): Promise<VcpuInfo> {
  const c = cpus.find((x) => x['cpu-index'] === vcpu);
  if (!c) throw invalid(`vCPU ${vcpu} does not exist (the guest has vCPUs ${cpus.map((x) => x['cpu-index']).join(', ')})`);
  await taskset(c['thread-id'], list);
  return describeVcpus(pid, [c])[0];
}

export interface PinResult { live?: VcpuInfo; config?: string }

/**
 * `vcpupin`: sets a vCPU thread's affinity now (if the guest runs) and, with
 * `config`, records it in the definition for the next start.
 */
export async function pinVcpu(name: string, vcpu: number, list: string, opts: { config?: boolean; live?: boolean } = {}): Promise<PinResult> {
  if (!Number.isInteger(vcpu) || vcpu < 0) throw invalid(`vCPU: must be a vCPU index (0, 1, ...), got "${vcpu}"`);
  const normal = validateHostCpuList(list);
  const out: PinResult = {};
  const st = await guestStatus(name, { query: false });
  const live = opts.live ?? isActive(st.state);
  if (live) {
    const pid = await activePid(name);
    const cpus = await withQmp(name, (q) => q.execute<CpuFast[]>('query-cpus-fast', {}, { timeoutMs: 5000 }), { state: true });
    out.live = await pinThreads(pid, cpus, vcpu, normal);
  }
  if (opts.config) {
    await updateDefinition(name, (spec) => {
      const max = smpOf(spec as VmSpec).maxcpus;
      if (vcpu >= max) throw invalid(`vCPU ${vcpu} does not exist in the definition (maxcpus ${max})`);
      spec.vcpupin = { ...(spec.vcpupin ?? {}), [String(vcpu)]: normal };
    });
    out.config = normal;
  }
  if (!live && !opts.config) {
    throw new QkvmError('STATE', `guest "${name}" is not running (${st.state})`, { hint: 'use --config to store the pinning for the next start' });
  }
  return out;
}

/** Start hook: applies the definition's vcpupin map before the vCPUs first run. */
export async function vcpupinHook(name: string, spec: VmSpec, qmp: QmpClient, note?: (line: string) => void): Promise<void> {
  const pins = Object.entries(spec.vcpupin ?? {});
  if (!pins.length) return;
  const pid = qemuPid(name);
  if (!pid) return;
  const cpus = await qmp.execute<CpuFast[]>('query-cpus-fast', {}, { timeoutMs: 5000 });
  const host = hostCpus();
  for (const [v, list] of pins) {
    try {
      const normal = validateHostCpuList(list, host);
      await pinThreads(pid, cpus, Number(v), normal);
    } catch (e) {
      // A pin that cannot apply (fewer host CPUs than when it was written) must not stop the guest.
      note?.(`warning: vcpupin ${v} -> ${list} not applied: ${(e as Error).message}`);
    }
  }
}

export interface Overcommit { vcpus: number; hostCpus: number; excess: number }

/** Pure: the overcommit, if the vCPUs of running guests outnumber host CPUs. */
export function overcommitOf(vcpus: number, host: number): Overcommit | undefined {
  return vcpus > host ? { vcpus, hostCpus: host, excess: vcpus - host } : undefined;
}

/** Sums the vCPUs of every running guest (as each was started) and compares with the host's CPUs. */
export async function hostOvercommit(): Promise<Overcommit | undefined> {
  let vcpus = 0;
  for (const g of knownGuests()) {
    const st = await guestStatus(g, { query: false });
    if (!isActive(st.state)) continue;
    const spec = startedSpec(g);
    if (spec) vcpus += smpOf(spec).cpus;
  }
  return overcommitOf(vcpus, hostCpus().length);
}

export const overcommitText = (o: Overcommit) =>
  `running guests have ${o.vcpus} vCPUs on ${o.hostCpus} host CPUs: overcommitted by ${o.excess} (${Math.round((o.vcpus / o.hostCpus) * 100)}%)`;

/** Start hook: warns when this start overcommits the host's CPUs. */
export async function overcommitHook(_name: string, _spec: VmSpec, _qmp: QmpClient, note?: (line: string) => void): Promise<void> {
  const o = await hostOvercommit();
  if (o) note?.(`warning: ${overcommitText(o)}`);
}

interface HotpluggableCpu { type: string; 'vcpus-count': number; props: Record<string, number>; 'qom-path'?: string }

const propOrder = (p: Record<string, number>) => [p['node-id'] ?? 0, p['socket-id'] ?? 0, p['die-id'] ?? 0, p['core-id'] ?? 0, p['thread-id'] ?? 0];
const cmpProps = (a: HotpluggableCpu, b: HotpluggableCpu) => {
  const x = propOrder(a.props), y = propOrder(b.props);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
};
export const vcpuDeviceId = (p: Record<string, number>) => `vcpu-s${p['socket-id'] ?? 0}-c${p['core-id'] ?? 0}-t${p['thread-id'] ?? 0}`;

export interface SetVcpusResult { before: number; after: number; added: string[]; removed: string[]; maxcpus: number }

/**
 * `setvcpus`: plugs vCPUs in (device_add in the free slots of
 * query-hotpluggable-cpus) or out (device_del of hot-plugged ones, waiting until
 * QEMU has removed them, which needs the guest's consent through ACPI).
 */
export async function setVcpus(name: string, count: number, opts: { timeoutMs?: number } = {}): Promise<SetVcpusResult> {
  if (!Number.isInteger(count) || count < 1) throw invalid(`vCPU count: must be a whole number of at least 1, got "${count}"`);
  await activePid(name);
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return withQmp(name, async (qmp) => {
    const slots = await qmp.execute<HotpluggableCpu[]>('query-hotpluggable-cpus', {}, { timeoutMs: 5000 }).catch((e) => {
      if (e instanceof QmpExecuteError) throw new QkvmError('QEMU', `guest "${name}": this machine cannot hot-plug CPUs (${e.desc})`, { cause: e });
      throw e;
    });
    const present = slots.filter((s) => s['qom-path']).sort(cmpProps);
    const free = slots.filter((s) => !s['qom-path']).sort(cmpProps);
    const maxcpus = slots.reduce((a, s) => a + s['vcpus-count'], 0);
    const before = present.reduce((a, s) => a + s['vcpus-count'], 0);
    const res: SetVcpusResult = { before, after: before, added: [], removed: [], maxcpus };
    if (count > maxcpus) {
      throw invalid(`vCPU count: ${count} is more than maxcpus (${maxcpus})`, 'raise smp.maxcpus in the definition and restart the guest');
    }
    let n = before;
    for (const slot of free) {
      if (n >= count) break;
      const id = vcpuDeviceId(slot.props);
      await qmp.execute('device_add', { driver: slot.type, id, ...slot.props }, { timeoutMs: 60_000 });
      res.added.push(id);
      n += slot['vcpus-count'];
    }
    if (n > count) {
      // Only hot-plugged vCPUs have an id that device_del can name.
      const removable = present.filter((s) => s['qom-path']!.startsWith('/machine/peripheral/')).reverse();
      for (const slot of removable) {
        if (n <= count) break;
        const id = slot['qom-path']!.split('/').pop()!;
        await qmp.execute('device_del', { id }, { timeoutMs: 60_000 });
        res.removed.push(id);
        n -= slot['vcpus-count'];
      }
      if (n > count) {
        throw invalid(`vCPU count: cannot go below ${n}: the vCPUs the guest booted with cannot be unplugged`);
      }
      // QEMU removes a vCPU only once the guest has taken it offline (ACPI eject).
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const now = (await qmp.execute<unknown[]>('query-cpus-fast', {}, { timeoutMs: 5000 })).length;
        if (now <= count) break;
        if (Date.now() >= deadline) {
          throw new QkvmError('TIMEOUT', `guest "${name}" still has ${now} vCPUs ${timeoutMs / 1000} s after device_del`, {
            hint: 'the guest must agree to the ACPI eject; a guest without ACPI CPU hotplug support ignores it',
          });
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    }
    res.after = (await qmp.execute<unknown[]>('query-cpus-fast', {}, { timeoutMs: 5000 })).length;
    return res;
  });
}
