// OVF 1.x descriptors, both ways, as pure functions (DMTF DSP0243 1.1; CIM
// ResourceAllocationSettingData for the hardware items). Export writes the
// Envelope a VMware or VirtualBox import takes; import reads what VirtualBox
// and VMware write, and lists what it left. The disks themselves (VMDK) and the
// .ova tar are handled by interop/export.ts, interop/import.ts and interop/tar.ts.
import type { VmSpec, VmSpecInput } from '../config/schema.js';
import { parseSize } from '../config/size.js';
import { smpOf } from '../config/smp.js';
import { assignTargets, targetIndex } from '../qemu/devices/block.js';
import { invalid } from '../errors.js';
import { Findings, refuseUnknown } from './findings.js';
import { el, xmlDocument, type XmlEl } from './xml.js';
import { XMLParser } from 'fast-xml-parser';

export const NS = {
  ovf: 'http://schemas.dmtf.org/ovf/envelope/1',
  rasd: 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_ResourceAllocationSettingData',
  vssd: 'http://schemas.dmtf.org/wbem/wscim/1/cim-schema/2/CIM_VirtualSystemSettingData',
  vmw: 'http://www.vmware.com/schema/ovf',
  xsi: 'http://www.w3.org/2001/XMLSchema-instance',
};
export const STREAM_OPTIMIZED = 'http://www.vmware.com/interfaces/specifications/vmdk.html#streamOptimized';

/** CIM ResourceType values used here (CIM_ResourceAllocationSettingData). */
export const RT = { other: 1, cpu: 3, memory: 4, ide: 5, scsi: 6, nic: 10, floppy: 14, cdrom: 15, dvd: 16, disk: 17, sata: 20, usb: 23, graphics: 24, sound: 35 } as const;
const RT_NAMES: Record<number, string> = { 1: 'other device', 14: 'floppy drive', 21: 'parallel port', 22: 'serial port', 23: 'USB controller', 24: 'graphics controller', 35: 'sound card' };

const NIC_SUBTYPE: Record<string, string> = { virtio: 'virtio', e1000: 'E1000', rtl8139: 'RTL8139' };

export type OvfBus = 'ide' | 'sata' | 'scsi';
export interface OvfExportOptions {
  /** The controller that virtio-blk disks go on: OVF has no virtio-blk, so without this they are refused. */
  diskBus?: OvfBus;
}

/** Refuses what OVF cannot express, before any disk is converted; returns the notes. */
export function checkOvfExport(spec: VmSpec, o: OvfExportOptions = {}): Findings {
  const f = new Findings();
  refuseUnknown(f, spec, 'OVF');
  const smp = smpOf(spec);
  if ((spec as { agent?: boolean }).agent) f.note('agent: a host-side channel of qkvm, not carried (VMware and VirtualBox have their own guest tools)');
  if (spec.kernel) f.refuse('kernel', 'OVF has no direct kernel boot (kernel, initrd, append): the guest must boot from its disk');
  if (spec.extraArgs.length) f.refuse('extraArgs', 'raw QEMU arguments have no OVF form');
  if (spec.machine === 'microvm') f.refuse('machine', 'microvm has no OVF (or VMware/VirtualBox) form');
  if (spec.numa.length) f.refuse('numa', 'OVF 1.x has no NUMA topology');
  if (spec.maxMemory) f.refuse('maxMemory', 'OVF 1.x has no memory hot-plug');
  if (smp.cpus !== smp.maxcpus) f.refuse('smp.cpus', 'OVF has one CPU count: no hot-pluggable vCPUs');
  if ((smp.threads ?? 1) > 1) f.refuse('smp.threads', 'OVF has no threads per core');
  if (parseSize(spec.memory, 'memory', 'M') % (1024 * 1024)) f.refuse('memory', 'OVF memory is written in whole MiB');
  for (const [i, d] of spec.disks.entries()) {
    if (d.snapshot) f.refuse(`disks[${i}].snapshot`, 'a disk whose writes vanish at exit has no OVF form');
    if (d.bus === 'virtio' && !o.diskBus) f.refuse(`disks[${i}].bus`, 'OVF has no virtio-blk controller: say where the disk goes with --disk-bus sata|scsi|ide (the guest then needs that controller\'s driver)');
    if (d.media === 'cdrom' && d.format === 'qcow2') f.refuse(`disks[${i}].format`, 'a CD-ROM in an OVF is an ISO image (raw)');
    if (d.cache) f.note(`disks[${i}].cache: a host-side setting, not carried`);
  }
  for (const [i, n] of spec.nics.entries()) {
    if (n.hostfwd.length) f.refuse(`nics[${i}].hostfwd`, 'OVF has no port forwards');
    for (const k of ['net', 'host', 'dhcpstart', 'dns', 'tftp', 'bootfile'] as const) if (n[k] !== undefined) f.refuse(`nics[${i}].${k}`, 'OVF networks are names only');
  }
  if (spec.machine === 'q35') f.note('machine q35: OVF has no chipset; the importing tool picks its own');
  if (spec.cpu) f.note(`cpu ${spec.cpu}: OVF has no CPU model; the importing tool picks its own`);
  if (spec.boot) f.note('boot: OVF 1.x has no boot order; importers boot from the first disk');
  for (const k of ['display', 'vga', 'tablet', 'balloon', 'serial', 'hugepages', 'memMerge', 'vcpupin', 'autostart', 'accel'] as const) {
    const v = (spec as any)[k];
    const trivial = v === undefined || v === false || (k === 'display' && v.type === 'none') || (k === 'accel' && v === 'auto') || (k === 'balloon' && v === true) || (k === 'serial' && v === true);
    if (!trivial) f.note(`${k}: a host-side setting of qkvm, not carried`);
  }
  return f;
}

