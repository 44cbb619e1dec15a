// What the page shows, read only: guests (state, CPU %, memory, balloon),
// networks, and one guest's command line with its explanations.
import { readFileSync } from 'node:fs';
import { guestInfo, listGuests } from '../runtime/info.js';
import { sampleStats } from '../runtime/stats.js';
import { isActive, startedSpec } from '../runtime/state.js';
import { listNetworks } from '../net/network.js';
import { loadVm } from '../config/store.js';
import { resolveCaps } from '../runtime/caps.js';
import { commandFor } from '../runtime/start.js';
import { listSnapshots } from '../storage/snapshots.js';

export interface GuestRow {
  name: string;
  state: string;
  reason?: string;
  pid?: number;
  vcpus?: number;
  memoryBytes?: number;
  balloonBytes?: number;
  rssBytes?: number;
  cpuPercent?: number;
  accel?: string;
  vnc?: string;
  serial: boolean;
  display: boolean;
  defined: boolean;
}

export interface Overview {
  guests: GuestRow[];
  networks: { name: string; mode: string; active: boolean; bridge?: string; subnet?: string; ports: string[] }[];
  /** Labs that are up, each with its graph as inline SVG (see LAB GRAPH HOOK in page/app.js). */
  labs: { name: string; svg: string }[];
  time: number;
}

export async function overview(): Promise<Overview> {
  const [guests, stats, networks] = await Promise.all([
    listGuests({ all: true }),
    // pidusage keeps the previous sample per pid: each poll gives the CPU % since the last one.
    sampleStats().catch(() => []),
    listNetworks().catch(() => []),
  ]);
  const rows = await Promise.all(guests.map(async (g): Promise<GuestRow> => {
    const s = stats.find((x) => x.name === g.name);
    const spec: any = isActive(g.state) ? startedSpec(g.name) : undefined;
    const row: GuestRow = {
      name: g.name, state: g.state, reason: g.reason, pid: g.pid, vcpus: g.vcpus, memoryBytes: g.memoryBytes,
      cpuPercent: s?.cpuPercent, rssBytes: s?.rssBytes, defined: g.defined,
      serial: spec ? !!spec.serial : true, display: spec ? spec.display?.type === 'vnc' && spec.vga !== 'none' : false,
    };
    if (isActive(g.state)) {
      const info = await guestInfo(g.name).catch(() => undefined);
      if (info) { row.balloonBytes = info.balloonBytes; row.accel = info.accel; row.vnc = info.vnc; }
    }
    return row;
  }));
  return {
    guests: rows,
    networks: networks.map((n) => ({ name: n.name, mode: n.mode, active: n.active, bridge: n.bridge, subnet: n.subnet, ports: n.ports })),
    labs: await labGraphs(),
    time: Date.now(),
  };
}

/** Each lab that is up, drawn as it runs (node states, cut or re-impaired links): an inline SVG, no URL in it. */
async function labGraphs(): Promise<{ name: string; svg: string }[]> {
  const { labsUp, readLabSource, readLiveOverlay } = await import('../lab/graph-source.js');
  const { labGraphSvg } = await import('../lab/graph.js');
  const out: { name: string; svg: string }[] = [];
  for (const name of labsUp()) {
    try {
      const src = readLabSource(name);
      out.push({ name, svg: labGraphSvg(src.topology, await readLiveOverlay(src.topology)) });
    } catch { /* a lab half torn down: left out of this poll */ }
  }
  return out;
}

export interface CommandView {
  binary: string;
  options: { opt: string; value?: string; explain: string }[];
  /** The running QEMU's own argv (/proc/PID/cmdline), when it runs. */
  running?: string[];
  source: 'started' | 'definition';
}

/** `qkvm cmdline NAME --explain`, as data: the started spec for a running guest, else the definition. */
export async function commandView(name: string, pid?: number): Promise<CommandView> {
  const started = startedSpec(name);
  const spec = started ?? loadVm(name);
  const cmd = commandFor(spec, await resolveCaps(spec.accel));
  let running: string[] | undefined;
  if (pid) { try { running = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean); } catch { /* gone */ } }
  return { binary: cmd.binary, options: cmd.options.map((o) => ({ opt: o.opt, value: o.value, explain: o.explain })), running, source: started ? 'started' : 'definition' };
}

export async function snapshots(name: string): Promise<{ name: string; current?: boolean }[]> {
  return (await listSnapshots(name)) as any;
}
