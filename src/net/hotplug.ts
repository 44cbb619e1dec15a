// attach-interface / detach-interface: NICs plugged into a running guest over
// QMP. The host half (netdev_add: a tap that QEMU hands to scripts/qemu-ifup,
// just as at start) goes in before the guest half (device_add); unplugging is
// the reverse, and waits for the guest to release the card (DEVICE_DELETED).
import { writeFileSync } from 'node:fs';
import { scripts } from '../config/paths.js';
import { loadVm, rewriteDefinition } from '../config/store.js';
import type { Nic, VmSpec } from '../config/schema.js';
import { QkvmError, invalid, notFound } from '../errors.js';
import { withQmp } from '../runtime/qmp.js';
import type { QmpClient } from '../qmp/index.js';
import { guestNics, readHotplugRecords, readUnplugged, removedFile, runningSpec, type HotplugRecord } from './addr.js';
import { bridgeOf } from './derive.js';
import type { CommandListener } from './exec.js';
import { assertMacsUnique, guestQemuRunning, hasVhostNet, hotplugFile, nicMac } from './guest.js';
import { linkExists } from './link.js';
import { generateMac, validateMac } from './mac.js';
import { isActive, startNetwork } from './network.js';
import { loadNetwork } from './store.js';
import { tapName, MAX_NICS } from './tapname.js';
import { readTapFile, releaseTap, writeTapFile } from './taps.js';
import { writeFileAtomic } from '../config/atomic.js';
import { withLock } from '../config/lock.js';

export type NicModel = Nic['model'];

export interface AttachOpts { network: string; model?: NicModel; mac?: string; persist?: boolean; /** false: the definition only, even when the guest runs (virsh --config). */ live?: boolean; onCommand?: CommandListener }
export interface AttachResult { id?: string; mac: string; tap?: string; network: string; live: boolean; persisted: boolean }


/** Sends one QMP command and shows it, as `qmp: {"execute": ...}`. */
async function qmpCall(qmp: QmpClient, onCommand: CommandListener | undefined, execute: string, args: Record<string, unknown>, timeoutMs = 10_000) {
  onCommand?.(['qmp', JSON.stringify({ execute, arguments: args })]);
  return qmp.execute(execute, args, { timeoutMs });
}

const driverOf = (model: NicModel, machine: VmSpec['machine']) =>
  model === 'virtio' ? (machine === 'microvm' ? 'virtio-net-device' : 'virtio-net-pci') : model;

export async function attachInterface(name: string, opts: AttachOpts): Promise<AttachResult> {
  const model = opts.model ?? 'virtio';
  const net = loadNetwork(opts.network);
  return withLock('vm', name, 'attaching an interface', async () => {
    const live = guestQemuRunning(name) && opts.live !== false;
    if (!live && !opts.persist) {
      throw new QkvmError('STATE', `guest "${name}" is not running`, { hint: 'add --persist to add the NIC to its definition only' });
    }
    const spec = live ? runningSpec(name) : loadVm(name);
    if (spec.machine === 'microvm' && live) throw invalid('the microvm machine has no PCI: NICs cannot be hot-plugged');
    const used = new Set((live ? guestNics(name) : []).map((n) => n.id));
    let index = spec.nics.length;
    while (index < MAX_NICS && (used.has(`net${index}`) || (net.mode !== 'user' && (linkExists(tapName(name, index)) || readTapFile(tapName(name, index)))))) index++;
    const mac = opts.mac ? validateMac(opts.mac) : generateMac(name, index);
    const others = live ? guestNics(name) : spec.nics.map((_, i) => ({ mac: nicMac(spec, i) }));
    if (others.some((n) => n.mac === mac)) throw invalid(`mac: ${mac} is already a NIC of guest "${name}"`);
    const nic: Nic = { type: net.mode === 'user' ? 'user' : 'network', network: net.mode === 'user' ? undefined : net.name, hostfwd: net.mode === 'user' ? net.hostfwd : [], model, mac, vhost: 'auto' };
    const persisted = { ...loadVm(name) };
    if (opts.persist) assertMacsUnique({ name, nics: [...persisted.nics, nic] });

    let result: AttachResult = { mac, network: net.name, live: false, persisted: false };
    if (live) {
      const id = `net${index}`;
      const tap = net.mode === 'user' ? undefined : tapName(name, index);
      if (net.mode !== 'user' && !(await isActive(net))) await startNetwork(net.name, { onCommand: opts.onCommand });
      if (tap) writeTapFile({ TAP: tap, BRIDGE: bridgeOf(net), NETWORK: net.name, GUEST: name, MAC: mac, MTU: net.mtu, VLAN: net.vlan, ID: id });
      const netdev: Record<string, unknown> = tap
        ? { type: 'tap', id, ifname: tap, script: scripts.ifup(), downscript: scripts.ifdown(), ...(model === 'virtio' && hasVhostNet() ? { vhost: true } : {}) }
        : { type: 'user', id, ...(nic.hostfwd.length ? { hostfwd: nic.hostfwd.map((str) => ({ str })) } : {}) };
      try {
        await withQmp(name, async (qmp) => {
          await qmpCall(qmp, opts.onCommand, 'netdev_add', netdev);
          try {
            await plugDevice(qmp, spec.machine, { driver: driverOf(model, spec.machine), netdev: id, mac, id }, opts.onCommand);
          } catch (e) {
            await qmpCall(qmp, opts.onCommand, 'netdev_del', { id }).catch(() => undefined);
            throw e;
          }
        });
      } catch (e) {
        if (tap) await releaseTap(tap, name);
        throw e;
      }
      const rec: HotplugRecord = { id, mac, network: net.name, model, tap, type: nic.type };
      writeFileAtomic(hotplugFile(name), JSON.stringify([...readHotplugRecords(name), rec], null, 2));
      result = { ...result, id, tap, live: true };
    }
    if (opts.persist) {
      rewriteDefinition(name, { nics: [...persisted.nics, nic] });
      result.persisted = true;
    }
    return result;
  }, 10_000);
}

