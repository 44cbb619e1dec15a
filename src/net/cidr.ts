// IPv4 prefix arithmetic for network definitions: parse, contain, pick the
// gateway and the default DHCP range. Pure functions; nothing here runs a command.
import { invalid } from '../errors.js';

export interface Ipv4Net {
  /** The network address, e.g. 192.168.122.0 */
  network: string;
  prefix: number;
  /** The first usable address: qkvm gives it to the bridge as the gateway. */
  gateway: string;
  netmask: string;
  broadcast: string;
  /** The CIDR as written back: 192.168.122.0/24 */
  cidr: string;
}

const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const IPV4_RE = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

export function isIpv4(text: string): boolean {
  return IPV4_RE.test(text);
}

export function ipToInt(ip: string): number {
  if (!isIpv4(ip)) throw invalid(`invalid IPv4 address "${ip}"`, 'write an address like 192.168.122.1');
  return ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/**
 * Parses "ADDR/PREFIX". The address may be the network or any host in it
 * (192.168.122.1/24 means 192.168.122.0/24 with the gateway .1).
 */
export function parseCidr(text: string, what = 'subnet'): Ipv4Net {
  const m = /^([0-9.]+)\/(\d{1,2})$/.exec(text.trim());
  if (!m || !isIpv4(m[1]) || Number(m[2]) > 32) {
    throw invalid(`${what}: invalid IPv4 CIDR "${text}"`, 'write a subnet like 192.168.122.0/24');
  }
  const prefix = Number(m[2]);
  if (prefix < 8 || prefix > 30) {
    throw invalid(`${what}: prefix /${prefix} in "${text}" is out of range`, 'use a prefix from /8 to /30, such as /24');
  }
  const size = 2 ** (32 - prefix);
  const given = ipToInt(m[1]);
  const net = given - (given % size);
  const givenIsHost = given !== net && given !== net + size - 1;
  return {
    network: intToIp(net),
    prefix,
    gateway: intToIp(givenIsHost ? given : net + 1),
    netmask: intToIp(2 ** 32 - size),
    broadcast: intToIp(net + size - 1),
    cidr: `${intToIp(net)}/${prefix}`,
  };
}

export function contains(net: Ipv4Net, ip: string): boolean {
  const size = 2 ** (32 - net.prefix);
  const n = ipToInt(net.network);
  const v = ipToInt(ip);
  return v >= n && v < n + size;
}

/** True when two subnets share any address. */
export function overlaps(a: Ipv4Net, b: Ipv4Net): boolean {
  return contains(a, b.network) || contains(b, a.network);
}

export interface DhcpRange { start: string; end: string }

/** Parses "A-B" and checks both ends are hosts of the subnet, in order, and not the gateway. */
export function parseDhcpRange(text: string, net: Ipv4Net): DhcpRange {
  const m = /^\s*([0-9.]+)\s*-\s*([0-9.]+)\s*$/.exec(text);
  if (!m || !isIpv4(m[1]) || !isIpv4(m[2])) {
    throw invalid(`dhcp range: invalid range "${text}"`, 'write it as FIRST-LAST, e.g. 192.168.122.2-192.168.122.254');
  }
  const [start, end] = [m[1], m[2]];
  for (const ip of [start, end]) {
    if (!contains(net, ip) || ip === net.network || ip === net.broadcast) {
      throw invalid(`dhcp range: ${ip} is not a host address of ${net.cidr}`);
    }
  }
  if (ipToInt(start) > ipToInt(end)) throw invalid(`dhcp range: ${start} comes after ${end}`);
  const gw = ipToInt(net.gateway);
  if (gw >= ipToInt(start) && gw <= ipToInt(end)) {
    throw invalid(`dhcp range: ${text} contains the gateway ${net.gateway}`, 'start the range after the gateway address');
  }
  return { start, end };
}

/** Like libvirt's default: every host address after the gateway. */
export function defaultDhcpRange(net: Ipv4Net): DhcpRange {
  const gw = ipToInt(net.gateway);
  const first = ipToInt(net.network) + 1;
  const last = ipToInt(net.broadcast) - 1;
  // The gateway is usually the first host; if it is not, hand out what lies above it.
  const start = gw === first ? gw + 1 : Math.max(first, gw + 1);
  if (start > last) throw invalid(`subnet ${net.cidr} has no room for a DHCP range`);
  return { start: intToIp(start), end: intToIp(last) };
}
