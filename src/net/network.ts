// A network's life: define, start, stop, undefine, and what it looks like now.
// Starting is idempotent (each piece is made only if missing) and a failed
// start undoes what it made; stopping removes the bridge, rules and dnsmasq of
// this network and nothing else.
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { run as runPaths } from '../config/paths.js';
import { ensureDir, writeFileAtomic } from '../config/atomic.js';
import { withLock } from '../config/lock.js';
import { validateName } from '../config/schema.js';
import { QkvmError, invalid } from '../errors.js';
import { overlaps, parseCidr } from './cidr.js';
import { bridgeOf, nftTableName } from './derive.js';
import { dnsmasqArgv, dnsmasqPid, findDnsmasq, readLeases, startDnsmasq, stopDnsmasq, wantsDnsmasq, type Lease } from './dnsmasq.js';
import type { CommandListener } from './exec.js';
import {
  allIpv4, allRoutes, bridgePorts, deleteLink, disableIpForwarding, enableIpForwarding, createBridge, ensureAddress, ensureBridge, ipForwarding, isBridge, linkExists,
  liveLink, setAlias,
  readStp, setStp, stpCommands,
} from './link.js';
import { applyNft, deleteNftHandle, liveTable, nftRuleset, nftTableExists } from './nft.js';
import { bridgeVerdict, nftVerdict, ownerMarker, restoreForwarding, type BridgeRecord, type NftRecord } from './ownership.js';
import { assertNotReserved, assertSubnetShape, describeOverlap, findOverlaps } from './subnetcheck.js';
import { DEFAULT_FORWARD_DELAY, OWNS_BRIDGE, parseNetworkSpec, type NetworkMode, type NetworkSpec, type NetworkSpecInput } from './schema.js';
import { listNetworkNames, loadAllNetworks, loadNetwork, networkExists, removeNetworkFile, saveNetwork } from './store.js';

export interface NetOpts {
  onCommand?: CommandListener;
  /** Something qkvm chose not to do, or a risk the user accepted with --force (the CLI prints it on stderr). */
  onNote?: (message: string) => void;
}

export const DEFAULT_SUBNET = '192.168.122.0/24';

const stateFile = (name: string) => join(runPaths.netStateDir(name), 'state.json');
/** Holds "0" while qkvm has turned IPv4 forwarding on; the last forwarding network to stop restores it. */
const forwardMarker = () => join(runPaths.netDir(), 'ip_forward.orig');

/**
 * What a started network is, and what of it qkvm made: only what is recorded
 * here (and still matches, live) is ever removed. `token` is in every marker.
 */
interface NetState { spec: NetworkSpec; startedAt: string; token?: string; bridge?: BridgeRecord; nft?: NftRecord; forced?: boolean }

function readState(name: string): NetState | undefined {
  try {
    if (!lstatSync(stateFile(name)).isFile()) return undefined;
    return JSON.parse(readFileSync(stateFile(name), 'utf8'));
  } catch { return undefined; }
}

function saveState(st: NetState): void {
  writeFileAtomic(stateFile(st.spec.name), JSON.stringify(st, null, 2));
}

/** True when the network's bridge is the one qkvm recorded, still there with its marker. */
function ownsLiveBridge(st: NetState | undefined): boolean {
  if (!st) return false;
  const br = bridgeOf(st.spec);
  return bridgeVerdict(br, st.bridge, liveLink(br)).remove;
}

/**
 * Refuses a reserved subnet always, and one that overlaps an address or a
 * route of this namespace unless forced (then it is a note). `own` is the
 * network's own bridge, skipped while qkvm runs it.
 */