export interface OvfFile { id: string; href: string; size: number }
export interface OvfExportInput {
  spec: VmSpec;
  macs: string[];
  /** Per entry of spec.disks: its file in the package and the disk's capacity in bytes (a CD-ROM's is its size). */
  files: { href: string; size: number; capacity: number }[];
  options?: OvfExportOptions;
}

/** rasd elements must come in the CIM schema's (alphabetical) order. */
function item(fields: Record<string, string | number | undefined>, extra: XmlEl[] = []): XmlEl {
  const keys = Object.keys(fields).filter((k) => fields[k] !== undefined).sort();
  return el('Item', {}, ...keys.map((k) => el(`rasd:${k}`, {}, String(fields[k]))), ...extra);
}

/** The OVF descriptor for a guest whose disks were written as `files`. Call checkOvfExport first. */
export function toOvf(input: OvfExportInput): { xml: string; notes: string[] } {
  const { spec, files } = input;
  const o = input.options ?? {};
  const f = checkOvfExport(spec, o);
  f.check(`guest "${spec.name}" cannot be written as OVF`, `change those fields (\`qkvm edit ${spec.name}\`), then export again`);
  const smp = smpOf(spec);
  const mib = parseSize(spec.memory, 'memory', 'M') / (1024 * 1024);
  const targets = assignTargets(spec.disks);

  const refs = files.map((x, i) => el('File', { 'ovf:id': `file${i + 1}`, 'ovf:href': x.href, 'ovf:size': x.size }));
  const diskEls: XmlEl[] = [];
  const hw: XmlEl[] = [];
  let id = 1;
  hw.push(item({ AllocationUnits: 'hertz * 10^6', Description: 'Number of virtual CPUs', ElementName: `${smp.maxcpus} virtual CPU(s)`, InstanceID: id++, ResourceType: RT.cpu, VirtualQuantity: smp.maxcpus },
    smp.cores && smp.cores > 1 ? [el('vmw:CoresPerSocket', { 'ovf:required': 'false' }, String(smp.cores))] : []));
  hw.push(item({ AllocationUnits: 'byte * 2^20', Description: 'Memory Size', ElementName: `${mib}MB of memory`, InstanceID: id++, ResourceType: RT.memory, VirtualQuantity: mib }));

  // One controller per bus in use (IDE: one per channel of two units, as a PC has).
  const controllerIds = new Map<string, number>();
  const controllerFor = (bus: OvfBus, unit: number): { parent: number; address: number } => {
    const channel = bus === 'ide' ? unit >> 1 : 0;
    const key = `${bus}${channel}`;
    if (!controllerIds.has(key)) {
      const cid = id++;
      controllerIds.set(key, cid);
      const fields = bus === 'ide'
        ? { Address: channel, Description: `IDE Controller`, ElementName: `ideController${channel}`, InstanceID: cid, ResourceSubType: 'PIIX4', ResourceType: RT.ide }
        : bus === 'sata'
          ? { Address: 0, Description: 'SATA Controller', ElementName: 'sataController0', InstanceID: cid, ResourceSubType: 'AHCI', ResourceType: RT.sata }
          : { Address: 0, Description: 'SCSI Controller', ElementName: 'scsiController0', InstanceID: cid, ResourceSubType: 'VirtioSCSI', ResourceType: RT.scsi };
      hw.push(item(fields));
    }
    return { parent: controllerIds.get(key)!, address: bus === 'ide' ? unit & 1 : unit };
  };

  let diskNo = 0;
  for (const [i, d] of spec.disks.entries()) {
    const bus: OvfBus = d.bus === 'virtio' ? o.diskBus! : d.bus;
    // A virtio disk moved to another bus keeps its place among that bus's units.
    const unit = d.bus === 'virtio' ? spec.disks.slice(0, i).filter((x) => (x.bus === 'virtio' ? o.diskBus : x.bus) === bus).length : targetIndex(targets[i]);
    const at = controllerFor(bus, unit);
    const fileId = `file${i + 1}`;
    if (d.media === 'cdrom') {
      hw.push(item({ AddressOnParent: at.address, AutomaticAllocation: 'true', Description: 'CD-ROM Drive', ElementName: `cdrom${i + 1}`, HostResource: `ovf:/file/${fileId}`, InstanceID: id++, Parent: at.parent, ResourceType: RT.cdrom }));
      continue;
    }
    const diskId = `vmdisk${++diskNo}`;
    diskEls.push(el('Disk', { 'ovf:capacity': files[i].capacity, 'ovf:capacityAllocationUnits': 'byte', 'ovf:diskId': diskId, 'ovf:fileRef': fileId, 'ovf:format': STREAM_OPTIMIZED }));
    hw.push(item({ AddressOnParent: at.address, Description: 'Hard Disk', ElementName: `disk${diskNo}`, HostResource: `ovf:/disk/${diskId}`, InstanceID: id++, Parent: at.parent, ResourceType: RT.disk }));
  }

  const netNames = [...new Set(spec.nics.map((n) => (n.type === 'network' ? n.network! : 'user')))];
  for (const [i, n] of spec.nics.entries()) {
    const conn = n.type === 'network' ? n.network! : 'user';
    hw.push(item({ Address: input.macs[i], AutomaticAllocation: 'true', Connection: conn, Description: `${n.model} ethernet adapter on "${conn}"`, ElementName: `ethernet${i}`, InstanceID: id++, ResourceSubType: NIC_SUBTYPE[n.model], ResourceType: RT.nic }));
  }

  const envelope = el('Envelope', { 'ovf:version': '1.0', 'xml:lang': 'en-US', xmlns: NS.ovf, 'xmlns:ovf': NS.ovf, 'xmlns:rasd': NS.rasd, 'xmlns:vssd': NS.vssd, 'xmlns:vmw': NS.vmw, 'xmlns:xsi': NS.xsi },
    el('References', {}, ...refs),
    el('DiskSection', {}, el('Info', {}, 'Virtual disk information'), ...diskEls),
    el('NetworkSection', {}, el('Info', {}, 'The list of logical networks'), ...netNames.map((n) => el('Network', { 'ovf:name': n }, el('Description', {}, n === 'user' ? 'user-mode networking (NAT through the host)' : `the ${n} network`)))),
    el('VirtualSystem', { 'ovf:id': spec.name },
      el('Info', {}, 'A virtual machine exported by qkvm'),
      el('Name', {}, spec.name),
      spec.description !== undefined && el('AnnotationSection', {}, el('Info', {}, 'A description of the virtual machine'), el('Annotation', {}, spec.description)),
      el('OperatingSystemSection', { 'ovf:id': 1 }, el('Info', {}, 'The guest operating system (unknown to qkvm)'), el('Description', {}, 'Other')),
      el('VirtualHardwareSection', {},
        el('Info', {}, 'Virtual hardware requirements'),
        el('System', {},
          el('vssd:ElementName', {}, 'Virtual Hardware Family'),
          el('vssd:InstanceID', {}, '0'),
          el('vssd:VirtualSystemIdentifier', {}, spec.name),
          el('vssd:VirtualSystemType', {}, 'vmx-07')),
        ...hw,
      ),
    ),
  );
  return { xml: xmlDocument(envelope), notes: f.notes };
}

