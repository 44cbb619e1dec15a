// A network's life: define, start, stop, undefine, and what it looks like now.
// Starting is idempotent (each piece is made only if missing) and a failed
// start undoes what it made; stopping removes the bridge, rules and dnsmasq of
// this network and nothing else.
import { existsSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { run as runPaths } from '../config/paths.js';
import { ensureDir, writeFileAtomic } from '../config/atomic.js';
import { withLock } from '../config/lock.js';
import { validateName } from '../config/schema.js';
import { QkvmError, invalid } from '../errors.js';
import { overlaps, parseCidr } from './cidr.js';
import { bridgeOf, nftTableName } from './derive.js';
import { dnsmasqArgv, dnsmasqFiles, dnsmasqPid, readLeases, startDnsmasq, stopDnsmasq, wantsDnsmasq, type Lease } from './dnsmasq.js';
import type { CommandListener } from './exec.js';
import {
  allIpv4, bridgePorts, deleteLink, disableIpForwarding, enableIpForwarding, ensureAddress, ensureBridge, ipForwarding, isBridge, linkExists,
} from './link.js';
import { applyNft, deleteNft, nftRuleset, nftTableExists } from './nft.js';
import { OWNS_BRIDGE, parseNetworkSpec, type NetworkMode, type NetworkSpec, type NetworkSpecInput } from './schema.js';
import { listNetworkNames, loadAllNetworks, loadNetwork, networkExists, removeNetworkFile, saveNetwork } from './store.js';

export interface NetOpts { onCommand?: CommandListener }

export const DEFAULT_SUBNET = '192.168.122.0/24';

const stateFile = (name: string) => join(runPaths.netStateDir(name), 'state.json');
/** Holds "0" while qkvm has turned IPv4 forwarding on; the last forwarding network to stop restores it. */
const forwardMarker = () => join(runPaths.netDir(), 'ip_forward.orig');

interface NetState { spec: NetworkSpec; startedAt: string }

function readState(name: string): NetState | undefined {
  try { return JSON.parse(readFileSync(stateFile(name), 'utf8')); } catch { return undefined; }
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
}

/** A /24 in 192.168.100-254 that no definition and no host address uses yet. */
async function pickFreeSubnet(taken: string[]): Promise<string> {
  const used = [...taken, ...(await allIpv4()).map((a) => a.cidr)].map((c) => parseCidr(c.replace(/\/(3[12])$/, '/30')));
  for (let third = 100; third < 255; third++) {
    const cand = parseCidr(`192.168.${third}.0/24`);
    if (!used.some((u) => overlaps(u, cand))) return cand.cidr;
  }
  throw invalid('no free 192.168.x.0/24 subnet left', 'give one with --subnet');
}

/**
 * Writes a network definition after checking it against the others: no two
 * networks share a bridge qkvm owns or an overlapping subnet.
 */
export async function defineNetwork(input: DefineInput, opts: { overwrite?: boolean } = {}): Promise<NetworkSpec> {
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
    return saveNetwork(spec, { overwrite: opts.overwrite });
  });
}

export async function undefineNetwork(name: string): Promise<void> {
  await withLock('net', name, 'undefining the network', async () => {
    const spec = loadNetwork(name);
    if (await isActive(spec) && OWNS_BRIDGE.includes(spec.mode)) {
      throw new QkvmError('STATE', `network "${name}" is running`, { hint: `\`qkvm net stop ${name}\` first` });
    }
    removeNetworkFile(name);
    try { rmSync(runPaths.netStateDir(name), { recursive: true, force: true }); } catch { /* none */ }
  });
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
  /** What is missing from a running network (it is repaired by `net start`). */
  problems: string[];
}

