// Disks and CD-ROMs. Each one is a protocol node (the host file) under a format
// node (qcow2 or raw), both -blockdev, plus the -device the guest sees. Names are
// derived from the guest-side target so that QMP commands can find them later:
//   node-name drive-vda-file (protocol) -> drive-vda (format) -> device id vda.
import { invalidField, props, transportOf, virtioDevice, type Device, type MachineType, type Option, type Prop } from './option.js';

export type DiskBus = 'virtio' | 'ide' | 'scsi' | 'sata';
export type DiskCache = 'none' | 'writeback' | 'writethrough' | 'unsafe' | 'directsync';

export interface DiskDef {
  file: string;
  format?: 'qcow2' | 'raw';
  bus: DiskBus;
  media: 'disk' | 'cdrom';
  cache?: DiskCache;
  readonly: boolean;
  snapshot: boolean;
  target?: string;
}

export const TARGET_PREFIX: Record<DiskBus, string> = { virtio: 'vd', ide: 'hd', scsi: 'sd', sata: 'sd' };

/** node-name of the format node (the one QMP block commands name). */
export const formatNodeName = (target: string) => `drive-${target}`;
/** node-name of the protocol node under it (the host file). */
export const fileNodeName = (target: string) => `drive-${target}-file`;

/** The suffix's position, Linux style: vda=0, vdb=1, vdz=25, vdaa=26. */
export function targetIndex(target: string): number {
  const s = target.slice(2);
  const code = (ch: string) => ch.charCodeAt(0) - 97;
  return s.length === 1 ? code(s) : (code(s[0]) + 1) * 26 + code(s[1]);
}

const letters = (i: number) => (i < 26 ? String.fromCharCode(97 + i) : String.fromCharCode(96 + Math.floor(i / 26)) + String.fromCharCode(97 + (i % 26)));

/** Keeps the targets given, and gives the others the next free name of their bus (vd?, sd?, hd?). */
export function assignTargets(disks: Pick<DiskDef, 'bus' | 'target'>[]): string[] {
  const used = new Set(disks.map((d) => d.target).filter((t): t is string => !!t));
  return disks.map((d) => {
    if (d.target) return d.target;
    for (let i = 0; i < 26 * 27; i++) {
      const t = TARGET_PREFIX[d.bus] + letters(i);
      if (!used.has(t)) {
        used.add(t);
        return t;
      }
    }
    throw invalidField('disks', disks.length, 'too many disks');
  });
}

/** The definition's format, else from the extension (.qcow2 is qcow2, anything else raw). Files are not probed. */
export const formatOf = (d: Pick<DiskDef, 'file' | 'format'>): 'qcow2' | 'raw' =>
  d.format ?? (/\.qcow2$/i.test(d.file) ? 'qcow2' : 'raw');

interface CacheMode { direct: boolean; noFlush: boolean; writeCache: boolean; says: string }

/** QEMU's cache= shorthands, spelled out as -blockdev wants them. */
export const CACHE_MODES: Record<DiskCache, CacheMode> = {
  writeback: { direct: false, noFlush: false, writeCache: true, says: 'through the host page cache, and the guest flushes when it needs data safe' },
  none: { direct: true, noFlush: false, writeCache: true, says: 'with O_DIRECT, bypassing the host page cache; the guest still flushes the disk\'s own cache' },
  writethrough: { direct: false, noFlush: false, writeCache: false, says: 'through the host page cache, each write reaching the disk before it completes' },
  directsync: { direct: true, noFlush: false, writeCache: false, says: 'with O_DIRECT, each write reaching the disk before it completes' },
  unsafe: { direct: false, noFlush: true, writeCache: true, says: 'ignoring flushes: fastest, but a host crash loses data (for installs and scratch guests)' },
};

const BUS_WORDS: Record<DiskBus, string> = { virtio: 'a virtio-blk', ide: 'an IDE', scsi: 'a virtio-scsi', sata: 'a SATA (AHCI)' };

export interface BlockDeviceInit {
  /** Where in the definition, for errors: disks[2]. */
  field: string;
  disk: DiskDef;
  target: string;
  /** The host path, POOL/VOLUME already resolved. */
  path: string;
  machine: MachineType;
}

export class BlockDevice implements Device {
  constructor(readonly b: BlockDeviceInit) {}

  get id(): string {
    return this.b.target;
  }