// ---- import ---------------------------------------------------------------

export interface OvfDiskRef {
  /** Index in spec.disks that this file fills in. */
  index: number;
  href: string;
  media: 'disk' | 'cdrom';
  /** qemu-img's name for the file's format (vmdk, raw for ISO images...). */
  format: string;
  capacity?: number;
}

export interface OvfImportContext {
  networkExists: (name: string) => boolean;
}

export interface OvfImportResult { spec: VmSpecInput; files: OvfDiskRef[]; unmapped: string[]; notes: string[] }

/** OVF capacity units: "byte", "byte * 2^30", "MegaBytes", "GigaBytes". */
export function unitBytes(units: string | undefined): number {
  if (!units) return 1;
  const u = units.replace(/\s+/g, '').toLowerCase();
  const m = /^byte\*2\^(\d+)$/.exec(u);
  if (m) return 2 ** Number(m[1]);
  const p = /^byte\*10\^(\d+)$/.exec(u);
  if (p) return 10 ** Number(p[1]);
  const named: Record<string, number> = { byte: 1, bytes: 1, kilobytes: 1024, megabytes: 1024 ** 2, gigabytes: 1024 ** 3, terabytes: 1024 ** 4 };
  if (u in named) return named[u];
  throw invalid(`OVF allocation units "${units}" are not understood`);
}