async function checkSubnet(spec: NetworkSpec, opts: { force?: boolean; onNote?: (m: string) => void }, own?: string): Promise<void> {
  if (!spec.subnet || spec.mode === 'user') return;
  const net = parseCidr(spec.subnet);
  assertNotReserved(net);
  assertSubnetShape(spec.subnet, net);
  // A bridge-mode network sits on the host's LAN: its subnet is the host's by design.
  if (spec.mode === 'bridge') return;
  const addrs = (await allIpv4()).map((a) => ({ dev: a.dev, local: a.cidr.split('/')[0], prefixlen: Number(a.cidr.split('/')[1]) }));
  const hits = findOverlaps(net, addrs, await allRoutes(), own ? [own] : []);
  if (!hits.length) return;
  const what = `subnet ${net.cidr} of network "${spec.name}" overlaps ${hits.map(describeOverlap).join(', ')} in this host's network namespace`;
  if (!opts.force) throw invalid(what, 'pick another --subnet, or add --force if you mean it (its gateway address and routes would then compete with the host\'s)');
  opts.onNote?.(`warning: ${what} (--force)`);
}

const forwards = (mode: NetworkMode) => mode === 'routed' || mode === 'nat';

// ---------------------------------------------------------------- define

export interface DefineInput {
  name: string;
  mode: NetworkMode;
  subnet?: string;
  bridge?: string;
  uplink?: string;
  dhcp?: boolean;
  dhcpRange?: string;
  mtu?: number;
  vlan?: number;
  hostfwd?: string[];
  autostart?: boolean;
  description?: string;
  stp?: boolean;
  forwardDelay?: number;
}

/** A /24 in 192.168.100-254 that no definition, host address or route uses yet. */
async function pickFreeSubnet(taken: string[]): Promise<string> {
  const addrs = (await allIpv4()).map((a) => ({ dev: a.dev, local: a.cidr.split('/')[0], prefixlen: Number(a.cidr.split('/')[1]) }));
  const routes = await allRoutes();
  const defs = taken.map((c) => parseCidr(c));
  for (let third = 100; third < 255; third++) {
    const cand = parseCidr(`192.168.${third}.0/24`);
    if (!defs.some((u) => overlaps(u, cand)) && !findOverlaps(cand, addrs, routes).length) return cand.cidr;
  }
  throw invalid('no free 192.168.x.0/24 subnet left', 'give one with --subnet');
}

/**
 * Writes a network definition after checking it against the others: no two
 * networks share a bridge qkvm owns or an overlapping subnet.
 */
export async function defineNetwork(input: DefineInput, opts: { overwrite?: boolean; force?: boolean; onNote?: (m: string) => void } = {}): Promise<NetworkSpec> {
  validateName(input.name, 'network name');
  return withLock('net', input.name, 'defining the network', async () => {
    if (!opts.overwrite && networkExists(input.name)) {
      throw new QkvmError('EXISTS', `network "${input.name}" is already defined`, { hint: `\`qkvm net undefine ${input.name}\` first, or pick another name` });
    }
    const others = loadAllNetworks().filter((n) => n.name !== input.name);
    const draft: NetworkSpecInput = { ...input, hostfwd: input.hostfwd ?? [] };
    for (const k of Object.keys(draft) as (keyof NetworkSpecInput)[]) if (draft[k] === undefined) delete draft[k];
    if (!draft.subnet && (input.mode === 'nat' || input.mode === 'routed')) {
      draft.subnet = input.name === 'default' ? DEFAULT_SUBNET : await pickFreeSubnet(others.flatMap((o) => (o.subnet ? [o.subnet] : [])));
    }
    const spec = parseNetworkSpec(draft, `network "${input.name}"`);
    if (OWNS_BRIDGE.includes(spec.mode)) {
      const br = bridgeOf(spec);
      const clash = others.find((o) => o.mode !== 'user' && bridgeOf(o) === br);
      if (clash) throw invalid(`bridge ${br} already belongs to network "${clash.name}"`, 'name another bridge with --bridge');
      if (linkExists(br) && !readState(spec.name)) {
        throw invalid(`interface ${br} already exists on this host and qkvm did not make it`, 'use --mode bridge to join an existing bridge, or name another with --bridge');
      }
    }
    if (spec.subnet && spec.mode !== 'user') {
      const mine = parseCidr(spec.subnet);
      const clash = others.find((o) => o.subnet && o.mode !== 'user' && overlaps(parseCidr(o.subnet), mine));
      if (clash) throw invalid(`subnet ${spec.subnet} overlaps network "${clash.name}" (${clash.subnet})`, 'pick another --subnet');
    }
    const running = readState(spec.name);
    await checkSubnet(spec, opts, ownsLiveBridge(running) ? bridgeOf(running!.spec) : undefined);
    return saveNetwork(spec, { overwrite: opts.overwrite });
  });
}

