// dominfo and list: what a guest is doing, from its files, /proc and QMP.
import { existsSync, readdirSync } from 'node:fs';
import { NAME_RE } from '../config/name.js';
import { home, run } from '../config/paths.js';
import type { VmSpec } from '../config/schema.js';
import { smpOf } from '../config/smp.js';
import { parseSize } from '../config/size.js';
import { bootTimeSeconds, CLK_TCK, PAGE_SIZE, readStat } from './proc.js';
import { guestStatus, readLocks, runGuestNames, startedSpec, isActive, type GuestStatus, type GuestState } from './state.js';
import { QmpClient } from '../qmp/index.js';
import { stateSocket } from './qmp.js';

export interface GuestSummary extends GuestStatus {
  defined: boolean;
  memoryBytes?: number;
  vcpus?: number;
  autostart?: boolean;
}

export interface GuestInfo extends GuestSummary {
  cpuTimeSeconds?: number;
  rssBytes?: number;
  uptimeSeconds?: number;
  balloonBytes?: number;
  /** Hot-plugged DIMMs (guests with maxMemory). */
  dimms?: { id: string; memdev: string; sizeBytes: number; slot: number; node: number }[];
  maxMemoryBytes?: number;
  vcpusOnline?: number;
  qmpSocket?: string;
  serialSocket?: string;
  vnc?: string;
  accel?: string;
  /** The guest agent (definition field `agent`): does qemu-ga answer a guest-sync within 1 s? */
  agent?: 'answers' | 'not wired' | 'not answering' | 'not running';
  /** Set when the vCPUs of running guests outnumber the host's CPUs. */
  overcommit?: { vcpus: number; hostCpus: number; excess: number };
}

/** Names of guests with a definition or a run directory (a restored guest may have only the latter). */
export function knownGuests(): string[] {
  const names = new Set<string>();
  const vms = home.vmsDir(); // outside the try: a refused QKVM_HOME is reported, not read as empty
  try { for (const f of readdirSync(vms)) if (f.endsWith('.yaml') && !f.startsWith('.') && NAME_RE.test(f.slice(0, -5))) names.add(f.slice(0, -5)); } catch { /* none */ }
  for (const d of runGuestNames()) names.add(d);
  return [...names].sort();
}

function specFacts(spec: Pick<VmSpec, 'memory' | 'smp' | 'autostart'> | undefined) {
  if (!spec) return {};
  return { memoryBytes: parseSize(spec.memory, 'memory', 'M'), vcpus: smpOf(spec).cpus, autostart: spec.autostart };
}

/**
 * Every guest and its state. Kept cheap: the definition is read only as far as
 * needed, and running guests are described by the spec they were started with.
 */
export async function listGuests(opts: { all?: boolean } = {}): Promise<GuestSummary[]> {
  const out: GuestSummary[] = [];
  const locks = readLocks();
  await Promise.all(knownGuests().map(async (name) => {
    const st = await guestStatus(name, { locks });
    if (!opts.all && !isActive(st.state)) return;
    const defined = existsSync(home.vmFile(name));
    let spec: any = isActive(st.state) ? startedSpec(name) : undefined;
    if (!spec && defined) {
      try { spec = (await import('../config/store.js')).loadVm(name); } catch { /* an invalid file still lists */ }
    }
    out.push({ ...st, defined, ...specFacts(spec) });
  }));
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

export async function guestInfo(name: string): Promise<GuestInfo> {
  const { loadVm } = await import('../config/store.js');
  const st = await guestStatus(name);
  const defined = existsSync(home.vmFile(name));
  const spec: any = (isActive(st.state) ? startedSpec(name) : undefined) ?? loadVm(name);
  const info: GuestInfo = { ...st, defined, ...specFacts(spec), accel: spec.accel };
  if (!st.pid || !isActive(st.state)) return info;
  info.overcommit = await (await import('./vcpu.js')).hostOvercommit();
  const ps = readStat(st.pid);
  if (ps) {
    info.cpuTimeSeconds = (ps.utime + ps.stime) / CLK_TCK;
    info.rssBytes = ps.rssPages * PAGE_SIZE;
    info.uptimeSeconds = Math.max(0, Math.round(Date.now() / 1000 - (bootTimeSeconds() + ps.starttime / CLK_TCK)));
  }
  info.qmpSocket = run.qmpSocket(name);
  // guest-sync changes nothing in the guest: info stays read-only.
  info.agent = spec.agent ? await (await import('../agent/session.js')).agentAnswers(name, 1000) : 'not wired';
  info.serialSocket = spec.serial ? run.serialSocket(name) : undefined;
  const qmp = new QmpClient();
  try {
    await qmp.connect(stateSocket(name), { timeoutMs: 2000 });
    const cpus = await qmp.execute<unknown[]>('query-cpus-fast', {}, { timeoutMs: 2000 });
    info.vcpusOnline = cpus.length;
    // The accelerator in use, not the definition's `auto`: QEMU says whether KVM is on.
    const kvm = await qmp.execute<{ enabled: boolean }>('query-kvm', {}, { timeoutMs: 2000 }).catch(() => undefined);
    if (kvm) info.accel = kvm.enabled ? 'kvm' : 'tcg';
    if (spec.balloon) {
      const b = await qmp.execute<{ actual: number }>('query-balloon', {}, { timeoutMs: 2000 }).catch(() => undefined);
      info.balloonBytes = b?.actual;
    }
    if (spec.maxMemory) {
      const devs = await qmp.execute<{ type: string; data: Record<string, any> }[]>('query-memory-devices', {}, { timeoutMs: 2000 }).catch(() => undefined);
      if (devs) info.dimms = (await import('./memory.js')).parseDimms(devs);
      info.maxMemoryBytes = parseSize(spec.maxMemory, 'maxMemory', 'M');
    }
    if (spec.display?.type === 'vnc') {
      const v = await qmp.execute<{ enabled: boolean; host?: string; service?: string }>('query-vnc', {}, { timeoutMs: 2000 }).catch(() => undefined);
      if (v?.enabled) info.vnc = `${v.host}:${v.service} (display :${Number(v.service) - 5900})`;
    }
  } catch { /* QMP busy: report what /proc says */ } finally {
    await qmp.close().catch(() => undefined);
  }
  return info;
}

export type { GuestState };