/**
 * A File href must name a file beside the descriptor (or a member of the .ova):
 * relative, no "..", no absolute path, no URL, no backslash or control character.
 */
export function checkHref(href: string): string {
  const bad = !href || href.length > 255 || /^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('/') || /[\\\0-\x1f]/.test(href)
    || href.split('/').some((p) => p === '..' || p === '.' || p === '');
  if (bad) throw invalid(`OVF File href ${JSON.stringify(href)}: must be a plain file name inside the package (no "..", no absolute path, no URL)`, 'only packages whose files sit beside the descriptor are imported');
  return href;
}

const asArray = (v: any): any[] => (v === undefined ? [] : Array.isArray(v) ? v : [v]);
const str = (v: any): string | undefined => (v === undefined || v === null ? undefined : typeof v === 'object' ? (v['#text'] === undefined ? undefined : String(v['#text'])) : String(v));

/** Parses an OVF descriptor with namespace prefixes removed (VMware, VirtualBox and others prefix differently). */
function parseOvf(text: string, source: string): any {
  if (/<!DOCTYPE|<!ENTITY/i.test(text)) throw invalid(`${source}: a DOCTYPE or ENTITY declaration is not accepted`);
  const parser = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', textNodeName: '#text', removeNSPrefix: true, parseTagValue: false, parseAttributeValue: false, trimValues: true });
  try { return parser.parse(text, true); } catch (e: any) { throw invalid(`${source}: not well-formed XML: ${e?.err?.msg ?? e?.message ?? e}`); }
}

const NIC_MODEL_IN: Record<string, [string, string?]> = {
  virtio: ['virtio'], e1000: ['e1000'], e1000e: ['e1000', 'E1000e imported as e1000'], rtl8139: ['rtl8139'],
  pcnet32: ['e1000', 'PCNet32 imported as e1000 (qkvm has no PCnet)'], vmxnet3: ['virtio', 'VmxNet3 imported as virtio (qkvm has no vmxnet3; the guest needs virtio-net drivers)'],
};

