// The network definition (networks/NAME.yaml): one of the five classic modes.
import { z } from 'zod';
import { HostFwd, Name, parseWith } from '../config/schema.js';
import { parseCidr, parseDhcpRange } from './cidr.js';

/** Linux interface names: at most 15 bytes (IFNAMSIZ - 1), and only characters that are safe everywhere. */
export const IFNAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,14}$/;
export const IfName = z.string().regex(IFNAME_RE, 'must be an interface name: 1-15 characters of [A-Za-z0-9_.-]');

export const NetworkMode = z.enum(['isolated', 'routed', 'nat', 'bridge', 'user']);
export type NetworkMode = z.infer<typeof NetworkMode>;

/** The modes whose bridge qkvm creates and removes (bridge mode joins one that exists). */
export const OWNS_BRIDGE: readonly NetworkMode[] = ['isolated', 'routed', 'nat'];

export const NetworkSpec = z.object({
  name: Name,
  mode: NetworkMode,
  /** The Linux bridge. Derived from the name (qkbr-NAME) unless given; required for mode bridge. */
  bridge: IfName.optional(),
  /** IPv4 subnet; the bridge takes its first host address as the gateway. */
  subnet: z.string().optional(),
  /** nat: masquerade only traffic leaving through this interface. */
  uplink: IfName.optional(),
  /** Serve DHCP (and DNS) with dnsmasq on the bridge. */
  dhcp: z.boolean().default(true),
  dhcpRange: z.string().optional(),
  /** MTU for the bridge and its taps (default: the bridge's own). */
  mtu: z.number().int().min(68).max(65535).optional(),
  /** 802.1Q tag for the taps of this network's guests (turns on VLAN filtering on the bridge). */
  vlan: z.number().int().min(1).max(4094).optional(),
  /** Spanning tree on the bridge qkvm makes (`brctl stp BR on`): needed when bridges are joined in a loop. */
  stp: z.boolean().optional(),
  /** With stp: seconds a new port spends listening and then learning before it forwards (2-30; default 15, 802.1D's). */
  forwardDelay: z.number().int().min(2).max(30).optional(),
  /** user mode: slirp port forwards applied to every NIC of this network, e.g. tcp:127.0.0.1:2222-:22 */
  hostfwd: z.array(HostFwd).default([]),
  autostart: z.boolean().default(false),
  description: z.string().optional(),
}).strict().superRefine((n, ctx) => {
  const issue = (path: string, message: string) => ctx.addIssue({ code: z.ZodIssueCode.custom, path: [path], message });
  if (n.mode === 'bridge' && !n.bridge) issue('bridge', 'mode bridge joins an existing bridge: name it with bridge (--bridge)');
  if ((n.mode === 'routed' || n.mode === 'nat') && !n.subnet) issue('subnet', `mode ${n.mode} needs a subnet`);
  if (n.mode !== 'user' && n.hostfwd.length) issue('hostfwd', 'hostfwd only applies to mode user');
  if (n.mode === 'user' || n.mode === 'bridge') {
    if (n.dhcpRange) issue('dhcpRange', `mode ${n.mode} has no dnsmasq of qkvm's: no DHCP range`);
    if (n.uplink && n.mode === 'user') issue('uplink', 'mode user has no uplink');
  }
  if (n.uplink && n.mode !== 'nat') issue('uplink', 'uplink applies to mode nat (bridge-setup takes --uplink for a host bridge)');
  if (n.mode === 'user' && (n.bridge || n.vlan || n.mtu)) issue('mode', 'mode user has no bridge, VLAN or MTU');
  if (n.stp !== undefined && !OWNS_BRIDGE.includes(n.mode)) issue('stp', `mode ${n.mode} has no bridge of qkvm's (STP of a host bridge is the host's to set)`);
  if (n.forwardDelay !== undefined && !n.stp) issue('forwardDelay', 'forwardDelay applies with stp: true');
  let net;
  if (n.subnet) {
    try { net = parseCidr(n.subnet); } catch (e: any) { issue('subnet', e.message); }
  }
  if (n.dhcpRange) {
    if (!net) issue('dhcpRange', 'a DHCP range needs a subnet');
    else { try { parseDhcpRange(n.dhcpRange, net); } catch (e: any) { issue('dhcpRange', e.message); } }
  }
});

/** 802.1D's forward delay, Linux's default for a bridge with STP. */
export const DEFAULT_FORWARD_DELAY = 15;

export type NetworkSpecInput = z.input<typeof NetworkSpec>;
export type NetworkSpec = z.output<typeof NetworkSpec>;

export const parseNetworkSpec = (input: unknown, source = 'network definition'): NetworkSpec => parseWith(NetworkSpec, input, source);