/** Whether the network is up: user mode always is; the others when their bridge exists. */
export async function isActive(spec: NetworkSpec): Promise<boolean> {
  if (spec.mode === 'user') return true;
  if (spec.mode === 'bridge') return isBridge(bridgeOf(spec));
  return linkExists(bridgeOf(spec)) && readState(spec.name) !== undefined;
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
    ports: br ? bridgePorts(br) : [], problems,
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
  if (spec.mtu) cmds.push(['ip', 'link', 'set', 'dev', br, 'mtu', String(spec.mtu)]);
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

export async function startNetwork(name: string, opts: NetOpts = {}): Promise<NetworkStatus> {
  await withLock('net', name, 'starting the network', () => startUnlocked(loadNetwork(name), opts), 30_000);
  return networkStatus(name);
}

async function startUnlocked(spec: NetworkSpec, opts: NetOpts): Promise<void> {
  const { onCommand } = opts;
  if (spec.mode === 'user') return;
  const br = bridgeOf(spec);
  if (spec.mode === 'bridge') {
    if (!isBridge(br)) {
      throw new QkvmError('HOST', `bridge ${br} does not exist on this host`, { hint: `create it, e.g. \`qkvm net bridge-setup ${br} --uplink IF\`` });
    }
    return;
  }
  const running = readState(spec.name);
  // Restarting with a changed definition: take the old one down first so nothing of it lingers.
  if (running && JSON.stringify(running.spec) !== JSON.stringify(spec)) {
    const ports = bridgePorts(bridgeOf(running.spec));
    if (ports.length) {
      throw new QkvmError('IN_USE', `network "${spec.name}" runs an older definition and guests are attached (${ports.join(', ')})`, {
        hint: `stop those guests, or \`qkvm net stop ${spec.name} --force\`, then start it again`,
      });
    }
    await teardown(running.spec, opts);
  }
  const wasUp = linkExists(br) && readState(spec.name) !== undefined;
  if (linkExists(br) && !wasUp) {
    throw new QkvmError('HOST', `interface ${br} exists but was not made by qkvm for network "${spec.name}"`, {
      hint: `remove it (\`ip link del ${br}\`) or name another bridge with --bridge`,
    });
  }
  ensureDir(runPaths.netStateDir(spec.name));
  writeFileAtomic(stateFile(spec.name), JSON.stringify({ spec, startedAt: new Date().toISOString() } satisfies NetState, null, 2));
  try {
    await ensureBridge(br, spec.mtu, onCommand);
    if (spec.subnet) {
      const net = parseCidr(spec.subnet);
      await ensureAddress(br, net.gateway, net.prefix, onCommand);
    }
    if (forwards(spec.mode) && enableIpForwarding(onCommand)) {
      if (!existsSync(forwardMarker())) writeFileAtomic(forwardMarker(), '0\n');
    }
    if (nftRuleset(spec) && !(await nftTableExists(spec.name))) await applyNft(spec, onCommand);
    if (wantsDnsmasq(spec)) await startDnsmasq(spec, onCommand);
  } catch (e) {
    // A failed start leaves nothing behind unless the network was already up.
    if (!wasUp) await teardown(spec, {}).catch(() => undefined);
    throw e;
  }
}

/** Removes everything a network made: dnsmasq, its nft table, its bridge, and forwarding if it was the last. */
async function teardown(spec: NetworkSpec, opts: NetOpts): Promise<void> {
  const { onCommand } = opts;
  if (!OWNS_BRIDGE.includes(spec.mode)) return;
  await stopDnsmasq(spec.name, onCommand);
  await deleteNft(spec.name, onCommand);
  await deleteLink(bridgeOf(spec), onCommand);
  try { unlinkSync(stateFile(spec.name)); } catch { /* none */ }
  try { unlinkSync(dnsmasqFiles(spec.name).pidFile); } catch { /* none */ }
  if (forwards(spec.mode) && existsSync(forwardMarker())) {
    const stillForwarding = listNetworkNames().some((n) => {
      const st = readState(n);
      return st !== undefined && n !== spec.name && forwards(st.spec.mode) && linkExists(bridgeOf(st.spec));
    });
    if (!stillForwarding) {
      disableIpForwarding(onCommand);
      try { unlinkSync(forwardMarker()); } catch { /* none */ }
    }
  }
}

export async function stopNetwork(name: string, opts: NetOpts & { force?: boolean } = {}): Promise<void> {
  await withLock('net', name, 'stopping the network', async () => {
    const spec = readState(name)?.spec ?? loadNetwork(name);
    if (!OWNS_BRIDGE.includes(spec.mode)) return;
    const ports = bridgePorts(bridgeOf(spec));
    if (ports.length && !opts.force) {
      throw new QkvmError('IN_USE', `network "${name}" still has guests attached (${ports.join(', ')})`, {
        hint: 'stop those guests first, or use --force to cut them off',
      });
    }
    await teardown(spec, opts);
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
    if (st && !linkExists(bridgeOf(st.spec))) {
      await withLock('net', n, 'cleaning up', () => teardown(st.spec, opts), 10_000);
      fixed.push(n);
    }
  }
  return fixed;
}
