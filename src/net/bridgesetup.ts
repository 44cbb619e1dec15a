// `qkvm net bridge-setup BR --uplink IF`: the classic steps that put a host's
// uplink behind a bridge, so guests on that bridge sit on the uplink's LAN.
// The uplink's addresses and routes move to the bridge, which takes the
// uplink's MAC so a DHCP server or a switch keeps recognising the host.
import { QkvmError, invalid } from '../errors.js';
import { run, runJson, type CommandListener } from './exec.js';
import { addresses, isBridge, linkExists, linkMaster, readMac, readMtu } from './link.js';
import { IFNAME_RE } from './schema.js';

interface RouteJson { dst: string; gateway?: string; dev?: string; metric?: number; protocol?: string; scope?: string; prefsrc?: string }

export interface BridgeSetupPlan { bridge: string; uplink: string; commands: string[][]; alreadyDone: boolean }

export async function planBridgeSetup(bridge: string, uplink: string): Promise<BridgeSetupPlan> {
  for (const [what, v] of [['bridge', bridge], ['uplink', uplink]] as const) {
    if (!IFNAME_RE.test(v)) throw invalid(`${what}: invalid interface name "${v}"`, 'an interface name is 1-15 characters of A-Z a-z 0-9 _ . -');
  }
  if (bridge === uplink) throw invalid('the bridge and the uplink must be different interfaces');
  if (!linkExists(uplink)) throw new QkvmError('NOT_FOUND', `uplink ${uplink} does not exist`, { hint: 'see `ip link`' });
  if (isBridge(uplink)) throw invalid(`uplink ${uplink} is itself a bridge`, `join it with \`qkvm net define NAME --mode bridge --bridge ${uplink}\``);
  if (linkExists(bridge) && !isBridge(bridge)) throw invalid(`${bridge} exists and is not a bridge`);
  const master = linkMaster(uplink);
  if (master === bridge) return { bridge, uplink, commands: [], alreadyDone: true };
  if (master) throw new QkvmError('IN_USE', `uplink ${uplink} is already a port of ${master}`);

  const cmds: string[][] = [];
  if (!linkExists(bridge)) cmds.push(['ip', 'link', 'add', 'name', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
  const mac = readMac(uplink);
  if (mac) cmds.push(['ip', 'link', 'set', 'dev', bridge, 'address', mac]);
  const mtu = readMtu(uplink);
  if (mtu) cmds.push(['ip', 'link', 'set', 'dev', bridge, 'mtu', String(mtu)]);
  cmds.push(['ip', 'link', 'set', 'dev', uplink, 'master', bridge]);
  cmds.push(['ip', 'link', 'set', 'dev', bridge, 'up']);
  // Addresses: global ones move; link-local ones the kernel makes anew on the bridge.
  for (const a of await addresses(uplink)) {
    if (a.scope !== 'global') continue;
    cmds.push(['ip', 'addr', 'del', `${a.local}/${a.prefixlen}`, 'dev', uplink]);
    cmds.push(['ip', 'addr', 'add', `${a.local}/${a.prefixlen}`, 'dev', bridge]);
  }
  // Routes through a gateway vanish with the address: re-add them on the bridge.
  for (const family of ['-4', '-6'] as const) {
    const routes = await runJson<RouteJson[]>(['ip', '-j', family, 'route', 'show', 'dev', uplink]);
    for (const r of routes) {
      if (!r.gateway) continue;
      cmds.push(['ip', family, 'route', 'replace', r.dst, 'via', r.gateway, 'dev', bridge, ...(r.metric !== undefined ? ['metric', String(r.metric)] : [])]);
    }
  }
  return { bridge, uplink, commands: cmds, alreadyDone: false };
}

/** Runs the plan. On a failure the commands already run are reported in the error. */
export async function bridgeSetup(bridge: string, uplink: string, opts: { dryRun?: boolean; onCommand?: CommandListener } = {}): Promise<BridgeSetupPlan> {
  const plan = await planBridgeSetup(bridge, uplink);
  if (opts.dryRun) return plan;
  for (const argv of plan.commands) await run(argv, { onCommand: opts.onCommand });
  return plan;
}
