// Hooks the runtime calls around a guest's QEMU process: before it starts,
// make each NIC's network ready and write its tap file; after it is gone (a
// clean exit, destroy, kill -9 found later, or a failed start), remove what
// its NICs left behind.
import { accessSync, constants, rmSync } from 'node:fs';
import { run as runPaths } from '../config/paths.js';
import { acquireLock } from '../config/lock.js';
import { listVmNames, loadVm } from '../config/store.js';
import { NAME_RE, type VmSpec } from '../config/schema.js';
import { QkvmError, invalid } from '../errors.js';
import type { HostCaps } from '../qemu/caps.js';
import { qemuPid } from '../runtime/state.js';
import { bridgeOf } from './derive.js';
import type { CommandListener } from './exec.js';
import { deleteLink, isTuntap, linkExists } from './link.js';
import { tapVerdict } from './ownership.js';
import { generateMac, validateMac } from './mac.js';
import { isActive, networkStatus, reconcileNetworks, startNetwork } from './network.js';
import { loadNetwork, networkExists } from './store.js';
import { tapName } from './tapname.js';
import { listTapFiles, readTapFile, releaseTap, removeTapFile, writeTapFile } from './taps.js';

export interface ResolvedNic { tap?: string; mac: string }

/** /dev/vhost-net exists and this process may open it: virtio taps can use vhost=on. */
export function hasVhostNet(): boolean {
  try { accessSync('/dev/vhost-net', constants.R_OK | constants.W_OK); return true; } catch { return false; }
}

/** The MAC of NIC `index`: as written in the definition, or derived from the guest's name. */
export function nicMac(spec: Pick<VmSpec, 'name' | 'nics'>, index: number): string {
  const nic = spec.nics[index];
  return validateMac(nic?.mac ?? generateMac(spec.name, index), `nics[${index}].mac`);
}

/** Whether a guest's QEMU is running, by its pid file, checked against /proc (PIDs get reused). */
export function guestQemuRunning(name: string): boolean {
  // Proven identity (kernel witness + exact argv), never the pidfile's content.
  return qemuPid(name) !== undefined;
}

/**
 * Throws if a MAC of this definition repeats within it or is used by another
 * defined guest: two NICs with one MAC on a bridge break each other.
 */
export function assertMacsUnique(spec: Pick<VmSpec, 'name' | 'nics'>): void {
  const mine = spec.nics.map((_, i) => nicMac(spec, i));
  mine.forEach((m, i) => {
    const j = mine.indexOf(m);
    if (j !== i) throw invalid(`nics[${i}].mac: ${m} is also nics[${j}]'s MAC`);
  });
  for (const other of listVmNames()) {
    if (other === spec.name) continue;
    let o: VmSpec;
    try { o = loadVm(other); } catch { continue; }
    o.nics.forEach((_, k) => {
      const m = nicMac(o, k);
      const i = mine.indexOf(m);
      if (i >= 0) {
        throw new QkvmError('EXISTS', `nics[${i}].mac: ${m} is already used by guest "${other}" (nics[${k}])`, {
          hint: 'leave mac out to get one derived from the guest name, or pick another',
        });
      }
    });
  }
}

/**
 * Rewrites NICs on a network of mode user into user NICs carrying that
 * network's hostfwd, so the builder emits -netdev user for them. The runtime
 * passes the result to the builder.
 */
export function expandUserNetworks(spec: VmSpec): VmSpec {
  if (!spec.nics.some((n) => n.type === 'network')) return spec;
  const nics = spec.nics.map((nic) => {
    // An undefined network is reported by prepareGuestNetworking at start; `cmdline` still shows a tap.
    if (nic.type !== 'network' || !nic.network || !networkExists(nic.network)) return nic;
    const net = loadNetwork(nic.network);
    if (net.mode !== 'user') return nic;
    return { ...nic, type: 'user' as const, network: undefined, hostfwd: [...net.hostfwd, ...nic.hostfwd] };
  });
  return { ...spec, nics };
}

/**
 * Before QEMU starts: make sure each NIC's network is up and write its per-tap
 * file. NICs on a network of mode user are rewritten in `spec` into user NICs
 * (see expandUserNetworks), so build the command from `spec` after this call.
 */
