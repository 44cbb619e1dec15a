// Guest snapshots. Live: QMP's snapshot-save / snapshot-load / snapshot-delete
// jobs, which hold RAM and device state. Shut off: qemu-img snapshot on each
// disk, disk-only. Either way the snapshot is stored inside every qcow2 image.
import { withLock } from '../config/lock.js';
import { loadVm } from '../config/store.js';
import type { VmSpec } from '../config/schema.js';
import { QkvmError, invalid, notFound } from '../errors.js';
import type { QmpClient } from '../qmp/client.js';
import { assignTargets, formatNodeName, formatOf } from '../qemu/devices/block.js';
import { isGuestRunning } from './guests.js';
import { imageInfo, imageSnapshot, validateSnapshotTag, type ImageSnapshot } from './qemu-img.js';
import { withGuestQmp, qmpToQkvm } from './qmp.js';
import { resolveDiskPath } from './resolve.js';
import { addSnapshot, autoSnapshotName, readBook, removeSnapshot, revertTo, writeBook, type SnapshotMeta } from './snapshot-meta.js';
import type { ProgressCallback } from './progress.js';


export interface SnapshotDisk { target: string; path: string; node: string }

const WHY = 'internal snapshots are stored inside each disk image, so every disk of the guest must be a writable qcow2 image';

/**
 * The disks a snapshot covers: every disk (not CD-ROMs, whose media never
 * change). A raw, read-only or snapshot=on disk is refused, with the reason.
 */
export function snapshotDisks(spec: VmSpec): SnapshotDisk[] {
  const targets = assignTargets(spec.disks);
  const out: SnapshotDisk[] = [];
  spec.disks.forEach((d, i) => {
    if (d.media === 'cdrom') return;
    const t = targets[i];
    if (formatOf(d) !== 'qcow2') {
      throw new QkvmError('INVALID', `guest "${spec.name}": disk ${t} (${d.file}) is raw: ${WHY}`, { hint: `convert it: \`qkvm disk convert ${resolveDiskPath(d.file)} NEW.qcow2 --format qcow2\`, then point the definition at the copy` });
    }
    if (d.readonly) throw new QkvmError('INVALID', `guest "${spec.name}": disk ${t} (${d.file}) is read-only: ${WHY}`, { hint: 'make it writable, or detach it before taking snapshots' });
    if (d.snapshot) throw new QkvmError('INVALID', `guest "${spec.name}": disk ${t} (${d.file}) has snapshot=on: its writes go to a throw-away overlay, which a snapshot cannot keep`, { hint: 'turn snapshot off for that disk' });
    out.push({ target: t, path: resolveDiskPath(d.file), node: formatNodeName(t) });
  });
  if (!out.length) throw invalid(`guest "${spec.name}" has no disk to snapshot`, WHY);
  return out;
}

interface BlockInfo { qdev?: string; device?: string; removable?: boolean; inserted?: { 'node-name': string; drv: string; ro: boolean; file: string } }

/** The running guest's disks, from QEMU itself (hot-plugged ones included). */
async function liveSnapshotDisks(qmp: QmpClient, name: string): Promise<SnapshotDisk[]> {
  const blocks = await qmp.execute<BlockInfo[]>('query-block');
  const out: SnapshotDisk[] = [];
  for (const b of blocks) {
    const ins = b.inserted;
    if (!ins) continue;
    const target = /peripheral\/([^/]+)/.exec(b.qdev ?? '')?.[1] ?? ins['node-name'];
    // A CD-ROM's media never change: it is left out, as with qemu-img.
    // QEMU says removable for a CD-ROM drive (ide-cd, scsi-cd), whatever its id (hda for a cloud-init seed).
    const cdrom = b.removable === true || /-cd\b|cdrom/.test(b.qdev ?? '') || (b.device ?? '').includes('cd');
    if (ins.ro && cdrom) continue;
    if (ins.ro) throw new QkvmError('INVALID', `guest "${name}": disk ${target} (${ins.file}) is read-only: ${WHY}`, { hint: 'detach it before taking snapshots' });
    if (ins.drv !== 'qcow2') throw new QkvmError('INVALID', `guest "${name}": disk ${target} (${ins.file}) is ${ins.drv}: ${WHY}`, { hint: 'convert it to qcow2 while the guest is shut off' });
    if (!ins['node-name'] || ins['node-name'].startsWith('#')) {
      throw new QkvmError('INVALID', `guest "${name}": disk ${target} has no node name (snapshot=on?): its writes are thrown away, a snapshot cannot keep them`);
    }
    out.push({ target, path: ins.file, node: ins['node-name'] });
  }
  if (!out.length) throw invalid(`guest "${name}" has no disk to snapshot`, WHY);
  return out;
}

