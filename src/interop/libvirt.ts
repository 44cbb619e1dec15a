// libvirt domain XML, both ways, as pure functions. Export writes what `virsh
// define` takes and what boots the same guest under libvirt; import reads
// `virsh dumpxml` output into a definition and lists what it left behind.
// Reference: https://libvirt.org/formatdomain.html (libvirt 9.0 here).
import type { VmSpec, VmSpecInput } from '../config/schema.js';
import { parseSize, formatSize } from '../config/size.js';
import { smpOf } from '../config/smp.js';
import { assignTargets, formatOf } from '../qemu/devices/block.js';
import { invalid } from '../errors.js';
import { Findings, refuseUnknown } from './findings.js';
import { attr, child, children, el, elementNames, parseXml, text, xmlDocument, type XmlEl } from './xml.js';

export interface NetworkFacts { mode: string; bridge?: string; hostfwd: string[] }

export interface LibvirtExportContext {
  /** The host path of a disk's `file` (POOL/VOLUME resolved). */
  diskPath: (file: string) => string;
  /** A qkvm network's mode and bridge, or undefined when it is not defined. */
  network: (name: string) => NetworkFacts | undefined;
  /** The MAC of each NIC, as qkvm would give it at start. */
  macs: string[];
  /** The domain type for `accel: auto` (kvm unless said otherwise). */
  domainType?: 'kvm' | 'qemu';
  emulator?: string;
  /** A file that libvirt's QEMU writes the serial console to (`<log file=...>`). */
  serialLog?: string;
}

const VGA_TO_LIBVIRT: Record<string, string> = { std: 'vga', cirrus: 'cirrus', vmware: 'vmvga', qxl: 'qxl', virtio: 'virtio', none: 'none' };
const BOOT_DEV: Record<string, string> = { a: 'fd', c: 'hd', d: 'cdrom', n: 'network' };
const KiB = (s: string | number, what: string) => Math.ceil(parseSize(s, what, 'M') / 1024);

/** `qemu64,+ssse3,-avx` -> model and features; any key=value is refused by the caller. */
function cpuElement(model: string, f: Findings): XmlEl | undefined {
  const [name, ...flags] = model.split(',');
  if (name === 'host') return el('cpu', { mode: 'host-passthrough', check: 'none' });
  const features: XmlEl[] = [];
  for (const fl of flags) {
    const m = /^([+-])([A-Za-z0-9_.-]+)$/.exec(fl);
    if (!m) { f.refuse('cpu', `CPU property "${fl}" has no libvirt form (only +feature and -feature do)`); continue; }
    features.push(el('feature', { policy: m[1] === '+' ? 'require' : 'disable', name: m[2] }));
  }
  if (name === 'max') return el('cpu', { mode: 'maximum', check: 'none' }, ...features);
  return el('cpu', { mode: 'custom', match: 'exact', check: 'none' }, el('model', { fallback: 'forbid' }, name), ...features);
}

