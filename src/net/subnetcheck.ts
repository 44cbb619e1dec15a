// Whether a network's subnet is one qkvm may claim: never a reserved range,
// and not one the host (namespace) already uses, by an address or a route.
// Pure: the caller reads `ip -j addr` / `ip -j route` and passes the facts in.
import { invalid } from '../errors.js';
import { intToIp, ipToInt, isIpv4, type Ipv4Net } from './cidr.js';

/** A range of IPv4 addresses as integers, both ends included. */
export interface Span { first: number; last: number }

/** Ranges no bridge of qkvm may take (RFC 6890 and friends): they are not unicast LANs. */
export const RESERVED: readonly { cidr: string; what: string }[] = [
  { cidr: '0.0.0.0/8', what: '"this network" (RFC 1122)' },
  { cidr: '127.0.0.0/8', what: 'loopback' },
  { cidr: '169.254.0.0/16', what: 'link-local' },
  { cidr: '224.0.0.0/4', what: 'multicast' },
  { cidr: '240.0.0.0/4', what: 'reserved for future use (class E)' },
  { cidr: '255.255.255.255/32', what: 'limited broadcast' },
];

/** The addresses of "A.B.C.D/P" (P 0-32), or of "A.B.C.D" alone (a /32); undefined when it is not IPv4. */
export function spanOf(text: string): Span | undefined {
  const m = /^([0-9.]+)(?:\/(\d{1,2}))?$/.exec(text.trim());
  if (!m || !isIpv4(m[1])) return undefined;
  const prefix = m[2] === undefined ? 32 : Number(m[2]);
  if (prefix > 32) return undefined;
  const size = 2 ** (32 - prefix);
  const first = ipToInt(m[1]) - (ipToInt(m[1]) % size);
  return { first, last: first + size - 1 };
}

export const spanOfNet = (net: Ipv4Net): Span => spanOf(net.cidr)!;

export function spansOverlap(a: Span, b: Span): boolean {
  return a.first <= b.last && b.first <= a.last;
}

export const inSpan = (s: Span, ip: number): boolean => ip >= s.first && ip <= s.last;

/** The reserved range the subnet falls in or overlaps, if any. */
export function reservedRange(net: Ipv4Net): { cidr: string; what: string } | undefined {
  const mine = spanOfNet(net);
  return RESERVED.find((r) => spansOverlap(spanOf(r.cidr)!, mine));
}

/** Throws INVALID when the subnet lies in a reserved range. */
export function assertNotReserved(net: Ipv4Net): void {
  const r = reservedRange(net);
  if (r) throw invalid(`subnet ${net.cidr} falls in ${r.cidr} (${r.what}), which no network may use`, 'pick a private range such as 10.x.y.0/24, 172.16-31.x.0/24 or 192.168.x.0/24');
}

/**
 * Refuses a subnet written with an address that is neither a host nor the
 * network address (e.g. 10.0.0.255/24, the broadcast): its meaning is unclear.
 */
export function assertSubnetShape(text: string, net: Ipv4Net): void {
  const addr = text.trim().split('/')[0];
  if (isIpv4(addr) && addr === net.broadcast) {
    throw invalid(`subnet ${text}: ${addr} is the broadcast address of ${net.cidr}`, `write the network address (${net.cidr}) or the gateway's (${intToIp(ipToInt(net.network) + 1)}/${net.prefix})`);
  }
}

/** An address in the namespace, as `ip -j addr` lists it. */
export interface HostAddr { dev: string; local: string; prefixlen: number }
/** A route in the namespace, as `ip -j route` lists it. */
export interface HostRoute { dst: string; dev?: string; gateway?: string }

export interface Overlap { kind: 'address' | 'route' | 'gateway'; what: string; dev?: string }

export function describeOverlap(o: Overlap): string {
  const on = o.dev ? ` on ${o.dev}` : '';
  if (o.kind === 'address') return `address ${o.what}${on}`;
  if (o.kind === 'gateway') return `the gateway ${o.what} of a route${on}`;
  return `route ${o.what}${on}`;
}

/**
 * What of the host's addresses and routes the subnet would collide with.
 * Interfaces in `ignoreDevs` (the network's own bridge, while qkvm runs it)
 * are skipped. A default route overlaps everything, so only its gateway counts.
 */
export function findOverlaps(net: Ipv4Net, addrs: HostAddr[], routes: HostRoute[], ignoreDevs: string[] = []): Overlap[] {
  const mine = spanOfNet(net);
  const out: Overlap[] = [];
  const skip = (dev?: string) => ignoreDevs.includes(dev as string);
  for (const a of addrs) {
    if (skip(a.dev)) continue;
    const s = spanOf(`${a.local}/${a.prefixlen}`);
    if (s && spansOverlap(s, mine)) out.push({ kind: 'address', what: `${a.local}/${a.prefixlen}`, dev: a.dev });
  }
  for (const r of routes) {
    if (skip(r.dev)) continue;
    // "default" reads as no span: only its gateway is checked.
    const s = spanOf(r.dst);
    if (s && s.last - s.first < 2 ** 32 - 1 && spansOverlap(s, mine)) out.push({ kind: 'route', what: r.dst, dev: r.dev });
    else if (r.gateway && isIpv4(r.gateway) && inSpan(mine, ipToInt(r.gateway))) out.push({ kind: 'gateway', what: r.gateway, dev: r.dev });
  }
  return out;
}