interface JobInfo { id: string; type: string; status: string; 'current-progress': number; 'total-progress': number; error?: string }

let jobSeq = 0;

/** Starts a snapshot job, waits for it to conclude, surfaces its error, dismisses it. */
async function runJob(qmp: QmpClient, command: string, args: Record<string, unknown>, onProgress?: ProgressCallback): Promise<void> {
  const jobId = `qkvm-${command}-${process.pid}-${++jobSeq}`;
  let timer: NodeJS.Timeout | undefined;
  if (onProgress) {
    timer = setInterval(() => {
      qmp.execute<JobInfo[]>('query-jobs').then((jobs) => {
        const j = jobs.find((x) => x.id === jobId);
        if (j && j['total-progress'] > 0) onProgress(j['current-progress'] / j['total-progress']);
      }).catch(() => { /* the job or the session ended */ });
    }, 250);
  }
  try {
    await qmp.executeAndWait(command, { 'job-id': jobId, ...args },
      { event: 'JOB_STATUS_CHANGE', where: (d) => d.id === jobId && d.status === 'concluded' },
      { timeoutMs: 30 * 60_000 });
  } catch (e) {
    throw qmpToQkvm(e, command);
  } finally {
    if (timer) clearInterval(timer);
  }
  const jobs = await qmp.execute<JobInfo[]>('query-jobs');
  const job = jobs.find((x) => x.id === jobId);
  await qmp.execute('job-dismiss', { id: jobId }).catch(() => { /* already gone */ });
  if (job?.error) throw new QkvmError('QEMU', `${command} failed: ${job.error}`);
  onProgress?.(1);
}

export interface SnapshotEntry {
  name: string;
  created?: string;
  vmState: boolean;
  /** Bytes of RAM and device state in the snapshot (0 for disk-only). */
  vmStateSize: number;
  description?: string;
  parent?: string;
  current: boolean;
}

async function diskSnapshots(path: string, running: boolean): Promise<ImageSnapshot[]> {
  const [info] = await imageInfo(path, { forceShare: running });
  return info.snapshots ?? [];
}

/** Snapshots as the first disk holds them, joined with qkvm's metadata. */
export async function listSnapshots(name: string): Promise<SnapshotEntry[]> {
  const spec = loadVm(name);
  const running = isGuestRunning(name);
  let first = snapshotDisksLenient(spec)[0]?.path;
  if (running) {
    // A running guest's disks are QEMU's (a hot-plugged disk, absent from the definition, holds
    // the snapshots taken since): the same first disk that snapshot-save and revert use.
    first = (await withGuestQmp(name, (qmp) => liveSnapshotDisks(qmp, name)).catch(() => undefined))?.[0]?.path ?? first;
  }
  const book = readBook(name);
  const onDisk = first ? await diskSnapshots(first, running) : [];
  return onDisk.map((s) => {
    const meta = book.snapshots.find((m) => m.name === s.name);
    return {
      name: s.name,
      created: meta?.created ?? new Date(s['date-sec'] * 1000).toISOString(),
      vmState: s['vm-state-size'] > 0,
      vmStateSize: s['vm-state-size'],
      description: meta?.description,
      parent: meta?.parent,
      current: book.current === s.name,
    };
  });
}

function snapshotDisksLenient(spec: VmSpec): SnapshotDisk[] {
  try { return snapshotDisks(spec); } catch { return []; }
}

export interface CreateSnapshotOptions { description?: string; onProgress?: ProgressCallback }

