// What qkvm may remove when a network stops or a guest's NIC goes away: only
// what it recorded as made by itself AND still finds, live, with the same
// identity. Pure decisions: the callers read the record and the live facts.

/** The marker qkvm puts on what it makes for a network (bridge ifalias, nft table comment). */
export function ownerMarker(network: string, token: string): string {
  return `qkvm:net:${network}:${token}`;
}

/** What `net start` recorded when it created the bridge. */
export interface BridgeRecord { name: string; ifindex: number; marker: string }
/** The bridge as it is now (/sys/class/net/NAME), or undefined when there is none. */
export interface LiveLink { ifindex: number; alias: string; isBridge: boolean }

export type Verdict = { remove: true } | { remove: false; why: string };

const keep = (why: string): Verdict => ({ remove: false, why });

export function bridgeVerdict(name: string, rec: BridgeRecord | undefined, live: LiveLink | undefined): Verdict {
  if (!live) return keep(`bridge ${name} is already gone`);
  if (!rec || rec.name !== name) return keep(`bridge ${name} was not created by qkvm for this network: left in place`);
  if (!live.isBridge) return keep(`${name} is no longer a bridge: left in place`);
  if (live.ifindex !== rec.ifindex) return keep(`bridge ${name} was replaced since qkvm created it (ifindex ${live.ifindex}, recorded ${rec.ifindex}): left in place`);
  if (live.alias !== rec.marker) return keep(`bridge ${name} no longer carries qkvm's marker (alias "${live.alias}"): left in place`);
  return { remove: true };
}

/** What `net start` recorded when it created the nft table. */
export interface NftRecord { table: string; handle: number; comment: string }
export interface LiveTable { handle: number; comment?: string }

export function nftVerdict(table: string, rec: NftRecord | undefined, live: LiveTable | undefined): Verdict {
  if (!live) return keep(`nft table ip ${table} is already gone`);
  if (!rec || rec.table !== table) return keep(`nft table ip ${table} was not created by qkvm for this network: left in place`);
  if (live.handle !== rec.handle) return keep(`nft table ip ${table} was replaced since qkvm created it (handle ${live.handle}, recorded ${rec.handle}): left in place`);
  if (live.comment !== rec.comment) return keep(`nft table ip ${table} no longer carries qkvm's comment: left in place`);
  return { remove: true };
}

/** A process as /proc shows it: the binary it runs and its arguments. */
export interface ProcFacts { exe?: string; argv?: string[] }

/**
 * True only for this network's dnsmasq: the binary is dnsmasq and one whole
 * argument names this network's pid file (a substring is not enough).
 */
export function isNetworkDnsmasq(facts: ProcFacts | undefined, pidFile: string): boolean {
  if (!facts?.exe || !facts.argv) return false;
  const base = facts.exe.replace(/ \(deleted\)$/, '').split('/').pop();
  if (base !== 'dnsmasq') return false;
  return facts.argv.includes(`--pid-file=${pidFile}`);
}

/** A tap's settings file as qkvm wrote it, and the tap as it is now. */
export interface TapRecord { TAP?: string; GUEST?: string }
export interface LiveTap { exists: boolean; isTuntap: boolean }

export function tapVerdict(tap: string, guest: string, rec: TapRecord | undefined, live: LiveTap): Verdict {
  if (!live.exists) return keep(`tap ${tap} is already gone`);
  if (!rec) return keep(`tap ${tap} has no record of qkvm's: left in place`);
  if (rec.TAP !== tap || rec.GUEST !== guest) return keep(`tap ${tap} is recorded for another guest or name: left in place`);
  if (!live.isTuntap) return keep(`${tap} is not a tap device: left in place`);
  return { remove: true };
}

/**
 * IPv4 forwarding goes back off only when qkvm turned it on (the marker holds
 * the original "0"), no other forwarding network of qkvm's still runs, and it is still on.
 */
export function restoreForwarding(marker: string | undefined, othersForwarding: boolean, nowOn: boolean): boolean {
  return marker?.trim() === '0' && !othersForwarding && nowOn;
}