/** The domain XML for a definition; throws INVALID naming every field libvirt cannot express. */
export function toLibvirt(spec: VmSpec, ctx: LibvirtExportContext): { xml: string; notes: string[] } {
  const f = new Findings();
  const smp = smpOf(spec);
  refuseUnknown(f, spec, 'libvirt');
  const type = spec.accel === 'tcg' ? 'qemu' : spec.accel === 'kvm' ? 'kvm' : ctx.domainType ?? 'kvm';
  if (spec.machine === 'microvm') f.refuse('machine', 'libvirt does not run the microvm machine type');
  if (spec.extraArgs.length) f.refuse('extraArgs', 'raw QEMU arguments would need libvirt\'s <qemu:commandline>, which runs them unchecked; express them as fields, or leave them out of the definition first');
  if (spec.boot?.once) f.refuse('boot.once', 'libvirt has no boot-once in the domain XML (virt-install --boot uses a transient change)');
  if (spec.display.password) f.refuse('display.password', 'libvirt keeps a VNC password inside the domain XML (passwd=), and qkvm never writes a password into a file; set one with `virsh domdisplay`/`virsh update-device` after the import');
  if (spec.maxMemory && !spec.numa.length) f.refuse('maxMemory', 'libvirt allows memory hot-plug only on a guest with NUMA cells: add numa nodes to the definition');
  if (spec.autostart) f.note('autostart: not part of the domain XML; run `virsh autostart NAME` after `virsh define`');
  if (spec.serial) f.note('serial: libvirt gives the console a pty (`virsh console NAME`) instead of qkvm\'s socket');

  const memKiB = KiB(spec.memory, 'memory');
  const os = el('os', {},
    el('type', { arch: 'x86_64', machine: spec.machine }, 'hvm'),
    spec.kernel && el('kernel', {}, spec.kernel),
    spec.initrd && el('initrd', {}, spec.initrd),
    spec.append !== undefined && el('cmdline', {}, spec.append),
    ...(spec.boot?.order ?? '').split('').filter(Boolean).map((c) => el('boot', { dev: BOOT_DEV[c] })),
    spec.boot?.menu !== undefined && el('bootmenu', { enable: spec.boot.menu ? 'yes' : 'no' }),
  );

  let cpu: XmlEl | undefined = spec.cpu ? cpuElement(spec.cpu, f) : undefined;
  const topo = smp.sockets !== undefined || smp.cores !== undefined || smp.threads !== undefined
    ? el('topology', { sockets: smp.sockets ?? 1, dies: 1, cores: smp.cores ?? 1, threads: smp.threads ?? 1 }) : undefined;
  const numa = spec.numa.length ? el('numa', {}, ...spec.numa.map((n, i) => el('cell', { id: i, cpus: n.cpus, memory: KiB(n.memory, `numa[${i}].memory`), unit: 'KiB' }))) : undefined;
  if (topo || numa) {
    cpu ??= el('cpu', {});
    // libvirt's schema puts <model> before <topology> before <feature> before <numa>.
    const model = cpu.children.filter((c) => typeof c !== 'string' && c.name === 'model');
    const feats = cpu.children.filter((c) => typeof c !== 'string' && c.name === 'feature');
    cpu = { ...cpu, children: [...model, ...(topo ? [topo] : []), ...feats, ...(numa ? [numa] : [])] };
  }

  const targets = assignTargets(spec.disks);
  const disks: XmlEl[] = spec.disks.map((d, i) => {
    const field = `disks[${i}]`;
    let bus: string = d.bus;
    // qkvm puts IDE disks of a q35 guest on its AHCI ports: that is libvirt's sata.
    if (d.bus === 'ide' && spec.machine === 'q35') { bus = 'sata'; f.note(`${field}: an IDE disk on q35 is on its AHCI controller: written as bus='sata'`); }
    const path = ctx.diskPath(d.file);
    const ro = d.readonly || d.media === 'cdrom';
    return el('disk', { type: d.hostDevice ? 'block' : 'file', device: d.media },
      el('driver', { name: 'qemu', type: formatOf({ file: path, format: d.format }), cache: d.cache }),
      el('source', d.hostDevice ? { dev: path } : { file: path }),
      el('target', { dev: targets[i], bus }),
      ro && el('readonly'),
      d.snapshot && el('transient'),
    );
  });
  const controllers: XmlEl[] = spec.disks.some((d) => d.bus === 'scsi') ? [el('controller', { type: 'scsi', index: 0, model: 'virtio-scsi' })] : [];

  const nics: XmlEl[] = spec.nics.map((n, i) => {
    const field = `nics[${i}]`;
    let user = n.type === 'user';
    let hostfwd = n.hostfwd;
    let source: XmlEl | undefined;
    if (n.type === 'network') {
      const net = ctx.network(n.network!);
      if (!net) f.refuse(`${field}.network`, `network "${n.network}" is not defined here, so its bridge is unknown`);
      else if (net.mode === 'user') { user = true; hostfwd = [...net.hostfwd, ...hostfwd]; }
      else source = el('source', { bridge: net.bridge });
      if (net && net.mode !== 'user') f.note(`${field}: joins bridge ${net.bridge} of network "${n.network}"; libvirt makes its own tap (vnetN) and does not run qkvm's network (start it with \`qkvm net-start ${n.network}\`)`);
    }
    if (hostfwd.length) f.refuse(`${field}.hostfwd`, 'a user-mode (slirp) interface in libvirt 9.0 has no port forwards (<portForward> needs the passt backend)');
    for (const k of ['host', 'dhcpstart', 'dns', 'tftp', 'bootfile'] as const) if (n[k] !== undefined) f.refuse(`${field}.${k}`, `libvirt's user-mode interface has no ${k}`);
    let ip: XmlEl | undefined;
    if (n.net) { const [address, prefix] = n.net.split('/'); ip = el('ip', { family: 'ipv4', address, prefix }); }
    const driver = n.vhost === 'on' ? el('driver', { name: 'vhost' }) : n.vhost === 'off' ? el('driver', { name: 'qemu' }) : undefined;
    return el('interface', { type: user ? 'user' : 'bridge' },
      el('mac', { address: ctx.macs[i] }),
      source, ip,
      el('model', { type: n.model }),
      driver,
    );
  });

  const graphics = spec.display.type === 'vnc'
    ? [el('graphics', { type: 'vnc', port: 5900 + spec.display.display, autoport: 'no', listen: spec.display.listen }, el('listen', { type: 'address', address: spec.display.listen }))]
    : [];
  const vga = spec.vga ?? (spec.display.type === 'vnc' ? 'std' : 'none');
  const video = [el('video', {}, el('model', { type: VGA_TO_LIBVIRT[vga], ...(vga === 'none' ? {} : { heads: 1, primary: 'yes' }) }))];
  const serial = spec.serial
    ? [el('serial', { type: 'pty' }, ctx.serialLog && el('log', { file: ctx.serialLog, append: 'off' }), el('target', { type: 'isa-serial', port: 0 }, el('model', { name: 'isa-serial' }))),
      el('console', { type: 'pty' }, el('target', { type: 'serial', port: 0 }))]
    : [];
  const memoryBacking = spec.hugepages || spec.memMerge === false
    ? el('memoryBacking', {}, spec.hugepages && el('hugepages'), spec.memMerge === false && el('nosharepages')) : undefined;
  const cputune = spec.vcpupin && Object.keys(spec.vcpupin).length
    ? el('cputune', {}, ...Object.entries(spec.vcpupin).map(([v, set]) => el('vcpupin', { vcpu: v, cpuset: set }))) : undefined;

  f.check(`guest "${spec.name}" cannot be written as libvirt domain XML`, `change those fields (\`qkvm edit ${spec.name}\`), then export again`);

  const domain = el('domain', { type },
    el('name', {}, spec.name),
    spec.description !== undefined && el('description', {}, spec.description),
    spec.maxMemory && el('maxMemory', { slots: spec.memorySlots, unit: 'KiB' }, String(KiB(spec.maxMemory, 'maxMemory'))),
    el('memory', { unit: 'KiB' }, String(memKiB)),
    el('currentMemory', { unit: 'KiB' }, String(memKiB)),
    memoryBacking,
    el('vcpu', { placement: 'static', ...(smp.cpus !== smp.maxcpus ? { current: smp.cpus } : {}) }, String(smp.maxcpus)),
    cputune,
    os,
    // Without <acpi/> libvirt starts QEMU with ACPI off: no power button, no clean shutdown.
    el('features', {}, el('acpi'), el('apic')),
    cpu,
    el('clock', { offset: 'utc' }),
    el('on_poweroff', {}, 'destroy'),
    el('on_reboot', {}, 'restart'),
    el('on_crash', {}, 'destroy'),
    el('devices', {},
      ctx.emulator && el('emulator', {}, ctx.emulator),
      ...disks,
      ...controllers,
      ...nics,
      ...serial,
      // The guest agent's channel: libvirt makes the UNIX socket itself (virsh qemu-agent-command uses it).
      (spec as { agent?: boolean }).agent === true && el('channel', { type: 'unix' }, el('target', { type: 'virtio', name: 'org.qemu.guest_agent.0' })),
      spec.tablet && el('input', { type: 'tablet', bus: 'usb' }),
      ...graphics,
      ...video,
      el('memballoon', { model: spec.balloon ? 'virtio' : 'none' }),
    ),
  );
  return { xml: xmlDocument(domain), notes: f.notes };
}

