// -drive and its shorthands (-hda, -cdrom, -fda, a bare image name). 7.2 still
// takes -drive file=,media=,cache=,format=,if=; what it no longer takes on the
// drive (serial=, addr=, geometry, if=scsi on pc/q35) moves to a -device.
import { expandShortBooleans, formatKeyVal, getKey, parseKeyVal, withoutKeys, type KeyVal } from './keyval.js';
import { worst } from './status.js';
import type { LegacyStatus, Rewrite } from './types.js';

export interface DriveContext {
  /** Set once the SCSI controller for if=scsi drives is in the modern command. */
  scsiController?: string;
}

/** Keys that left -drive in QEMU 3.0 for the device (name on the device). */
const DEVICE_KEYS: Record<string, string> = { serial: 'serial', addr: 'addr', cyls: 'cyls', heads: 'heads', secs: 'secs', trans: 'bios-chs-trans' };

/** -hda FILE and friends as the -drive QEMU turns them into. */
export function shorthandDrive(option: string, file: string): KeyVal[] {
  const at: Record<string, KeyVal[]> = {
    '-hda': [{ key: 'index', value: '0' }, { key: 'media', value: 'disk' }],
    FILE: [{ key: 'index', value: '0' }, { key: 'media', value: 'disk' }],
    '-hdb': [{ key: 'index', value: '1' }, { key: 'media', value: 'disk' }],
    '-hdc': [{ key: 'index', value: '2' }, { key: 'media', value: 'disk' }],
    '-hdd': [{ key: 'index', value: '3' }, { key: 'media', value: 'disk' }],
    '-cdrom': [{ key: 'index', value: '2' }, { key: 'media', value: 'cdrom' }],
    '-fda': [{ key: 'index', value: '0' }, { key: 'if', value: 'floppy' }],
    '-fdb': [{ key: 'index', value: '1' }, { key: 'if', value: 'floppy' }],
  };
  return [{ key: 'file', value: file }, ...(at[option] ?? [])];
}

export function translateDrive(value: string, newId: () => string, ctx: DriveContext): Rewrite {
  const kv = parseKeyVal(value);
  let status: LegacyStatus = 'ok';
  const notes: string[] = [];
  const fixed = expandShortBooleans(kv);
  if (fixed.length) {
    status = worst(status, 'deprecated');
    notes.push(`Short-form booleans (${fixed.join(', ')}) are deprecated since QEMU 6.0: write ${fixed.map((f) => `${f}=on`).join(', ')}.`);
  }
  let out = kv;
  if (getKey(out, 'boot') !== undefined) {
    status = worst(status, 'removed');
    notes.push('boot=on was qemu-kvm\'s way to boot from a virtio disk; QEMU rejects it now, and SeaBIOS boots virtio disks by itself (-boot order= or bootindex= on a -device choose).');
    out = withoutKeys(out, 'boot');
  }
  const cache = getKey(out, 'cache');
  if (cache === 'off' || cache === 'on') {
    const to = cache === 'off' ? 'none' : 'writeback';
    if (cache === 'on') status = worst(status, 'removed');
    notes.push(cache === 'off' ? 'cache=off is the old spelling of cache=none.' : 'cache=on is refused by QEMU 7.2; it meant cache=writeback.');
    out = out.map((k) => (k.key === 'cache' ? { key: 'cache', value: to } : k));
  }
  const iface = getKey(out, 'if') ?? 'ide';
  const moved = out.filter((k) => k.key in DEVICE_KEYS);
  const needsDevice = moved.length > 0 || iface === 'scsi';
  if (!needsDevice) return { status, note: notes.join(' ') || undefined, modern: ['-drive', formatKeyVal(out)] };

  status = worst(status, 'removed');
  if (moved.length) notes.push(`${moved.map((k) => `${k.key}=`).join(', ')} left -drive in QEMU 3.0: they are properties of the -device that shows the drive to the guest, with -drive if=none,id=ID.`);
  if (iface === 'scsi') notes.push('if=scsi no longer adds a SCSI controller on pc or q35 (QEMU 7.2: "machine type does not support if=scsi"); the controller and the disk are -device options now.');
  const driveId = getKey(out, 'id') ?? newId();
  const cdrom = getKey(out, 'media') === 'cdrom';
  const index = Number(getKey(out, 'index') ?? NaN);
  const unit = getKey(out, 'unit');
  const bus = getKey(out, 'bus');
  const dev: KeyVal[] = [];
  const pre: string[] = [];
  if (iface === 'virtio') {
    dev.push({ key: 'driver', value: 'virtio-blk-pci', implied: true });
  } else if (iface === 'scsi') {
    if (!ctx.scsiController) {
      ctx.scsiController = 'scsi0';
      pre.push('-device', 'lsi53c895a,id=scsi0');
      notes.push('The LSI 53C895A controller is what if=scsi used to add; virtio-scsi-pci is faster if the guest has drivers.');
    }
    dev.push({ key: 'driver', value: cdrom ? 'scsi-cd' : 'scsi-hd', implied: true }, { key: 'bus', value: `${ctx.scsiController}.0` });
    const scsiId = unit ?? (Number.isFinite(index) ? String(index) : undefined);
    if (scsiId !== undefined) dev.push({ key: 'scsi-id', value: scsiId });
  } else {
    dev.push({ key: 'driver', value: cdrom ? 'ide-cd' : 'ide-hd', implied: true });
    const b = bus ?? (Number.isFinite(index) ? String(Math.floor(index / 2)) : undefined);
    const u = unit ?? (Number.isFinite(index) ? String(index % 2) : undefined);
    if (b !== undefined) dev.push({ key: 'bus', value: `ide.${b}` });
    if (u !== undefined) dev.push({ key: 'unit', value: u });
  }
  dev.push({ key: 'drive', value: driveId });
  for (const k of moved) dev.push({ key: DEVICE_KEYS[k.key], value: k.value });
  const drive = [...withoutKeys(out, 'if', 'index', 'bus', 'unit', 'id', ...Object.keys(DEVICE_KEYS)), { key: 'if', value: 'none' }, { key: 'id', value: driveId }];
  return { status, note: notes.join(' '), modern: [...pre, '-drive', formatKeyVal(drive), '-device', formatKeyVal(dev)] };
}
