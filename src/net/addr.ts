// `qkvm domifaddr NAME`: a guest's addresses, found from the host side: the
// dnsmasq leases of its networks, else the neighbour table of their bridges.
import { readFileSync } from 'node:fs';
import { run as runPaths } from '../config/paths.js';
import { loadVm } from '../config/store.js';
import { parseVmSpec, type VmSpec } from '../config/schema.js';
import { bridgeOf } from './derive.js';
import { readLeases } from './dnsmasq.js';
import { runJson } from './exec.js';
import { hotplugFile, nicMac } from './guest.js';
import { loadNetwork } from './store.js';
import { tapName } from './tapname.js';

export interface GuestNic { id: string; mac: string; type: 'network' | 'user' | 'link'; network?: string; tap?: string; model: string; hotplugged: boolean }

export interface HotplugRecord { id: string; mac: string; network: string; model: string; tap?: string; type: 'network' | 'user' | 'link' }

export function readHotplugRecords(name: string): HotplugRecord[] {
  try { return JSON.parse(readFileSync(hotplugFile(name), 'utf8')); } catch { return []; }
}

/** NICs of the definition that detach-interface removed from the running guest. */
export const removedFile = (name: string) => `${runPaths.vmDir(name)}/unplugged-nics.json`;

export function readUnplugged(name: string): string[] {
  try { return JSON.parse(readFileSync(removedFile(name), 'utf8')); } catch { return []; }
}

/** The definition the guest was started with (the runtime keeps it), else the current one. */
export function runningSpec(name: string): VmSpec {
  let doc: any;
  try { doc = JSON.parse(readFileSync(runPaths.startedSpec(name), 'utf8')); } catch { return loadVm(name); }
  // The runtime keeps what net/ resolved for each NIC beside the definition.
  const { _nics, ...spec } = doc;
  return parseVmSpec(spec, runPaths.startedSpec(name));
}

/** Every NIC of a guest: those of its definition, then those attached while it runs. */
export function guestNics(name: string): GuestNic[] {
  const spec = runningSpec(name);
  const out: GuestNic[] = spec.nics.map((n, i) => ({
    id: `net${i}`, mac: nicMac(spec, i), type: n.type, network: n.network, model: n.model,
    tap: n.type === 'network' ? tapName(name, i) : undefined, hotplugged: false,
  }));
  for (const r of readHotplugRecords(name)) out.push({ ...r, hotplugged: true });
  const gone = readUnplugged(name);
  return out.filter((n) => !gone.includes(n.id));
}

export interface IfAddr { nic: string; mac: string; network?: string; address?: string; prefix?: number; source: 'lease' | 'arp' | 'user' | 'agent' | 'none'; hostname?: string; /** The interface's name inside the guest (source agent). */ guestIf?: string }

interface NeighJson { dst: string; dev: string; lladdr?: string; state?: string[] }

export function pickLease(leases: { mac: string; ip: string; expiry: number; hostname?: string }[], mac: string) {
  // The newest lease wins when a MAC has had several.
  return leases.filter((l) => l.mac === mac.toLowerCase()).sort((a, b) => b.expiry - a.expiry)[0];
}

export async function domifaddr(name: string): Promise<IfAddr[]> {
  const nics = guestNics(name);
  let neigh: NeighJson[] | undefined;
  const out: IfAddr[] = [];
  for (const n of nics) {
    // A lab link has no host side that sees its addresses: only the guest knows them.
    if (n.type === 'link') { out.push({ nic: n.id, mac: n.mac, source: 'none' }); continue; }
    if (n.type === 'user' || !n.network) {
      // slirp hands out one address, always the same.
      out.push({ nic: n.id, mac: n.mac, address: '10.0.2.15', prefix: 24, source: 'user' });
      continue;
    }
    let net;
    try { net = loadNetwork(n.network); } catch { out.push({ nic: n.id, mac: n.mac, network: n.network, source: 'none' }); continue; }
    if (net.mode === 'user') { out.push({ nic: n.id, mac: n.mac, network: net.name, address: '10.0.2.15', prefix: 24, source: 'user' }); continue; }
    const prefix = net.subnet ? Number(net.subnet.split('/')[1]) : undefined;
    const lease = pickLease(readLeases(net.name), n.mac);
    if (lease) { out.push({ nic: n.id, mac: n.mac, network: net.name, address: lease.ip, prefix, source: 'lease', hostname: lease.hostname }); continue; }
    neigh ??= await runJson<NeighJson[]>(['ip', '-j', '-4', 'neigh', 'show']).catch(() => []);
    const hits = neigh.filter((e) => e.lladdr?.toLowerCase() === n.mac && e.dev === bridgeOf(net) && !e.state?.includes('FAILED'));
    if (hits.length) for (const h of hits) out.push({ nic: n.id, mac: n.mac, network: net.name, address: h.dst, prefix, source: 'arp' });
    else out.push({ nic: n.id, mac: n.mac, network: net.name, source: 'none' });
  }
  return out;
}