/** fsfreeze: set when the guest agent froze the guest's filesystems around a live snapshot. */
export async function createSnapshot(name: string, snap: string | undefined, o: CreateSnapshotOptions = {}): Promise<SnapshotMeta & { live: boolean; fsfreeze?: { frozen: number; thawed: number } }> {
  return withLock('vm', name, 'taking a snapshot', async () => {
    const spec = loadVm(name);
    const book = readBook(name);
    const running = isGuestRunning(name);
    const disks = running ? [] : snapshotDisks(spec);
    const existing = running ? [] : await diskSnapshots(disks[0].path, false);
    const tag = snap ?? autoSnapshotName(book, new Date(), existing.map((s) => s.name));
    validateSnapshotTag(tag);
    if (book.snapshots.some((s) => s.name === tag) || existing.some((s) => s.name === tag)) {
      throw new QkvmError('EXISTS', `guest "${name}" already has a snapshot "${tag}"`, { hint: 'pick another name, or delete the old one first' });
    }
    let fsfreeze: { frozen: number; thawed: number } | undefined;
    if (running) {
      await withGuestQmp(name, async (qmp) => {
        const live = await liveSnapshotDisks(qmp, name);
        const taken = await diskSnapshots(live[0].path, true);
        if (taken.some((s) => s.name === tag)) throw new QkvmError('EXISTS', `guest "${name}" already has a snapshot "${tag}"`);
        // The RAM and device state go into the first disk's image.
        const save = () => runJob(qmp, 'snapshot-save', { tag, vmstate: live[0].node, devices: live.map((d) => d.node) }, o.onProgress);
        // With an answering guest agent the guest's filesystems are frozen around the save (as Proxmox does).
        const { agentAnswers, withAgent } = await import('../agent/session.js');
        if (await agentAnswers(name, 2000) === 'answers') {
          const { withFrozenFilesystems } = await import('../agent/freeze.js');
          fsfreeze = (await withAgent(name, (qga) => withFrozenFilesystems(qga, name, save))).freeze;
        } else {
          await save();
        }
      });
    } else {
      const done: string[] = [];
      try {
        for (const d of disks) {
          await imageSnapshot('create', d.path, tag);
          done.push(d.path);
        }
      } catch (e) {
        // All disks or none: a snapshot on some disks only could not be reverted safely.
        for (const p of done) await imageSnapshot('delete', p, tag).catch(() => undefined);
        throw e;
      }
      o.onProgress?.(1);
    }
    const meta = { name: tag, description: o.description, created: new Date().toISOString(), vmState: running, ...(fsfreeze ? { fsFrozen: true } : {}) };
    const next = addSnapshot(book, meta);
    writeBook(name, next);
    return { ...next.snapshots.find((s) => s.name === tag)!, live: running, fsfreeze };
  });
}

async function findSnapshot(name: string, snap: string, path: string, running: boolean): Promise<ImageSnapshot> {
  const found = (await diskSnapshots(path, running)).find((s) => s.name === snap);
  if (!found) throw notFound(`guest "${name}" has no snapshot "${snap}"`, `see \`qkvm snapshot list ${name}\``);
  return found;
}

/** Reverts to SNAP, or to the current snapshot when snap is undefined. */
/**
 * After a live revert: a guest whose filesystems were frozen in the snapshot is
 * thawed through its agent. Returns how many were thawed (undefined: nothing to do).
 */
async function thawAfterLoad(name: string, frozenInSnapshot: boolean): Promise<number | undefined> {
  const { agentAnswers, withAgent } = await import('../agent/session.js');
  if (!frozenInSnapshot) {
    // Snapshots from before this flag, or another tool's: thaw only what the agent says is frozen.
    if (await agentAnswers(name, 1000) !== 'answers') return undefined;
  }
  const { fsfreezeStatus, fsthaw } = await import('../agent/commands.js');
  try {
    return await withAgent(name, async (qga) => ((await fsfreezeStatus(qga)) === 'frozen' ? fsthaw(qga) : undefined), { syncTimeoutMs: 10_000 });
  } catch (e) {
    if (!frozenInSnapshot) return undefined;
    throw new QkvmError('STATE', `guest "${name}" was reverted, but its filesystems stay frozen (the snapshot was taken frozen): ${(e as Error).message}`, {
      hint: `thaw them: \`qkvm agent ${name} fsfreeze thaw\``, cause: e,
    });
  }
}