export async function undefineNetwork(name: string): Promise<void> {
  await withLock('net', name, 'undefining the network', async () => {
    const spec = loadNetwork(name);
    const st = readState(name);
    // Its dnsmasq, its bridge or its rules may still run: their records must stay until `net stop` removes them.
    const pids = findDnsmasq(name);
    if (pids.length) {
      throw new QkvmError('STATE', `network "${name}" is running: its dnsmasq (pid ${pids.join(', ')}) still runs`, { hint: `\`qkvm net stop ${name}\` first` });
    }
    if (OWNS_BRIDGE.includes((st?.spec ?? spec).mode) && (ownsLiveBridge(st) || (st?.nft && await liveTable(st.nft.table)))) {
      throw new QkvmError('STATE', `network "${name}" is running (bridge ${bridgeOf(st!.spec)})`, { hint: `\`qkvm net stop ${name}\` first` });
    }
    removeNetworkFile(name);
    // rmSync removes a symlink itself, never what it points to.
    try { rmSync(runPaths.netStateDir(name), { recursive: true, force: true }); } catch { /* none */ }
  });
}

/**
 * Turns STP on or off on a running network's bridge that qkvm made, and keeps the
 * setting in its definition (and in the started record, so `net start` sees no change).
 */
export async function setNetworkStp(name: string, on: boolean, opts: NetOpts & { forwardDelay?: number } = {}): Promise<NetworkStatus> {
  await withLock('net', name, 'setting STP', async () => {
    const spec = loadNetwork(name);
    if (!OWNS_BRIDGE.includes(spec.mode)) {
      throw invalid(`network "${name}" is mode ${spec.mode}: it has no bridge of qkvm's`, spec.mode === 'bridge' ? `ip link set dev ${bridgeOf(spec)} type bridge stp_state ${on ? 1 : 0} (the host's bridge is yours to set)` : undefined);
    }
    const st = readState(name);
    if (!ownsLiveBridge(st) || JSON.stringify(st!.spec) !== JSON.stringify(spec)) {
      throw new QkvmError('STATE', `network "${name}" is not running${st ? ' its current definition' : ''}`, { hint: `qkvm net start ${name}` });
    }
    const next = parseNetworkSpec({ ...spec, stp: on || undefined, forwardDelay: on ? opts.forwardDelay ?? spec.forwardDelay : undefined }, `network "${name}"`);
    await setStp(bridgeOf(spec), on, next.forwardDelay ?? DEFAULT_FORWARD_DELAY, opts.onCommand);
    saveNetwork(next, { overwrite: true });
    saveState({ ...st!, spec: next });
  }, 30_000);
  return networkStatus(name);
}

export async function setNetworkAutostart(name: string, on: boolean): Promise<NetworkSpec> {
  return withLock('net', name, 'changing autostart', async () => {
    const spec = loadNetwork(name);
    return saveNetwork({ ...spec, autostart: on }, { overwrite: true });
  });
}

// ---------------------------------------------------------------- status

export interface NetworkStatus {
  name: string;
  mode: NetworkMode;
  bridge?: string;
  subnet?: string;
  gateway?: string;
  active: boolean;
  autostart: boolean;
  dnsmasqPid?: number;
  nftTable?: string;
  /** The interfaces on the bridge (guests' taps). */
  ports: string[];
  /** The bridge's spanning tree as the kernel has it (a bridge that exists). */
  stp?: { on: boolean; forwardDelayS: number };
  /** What is missing from a running network (it is repaired by `net start`). */
  problems: string[];
}