  get format(): 'qcow2' | 'raw' {
    return formatOf(this.b.disk);
  }

  private get cdrom(): boolean {
    return this.b.disk.media === 'cdrom';
  }

  private get readOnly(): boolean {
    return this.b.disk.readonly || this.cdrom;
  }

  /** The bus name and unit the guest device plugs into. */
  address(): Prop[] {
    const { disk, target, machine } = this.b;
    const i = targetIndex(target);
    switch (disk.bus) {
      case 'virtio':
        return [];
      case 'scsi':
        return [['bus', 'scsi0.0'], ['channel', 0], ['scsi-id', i], ['lun', 0]];
      case 'ide':
        // pc: two IDE buses of two units (hda hdb | hdc hdd); q35: one AHCI port each.
        return machine === 'q35' ? [['bus', `ide.${i}`]] : [['bus', `ide.${i >> 1}`], ['unit', i & 1]];
      case 'sata':
        return machine === 'q35' ? [['bus', `ide.${i}`]] : [['bus', `ahci0.${i}`]];
    }
  }

  /** The IDE/AHCI place this disk takes (q35's IDE and SATA drives share its AHCI ports). */
  port(): string | undefined {
    if (this.b.disk.bus !== 'ide' && this.b.disk.bus !== 'sata') return undefined;
    return this.address().map(([k, v]) => `${k}=${v}`).join(',');
  }

  validate(): void {
    const { field, disk, target, machine } = this.b;
    const prefix = TARGET_PREFIX[disk.bus];
    if (!/^[a-z]{2,3}[a-z]$/.test(target)) throw invalidField(`${field}.target`, target, 'must look like vda, sdb or hdc');
    if (!target.startsWith(prefix)) {
      throw invalidField(`${field}.target`, target, `a ${disk.bus} disk's target starts with "${prefix}"`, `use ${prefix}a, ${prefix}b...`);
    }
    if (!disk.file) throw invalidField(`${field}.file`, disk.file, 'must name an image');
    if (machine === 'microvm' && (disk.bus === 'ide' || disk.bus === 'sata')) {
      throw invalidField(`${field}.bus`, disk.bus, 'the microvm machine has no IDE or SATA controller', 'use bus virtio or scsi');
    }
    if (this.cdrom && disk.bus === 'virtio') {
      throw invalidField(`${field}.bus`, disk.bus, 'a CD-ROM needs an ide, sata or scsi bus (virtio-blk has no removable media)');
    }
    if (this.cdrom && disk.snapshot) {
      throw invalidField(`${field}.snapshot`, disk.snapshot, 'a CD-ROM is read-only already: snapshot does not apply');
    }
    if (disk.readonly && !this.cdrom && (disk.bus === 'ide' || disk.bus === 'sata')) {
      throw invalidField(`${field}.readonly`, disk.readonly, `QEMU's ${disk.bus} hard disks cannot be read-only`, 'use bus virtio or scsi, or media cdrom');
    }
    const i = targetIndex(target);
    if (disk.bus === 'ide' && machine === 'pc' && i > 3) {
      throw invalidField(`${field}.target`, target, 'the pc machine has four IDE places: hda, hdb, hdc, hdd');
    }
    if ((disk.bus === 'ide' || disk.bus === 'sata') && i > 5) {
      throw invalidField(`${field}.target`, target, `an AHCI controller has six ports: ${prefix}a to ${prefix}f`);
    }
    if (disk.bus === 'scsi' && i > 255) throw invalidField(`${field}.target`, target, 'virtio-scsi has 256 targets');
  }

  private cacheProps(): Prop[] {
    const c = this.b.disk.cache && CACHE_MODES[this.b.disk.cache];
    return c ? [['cache.direct', c.direct], ['cache.no-flush', c.noFlush]] : [];
  }

  private deviceDriver(): string {
    const { disk, machine } = this.b;
    if (disk.bus === 'virtio') return virtioDevice('blk', transportOf(machine));
    if (disk.bus === 'scsi') return this.cdrom ? 'scsi-cd' : 'scsi-hd';
    return this.cdrom ? 'ide-cd' : 'ide-hd';
  }