/** device_add; on q35 the card needs a free spare root port (hotplug1..N), so each is tried in turn. */
async function plugDevice(qmp: QmpClient, machine: VmSpec['machine'], dev: Record<string, unknown>, onCommand?: CommandListener): Promise<void> {
  if (machine !== 'q35') { await qmpCall(qmp, onCommand, 'device_add', dev, 60_000); return; }
  let last: unknown;
  for (let port = 1; port <= 8; port++) {
    try { await qmpCall(qmp, onCommand, 'device_add', { ...dev, bus: `hotplug${port}` }, 60_000); return; } catch (e) { last = e; }
  }
  throw new QkvmError('STATE', 'no free PCI Express port for the NIC', { cause: last, hint: 'detach a disk or NIC first' });
}

export interface DetachOpts { mac: string; persist?: boolean; /** false: the definition only (virsh --config). */ live?: boolean; timeoutMs?: number; onCommand?: CommandListener }

export async function detachInterface(name: string, opts: DetachOpts): Promise<{ id?: string; live: boolean; persisted: boolean }> {
  const mac = validateMac(opts.mac);
  return withLock('vm', name, 'detaching an interface', async () => {
    const live = guestQemuRunning(name) && opts.live !== false;
    if (!live && !opts.persist) throw new QkvmError('STATE', `guest "${name}" is not running`, { hint: 'add --persist to remove the NIC from its definition only' });
    let id: string | undefined;
    if (live) {
      const nic = guestNics(name).find((n) => n.mac === mac);
      if (!nic) throw notFound(`guest "${name}" has no NIC with MAC ${mac}`, `see \`qkvm domifaddr ${name}\``);
      id = nic.id;
      await withQmp(name, async (qmp) => {
        // The guest must let go of the card first (an ACPI eject under pc): wait for QEMU's word that it did.
        opts.onCommand?.(['qmp', JSON.stringify({ execute: 'device_del', arguments: { id } })]);
        await qmp.executeAndWait('device_del', { id }, { event: 'DEVICE_DELETED', where: (d) => d.device === id }, { timeoutMs: opts.timeoutMs ?? 60_000 })
          .catch((e) => { throw new QkvmError('TIMEOUT', `guest "${name}" did not release NIC ${id} (${mac})`, { cause: e, hint: 'the guest needs PCI hotplug support (acpiphp) and must not be stuck' }); });
        // netdev_del closes the tap: QEMU runs qemu-ifdown, and the kernel deletes the tap.
        await qmpCall(qmp, opts.onCommand, 'netdev_del', { id });
      });
      if (nic.tap) await releaseTap(nic.tap, name, opts.onCommand);
      const records = readHotplugRecords(name);
      if (records.some((r) => r.id === id)) writeFileSync(hotplugFile(name), JSON.stringify(records.filter((r) => r.id !== id), null, 2));
      else writeFileAtomic(removedFile(name), JSON.stringify([...readUnplugged(name), id]));
    }
    let persisted = false;
    if (opts.persist) {
      const spec = loadVm(name);
      const i = spec.nics.findIndex((_, k) => nicMac(spec, k) === mac);
      if (i >= 0) {
        // The NICs after it move down one index: keep their MACs by writing them out.
        const nics = spec.nics.map((n, k) => ({ ...n, mac: nicMac(spec, k) })).filter((_, k) => k !== i);
        rewriteDefinition(name, { nics });
        persisted = true;
      } else if (!live) {
        throw notFound(`guest "${name}" has no NIC with MAC ${mac} in its definition`);
      }
    }
    return { id, live, persisted };
  }, 10_000);
}