/** A definition from an OVF descriptor, plus the files its disks come from. Never touches a file. */
export function fromOvf(xmlText: string, ctx: OvfImportContext, source = 'OVF descriptor'): OvfImportResult {
  const doc = parseOvf(xmlText, source);
  const env = doc.Envelope;
  if (env === undefined) throw invalid(`${source}: no <Envelope>: not an OVF descriptor`);
  if (env.VirtualSystemCollection !== undefined) throw invalid(`${source}: a VirtualSystemCollection (several machines) is not imported`, 'export one machine per OVF');
  const vs = asArray(env.VirtualSystem)[0];
  if (!vs) throw invalid(`${source}: no <VirtualSystem>`);
  const unmapped: string[] = [];
  const notes: string[] = [];

  const files = new Map<string, string>();
  for (const fl of asArray(env.References?.File)) files.set(fl['@_id'], checkHref(String(fl['@_href'] ?? '')));
  const disks = new Map<string, { fileRef?: string; capacity?: number; format?: string }>();
  for (const d of asArray(env.DiskSection?.Disk)) {
    const cap = d['@_capacity'] !== undefined ? Number(d['@_capacity']) * unitBytes(d['@_capacityAllocationUnits']) : undefined;
    disks.set(d['@_diskId'], { fileRef: d['@_fileRef'], capacity: cap, format: d['@_format'] });
  }

  const name = str(vs.Name) ?? vs['@_id'] ?? '';
  const spec: VmSpecInput = { name: String(name), disks: [], nics: [] };
  const annotation = str(vs.AnnotationSection?.Annotation);
  if (annotation) spec.description = annotation;
  if (vs.OperatingSystemSection) notes.push(`OperatingSystemSection ${vs.OperatingSystemSection['@_id'] ?? ''} (${str(vs.OperatingSystemSection.Description) ?? '?'}): qkvm keeps no OS type`);
  if (vs.Machine) notes.push('VirtualBox\'s own <vbox:Machine> section was ignored (its settings duplicate the OVF hardware items, read instead)');
  for (const k of ['ProductSection', 'EulaSection', 'StartupSection', 'DeploymentOptionSection']) if (vs[k] ?? env[k]) unmapped.push(`<${k}>`);

  const hwSection = asArray(vs.VirtualHardwareSection)[0];
  if (!hwSection) throw invalid(`${source}: no <VirtualHardwareSection>`);
  const items = [...asArray(hwSection.Item), ...asArray(hwSection.StorageItem), ...asArray(hwSection.EthernetPortItem)];
  const rt = (it: any) => Number(str(it.ResourceType));
  const byId = new Map(items.map((it) => [str(it.InstanceID), it]));
  const busOf = (parent: string | undefined): { bus?: 'ide' | 'sata' | 'scsi'; channel: number } => {
    const c = parent ? byId.get(parent) : undefined;
    if (!c) return { channel: 0 };
    const t = rt(c);
    const channel = Number(str(c.Address) ?? 0) || 0;
    if (t === RT.ide) return { bus: 'ide', channel };
    if (t === RT.sata) return { bus: 'sata', channel };
    if (t === RT.scsi) {
      const sub = (str(c.ResourceSubType) ?? '').toLowerCase();
      if (sub !== 'virtioscsi' && sub !== 'virtio-scsi') notes.push(`SCSI controller ${sub || '(no subtype)'}: qkvm's SCSI disks are on virtio-scsi (the guest needs its driver)`);
      return { bus: 'scsi', channel };
    }
    return { channel: 0 };
  };

  const refs: OvfDiskRef[] = [];
  let cores: number | undefined;
  for (const it of items) {
    const t = rt(it);
    const label = str(it.ElementName) ?? str(it.Caption) ?? `item ${str(it.InstanceID)}`;
    if (t === RT.cpu) {
      spec.smp = Number(str(it.VirtualQuantity) ?? 1);
      const cps = it.CoresPerSocket;
      if (cps !== undefined) cores = Number(str(cps));
    } else if (t === RT.memory) {
      const bytes = Number(str(it.VirtualQuantity)) * unitBytes(str(it.AllocationUnits) ?? 'byte * 2^20');
      spec.memory = `${Math.ceil(bytes / 1024 ** 2)}M`;
    } else if (t === RT.ide || t === RT.scsi || t === RT.sata) {
      // Controllers are read through their disks' Parent.
    } else if (t === RT.disk || t === RT.cdrom || t === RT.dvd) {
      const host = str(asArray(it.HostResource)[0]) ?? '';
      const { bus, channel } = busOf(str(it.Parent));
      if (!bus) { unmapped.push(`${label}: on a controller qkvm has no bus for`); continue; }
      const unit = Number(str(it.AddressOnParent) ?? 0) || 0;
      const index = bus === 'ide' ? channel * 2 + unit : unit;
      const prefix = bus === 'ide' ? 'hd' : 'sd';
      const media = t === RT.disk ? 'disk' : 'cdrom';
      let href: string | undefined;
      let format = 'raw';
      let capacity: number | undefined;
      const dm = /^(?:ovf:)?\/disk\/(.+)$/.exec(host);
      const fm = /^(?:ovf:)?\/file\/(.+)$/.exec(host);
      if (dm) {
        const d = disks.get(dm[1]);
        if (!d) { unmapped.push(`${label}: disk ${dm[1]} is not in the DiskSection`); continue; }
        if (!d.fileRef) { unmapped.push(`${label}: a new empty disk of ${d.capacity ?? '?'} bytes (no file) is not created`); continue; }
        href = files.get(d.fileRef);
        capacity = d.capacity;
        format = /vmdk/i.test(d.format ?? '') || /\.vmdk$/i.test(href ?? '') ? 'vmdk' : /vhd/i.test(d.format ?? '') ? 'vpc' : /qcow/i.test(d.format ?? '') ? 'qcow2' : 'vmdk';
      } else if (fm) {
        href = files.get(fm[1]);
      } else if (media === 'cdrom') {
        unmapped.push(`${label}: an empty CD-ROM drive (qkvm has no empty drives)`);
        continue;
      }
      if (!href) { unmapped.push(`${label}: its file is not in References`); continue; }
      const letters = index < 26 ? String.fromCharCode(97 + index) : undefined;
      if (!letters) { unmapped.push(`${label}: unit ${index} is beyond qkvm's disk names`); continue; }
      refs.push({ index: (spec.disks as unknown[]).length, href, media, format, capacity });
      (spec.disks as unknown[]).push({ file: '', bus, media, target: `${prefix}${letters}`, ...(media === 'cdrom' ? { readonly: true } : {}) });
    } else if (t === RT.nic) {
      const conn = str(asArray(it.Connection)[0]) ?? '';
      const sub = (str(it.ResourceSubType) ?? '').toLowerCase();
      const nic: Record<string, unknown> = {};
      if (conn && conn !== 'user' && ctx.networkExists(conn)) { nic.type = 'network'; nic.network = conn; }
      else {
        nic.type = 'user';
        if (conn && conn !== 'user') notes.push(`${label}: network "${conn}" is not a qkvm network: imported as a user-mode NIC (\`qkvm edit\` to change)`);
      }
      const model = NIC_MODEL_IN[sub];
      if (model) { nic.model = model[0]; if (model[1]) notes.push(`${label}: ${model[1]}`); }
      else if (sub) { nic.model = 'e1000'; notes.push(`${label}: NIC type ${sub} imported as e1000`); }
      else nic.model = 'e1000';
      const mac = str(it.Address);
      if (mac && /^([0-9a-f]{2}[:-]?){5}[0-9a-f]{2}$/i.test(mac)) nic.mac = (mac.replace(/[:-]/g, '').match(/../g) ?? []).join(':').toLowerCase();
      (spec.nics as unknown[]).push(nic);
    } else {
      unmapped.push(`${label}: ${RT_NAMES[t] ?? `ResourceType ${t}`}`);
    }
  }
  // VMware's own settings (firmware=efi, ...) can decide whether the guest boots: list them, never skip them silently.
  for (const c of [...asArray(hwSection.Config), ...asArray(hwSection.ExtraConfig)]) unmapped.push(`vmw:Config ${c['@_key']}=${c['@_value']}`);
  if (cores && typeof spec.smp === 'number' && cores > 1 && spec.smp % cores === 0) spec.smp = { sockets: spec.smp / cores, cores, threads: 1, maxcpus: spec.smp };
  if (!refs.some((r) => r.media === 'disk')) notes.push('no hard disk: the guest has nothing to boot from');
  return { spec, files: refs, unmapped, notes };
}