/** Whether the network is up: user mode always is; the others when their bridge exists. */
export async function isActive(spec: NetworkSpec): Promise<boolean> {
  if (spec.mode === 'user') return true;
  if (spec.mode === 'bridge') return isBridge(bridgeOf(spec));
  return ownsLiveBridge(readState(spec.name));
}

export async function networkStatus(name: string): Promise<NetworkStatus> {
  const spec = readState(name)?.spec ?? loadNetwork(name);
  const def = networkExists(name) ? loadNetwork(name) : spec;
  const active = await isActive(spec);
  const br = spec.mode === 'user' ? undefined : bridgeOf(spec);
  const pid = wantsDnsmasq(spec) ? dnsmasqPid(name) : undefined;
  const hasNft = nftRuleset(spec) ? await nftTableExists(name) : false;
  const problems: string[] = [];
  if (active && OWNS_BRIDGE.includes(spec.mode)) {
    if (wantsDnsmasq(spec) && pid === undefined) problems.push('dnsmasq is not running');
    if (nftRuleset(spec) && !hasNft) problems.push(`nft table ${nftTableName(name)} is missing`);
    if (forwards(spec.mode) && !ipForwarding()) problems.push('IPv4 forwarding is off');
  }
  return {
    name, mode: spec.mode, bridge: br, subnet: spec.subnet,
    gateway: spec.subnet && spec.mode !== 'bridge' && spec.mode !== 'user' ? parseCidr(spec.subnet).gateway : undefined,
    active, autostart: def.autostart, dnsmasqPid: pid, nftTable: hasNft ? `ip ${nftTableName(name)}` : undefined,
    ports: br ? bridgePorts(br) : [], problems, stp: br && active ? readStp(br) : undefined,
  };
}

export async function listNetworks(): Promise<NetworkStatus[]> {
  const out: NetworkStatus[] = [];
  for (const n of listNetworkNames()) {
    try { out.push(await networkStatus(n)); } catch { /* a broken file shows in `net info` */ }
  }
  return out;
}

