// qkvm clone SRC NEW [--linked]. A full clone copies each writable disk with
// qemu-img convert; a linked clone gets qcow2 overlays on the source's disks,
// recorded so the source is not started (and written) while they exist.
import { existsSync, unlinkSync } from 'node:fs';
import { basename, dirname, extname, isAbsolute, join } from 'node:path';
import { withLock } from '../config/lock.js';
import type { Disk, VmSpec } from '../config/schema.js';
import { validateName } from '../config/schema.js';
import { loadVm, saveVm, vmExists } from '../config/store.js';
import { QkvmError } from '../errors.js';
import { assignTargets } from '../qemu/devices/block.js';
import { isGuestRunning } from './guests.js';
import { convertImage, createImage, imageInfo, type ImageFormat } from './qemu-img.js';
import { guestRunState } from './qmp.js';
import { parseDiskRef } from './resolve.js';
import { writeCloneRecord, type CloneRecord } from './links.js';
import { forgetOwned } from './owned.js';
import { newInstanceId } from '../image/cloud-init.js';
import { sshPortFor } from '../runtime/define.js';

export interface CloneOptions {
  linked?: boolean;
  /** Full clone only: where each copied disk goes (absolute paths, one per copied disk, in order), as virt-clone --file. */
  files?: string[];
  /** Name the copies as virt-clone --auto-clone does: NEW.ext, then NEW-1.ext, NEW-2.ext... */
  autoNames?: 'virt-clone';
  /** MACs for the clone's NICs, in order (default: derived from the new name at start). */
  macs?: string[];
  /** Progress of each disk copy: which disk, and the fraction done. */
  onProgress?: (disk: string, fraction: number) => void;
}

export interface CloneResult { name: string; source: string; linked: boolean; disks: { from: string; to: string; shared: boolean }[] }

/**
 * The ssh forward on loopback (the one templates/debian-12.yaml picks) moves to
 * a port of the clone's own, so that source and clone can run at once; every
 * other forward stays as the user wrote it.
 */
function newSshForward(rule: string, newName: string): string {
  const m = /^tcp:(127\.[0-9.]+):\d+-:22$/.exec(rule);
  return m ? `tcp:${m[1]}:${sshPortFor(newName)}-:22` : rule;
}

/** Whether a disk is copied (writable disks) or shared as it is (CD-ROMs, read-only disks). */
const shared = (d: Disk) => d.media === 'cdrom' || d.readonly;

/**
 * The clone's name for a disk, in the same form as the source's: a volume in the
 * same pool, or a file in the same directory. The first disk is NEW.ext, the others NEW-vdb.ext.
 */
export function cloneDiskFile(file: string, path: string, newName: string, target: string, index: number, ext: string): { file: string; path: string } {
  const base = index === 0 ? `${newName}${ext}` : `${newName}-${target}${ext}`;
  const ref = parseDiskRef(file);
  const newPath = join(dirname(path), base);
  if (isAbsolute(file) || file.startsWith('.')) return { file: newPath, path: newPath };
  return { file: ref.pool && file.includes('/') ? `${ref.pool}/${base}` : base, path: newPath };
}

