// Links, bridges and addresses through ip(8). Reads come from sysfs or
// `ip -j`; every change goes through run() so it is shown and can be repeated.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { run, runJson, type CommandListener } from './exec.js';
import type { LiveLink } from './ownership.js';

export function linkExists(name: string): boolean {
  return existsSync(`/sys/class/net/${name}`);
}

export function isBridge(name: string): boolean {
  return existsSync(`/sys/class/net/${name}/bridge`);
}

/** The interfaces enslaved to a bridge (its ports). */
export function bridgePorts(bridge: string): string[] {
  try { return readdirSync(`/sys/class/net/${bridge}/brif`).sort(); } catch { return []; }
}

export function linkMaster(name: string): string | undefined {
  try {
    const target = readFileSync(`/sys/class/net/${name}/master/uevent`, 'utf8');
    return /^INTERFACE=(.+)$/m.exec(target)?.[1];
  } catch { return undefined; }
}

export interface IpAddr { family: 'inet' | 'inet6'; local: string; prefixlen: number; scope: string }

export async function addresses(dev: string): Promise<IpAddr[]> {
  const info = await runJson<{ addr_info?: IpAddr[] }[]>(['ip', '-j', 'addr', 'show', 'dev', dev]);
  return (info[0]?.addr_info ?? []).filter((a) => a.family === 'inet' || a.family === 'inet6');
}

/** Every IPv4 address on this host (namespace), with its prefix, e.g. for overlap checks. */
export async function allIpv4(): Promise<{ dev: string; cidr: string }[]> {
  const info = await runJson<{ ifname: string; addr_info?: IpAddr[] }[]>(['ip', '-j', '-4', 'addr', 'show']);
  return info.flatMap((l) => (l.addr_info ?? []).map((a) => ({ dev: l.ifname, cidr: `${a.local}/${a.prefixlen}` })));
}

/** Every IPv4 route of the main table, as `ip -j route` lists it (reading only). */
export async function allRoutes(): Promise<{ dst: string; dev?: string; gateway?: string }[]> {
  return runJson<{ dst: string; dev?: string; gateway?: string }[]>(['ip', '-j', '-4', 'route', 'show']);
}

/** The identity of a link now: its ifindex, its alias (qkvm's marker) and whether it is a bridge. */
export function liveLink(name: string): LiveLink | undefined {
  if (!/^[A-Za-z0-9_.+-]{1,15}$/.test(name)) return undefined;
  try {
    const ifindex = Number(readFileSync(`/sys/class/net/${name}/ifindex`, 'utf8').trim());
    let alias = '';
    try { alias = readFileSync(`/sys/class/net/${name}/ifalias`, 'utf8').trim(); } catch { /* none */ }
    return { ifindex, alias, isBridge: isBridge(name) };
  } catch { return undefined; }
}

/** A tun/tap device has tun_flags in sysfs; a bridge, veth or physical NIC has not. */
export function isTuntap(name: string): boolean {
  return /^[A-Za-z0-9_.+-]{1,15}$/.test(name) && existsSync(`/sys/class/net/${name}/tun_flags`);
}

export async function setAlias(dev: string, alias: string, onCommand?: CommandListener): Promise<void> {
  await run(['ip', 'link', 'set', 'dev', dev, 'alias', alias], { onCommand });
}