// ---- import ---------------------------------------------------------------

export interface LibvirtImportContext {
  /** A qkvm network whose bridge is this one, if any. */
  networkForBridge: (bridge: string) => string | undefined;
  /** Whether a qkvm network of this name exists (for <interface type='network'>). */
  networkExists: (name: string) => boolean;
  /** Whether a host path is inside a qkvm storage pool (else the disk is `external`). */
  insidePool: (path: string) => boolean;
}

export interface ImportResult { spec: VmSpecInput; unmapped: string[]; notes: string[] }

const UNIT_BYTES: Record<string, number> = { b: 1, bytes: 1, k: 1024, kib: 1024, kb: 1000, m: 1024 ** 2, mib: 1024 ** 2, mb: 1e6, g: 1024 ** 3, gib: 1024 ** 3, gb: 1e9, t: 1024 ** 4, tib: 1024 ** 4, tb: 1e12 };

/** A libvirt scaled integer (<memory unit='KiB'>524288</memory>) as bytes. */
export function scaledBytes(node: any, defaultUnit = 'KiB'): number | undefined {
  const t = text(node);
  if (t === undefined) return undefined;
  const unit = (attr(node, 'unit') ?? defaultUnit).toLowerCase();
  const mult = UNIT_BYTES[unit];
  if (!mult || !/^\d+$/.test(t.trim())) return undefined;
  return Number(t.trim()) * mult;
}