export async function cloneGuest(source: string, newName: string, o: CloneOptions = {}): Promise<CloneResult> {
  validateName(newName, 'new guest name');
  if (vmExists(newName)) throw new QkvmError('EXISTS', `guest "${newName}" is already defined`, { hint: 'pick another name for the clone' });
  return withLock('vm', source, `cloning to ${newName}`, () => withLock('vm', newName, `being cloned from ${source}`, async () => {
    const spec = loadVm(source);
    let paused = false;
    if (isGuestRunning(source)) {
      const state = await guestRunState(source);
      if (state !== 'paused' || o.linked) {
        throw new QkvmError('STATE', `guest "${source}" is ${state}: ${o.linked ? 'a linked clone needs its source shut off, since the source must never be written again' : 'its disks change while it runs'}`, {
          hint: o.linked ? `shut it down first: \`qkvm shutdown ${source}\`` : `shut it down, or pause it (\`qkvm suspend ${source}\`) for the copy`,
        });
      }
      paused = true;
    }
    const targets = assignTargets(spec.disks);
    const made: string[] = [];
    const disks: Disk[] = [];
    const report: CloneResult['disks'] = [];
    const record: CloneRecord = { source, linked: !!o.linked, created: new Date().toISOString(), disks: [] };
    const copied = spec.disks.filter((d) => !shared(d)).length;
    if (o.files && o.files.length !== copied) {
      throw new QkvmError('INVALID', `guest "${source}" has ${copied} disk${copied === 1 ? '' : 's'} to copy, but ${o.files.length} --file ${o.files.length === 1 ? 'path was' : 'paths were'} given`, { hint: `give one --file per disk, or --auto-clone` });
    }
    if (o.macs && o.macs.length > spec.nics.length) throw new QkvmError('INVALID', `guest "${source}" has ${spec.nics.length} NICs, but ${o.macs.length} MACs were given`);
    let k = 0;
    try {
      for (const [i, d] of spec.disks.entries()) {
        const from = parseDiskRef(d.file).path;
        if (shared(d)) {
          disks.push({ ...d, target: targets[i] });
          report.push({ from, to: from, shared: true });
          continue;
        }
        if (d.hostDevice) throw new QkvmError('INVALID', `disk ${targets[i]} of "${source}" is a writable host device (${from}): qkvm does not copy a block device into a file`, { hint: `make it read-only in the source (\`readonly: true\`), so the clone shares it, or detach it before cloning` });
        if (!existsSync(from)) throw new QkvmError('NOT_FOUND', `disk ${targets[i]} of "${source}" (${from}) does not exist`);
        const [info] = await imageInfo(from, { forceShare: paused });
        const fmt = info.format as ImageFormat;
        if (fmt !== 'qcow2' && fmt !== 'raw') throw new QkvmError('INVALID', `disk ${targets[i]} of "${source}" is ${fmt}; qkvm clones qcow2 and raw images`);
        const ext = o.linked ? '.qcow2' : (extname(from) || (fmt === 'qcow2' ? '.qcow2' : '.img'));
        const given = o.files?.[k];
        const auto = o.autoNames ? cloneDiskFile(d.file, from, k === 0 ? newName : `${newName}-${k}`, targets[i], 0, ext) : undefined;
        const to = given ? { file: given, path: given } : auto ?? cloneDiskFile(d.file, from, newName, targets[i], i, ext);
        const placed = given ? { external: true } : {};
        k++;
        if (existsSync(to.path)) throw new QkvmError('EXISTS', `${to.path} already exists`, { hint: `move it away, or clone under another name than "${newName}"` });
        if (o.linked) {
          await createImage({ file: to.path, format: 'qcow2', backingFile: from, backingFormat: fmt, owner: { by: 'clone --linked', guest: newName } });
          made.push(to.path);
          record.disks.push({ overlay: to.path, backing: from });
          disks.push({ ...d, file: to.file, format: 'qcow2', target: targets[i] });
        } else {
          await convertImage({ source: from, target: to.path, format: fmt, sourceFormat: fmt, forceShare: paused, onProgress: (f) => o.onProgress?.(basename(from), f), owner: { by: 'clone', guest: newName } });
          made.push(to.path);
          disks.push({ ...d, ...placed, file: to.file, format: fmt, target: targets[i] });
        }
        report.push({ from, to: to.path, shared: false });
      }
      // New MACs: dropping them lets qkvm give the clone its own at start; taps follow the new name.
      const clone: VmSpec = {
        ...spec,
        name: newName,
        disks,
        nics: spec.nics.map(({ mac: _mac, ...n }, i) => {
          const nic = o.macs?.[i] ? { ...n, mac: o.macs[i] } : n;
          return nic.type === 'user' ? { ...nic, hostfwd: nic.hostfwd.map((r) => newSshForward(r, newName)) } : nic;
        }) as VmSpec['nics'],
        autostart: false,
        // A new cloud-init instance: the clone runs cloud-init's per-instance steps (host keys, hostname) again.
        ...(spec.cloudInit ? { cloudInit: { ...spec.cloudInit, 'instance-id': newInstanceId(newName) } } : {}),
      };
      saveVm(clone);
      writeCloneRecord(newName, record);
    } catch (e) {
      for (const p of made) { try { unlinkSync(p); } catch { /* gone */ } }
      await forgetOwned(made).catch(() => undefined);
      throw e;
    }
    return { name: newName, source, linked: !!o.linked, disks: report };
  }));
}