  private backendArgs(): Option[] {
    const { disk, target, path } = this.b;
    const cache = disk.cache ? CACHE_MODES[disk.cache] : undefined;
    const ro = this.readOnly ? ', read-only' : '';
    if (disk.snapshot) {
      // -blockdev has no snapshot switch (it would need an overlay file made first), so -drive if=none.
      return [{
        opt: '-drive',
        value: props([
          ['file', path], ['format', this.format], ['if', 'none'], ['id', formatNodeName(target)],
          ['snapshot', true], ['cache', disk.cache], ['readonly', disk.readonly || undefined],
        ]),
        explain: `opens ${path} as ${this.format} with snapshot=on: the guest's writes go to a temporary overlay that vanishes when QEMU exits (the older -drive because -blockdev has no such switch; if=none leaves the attaching to -device)${cache ? `; cache=${disk.cache}: ${cache.says}` : ''}`,
      }];
    }
    return [
      {
        opt: '-blockdev',
        value: props([['driver', 'file'], ['node-name', fileNodeName(target)], ['filename', path], ...this.cacheProps(), ['read-only', this.readOnly || undefined]]),
        explain: `opens the host file ${path} as the protocol node ${fileNodeName(target)}${ro}${cache ? `; cache.direct=${cache.direct ? 'on' : 'off'} and cache.no-flush=${cache.noFlush ? 'on' : 'off'} (cache ${disk.cache}): I/O ${cache.says}` : ''}`,
      },
      {
        opt: '-blockdev',
        value: props([['driver', this.format], ['node-name', formatNodeName(target)], ['file', fileNodeName(target)], ...this.cacheProps(), ['read-only', this.readOnly || undefined]]),
        explain: `reads that file as a ${this.format} image: the format node ${formatNodeName(target)}, the name QMP block commands (snapshots, jobs, eject) use${ro}`,
      },
    ];
  }

  toArgs(): Option[] {
    const { disk, target } = this.b;
    const cache = disk.cache ? CACHE_MODES[disk.cache] : undefined;
    const what = this.cdrom ? 'CD-ROM drive' : 'disk';
    const seen = disk.bus === 'virtio' ? `; usually /dev/${target} in a Linux guest` : '';
    return [
      ...this.backendArgs(),
      {
        opt: '-device',
        value: props([
          ['', this.deviceDriver()], ['drive', formatNodeName(target)], ['id', target],
          ...this.address(), ['write-cache', cache?.writeCache],
        ]),
        explain: `plugs ${formatNodeName(target)} into the guest as ${BUS_WORDS[disk.bus]} ${what} with id ${target}${seen}${cache ? `; write-cache=${cache.writeCache ? 'on: the guest sees a disk cache and must flush it' : 'off: every write is reported done only once it is on disk'}` : ''}`,
      },
    ];
  }
}

/** Every disk of a guest plus the controllers they need (virtio-scsi, AHCI on pc). */
export class Storage implements Device {
  readonly devices: BlockDevice[];

  constructor(readonly disks: BlockDeviceInit[], readonly machine: MachineType) {
    this.devices = disks.map((d) => new BlockDevice(d));
  }

  validate(): void {
    const seen = new Map<string, string>();
    const ports = new Map<string, string>();
    for (const d of this.devices) {
      d.validate();
      const prev = seen.get(d.id);
      if (prev) throw invalidField(`${d.b.field}.target`, d.id, `${prev} already uses this target`);
      seen.set(d.id, d.b.field);
      const port = d.port();
      if (port) {
        const other = ports.get(port);
        if (other) throw invalidField(`${d.b.field}.target`, d.id, `it would take port ${port}, which ${other} already has`, 'give one of them another target letter');
        ports.set(port, d.b.field);
      }
    }
  }

  toArgs(): Option[] {
    const out: Option[] = [];
    const uses = (bus: DiskBus) => this.devices.some((d) => d.b.disk.bus === bus);
    if (uses('scsi')) {
      out.push({
        opt: '-device',
        value: props([['', virtioDevice('scsi', transportOf(this.machine))], ['id', 'scsi0']]),
        explain: 'adds a virtio-scsi controller (scsi0) for the SCSI disks and CD-ROMs below',
      });
    }
    if (uses('sata') && this.machine === 'pc') {
      out.push({
        opt: '-device',
        value: props([['', 'ahci'], ['id', 'ahci0']]),
        explain: 'adds an AHCI SATA controller (ahci0) with six ports for the SATA drives below (q35 has one built in, pc does not)',
      });
    }
    for (const d of this.devices) out.push(...d.toArgs());
    return out;
  }
}