/** Creates a bridge; fails (EEXIST) if any link of that name exists, so it never adopts another's. */
export async function createBridge(bridge: string, onCommand?: CommandListener): Promise<void> {
  // stp off and no forward delay: a guest's port forwards at once, as libvirt sets it.
  await run(['ip', 'link', 'add', 'name', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'], { onCommand });
}

/** The commands that turn a bridge's spanning tree on (forward delay in seconds) or off (back to no delay). */
export function stpCommands(bridge: string, on: boolean, forwardDelayS: number): string[][] {
  const set = (...kv: string[]) => ['ip', 'link', 'set', 'dev', bridge, 'type', 'bridge', ...kv];
  // The kernel counts forward_delay in hundredths of a second and, while STP is on, takes
  // only 2-30 s; it applies the delay before the STP state, so off needs two steps.
  return on ? [set('stp_state', '1', 'forward_delay', String(forwardDelayS * 100))] : [set('stp_state', '0'), set('forward_delay', '0')];
}

/** The bridge's spanning tree as the kernel has it (/sys/class/net/BR/bridge). */
export function readStp(bridge: string): { on: boolean; forwardDelayS: number } | undefined {
  try {
    const at = (f: string) => Number(readFileSync(`/sys/class/net/${bridge}/bridge/${f}`, 'utf8').trim());
    return { on: at('stp_state') !== 0, forwardDelayS: at('forward_delay') / 100 };
  } catch { return undefined; }
}

export async function setStp(bridge: string, on: boolean, forwardDelayS: number, onCommand?: CommandListener): Promise<void> {
  const live = readStp(bridge);
  if (live && live.on === on && (!on || live.forwardDelayS === forwardDelayS)) return;
  for (const c of stpCommands(bridge, on, forwardDelayS)) await run(c, { onCommand });
}

/** Creates the bridge if it is missing and brings it up. Returns true if it was created. */
export async function ensureBridge(bridge: string, mtu: number | undefined, onCommand?: CommandListener): Promise<boolean> {
  let created = false;
  if (!linkExists(bridge)) {
    // stp off and no forward delay: a guest's port forwards at once, as libvirt sets it.
    await run(['ip', 'link', 'add', 'name', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'], { onCommand });
    created = true;
  }
  if (mtu !== undefined && readMtu(bridge) !== mtu) await run(['ip', 'link', 'set', 'dev', bridge, 'mtu', String(mtu)], { onCommand });
  if (!isUp(bridge)) await run(['ip', 'link', 'set', 'dev', bridge, 'up'], { onCommand });
  return created;
}

export function isUp(dev: string): boolean {
  try { return (parseInt(readFileSync(`/sys/class/net/${dev}/flags`, 'utf8'), 16) & 1) === 1; } catch { return false; }
}

export function readMtu(dev: string): number | undefined {
  try { return Number(readFileSync(`/sys/class/net/${dev}/mtu`, 'utf8').trim()); } catch { return undefined; }
}

export function readMac(dev: string): string | undefined {
  try { return readFileSync(`/sys/class/net/${dev}/address`, 'utf8').trim(); } catch { return undefined; }
}

export async function ensureAddress(dev: string, addr: string, prefix: number, onCommand?: CommandListener): Promise<void> {
  const have = await addresses(dev);
  if (have.some((a) => a.family === 'inet' && a.local === addr && a.prefixlen === prefix)) return;
  await run(['ip', 'addr', 'add', `${addr}/${prefix}`, 'dev', dev], { onCommand });
}

/** Deletes a link if it exists; a link that vanished meanwhile is not an error. */
export async function deleteLink(name: string, onCommand?: CommandListener): Promise<boolean> {
  if (!linkExists(name)) return false;
  const r = await run(['ip', 'link', 'del', 'dev', name], { onCommand, allowFail: true });
  return r.exitCode === 0 || !linkExists(name);
}

const FORWARD = '/proc/sys/net/ipv4/ip_forward';

export function ipForwarding(): boolean {
  try { return readFileSync(FORWARD, 'utf8').trim() === '1'; } catch { return false; }
}

/** Turns on IPv4 forwarding (per network namespace); shown as the sysctl a user would type. */
export function enableIpForwarding(onCommand?: CommandListener): boolean {
  if (ipForwarding()) return false;
  onCommand?.(['sysctl', '-w', 'net.ipv4.ip_forward=1']);
  writeFileSync(FORWARD, '1\n');
  return true;
}

export function disableIpForwarding(onCommand?: CommandListener): void {
  if (!ipForwarding()) return;
  onCommand?.(['sysctl', '-w', 'net.ipv4.ip_forward=0']);
  writeFileSync(FORWARD, '0\n');
}
