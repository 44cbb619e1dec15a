// The destination's half of a migration between hosts, run there by the source
// over ssh (`qkvm migrate-incoming NAME`, a hidden command): libvirt's "prepare"
// and "finish" phases. It defines the guest (or checks that the same
// definition is there), checks or creates its disks, starts QEMU with
// -incoming, and with --copy-storage serves the new disks over NBD for the
// source's mirror. What it makes is recorded, so --abort undoes only that.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { ensureDir, writeFileAtomic } from '../config/atomic.js';
import { withLock } from '../config/lock.js';
import { run } from '../config/paths.js';
import { parseVmSpec, type VmSpec } from '../config/schema.js';
import { loadVm, removeVmFile, saveVm, vmExists } from '../config/store.js';
import { QkvmError, invalid } from '../errors.js';
import { assignTargets, formatNodeName, formatOf } from '../qemu/devices/block.js';
import { connectQmp } from '../runtime/qmp.js';
import { startGuest } from '../runtime/start.js';
import { destroyGuest } from '../runtime/stop.js';
import { guestStatus } from '../runtime/state.js';
import { resolveDiskPath } from '../storage/resolve.js';
import { createImage } from '../storage/qemu-img.js';
import { readOwned } from '../storage/owned.js';
import { unlinkIfSame } from '../storage/remove.js';
import { specDifferences } from './live.js';
import { parseTcpUri } from './quote.js';

/** What the source sends (as JSON on stdin). */
export interface IncomingRequest {
  spec: unknown;
  /** tcp:ADDR:PORT for QEMU's -incoming. */
  listen: string;
  /** With --copy-storage: where to serve the disks over NBD, and each disk's size. */
  copyStorage?: { nbd: { host: string; port: number }; disks: { target: string; bytes: number }[] };
}

export interface IncomingRecord { wroteDefinition: boolean; createdImages: string[]; nbd: boolean }

/** A disk the source mirrors: its node (drive-vda), the path here, and the NBD export name. */
export interface MirrorDisk { target: string; node: string; path: string; export: string }

/** The disks that move with --copy-storage: writable ones; CD-ROMs and read-only images stay (they must exist here). */
export function mirroredDisks(spec: VmSpec): MirrorDisk[] {
  const targets = assignTargets(spec.disks);
  return spec.disks.flatMap((d, i) => (d.media === 'cdrom' || d.readonly || d.snapshot ? [] : [{
    target: targets[i], node: formatNodeName(targets[i]), path: resolveDiskPath(d.file), export: formatNodeName(targets[i]),
  }]));
}

function readRecord(name: string): IncomingRecord | undefined {
  try { return JSON.parse(readFileSync(run.migrationRecord(name), 'utf8')); } catch { return undefined; }
}

function writeRecord(name: string, r: IncomingRecord): void {
  ensureDir(dirname(run.migrationRecord(name)));
  writeFileAtomic(run.migrationRecord(name), JSON.stringify(r));
}