export async function prepareGuestNetworking(
  name: string, spec: VmSpec, caps: HostCaps, opts: { onCommand?: CommandListener } = {},
): Promise<ResolvedNic[]> {
  void caps; // vhost=on is the builder's choice, from caps.vhostNet (see hasVhostNet)
  // QEMU inherits this environment and runs qemu-ifup with it: let the script find the tap files.
  process.env.QKVM_RUN = runPaths.root();
  const out: ResolvedNic[] = [];
  const written: string[] = [];
  try {
    for (const [i, nic] of spec.nics.entries()) {
      const mac = nicMac(spec, i);
      if (nic.type !== 'network' || !nic.network) { out.push({ mac }); continue; }
      let net;
      try { net = loadNetwork(nic.network); } catch (e) {
        throw new QkvmError('NOT_FOUND', `nics[${i}]: network "${nic.network}" is not defined`, {
          hint: nic.network === 'default' ? 'define it with `qkvm net define default --mode nat`' : 'see `qkvm net list`', cause: e,
        });
      }
      if (net.mode === 'user') {
        // A NIC on a user-mode network is QEMU's slirp with the network's port forwards:
        // rewritten in place, so the builder (and the started spec) see a user NIC.
        spec.nics[i] = { ...nic, type: 'user', network: undefined, hostfwd: [...net.hostfwd, ...nic.hostfwd] };
        out.push({ mac });
        continue;
      }
      // Start it if it is down; repair it if a piece died (dnsmasq, its nft table).
      if (!(await isActive(net)) || (await networkStatus(net.name)).problems.length) await startNetwork(net.name, opts);
      const tap = tapName(name, i);
      if (linkExists(tap)) {
        // A tap QEMU created is deleted when QEMU closes it, so one that is left belongs to a running QEMU or to nobody.
        if (guestQemuRunning(name)) throw new QkvmError('IN_USE', `tap ${tap} is in use: guest "${name}" is running`);
        const v = tapVerdict(tap, name, readTapFile(tap), { exists: true, isTuntap: isTuntap(tap) });
        if (!v.remove) {
          throw new QkvmError('IN_USE', `interface ${tap} exists and qkvm did not record it for guest "${name}" (${v.why})`, { hint: `if it is a leftover, remove it yourself: \`ip link del ${tap}\`` });
        }
        await deleteLink(tap, opts.onCommand);
      }
      writeTapFile({ TAP: tap, BRIDGE: bridgeOf(net), NETWORK: net.name, GUEST: name, MAC: mac, MTU: net.mtu, VLAN: net.vlan, ID: `net${i}` });
      written.push(tap);
      out.push({ tap, mac });
    }
  } catch (e) {
    for (const tap of written) removeTapFile(tap);
    throw e;
  }
  return out;
}

/** After QEMU is gone (clean exit, destroy, or a crash found later): remove what its NICs left. */
export async function releaseGuestNetworking(name: string, spec?: VmSpec, opts: { onCommand?: CommandListener } = {}): Promise<void> {
  const taps = new Set<string>();
  spec?.nics.forEach((nic, i) => { if (nic.type === 'network') taps.add(tapName(name, i)); });
  // Hot-plugged NICs are not in the definition: their tap files name the guest.
  for (const [tap, f] of listTapFiles()) if (f.GUEST === name) taps.add(tap);
  // Only taps recorded for this guest that are still tun/tap devices are deleted.
  for (const tap of taps) await releaseTap(tap, name, opts.onCommand);
  rmSync(hotplugFile(name), { force: true });
  rmSync(`${runPaths.vmDir(name)}/unplugged-nics.json`, { force: true });
}

/** Where attach-interface records the NICs it added to a running guest. */
export const hotplugFile = (name: string) => `${runPaths.vmDir(name)}/hotplug-nics.json`;

/**
 * Cleans up after guests whose QEMU is gone without qkvm noticing (kill -9):
 * their taps and tap files, and networks whose bridge vanished. Returns what it removed.
 */
export async function reconcileNetworking(opts: { onCommand?: CommandListener } = {}): Promise<{ taps: string[]; networks: string[] }> {
  const taps: string[] = [];
  const guests = new Set(listTapFiles().map(([, f]) => f.GUEST).filter((g): g is string => !!g && NAME_RE.test(g)));
  for (const g of guests) {
    if (guestQemuRunning(g)) continue;
    // A guest being started holds its lock and has no QEMU yet: its tap files are not leftovers.
    let lock;
    try { lock = await acquireLock('vm', g, 'cleaning up its networking'); } catch { continue; }
    try {
      if (guestQemuRunning(g)) continue;
      for (const [tap, f] of listTapFiles()) if (f.GUEST === g) taps.push(tap);
      await releaseGuestNetworking(g, undefined, opts);
    } finally { lock.release(); }
  }
  const networks = await reconcileNetworks(opts);
  return { taps, networks };
}
