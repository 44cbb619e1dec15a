// attach-disk and detach-disk. A running guest gets the disk through QMP, the
// same two nodes the builder makes at start (drive-vdb-file under drive-vdb)
// and a device with id vdb; a shut off guest gets its definition edited.
import { existsSync, readFileSync } from 'node:fs';
import { writeFileAtomic } from '../config/atomic.js';
import { withLock } from '../config/lock.js';
import { run } from '../config/paths.js';
import type { Disk, VmSpec } from '../config/schema.js';
import { loadVm, rewriteDefinition } from '../config/store.js';
import { QkvmError, invalid, notFound } from '../errors.js';
import type { QmpClient } from '../qmp/client.js';
import { TARGET_PREFIX, assignTargets, fileNodeName, formatNodeName } from '../qemu/devices/block.js';
import { isGuestRunning } from './guests.js';
import { Q35_HOTPLUG_PORTS } from '../qemu/builder.js';
import { startedSpec } from '../runtime/state.js';
import { imageInfo, type ImageFormat } from './qemu-img.js';
import { qmpToQkvm, withGuestQmp } from './qmp.js';
import { normalizeDiskFile, resolveDiskPath } from './resolve.js';
import { placementProblem } from './placement.js';
import { assertNotBase } from './guard.js';
import { shellQuote } from '../qemu/format.js';

export type HotplugBus = 'virtio' | 'scsi';

export interface AttachOptions {
  target?: string;
  bus?: HotplugBus;
  format?: ImageFormat;
  /** Default false; true for external and hostDevice disks unless given false. */
  readonly?: boolean;
  /** A regular file outside every pool, attached on purpose (the definition's `external: true`). */
  external?: boolean;
  /** A host block device, attached on purpose (the definition's `hostDevice: true`). */
  hostDevice?: boolean;
  /** Also write the disk into the definition (a shut off guest always is). */
  persist?: boolean;
  /** false: the definition only, even when the guest runs (virsh --config). */
  live?: boolean;
}

export interface AttachResult { target: string; path: string; format: string; live: boolean; persisted: boolean }

const nextFree = (prefix: string, used: Set<string>): string => {
  for (let i = 0; i < 26; i++) {
    const t = prefix + String.fromCharCode(97 + i);
    if (!used.has(t)) return t;
  }
  throw invalid('attach-disk: no free target left', 'give one with --target');
};

/** Device ids QEMU has for user-created devices (disks, NICs...): what a new id must avoid. */
async function liveDeviceIds(qmp: QmpClient): Promise<Set<string>> {
  const list = await qmp.execute<{ name: string; type: string }[]>('qom-list', { path: '/machine/peripheral' });
  return new Set(list.filter((p) => p.type.startsWith('child<')).map((p) => p.name));
}

/** device_add; q35's root bus takes no hot-plugged device, so each spare root port (hotplug1..N) is tried. */
async function deviceAdd(qmp: QmpClient, dev: Record<string, unknown>, machine: string): Promise<void> {
  if (machine !== 'q35' || dev.driver !== 'virtio-blk-pci') {
    await qmp.execute('device_add', dev, { timeoutMs: 60_000 });
    return;
  }
  let last: unknown;
  for (let port = 1; port <= Q35_HOTPLUG_PORTS; port++) {
    try {
      await qmp.execute('device_add', { ...dev, bus: `hotplug${port}` }, { timeoutMs: 60_000 });
      return;
    } catch (e) { last = e; }
  }
  throw last;
}

/** The running guest's definition as it was started (spec.json), if the runtime kept one. */
function updateStartedSpec(name: string, edit: (disks: unknown[]) => unknown[]): void {
  const file = run.startedSpec(name);
  if (!existsSync(file)) return;
  try {
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    const holder = Array.isArray(doc?.disks) ? doc : Array.isArray(doc?.spec?.disks) ? doc.spec : undefined;
    if (!holder) return;
    holder.disks = edit(holder.disks);
    writeFileAtomic(file, JSON.stringify(doc, null, 2) + '\n');
  } catch { /* the runtime's file; never fail a hotplug over it */ }
}

function persistAttach(spec: VmSpec, disk: Disk): void {
  if (spec.disks.some((d, i) => (d.target ?? assignTargets(spec.disks)[i]) === disk.target)) {
    throw new QkvmError('EXISTS', `guest "${spec.name}" already has a disk ${disk.target} in its definition`, { hint: 'pick another --target' });
  }
  // Pin every target, so adding a disk never renames the ones before it.
  const targets = assignTargets(spec.disks);
  rewriteDefinition(spec.name, { disks: [...spec.disks.map((d, i) => ({ ...d, target: targets[i] })), disk] });
}