/** Prepare: returns the record of what was made here. On any failure, what it made is undone before it throws. */
export async function prepareIncoming(name: string, req: IncomingRequest): Promise<IncomingRecord & { disks: MirrorDisk[] }> {
  const spec = parseVmSpec(req.spec, 'the definition the source sent');
  if (spec.name !== name) throw invalid(`migrate-incoming: the definition names "${spec.name}", not "${name}"`);
  parseTcpUri(req.listen);
  const rec: IncomingRecord = { wroteDefinition: false, createdImages: [], nbd: false };
  // The checks and what is written here happen under the guest's lock; start takes it again itself.
  const disks = await withLock('vm', name, 'receiving a migration', async () => {
    const st = await guestStatus(name, { query: false });
    if (st.state !== 'shut off') throw new QkvmError('STATE', `guest "${name}" is ${st.state} here`, { hint: 'a guest can run on one host at a time' });
    if (vmExists(name)) {
      const diff = specDifferences(spec, loadVm(name));
      if (diff.length) throw invalid(`guest "${name}" is defined here differently (${diff.join(', ')})`, `remove it here first (qkvm undefine ${name}), or make the two definitions the same`);
    }
    const disks = req.copyStorage ? mirroredDisks(spec) : [];
    const moving = new Set(disks.map((d) => d.path));
    // Without --copy-storage every disk must already be here, at the path the definition gives.
    const targets = assignTargets(spec.disks);
    spec.disks.forEach((d, i) => {
      const p = resolveDiskPath(d.file);
      if (!moving.has(p) && !existsSync(p)) {
        throw new QkvmError('NOT_FOUND', `disk ${targets[i]} of "${name}" (${p}) is not on this host`, {
          hint: req.copyStorage ? 'read-only disks and CD-ROMs are not copied: put them here first' : 'copy it here first, or migrate with --copy-storage',
        });
      }
    });
    for (const d of disks) if (existsSync(d.path)) throw new QkvmError('EXISTS', `disk ${d.target} of "${name}": ${d.path} already exists here`, { hint: '--copy-storage writes a new image and never overwrites one: move that file away, or migrate without --copy-storage' });
    try {
      if (!vmExists(name)) { saveVm(spec); rec.wroteDefinition = true; writeRecord(name, rec); }
      for (const d of disks) {
        const size = req.copyStorage!.disks.find((x) => x.target === d.target)?.bytes;
        if (!size) throw invalid(`migrate-incoming: no size for disk ${d.target}`);
        const disk = spec.disks[targets.indexOf(d.target)];
        ensureDir(dirname(d.path));
        await createImage({ file: d.path, format: formatOf(disk), size, owner: { by: 'migrate --copy-storage', guest: name } });
        rec.createdImages.push(d.path);
        writeRecord(name, rec);
      }
      return disks;
    } catch (e) {
      await undo(name, rec).catch(() => undefined);
      throw e;
    }
  });
  try {
    await startGuest(name, { incoming: req.listen });
    if (req.copyStorage) {
      const qmp = await connectQmp(name);
      try {
        await qmp.execute('nbd-server-start', { addr: { type: 'inet', data: { host: req.copyStorage.nbd.host, port: String(req.copyStorage.nbd.port) } } }, { timeoutMs: 10_000 });
        rec.nbd = true;
        writeRecord(name, rec);
        for (const d of disks) await qmp.execute('nbd-server-add', { device: d.node, name: d.export, writable: true }, { timeoutMs: 10_000 });
      } finally { await qmp.close().catch(() => undefined); }
    }
    writeRecord(name, rec);
    return { ...rec, disks };
  } catch (e) {
    await undo(name, rec).catch(() => undefined);
    throw e;
  }
}

async function undo(name: string, rec: IncomingRecord): Promise<void> {
  const st = await guestStatus(name, { query: false });
  if (st.state !== 'shut off') await destroyGuest(name).catch(() => undefined);
  const owned = readOwned();
  for (const p of rec.createdImages) unlinkIfSame(p, owned);
  if (rec.wroteDefinition) removeVmFile(name);
  rmSync(run.migrationRecord(name), { force: true });
}

/** Abort: undoes what prepare recorded here, and nothing else. */
export async function abortIncoming(name: string): Promise<{ undone: boolean }> {
  const rec = readRecord(name);
  if (!rec) return { undone: false };
  await undo(name, rec);
  return { undone: true };
}

/** Finish: the guest runs here now; stop the NBD server and forget the record (what was made is the guest's). */
export async function finishIncoming(name: string): Promise<{ state: string }> {
  const rec = readRecord(name);
  if (rec?.nbd) {
    const qmp = await connectQmp(name);
    try { await qmp.execute('nbd-server-stop', {}, { timeoutMs: 10_000 }); } finally { await qmp.close().catch(() => undefined); }
  }
  rmSync(run.migrationRecord(name), { force: true });
  // The guest runs by itself once the state is in (-incoming without -S); a paused source stays paused.
  const deadline = Date.now() + 10_000;
  let st = await guestStatus(name);
  while (st.state === 'incoming' && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    st = await guestStatus(name);
  }
  return { state: st.state };
}
