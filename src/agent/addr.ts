// `qkvm domifaddr NAME --source agent`: the addresses the guest itself reports
// (guest-network-get-interfaces), matched to its NICs by MAC address.
import type { GuestNic, IfAddr } from '../net/addr.js';
import { agentAddresses, interfaces, type GuestInterface } from './commands.js';
import { withAgent, type AgentSessionOptions } from './session.js';

/** Each guest address on a row; a NIC the agent does not see gets a row without one. */
export function matchAgentAddresses(nics: Pick<GuestNic, 'id' | 'mac' | 'network'>[], ifaces: GuestInterface[]): IfAddr[] {
  const addrs = agentAddresses(ifaces);
  const out: IfAddr[] = [];
  for (const n of nics) {
    const mine = addrs.filter((a) => a.mac === n.mac.toLowerCase());
    if (!mine.length) out.push({ nic: n.id, mac: n.mac, network: n.network, source: 'none' });
    for (const a of mine) out.push({ nic: n.id, mac: n.mac, network: n.network, address: a.address, prefix: a.prefix, source: 'agent', guestIf: a.name });
  }
  // Interfaces qkvm did not plug (a bridge, a VPN inside the guest) are shown by their guest name.
  for (const a of addrs) {
    if (nics.some((n) => n.mac.toLowerCase() === a.mac)) continue;
    out.push({ nic: a.name, mac: a.mac ?? '', address: a.address, prefix: a.prefix, source: 'agent', guestIf: a.name });
  }
  return out;
}

export async function domifaddrFromAgent(name: string, opts: AgentSessionOptions = {}): Promise<IfAddr[]> {
  const { guestNics } = await import('../net/addr.js');
  const nics = guestNics(name);
  const ifaces = await withAgent(name, (qga) => interfaces(qga), opts);
  return matchAgentAddresses(nics, ifaces);
}