/** thawed: how many filesystems the guest agent thawed after a live revert. */
export async function revertSnapshot(name: string, snap: string | undefined, o: { onProgress?: ProgressCallback } = {}): Promise<{ name: string; live: boolean; thawed?: number }> {
  return withLock('vm', name, 'reverting to a snapshot', async () => {
    const book = readBook(name);
    const tag = snap ?? book.current;
    if (!tag) throw notFound(`guest "${name}" has no current snapshot`, 'name the snapshot to revert to');
    validateSnapshotTag(tag);
    if (isGuestRunning(name)) {
      await withGuestQmp(name, async (qmp) => {
        const live = await liveSnapshotDisks(qmp, name);
        const s = await findSnapshot(name, tag, live[0].path, true);
        if (s['vm-state-size'] === 0) {
          throw new QkvmError('STATE', `snapshot "${tag}" of "${name}" is disk-only (taken while the guest was shut off): it has no RAM state to load into a running guest`, { hint: `shut the guest down, then revert: \`qkvm snapshot revert ${name} ${tag}\`` });
        }
        // QEMU stops the guest before it loads, and leaves it stopped when the load fails:
        // so every disk is checked first (a disk attached after the snapshot does not have it).
        for (const d of live.slice(1)) {
          if (!(await diskSnapshots(d.path, true)).some((x) => x.name === tag)) {
            throw new QkvmError('STATE', `disk ${d.target} (${d.path}) of "${name}" has no snapshot "${tag}": it was attached after the snapshot was taken`, { hint: `detach it first: \`qkvm detach-disk ${name} ${d.target}\`` });
          }
        }
        try {
          await runJob(qmp, 'snapshot-load', { tag, vmstate: live[0].node, devices: live.map((d) => d.node) }, o.onProgress);
        } catch (e) {
          const st = await qmp.execute<{ status: string }>('query-status').catch(() => undefined);
          if (st && st.status !== 'running' && e instanceof QkvmError) {
            throw new QkvmError(e.code, `${e.message}; QEMU left the guest stopped (${st.status})`, { hint: `its state may be partly loaded: revert to another snapshot, or \`qkvm destroy ${name}\``, cause: e });
          }
          throw e;
        }
      });
      writeBook(name, revertTo(book, tag));
      // A snapshot taken with frozen filesystems loads a frozen guest: thaw it, as the snapshot itself did.
      const thawed = await thawAfterLoad(name, book.snapshots.find((x) => x.name === tag)?.fsFrozen === true);
      return { name: tag, live: true, thawed };
    }
    const disks = snapshotDisks(loadVm(name));
    // Check every disk first, so a missing snapshot changes nothing.
    for (const d of disks) await findSnapshot(name, tag, d.path, false);
    for (const d of disks) await imageSnapshot('apply', d.path, tag);
    o.onProgress?.(1);
    writeBook(name, revertTo(book, tag));
    return { name: tag, live: false };
  });
}

export async function deleteSnapshot(name: string, snap: string): Promise<{ name: string; live: boolean }> {
  validateSnapshotTag(snap);
  return withLock('vm', name, 'deleting a snapshot', async () => {
    const book = readBook(name);
    let live = false;
    if (isGuestRunning(name)) {
      live = true;
      await withGuestQmp(name, async (qmp) => {
        const disks = await liveSnapshotDisks(qmp, name);
        await findSnapshot(name, snap, disks[0].path, true);
        await runJob(qmp, 'snapshot-delete', { tag: snap, devices: disks.map((d) => d.node) });
      });
    } else {
      const disks = snapshotDisks(loadVm(name));
      let any = false;
      for (const d of disks) {
        const has = (await diskSnapshots(d.path, false)).some((s) => s.name === snap);
        if (has) { await imageSnapshot('delete', d.path, snap); any = true; }
      }
      if (!any && !book.snapshots.some((s) => s.name === snap)) throw notFound(`guest "${name}" has no snapshot "${snap}"`);
    }
    writeBook(name, removeSnapshot(book, snap));
    return { name: snap, live };
  });
}