export async function attachDisk(name: string, source: string, o: AttachOptions = {}): Promise<AttachResult> {
  const bus = o.bus ?? 'virtio';
  if (bus !== 'virtio' && bus !== 'scsi') throw invalid(`attach-disk: bus "${bus}" cannot be hot-plugged`, 'use --bus virtio (or scsi when the guest has a virtio-scsi controller)');
  if (o.target && (!/^[a-z]{2,3}[a-z]$/.test(o.target) || !o.target.startsWith(TARGET_PREFIX[bus]))) {
    throw invalid(`attach-disk: target "${o.target}" does not fit bus ${bus}`, `a ${bus} target looks like ${TARGET_PREFIX[bus]}b`);
  }
  const file = normalizeDiskFile(source);
  const path = resolveDiskPath(file);
  if (!existsSync(path)) throw notFound(`attach-disk: ${path} does not exist`, `create it first: \`qkvm disk create ${shellQuote(path)} 1G\``);
  const readonly = o.readonly ?? !!(o.external || o.hostDevice);
  const placed = { file, external: o.external || undefined, hostDevice: o.hostDevice || undefined };
  const guarded = { ...placed, readonly, snapshot: false, media: 'disk' as const };
  const problem = placementProblem(placed, `attach-disk ${name}`);
  if (problem) throw invalid(problem.message, problem.hint.replace('add `external: true` to that disk', 'add --external').replace('add `hostDevice: true` to that disk', 'add --host-device').replace('also write `readonly: false`', 'also give --no-readonly'));
  return withLock('vm', name, 'attaching a disk', async () => {
    const spec = loadVm(name);
    const running = isGuestRunning(name) && o.live !== false;
    assertNotBase([guarded], `attach-disk ${name}`, () => 'the disk');
    // -U: the image may be open elsewhere; QEMU's own lock decides at blockdev-add.
    const format = o.format ?? ((await imageInfo(path, { forceShare: true }))[0].format as ImageFormat);
    if (format !== 'qcow2' && format !== 'raw') throw invalid(`attach-disk: ${path} is ${format}; qkvm attaches qcow2 and raw images`);
    const defined = new Set(assignTargets(spec.disks));
    if (!running) {
      const target = o.target ?? nextFree(TARGET_PREFIX[bus], defined);
      persistAttach(spec, { ...placed, file, format, bus, media: 'disk', readonly, snapshot: false, target });
      return { target, path, format, live: false, persisted: true };
    }
    const machine = startedSpec(name)?.machine ?? spec.machine;
    const target = await withGuestQmp(name, async (qmp) => {
      const used = await liveDeviceIds(qmp);
      const t = o.target ?? nextFree(TARGET_PREFIX[bus], new Set([...used, ...(o.persist ? defined : [])]));
      if (used.has(t)) throw new QkvmError('EXISTS', `guest "${name}" already has a device ${t}`, { hint: 'pick another --target' });
      const ro = readonly ? { 'read-only': true } : {};
      const added: string[] = [];
      try {
        await qmp.execute('blockdev-add', { driver: 'file', 'node-name': fileNodeName(t), filename: path, ...ro });
        added.push(fileNodeName(t));
        await qmp.execute('blockdev-add', { driver: format, 'node-name': formatNodeName(t), file: fileNodeName(t), ...ro });
        added.push(formatNodeName(t));
        const dev = bus === 'virtio'
          ? { driver: 'virtio-blk-pci', id: t, drive: formatNodeName(t) }
          : { driver: 'scsi-hd', id: t, drive: formatNodeName(t), bus: 'scsi0.0' };
        await deviceAdd(qmp, dev, machine);
      } catch (e) {
        // Undo in reverse, so a failed attach leaves no half-made node behind.
        for (const n of added.reverse()) await qmp.execute('blockdev-del', { 'node-name': n }).catch(() => undefined);
        throw qmpToQkvm(e, `attach-disk ${path}`, path);
      }
      return t;
    });
    const disk: Disk = { ...placed, file, format, bus, media: 'disk', readonly, snapshot: false, target };
    updateStartedSpec(name, (disks) => [...disks, disk]);
    if (o.persist) persistAttach(spec, disk);
    return { target, path, format, live: true, persisted: !!o.persist };
  });
}

export interface DetachResult { target: string; live: boolean; persisted: boolean }

export async function detachDisk(name: string, target: string, o: { persist?: boolean; live?: boolean; timeoutMs?: number } = {}): Promise<DetachResult> {
  if (!/^[a-z]{2,3}[a-z]$/.test(target)) throw invalid(`detach-disk: "${target}" is not a disk target`, 'name it as the guest sees it: vdb, sdb');
  return withLock('vm', name, 'detaching a disk', async () => {
    const spec = loadVm(name);
    const running = isGuestRunning(name) && o.live !== false;
    const targets = assignTargets(spec.disks);
    const inDef = targets.indexOf(target);
    if (running) {
      await withGuestQmp(name, async (qmp) => {
        const used = await liveDeviceIds(qmp);
        if (!used.has(target)) throw notFound(`guest "${name}" has no device ${target}`);
        try {
          // The guest must let go of the device (ACPI / PCIe hotplug): wait for DEVICE_DELETED.
          await qmp.executeAndWait('device_del', { id: target },
            { event: 'DEVICE_DELETED', where: (d) => d.device === target },
            { timeoutMs: o.timeoutMs ?? 60_000 });
        } catch (e) {
          if ((e as { code?: string }).code === 'QMP_TIMEOUT') {
            throw new QkvmError('TIMEOUT', `guest "${name}" did not release ${target}`, { hint: 'the guest OS must support hot-unplug (ACPI PCI hotplug); try again once it has booted', cause: e });
          }
          throw qmpToQkvm(e, `detach-disk ${target}`);
        }
        for (const n of [formatNodeName(target), fileNodeName(target)]) {
          await qmp.execute('blockdev-del', { 'node-name': n }).catch((e) => {
            // A node the builder did not make (snapshot=on disks use -drive) goes with its device.
            if (!/not found|Cannot find/i.test(String((e as Error).message))) throw qmpToQkvm(e, `blockdev-del ${n}`);
          });
        }
      });
      updateStartedSpec(name, (disks) => {
        const ts = assignTargets(disks as Disk[]);
        return disks.map((d, i) => ({ ...(d as Disk), target: ts[i] })).filter((d) => d.target !== target);
      });
    } else if (inDef < 0) {
      throw notFound(`guest "${name}" has no disk ${target} in its definition`);
    }
    const persist = !running || !!o.persist;
    if (persist && inDef >= 0) {
      rewriteDefinition(name, { disks: spec.disks.map((d, i) => ({ ...d, target: targets[i] })).filter((d) => d.target !== target) });
    }
    return { target, live: running, persisted: persist && inDef >= 0 };
  });
}