/** The commands `net start` would run for this definition, for `net info` and the README. */
export function startCommands(spec: NetworkSpec): string[][] {
  if (!OWNS_BRIDGE.includes(spec.mode)) return [];
  const br = bridgeOf(spec);
  const cmds: string[][] = [['ip', 'link', 'add', 'name', br, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']];
  // The marker that proves the bridge is qkvm's; its token is drawn at each start.
  cmds.push(['ip', 'link', 'set', 'dev', br, 'alias', ownerMarker(spec.name, readState(spec.name)?.token ?? 'TOKEN')]);
  if (spec.mtu) cmds.push(['ip', 'link', 'set', 'dev', br, 'mtu', String(spec.mtu)]);
  if (spec.stp) cmds.push(...stpCommands(br, true, spec.forwardDelay ?? DEFAULT_FORWARD_DELAY));
  cmds.push(['ip', 'link', 'set', 'dev', br, 'up']);
  if (spec.subnet) {
    const net = parseCidr(spec.subnet);
    cmds.push(['ip', 'addr', 'add', `${net.gateway}/${net.prefix}`, 'dev', br]);
  }
  if (forwards(spec.mode)) cmds.push(['sysctl', '-w', 'net.ipv4.ip_forward=1']);
  if (nftRuleset(spec)) cmds.push(['nft', '-f', '-']);
  if (wantsDnsmasq(spec)) cmds.push(dnsmasqArgv(spec));
  return cmds;
}

export function networkLeases(name: string): Lease[] {
  loadNetwork(name);
  return readLeases(name);
}

// ---------------------------------------------------------------- start / stop

export async function startNetwork(name: string, opts: NetOpts & { force?: boolean } = {}): Promise<NetworkStatus> {
  await withLock('net', name, 'starting the network', () => startUnlocked(loadNetwork(name), opts), 30_000);
  return networkStatus(name);
}

async function startUnlocked(spec: NetworkSpec, opts: NetOpts & { force?: boolean }): Promise<void> {
  const { onCommand } = opts;
  if (spec.mode === 'user') return;
  const br = bridgeOf(spec);
  if (spec.mode === 'bridge') {
    await checkSubnet(spec, opts);
    if (!isBridge(br)) {
      throw new QkvmError('HOST', `bridge ${br} does not exist on this host`, { hint: `create it, e.g. \`qkvm net bridge-setup ${br} --uplink IF\`` });
    }
    return;
  }
  let st = readState(spec.name);
  // Restarting with a changed definition: take the old one down first so nothing of it lingers.
  if (st && JSON.stringify(st.spec) !== JSON.stringify(spec)) {
    const ports = ownsLiveBridge(st) ? bridgePorts(bridgeOf(st.spec)) : [];
    if (ports.length) {
      throw new QkvmError('IN_USE', `network "${spec.name}" runs an older definition and guests are attached (${ports.join(', ')})`, {
        hint: `stop those guests, or \`qkvm net stop ${spec.name} --force\`, then start it again`,
      });
    }
    await teardown(st, opts);
    st = undefined;
  }
  const wasUp = ownsLiveBridge(st);
  // A repair (a guest's start finding dnsmasq dead) keeps the --force the network was started with.
  const force = opts.force || (wasUp && st?.forced === true);
  await checkSubnet(spec, { ...opts, force }, wasUp ? br : undefined);
  if (linkExists(br) && !wasUp) {
    throw new QkvmError('HOST', `interface ${br} exists but was not made by qkvm for network "${spec.name}": qkvm leaves it alone`, {
      hint: `remove it yourself if it is a leftover (\`ip link del ${br}\`), or name another bridge with --bridge`,
    });
  }
  const table = nftTableName(spec.name);
  const liveT = nftRuleset(spec) ? await liveTable(table) : undefined;
  if (liveT && !nftVerdict(table, st?.nft, liveT).remove) {
    throw new QkvmError('HOST', `nft table ip ${table} exists but was not made by qkvm for network "${spec.name}": qkvm leaves it alone`, {
      hint: `remove it yourself if it is a leftover (\`nft delete table ip ${table}\`), or give the network another name`,
    });
  }
  const cur: NetState = { spec, startedAt: st?.startedAt ?? new Date().toISOString(), token: st?.token ?? randomBytes(6).toString('hex'), bridge: wasUp ? st!.bridge : undefined, nft: liveT ? st!.nft : undefined, forced: force || undefined };
  const marker = ownerMarker(spec.name, cur.token!);
  ensureDir(runPaths.netStateDir(spec.name));
  saveState(cur);
  try {
    if (!wasUp) {
      // `ip link add` fails if someone made the bridge meanwhile, so qkvm never marks a bridge it did not create.
      await createBridge(br, onCommand);
      await setAlias(br, marker, onCommand);
      const live = liveLink(br);
      if (!live || live.alias !== marker) throw new QkvmError('HOST', `bridge ${br} lost qkvm's marker while it was being set up`);
      cur.bridge = { name: br, ifindex: live.ifindex, marker };
      saveState(cur);
    }
    await ensureBridge(br, spec.mtu, onCommand);
    await setStp(br, !!spec.stp, spec.forwardDelay ?? DEFAULT_FORWARD_DELAY, onCommand);
    if (spec.subnet) {
      const net = parseCidr(spec.subnet);
      await ensureAddress(br, net.gateway, net.prefix, onCommand);
    }
    if (forwards(spec.mode) && enableIpForwarding(onCommand)) {
      if (!existsSync(forwardMarker())) writeFileAtomic(forwardMarker(), '0\n');
    }
    if (nftRuleset(spec) && !cur.nft) {
      cur.nft = await applyNft(spec, marker, onCommand);
      saveState(cur);
    }
    if (wantsDnsmasq(spec)) await startDnsmasq(spec, onCommand);
  } catch (e) {
    // A failed start leaves nothing behind unless the network was already up; teardown removes only what is recorded.
    if (!wasUp) await teardown(cur, {}).catch(() => undefined);
    throw e;
  }
}

/**
 * Removes what qkvm made for a network and still finds as it made it: its
 * dnsmasq (by process identity), its nft table and its bridge (by record and
 * marker), and forwarding if qkvm turned it on and this was the last. What does
 * not match is left in place, with a note. The record goes last, and only if
 * no dnsmasq of the network survived.
 */
async function teardown(st: NetState, opts: NetOpts): Promise<void> {
  const { onCommand, onNote } = opts;
  const spec = st.spec;
  if (!OWNS_BRIDGE.includes(spec.mode)) return;
  const left = await stopDnsmasq(spec.name, onCommand);
  if (left.length) throw new QkvmError('HOST', `dnsmasq of network "${spec.name}" (pid ${left.join(', ')}) would not stop`, { hint: 'kill it, then run `qkvm net stop` again' });
  const table = nftTableName(spec.name);
  const liveT = await liveTable(table);
  const nv = nftVerdict(table, st.nft, liveT);
  if (nv.remove) await deleteNftHandle(st.nft!, onCommand);
  else if (liveT) onNote?.(nv.why);
  const br = bridgeOf(spec);
  const bv = bridgeVerdict(br, st.bridge, liveLink(br));
  if (bv.remove) await deleteLink(br, onCommand);
  else if (linkExists(br)) onNote?.(bv.why);
  try { unlinkSync(stateFile(spec.name)); } catch { /* none */ }
  if (forwards(spec.mode)) {
    let marker: string | undefined;
    try { marker = readFileSync(forwardMarker(), 'utf8'); } catch { /* qkvm did not turn it on */ }
    const others = listNetworkNames().some((n) => {
      const o = readState(n);
      return o !== undefined && n !== spec.name && forwards(o.spec.mode) && ownsLiveBridge(o);
    });
    if (restoreForwarding(marker, others, ipForwarding())) disableIpForwarding(onCommand);
    if (marker !== undefined && !others) { try { unlinkSync(forwardMarker()); } catch { /* none */ } }
  }
}

export async function stopNetwork(name: string, opts: NetOpts & { force?: boolean } = {}): Promise<void> {
  await withLock('net', name, 'stopping the network', async () => {
    const st = readState(name);
    const spec = st?.spec ?? loadNetwork(name);
    if (!OWNS_BRIDGE.includes(spec.mode)) {
      if (spec.mode === 'bridge') opts.onNote?.(`network "${name}" joins bridge ${bridgeOf(spec)}, which belongs to the host: qkvm never removes it`);
      return;
    }
    const ports = ownsLiveBridge(st) ? bridgePorts(bridgeOf(spec)) : [];
    if (ports.length && !opts.force) {
      throw new QkvmError('IN_USE', `network "${name}" still has guests attached (${ports.join(', ')})`, {
        hint: 'stop those guests first, or use --force to cut them off',
      });
    }
    // Without a record nothing is qkvm's but a dnsmasq proven to be this network's.
    await teardown(st ?? { spec, startedAt: '' }, opts);
  }, 30_000);
}

/** Starts every network marked autostart (for boot time). Returns the names started. */
export async function startAutostartNetworks(opts: NetOpts = {}): Promise<string[]> {
  const started: string[] = [];
  for (const spec of loadAllNetworks()) {
    if (spec.autostart) { await startNetwork(spec.name, opts); started.push(spec.name); }
  }
  return started;
}

/**
 * Finds networks whose run state no longer matches the host (a bridge deleted by
 * hand, a dnsmasq killed) and finishes their cleanup. Running networks are left alone.
 */
export async function reconcileNetworks(opts: NetOpts = {}): Promise<string[]> {
  const fixed: string[] = [];
  for (const n of listNetworkNames()) {
    const st = readState(n);
    if (st && OWNS_BRIDGE.includes(st.spec.mode) && !linkExists(bridgeOf(st.spec))) {
      await withLock('net', n, 'cleaning up', () => teardown(st, opts), 10_000);
      fixed.push(n);
    }
  }
  return fixed;
}