/** Memory as qkvm writes it: whole MiB ("512M"), or the exact bytes when they are not whole MiB. */
const memString = (bytes: number) => (bytes % (1024 ** 2) === 0 ? formatSize(bytes) : `${Math.ceil(bytes / 1024 ** 2)}M`);

const MACHINE_RE: [RegExp, VmSpec['machine']][] = [[/^(pc|pc-i440fx-[\d.]+)$/, 'pc'], [/^(q35|pc-q35-[\d.]+)$/, 'q35']];
const LIBVIRT_TO_VGA: Record<string, string> = { vga: 'std', cirrus: 'cirrus', vmvga: 'vmware', qxl: 'qxl', virtio: 'virtio', none: 'none', bochs: 'std' };
const DEV_TO_BOOT: Record<string, string> = { fd: 'a', hd: 'c', cdrom: 'd', network: 'n' };
const NIC_MODELS = ['virtio', 'e1000', 'rtl8139'];
/** Elements that libvirt adds on its own and that carry nothing qkvm lacks. */
const IMPLICIT_DEVICES = new Set(['emulator', 'controller', 'input', 'console', 'audio']);

/** A definition from libvirt domain XML; never touches a file. Disk paths stay as they are. */
export function fromLibvirt(xmlText: string, ctx: LibvirtImportContext, source = 'domain XML'): ImportResult {
  const doc = parseXml(xmlText, source);
  const dom = child(doc, 'domain');
  if (!dom) throw invalid(`${source}: no <domain> element: not libvirt domain XML`, 'give the output of `virsh dumpxml NAME`');
  const unmapped: string[] = [];
  const notes: string[] = [];
  const spec: VmSpecInput = { name: text(child(dom, 'name')) ?? '' };
  const handled = new Set(['name', 'memory', 'currentMemory', 'maxMemory', 'vcpu', 'os', 'cpu', 'devices', 'features', 'memoryBacking', 'cputune', 'description', 'clock', 'on_poweroff', 'on_reboot', 'on_crash', 'uuid', 'metadata', 'resource', 'seclabel', 'pm']);
  for (const k of elementNames(dom)) if (!handled.has(k)) unmapped.push(`<${k}>`);
  for (const k of ['uuid', 'metadata', 'resource', 'seclabel']) if (child(dom, k) !== undefined) notes.push(`<${k}>: libvirt's own, not needed by qkvm`);

  const type = attr(dom, 'type');
  spec.accel = type === 'qemu' ? 'tcg' : type === 'kvm' ? 'kvm' : 'auto';
  if (type !== 'qemu' && type !== 'kvm') unmapped.push(`<domain type='${type}'>`);

  const cur = scaledBytes(child(dom, 'currentMemory'));
  const max = scaledBytes(child(dom, 'memory'));
  const mem = cur ?? max;
  if (mem) spec.memory = memString(mem);
  if (cur && max && cur < max) notes.push(`<memory> ${formatSize(max)} is above <currentMemory> ${formatSize(cur)}: the guest gets ${formatSize(cur)}; qkvm's balloon can lower it, not raise it past that`);
  const maxMem = child(dom, 'maxMemory');
  if (maxMem) { spec.maxMemory = memString(scaledBytes(maxMem)!); spec.memorySlots = Number(attr(maxMem, 'slots')); }

  const vcpu = child(dom, 'vcpu');
  const maxcpus = Number(text(vcpu) ?? 1);
  const current = attr(vcpu, 'current') !== undefined ? Number(attr(vcpu, 'current')) : maxcpus;
  const cpu = child(dom, 'cpu');
  const topo = child(cpu, 'topology');
  if (topo) {
    const dies = Number(attr(topo, 'dies') ?? 1);
    if (dies !== 1) unmapped.push(`<topology dies='${dies}'>`);
    spec.smp = { sockets: Number(attr(topo, 'sockets') ?? 1), cores: Number(attr(topo, 'cores') ?? 1), threads: Number(attr(topo, 'threads') ?? 1), maxcpus, ...(current !== maxcpus ? { cpus: current } : {}) };
  } else {
    spec.smp = current !== maxcpus ? { cpus: current, maxcpus } : maxcpus;
  }

  if (cpu) {
    const mode = attr(cpu, 'mode') ?? 'custom';
    const feats = children(cpu, 'feature').map((x) => {
      const p = attr(x, 'policy') ?? 'require';
      if (p === 'require' || p === 'force') return `+${attr(x, 'name')}`;
      if (p === 'disable' || p === 'forbid') return `-${attr(x, 'name')}`;
      unmapped.push(`<cpu><feature policy='${p}' name='${attr(x, 'name')}'>`);
      return undefined;
    }).filter(Boolean);
    const model = text(child(cpu, 'model'));
    const name = mode === 'host-passthrough' || mode === 'host-model' ? 'host' : mode === 'maximum' ? 'max' : model;
    if (mode === 'host-model') notes.push(`<cpu mode='host-model'>: imported as cpu: host (qkvm has no host-model)`);
    // libvirt fills in qemu64 as the model of a <cpu> that only had a topology: it is QEMU's own default, so it stays implicit.
    if (name && !(name === 'qemu64' && !feats.length)) spec.cpu = [name, ...feats].join(',');
    const cells = children(child(cpu, 'numa'), 'cell');
    if (cells.length) spec.numa = cells.map((c) => ({ cpus: attr(c, 'cpus')!, memory: memString(scaledBytes({ '#text': attr(c, 'memory'), '@_unit': attr(c, 'unit') ?? 'KiB' })!) }));
  }

  const os = child(dom, 'os');
  const osType = child(os, 'type');
  const machine = attr(osType, 'machine');
  if (machine) {
    const m = MACHINE_RE.find(([re]) => re.test(machine));
    if (m) { spec.machine = m[1]; if (machine !== m[1]) notes.push(`machine ${machine}: imported as ${m[1]} (qkvm uses QEMU's current version of the machine type)`); }
    else unmapped.push(`<type machine='${machine}'>`);
  }
  if (attr(osType, 'arch') && attr(osType, 'arch') !== 'x86_64') unmapped.push(`<type arch='${attr(osType, 'arch')}'>`);
  if (child(os, 'kernel')) spec.kernel = text(child(os, 'kernel'));
  if (child(os, 'initrd')) spec.initrd = text(child(os, 'initrd'));
  if (child(os, 'cmdline')) spec.append = text(child(os, 'cmdline')) ?? '';
  let order = children(os, 'boot').map((b) => DEV_TO_BOOT[attr(b, 'dev') ?? ''] ?? '').join('');
  // libvirt writes <boot dev='hd'/> when none was given: the same as qkvm's default, so it is not an order.
  if (order === 'c') order = '';
  const menu = attr(child(os, 'bootmenu'), 'enable');
  if (order || menu) spec.boot = { ...(order ? { order } : {}), ...(menu ? { menu: menu === 'yes' } : {}) };
  for (const k of elementNames(os)) if (!['type', 'kernel', 'initrd', 'cmdline', 'boot', 'bootmenu'].includes(k)) unmapped.push(`<os><${k}>`);

  const mb = child(dom, 'memoryBacking');
  if (mb) {
    if (child(mb, 'hugepages') !== undefined) spec.hugepages = true;
    if (child(mb, 'nosharepages') !== undefined) spec.memMerge = false;
    for (const k of elementNames(mb)) if (!['hugepages', 'nosharepages'].includes(k)) unmapped.push(`<memoryBacking><${k}>`);
  }
  const pins = children(child(dom, 'cputune'), 'vcpupin');
  if (pins.length) spec.vcpupin = Object.fromEntries(pins.map((p) => [attr(p, 'vcpu')!, attr(p, 'cpuset')!]));
  const desc = text(child(dom, 'description'));
  if (desc !== undefined) spec.description = desc;
  const feats = child(dom, 'features');
  if (feats && child(feats, 'acpi') === undefined) notes.push('<features> has no <acpi/>: qkvm guests always have ACPI');
  for (const k of elementNames(feats)) if (!['acpi', 'apic', 'pae', 'vmport'].includes(k)) unmapped.push(`<features><${k}>`);

  const devs = child(dom, 'devices') ?? {};
  spec.disks = [];
  for (const [i, d] of children(devs, 'disk').entries()) {
    const where = `<disk> #${i + 1}`;
    const dtype = attr(d, 'type') ?? 'file';
    const device = attr(d, 'device') ?? 'disk';
    const src = child(d, 'source');
    const path = dtype === 'block' ? attr(src, 'dev') : attr(src, 'file');
    const tgt = child(d, 'target');
    const bus = attr(tgt, 'bus') ?? 'ide';
    const fmt = attr(child(d, 'driver'), 'type');
    if (dtype !== 'file' && dtype !== 'block') { unmapped.push(`${where}: type='${dtype}' (qkvm attaches files and block devices)`); continue; }
    if (device !== 'disk' && device !== 'cdrom') { unmapped.push(`${where}: device='${device}'`); continue; }
    if (!path) { unmapped.push(`${where}: an empty ${device} (qkvm has no empty drives)`); continue; }
    if (!['virtio', 'ide', 'scsi', 'sata'].includes(bus)) { unmapped.push(`${where} ${path}: bus='${bus}'`); continue; }
    if (fmt && fmt !== 'qcow2' && fmt !== 'raw') { unmapped.push(`${where} ${path}: format ${fmt} (convert it with \`qkvm qemu-img convert -O qcow2\` first)`); continue; }
    const ro = child(d, 'readonly') !== undefined;
    const disk: Record<string, unknown> = { file: path, bus, media: device };
    if (fmt) disk.format = fmt;
    const cache = attr(child(d, 'driver'), 'cache');
    if (cache && cache !== 'default') disk.cache = cache;
    const dev = attr(tgt, 'dev');
    if (dev && /^[a-z]{2,3}[a-z]$/.test(dev)) disk.target = dev;
    if (child(d, 'transient') !== undefined) disk.snapshot = true;
    if (dtype === 'block') disk.hostDevice = true;
    else if (!ctx.insidePool(path)) disk.external = true;
    // external and hostDevice disks default to read-only in qkvm: say what the XML says.
    disk.readonly = ro || device === 'cdrom';
    for (const k of elementNames(d)) if (!['driver', 'source', 'target', 'readonly', 'transient', 'address', 'alias', 'boot'].includes(k)) unmapped.push(`${where} ${path}: <${k}>`);
    if (child(d, 'boot') !== undefined) notes.push(`${where} ${path}: per-device <boot order> is not kept; qkvm boots by boot.order`);
    spec.disks.push(disk as any);
  }

  spec.nics = [];
  for (const [i, n] of children(devs, 'interface').entries()) {
    const where = `<interface> #${i + 1}`;
    const itype = attr(n, 'type');
    const nic: Record<string, unknown> = {};
    if (itype === 'user') {
      nic.type = 'user';
      const ip = child(n, 'ip');
      if (ip && attr(ip, 'family') !== 'ipv6') nic.net = `${attr(ip, 'address')}/${attr(ip, 'prefix') ?? 24}`;
    } else if (itype === 'bridge') {
      const br = attr(child(n, 'source'), 'bridge') ?? '';
      const net = ctx.networkForBridge(br);
      if (!net) { unmapped.push(`${where}: bridge ${br} is not the bridge of any qkvm network (define one: \`qkvm net-define NAME --mode bridge --bridge ${br}\`, then attach-interface)`); continue; }
      nic.type = 'network'; nic.network = net;
    } else if (itype === 'network') {
      const name = attr(child(n, 'source'), 'network') ?? '';
      if (!ctx.networkExists(name)) { unmapped.push(`${where}: libvirt network "${name}" has no qkvm network of that name`); continue; }
      nic.type = 'network'; nic.network = name;
    } else { unmapped.push(`${where}: type='${itype}'`); continue; }
    const model = attr(child(n, 'model'), 'type');
    if (model) {
      if (NIC_MODELS.includes(model)) nic.model = model;
      else if (model === 'e1000e') { nic.model = 'e1000'; notes.push(`${where}: model e1000e imported as e1000`); }
      else unmapped.push(`${where}: model ${model} (qkvm has ${NIC_MODELS.join(', ')}; virtio is used)`);
    } else nic.model = 'rtl8139'; // libvirt's default model for x86 when none is given
    const mac = attr(child(n, 'mac'), 'address');
    if (mac) nic.mac = mac.toLowerCase();
    const drv = attr(child(n, 'driver'), 'name');
    if (drv === 'vhost') nic.vhost = 'on';
    else if (drv === 'qemu') nic.vhost = 'off';
    for (const k of elementNames(n)) if (!['mac', 'source', 'model', 'driver', 'ip', 'address', 'alias', 'target'].includes(k)) unmapped.push(`${where}: <${k}>`);
    spec.nics.push(nic as any);
  }

  const gfx = children(devs, 'graphics');
  for (const [i, g] of gfx.entries()) {
    if (attr(g, 'type') !== 'vnc' || i > 0) { unmapped.push(`<graphics type='${attr(g, 'type')}'>`); continue; }
    const port = Number(attr(g, 'port') ?? -1);
    const listen = attr(child(g, 'listen'), 'address') ?? attr(g, 'listen') ?? '127.0.0.1';
    spec.display = { type: 'vnc', listen, display: attr(g, 'autoport') === 'yes' || port < 5900 ? 0 : port - 5900 };
    if (attr(g, 'autoport') === 'yes') notes.push('<graphics autoport=\'yes\'>: qkvm gives VNC a fixed display; :0 (port 5900) was chosen');
    if (attr(g, 'passwd') !== undefined) { spec.display.password = true; notes.push('<graphics passwd=...>: the password itself is not imported; set one with `qkvm vnc NAME --password`'); }
  }
  const video = child(devs, 'video');
  if (video) {
    const m = attr(child(video, 'model'), 'type') ?? 'none';
    if (m in LIBVIRT_TO_VGA) spec.vga = LIBVIRT_TO_VGA[m] as any;
    else unmapped.push(`<video model='${m}'>`);
  }
  const balloon = child(devs, 'memballoon');
  spec.balloon = balloon ? attr(balloon, 'model') !== 'none' : true;
  spec.tablet = children(devs, 'input').some((x) => attr(x, 'type') === 'tablet');
  const serials = children(devs, 'serial');
  spec.serial = serials.length > 0;
  if (serials.length > 1) unmapped.push(`<serial> #2..#${serials.length} (qkvm has one serial console)`);
  if (serials.length && attr(serials[0], 'type') !== 'pty') notes.push(`<serial type='${attr(serials[0], 'type')}'>: imported as qkvm's serial console (a socket and a log)`);
  for (const k of elementNames(devs)) {
    if (['disk', 'interface', 'graphics', 'video', 'memballoon', 'serial'].includes(k) || IMPLICIT_DEVICES.has(k)) continue;
    for (const x of children(devs, k)) unmapped.push(`<${k}${attr(x, 'type') ? ` type='${attr(x, 'type')}'` : ''}>`);
  }
  for (const c of children(devs, 'controller')) {
    const t = attr(c, 'type'); const m = attr(c, 'model');
    if (t === 'scsi' && m && m !== 'virtio-scsi') notes.push(`<controller type='scsi' model='${m}'>: qkvm's SCSI disks are on virtio-scsi`);
  }
  if (!spec.disks.length) delete spec.disks;
  return { spec, unmapped, notes };
}
