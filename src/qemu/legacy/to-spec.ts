// A legacy command line as a qkvm VM definition. It reads the translator's
// modern command (one spelling for each thing: -netdev/-device pairs, -drive,
// -display vnc=, memory backends), so that old and new lines map alike.
import { basename } from 'node:path';
import { NAME_RE, parseVmSpec, HostFwd, type VmSpecInput } from '../../config/schema.js';
import { QkvmError } from '../../errors.js';
import { getKey, parseKeyVal, withoutKeys, formatKeyVal, type KeyVal } from './keyval.js';
import { parseOptions } from './parse.js';
import { checkSmp, parseSmp } from './smp.js';
import { explainCommandLine } from './translate.js';
import type { RawOption } from './types.js';
import type { VerdictContext } from './verdict.js';

export interface SpecFromCommandLine {
  spec: VmSpecInput;
  warnings: string[];
  /** What this QEMU refuses on the line ([error] in explain), one reason each: a caller refuses the line. */
  errors: string[];
  /** Help queries on the line (-M ?): nothing to define. */
  help: { query: string; items: string[] }[];
}

type DiskInput = NonNullable<VmSpecInput['disks']>[number];
type NicInput = NonNullable<VmSpecInput['nics']>[number];

const NIC_MODELS: Record<string, 'virtio' | 'e1000' | 'rtl8139'> = { 'virtio-net-pci': 'virtio', 'virtio-net': 'virtio', e1000: 'e1000', rtl8139: 'rtl8139' };
const DISK_DEVICES: Record<string, 'virtio' | 'ide' | 'scsi'> = { 'virtio-blk-pci': 'virtio', 'virtio-blk': 'virtio', 'ide-hd': 'ide', 'ide-cd': 'ide', 'scsi-hd': 'scsi', 'scsi-cd': 'scsi' };
const USB_CONTROLLERS = /^(qemu-xhci|nec-usb-xhci|usb-ehci|ich9-usb-[eu]hci\d|piix3-usb-uhci|piix4-usb-uhci|pci-ohci)$/;
const VGAS = ['std', 'cirrus', 'vmware', 'qxl', 'virtio', 'none'] as const;
/** Options qkvm writes itself when it starts a guest; a definition cannot carry them. */
const MANAGED: Record<string, string> = {
  '-daemonize': 'qkvm always starts QEMU daemonized',
  '-pidfile': 'qkvm keeps the pid file in the run directory',
  '-monitor': 'qkvm talks to QEMU over QMP (qkvm monitor NAME for HMP commands)',
  '-qmp': 'qkvm opens its own QMP socket',
  '-mon': 'qkvm opens its own QMP socket',
  '-D': 'qkvm keeps qemu.log in the run directory',
  '-S': 'qkvm starts the guest running',
  '-nodefaults': 'qkvm writes every device itself',
  '-no-user-config': 'qkvm writes every device itself',
  '-serial': 'qkvm puts the first serial port on its console socket (qkvm console NAME)',
  '-nographic': 'qkvm guests are headless; the serial port is on qkvm console NAME',
};

function sanitizeName(n: string): string {
  return n.replace(/[^A-Za-z0-9_.-]+/g, '-').replace(/^[.-]+|-+$/g, '').slice(0, 63) || 'vm';
}

/** MiB as QEMU's -m writes them: a bare number gets its M. */
const memory = (size: string) => (/^\d+$/.test(size) ? `${size}M` : size);

/** Turns a hostfwd rule into the schema's form (explicit protocol). */
function hostfwd(rule: string): string {
  return /^(tcp|udp):/.test(rule) ? rule : `tcp:${rule}`;
}

/** A CPU list for a node that did not name one: old QEMU dealt vCPUs round-robin. */
function roundRobin(node: number, nodes: number, cpus: number): string {
  const mine: number[] = [];
  for (let c = node; c < cpus; c += nodes) mine.push(c);
  return mine.join(',');
}

interface VncDisplay { listen: string; display: number; password: boolean }

/**
 * The one warning about a translated VNC display (docs/explain.md). An implicit
 * `:N` becomes loopback; an explicit all-address display stays as written (and
 * without a password, the definition's own exposure warning says the rest).
 */
export function vncWarning(v: string, d: VncDisplay, implicit: boolean, guest: string): string | undefined {
  const setPassword = `set the password after start with \`qkvm vnc ${guest} --password\` (it never goes on the command line)`;
  const port = `${d.listen}:${5900 + d.display}`;
  if (implicit) {
    return `-display ${v}: QEMU would listen on every host address; the definition listens on ${port} only (qkvm's default; reach it from elsewhere through an SSH tunnel)`
      + (d.password ? `; ${setPassword}` : '. To serve other hosts, set display.listen: 0.0.0.0 together with display.password: true');
  }
  const everywhere = d.listen === '0.0.0.0' || d.listen === '::';
  if (everywhere && d.password) return `-display ${v}: VNC stays on every host address (${port}), as written, behind a password; ${setPassword}`;
  if (d.password) return `-display ${v}: VNC on ${port} behind a password; ${setPassword}`;
  return undefined;
}

export function specFromCommandLine(args: string | readonly string[], name?: string, ctx?: VerdictContext): SpecFromCommandLine {
  const expl = explainCommandLine(args, ctx);
  // The raw line's VNC warnings describe what QEMU would do; the definition's own VNC warnings (below) replace them.
  const warnings = expl.warnings.filter((w) => !/^-vnc .*(VNC listens on all host addresses|VNC password is never on the command line)/.test(w));
  const opts = parseOptions(expl.modern.args);
  const spec: VmSpecInput & Record<string, unknown> = { name: 'vm' };
  const extra: string[] = [];
  const extraNames: string[] = [];
  const addExtra = (o: RawOption, why?: string) => {
    extra.push(...o.raw);
    extraNames.push(o.raw.join(' '));
    if (why) warnings.push(why);
  };

  const netdevs = new Map<string, KeyVal[]>();
  const drives = new Map<string, KeyVal[]>();
  const backends = new Map<string, string>();
  for (const o of opts) {
    const v = o.value ?? '';
    if (o.option === '-netdev') { const kv = parseKeyVal(v, 'type'); netdevs.set(getKey(kv, 'id') ?? '', kv); }
    if (o.option === '-drive' && getKey(parseKeyVal(v), 'if') === 'none') { const kv = parseKeyVal(v); drives.set(getKey(kv, 'id') ?? '', kv); }
    if (o.option === '-object') {
      const kv = parseKeyVal(v, 'qom-type');
      if (/^memory-backend-(ram|file)$/.test(getKey(kv, 'qom-type') ?? '')) backends.set(getKey(kv, 'id') ?? '', getKey(kv, 'size') ?? '');
    }
  }
  // A hubport joins a hub; the hub's backend is the hubport that names a netdev.
  const hubBackend = new Map<string, string>();
  for (const [, kv] of netdevs) if (getKey(kv, 'type') === 'hubport' && getKey(kv, 'netdev')) hubBackend.set(getKey(kv, 'hubid') ?? '', getKey(kv, 'netdev')!);

  const disks: DiskInput[] = [];
  const nics: NicInput[] = [];
  const numaNodes: { cpus?: string; memory: string }[] = [];
  const accels: string[] = [];
  let snapshotAll = false;
  let guestName: string | undefined;
  const usedDrives = new Set<string>();
  const otherUsb = opts.some((o) => o.option === '-device' && /^usb-/.test(o.value ?? '') && !/^usb-tablet\b/.test(o.value ?? ''));

  const diskFrom = (kv: KeyVal[], bus: 'virtio' | 'ide' | 'scsi' | undefined, what: string): void => {
    const file = getKey(kv, 'file');
    if (!file) { warnings.push(`${what}: a drive without file= (an empty CD-ROM drive) has no place in a definition; dropped`); return; }
    const d: DiskInput = { file };
    const format = getKey(kv, 'format');
    if (format === 'qcow2' || format === 'raw') d.format = format;
    else if (format) warnings.push(`${what}: format ${format} is not one a definition takes (qcow2, raw); convert it with qemu-img convert -O qcow2`);
    const iface = bus ?? (getKey(kv, 'if') as string | undefined) ?? 'ide';
    if (iface === 'virtio' || iface === 'ide' || iface === 'scsi' || iface === 'sata') d.bus = iface;
    if (getKey(kv, 'media') === 'cdrom') d.media = 'cdrom';
    const cache = getKey(kv, 'cache');
    if (cache && ['none', 'writeback', 'writethrough', 'unsafe', 'directsync'].includes(cache)) d.cache = cache as DiskInput['cache'];
    if (getKey(kv, 'readonly') === 'on') d.readonly = true;
    if (getKey(kv, 'snapshot') === 'on') d.snapshot = true;
    const index = getKey(kv, 'index');
    if (index !== undefined && /^\d$/.test(index) && Number(index) < 26) {
      const prefix = d.bus === 'virtio' ? 'vd' : d.bus === 'ide' ? 'hd' : 'sd';
      d.target = prefix + String.fromCharCode(97 + Number(index));
    }
    disks.push(d);
  };

  const nicFrom = (model: string, netdevId: string | undefined, props: KeyVal[], what: string): void => {
    let id = netdevId;
    let back = id ? netdevs.get(id) : undefined;
    if (back && getKey(back, 'type') === 'hubport') {
      id = hubBackend.get(getKey(back, 'hubid') ?? '');
      back = id ? netdevs.get(id) : undefined;
      warnings.push(`${what}: its hub is flattened; in the definition the NIC talks to the hub's backend directly`);
    }
    if (!back) { warnings.push(`${what}: a NIC without a host backend has no place in a definition; dropped`); return; }
    const nic: NicInput = {};
    const type = getKey(back, 'type');
    if (type === 'user') nic.type = 'user';
    if (type === 'tap' || type === 'bridge') { nic.type = 'network'; nic.network = 'default'; }
    if (!NIC_MODELS[model]) warnings.push(`${what}: NIC model ${model} is not one a definition takes (virtio, e1000, rtl8139); e1000 is used`);
    nic.model = NIC_MODELS[model] ?? 'e1000';
    const mac = getKey(props, 'mac');
    if (mac) nic.mac = mac.toLowerCase();
    if (type === 'user') {
      const rules = back.filter((k) => k.key === 'hostfwd' && k.value).map((k) => hostfwd(k.value!));
      const good = rules.filter((r) => HostFwd.safeParse(r).success);
      for (const r of rules) if (!good.includes(r)) warnings.push(`${what}: hostfwd ${r} is not of the form tcp:HOSTADDR:PORT-GUESTADDR:PORT; dropped`);
      if (good.length) nic.hostfwd = good;
      // The user-mode options a definition holds (validated by the schema below).
      for (const k of ['net', 'host', 'dhcpstart', 'dns', 'tftp', 'bootfile'] as const) {
        const val = getKey(back, k);
        if (val !== undefined) (nic as Record<string, unknown>)[k] = val;
      }
      const rest = withoutKeys(back, 'type', 'id', 'hostfwd', 'net', 'host', 'dhcpstart', 'dns', 'tftp', 'bootfile');
      if (rest.length) warnings.push(`${what}: user-mode options ${formatKeyVal(rest)} have no place in a definition; dropped`);
    } else if (type === 'tap' || type === 'bridge') {
      const vhost = getKey(back, 'vhost');
      if (vhost === 'on' || vhost === 'off') nic.vhost = vhost;
      warnings.push(`${what}: the ${type} NIC becomes a NIC on the qkvm network "default", which must exist (qkvm net define default --mode nat, or edit the name); ${type === 'tap' ? 'qkvm makes the tap itself, so ifname=, script= and downscript= are not kept' : 'qkvm makes the tap itself'}`);
    } else {
      warnings.push(`${what}: a ${type} network backend has no place in a definition; dropped`);
      return;
    }
    nics.push(nic);
  };

  for (const o of opts) {
    const v = o.value ?? '';
    switch (o.option) {
      case '-name': guestName = getKey(parseKeyVal(v, 'guest'), 'guest'); break;
      case '-m': {
        const kv = parseKeyVal(v, 'size');
        const size = getKey(kv, 'size');
        if (size) spec.memory = memory(size);
        // Memory hotplug: maxmem= and slots= are the definition's maxMemory and memorySlots.
        const maxmem = getKey(kv, 'maxmem');
        const slots = getKey(kv, 'slots');
        if (maxmem && slots && /^\d+$/.test(slots)) { spec.maxMemory = memory(maxmem); spec.memorySlots = Number(slots); }
        else if (maxmem || slots) warnings.push(`-m ${v}: memory hotplug needs both maxmem= and slots=; only the size is kept`);
        break;
      }
      case '-smp': {
        const { smp } = parseSmp(v);
        const keys = Object.keys(smp).filter((k) => smp[k as keyof typeof smp] !== undefined);
        if (keys.length === 1 && keys[0] === 'cpus') { spec.smp = smp.cpus!; break; }
        const r = checkSmp(smp).resolved;
        if (r.dies > 1) warnings.push(`-smp ${v}: dies has no field in a definition; folded into sockets`);
        spec.smp = { cpus: r.cpus, sockets: r.sockets * r.dies, cores: r.cores, threads: r.threads, ...(r.maxcpus !== r.cpus ? { maxcpus: r.maxcpus } : {}) };
        break;
      }
      case '-cpu': spec.cpu = v; break;
      case '-machine': case '-M': {
        const kv = parseKeyVal(v, 'type');
        const type = getKey(kv, 'type');
        if (type) {
          const m = type === 'microvm' ? 'microvm' : /^(q35|pc-q35-)/.test(type) ? 'q35' : 'pc';
          spec.machine = m;
          if (type !== m) warnings.push(`${o.option} ${type}: a definition names pc, q35 or microvm, which are QEMU's newest versions of each; ${m} is used`);
        }
        const props = withoutKeys(kv, 'type');
        const merge = getKey(props, 'mem-merge');
        if (merge === 'on' || merge === 'off') spec.memMerge = merge === 'on';
        const rest = withoutKeys(props, 'mem-merge', 'usb');
        if (rest.length) addExtra({ ...o, raw: ['-machine', formatKeyVal(rest)] });
        break;
      }
      case '-accel': accels.push(v.split(',')[0]); if (v.includes(',')) warnings.push(`-accel ${v}: accelerator properties have no field in a definition; dropped`); break;
      case '-boot': {
        const kv = parseKeyVal(v, 'order');
        const boot: NonNullable<VmSpecInput['boot']> = {};
        const order = getKey(kv, 'order');
        const once = getKey(kv, 'once');
        const menu = getKey(kv, 'menu');
        if (order) boot.order = order;
        if (once) boot.once = once;
        if (menu) boot.menu = menu === 'on';
        const rest = withoutKeys(kv, 'order', 'once', 'menu');
        if (rest.length) warnings.push(`-boot ${v}: ${formatKeyVal(rest)} has no field in a definition; dropped`);
        spec.boot = boot;
        break;
      }
      case '-kernel': spec.kernel = v; break;
      case '-initrd': spec.initrd = v; break;
      case '-append': spec.append = v; break;
      case '-snapshot': snapshotAll = true; break;
      case '-drive': {
        const kv = parseKeyVal(v);
        const iface = getKey(kv, 'if');
        if (iface === 'none') break;
        if (iface && !['ide', 'virtio', 'scsi'].includes(iface)) { addExtra(o, `-drive ${v}: an if=${iface} drive has no field in a definition; kept in extraArgs`); break; }
        diskFrom(kv, undefined, `-drive ${v}`);
        break;
      }
      case '-netdev': case '-object': break;
      case '-nic': {
        const kv = parseKeyVal(v, 'type');
        if (getKey(kv, 'type') === 'none') { spec.nics = []; break; }
        const id = `nic${o.index}`;
        netdevs.set(id, [{ key: 'type', value: getKey(kv, 'type'), implied: true }, ...withoutKeys(kv, 'type', 'model', 'mac')]);
        nicFrom(getKey(kv, 'model') ?? 'e1000', id, kv, `-nic ${v}`);
        break;
      }
      case '-device': {
        const kv = parseKeyVal(v, 'driver');
        const driver = getKey(kv, 'driver') ?? '';
        if (NIC_MODELS[driver] || getKey(kv, 'netdev')) { nicFrom(driver, getKey(kv, 'netdev'), kv, `-device ${v}`); break; }
        if (DISK_DEVICES[driver] && getKey(kv, 'drive')) {
          const id = getKey(kv, 'drive')!;
          const d = drives.get(id);
          if (!d) { addExtra(o, `-device ${v}: no -drive with id=${id}; kept in extraArgs`); break; }
          usedDrives.add(id);
          const moved = withoutKeys(kv, 'driver', 'drive', 'bus', 'unit', 'scsi-id');
          if (moved.length) warnings.push(`-device ${v}: ${formatKeyVal(moved)} has no field in a definition; dropped`);
          diskFrom([...d, ...(driver.endsWith('-cd') ? [{ key: 'media', value: 'cdrom' }] : [])], DISK_DEVICES[driver], `-device ${v}`);
          break;
        }
        if (driver === 'virtio-balloon-pci' || driver === 'virtio-balloon') { spec.balloon = true; break; }
        if (driver === 'usb-tablet') { spec.tablet = true; break; }
        if (USB_CONTROLLERS.test(driver) && !otherUsb) break;
        if (driver === 'lsi53c895a' || driver === 'virtio-scsi-pci') {
          if (opts.some((x) => x.option === '-device' && /^scsi-(hd|cd)\b/.test(x.value ?? ''))) { warnings.push(`-device ${driver}: qkvm gives SCSI disks its own controller (virtio-scsi); the guest needs its driver`); break; }
        }
        addExtra(o);
        break;
      }
      case '-numa': {
        const kv = parseKeyVal(v, 'type');
        if ((getKey(kv, 'type') ?? 'node') !== 'node' || !getKey(kv, 'memdev')) { addExtra(o, `-numa ${v}: kept in extraArgs`); break; }
        const size = backends.get(getKey(kv, 'memdev')!);
        if (!size) { warnings.push(`-numa ${v}: its memory backend is not on the line; dropped`); break; }
        numaNodes.push({ cpus: getKey(kv, 'cpus'), memory: size });
        break;
      }
      case '-display': {
        if (v.startsWith('vnc=')) {
          const kv = parseKeyVal(v.slice(4), 'vnc');
          const m = /^(.*):(\d+)$/.exec(getKey(kv, 'vnc') ?? '');
          if (!m) { addExtra(o, `-display ${v}: a VNC server that is not HOST:DISPLAY has no field in a definition; kept in extraArgs`); break; }
          let listen = m[1].replace(/^\[|\]$/g, '');
          // An empty host (`-vnc :1`) meant every address only by accident of old defaults: qkvm's default, loopback, wins.
          const implicit = listen === '';
          if (implicit || listen === 'localhost') listen = '127.0.0.1';
          spec.display = { type: 'vnc', listen, display: Number(m[2]), password: getKey(kv, 'password') === 'on' };
          const w = vncWarning(v, spec.display as VncDisplay, implicit, name ?? 'NAME');
          if (w) warnings.push(w);
          const rest = withoutKeys(kv, 'vnc', 'password');
          if (rest.length) warnings.push(`-display ${v}: ${formatKeyVal(rest)} has no field in a definition; dropped`);
          break;
        }
        const type = v.split(',')[0];
        if (type !== 'none') warnings.push(`-display ${v}: qkvm guests are headless (display none or vnc); use display.type vnc and a VNC viewer instead of a ${type} window`);
        if (!spec.display) spec.display = { type: 'none' };
        break;
      }
      case '-vga':
        if ((VGAS as readonly string[]).includes(v)) spec.vga = v as (typeof VGAS)[number];
        else addExtra(o, `-vga ${v}: not a vga a definition takes; kept in extraArgs`);
        break;
      case '-mem-path':
        if (v.startsWith('/dev/hugepages')) spec.hugepages = true;
        else addExtra(o);
        break;
      case '-mem-prealloc':
        if (!opts.some((x) => x.option === '-mem-path' && (x.value ?? '').startsWith('/dev/hugepages'))) addExtra(o);
        break;
      case '-usb':
        if (otherUsb) addExtra(o);
        break;
      case 'FILE':
        diskFrom([{ key: 'file', value: v }], 'ide', v);
        break;
      default:
        if (MANAGED[o.option]) {
          if (o.option === '-serial' && v === 'none') { spec.serial = false; break; }
          warnings.push(`${o.raw.join(' ')}: dropped, ${MANAGED[o.option]}`);
          break;
        }
        addExtra(o);
    }
  }

  for (const [id, d] of drives) if (!usedDrives.has(id)) addExtra({ option: '-drive', raw: ['-drive', formatKeyVal(d)], index: -1 }, `-drive ${formatKeyVal(d)}: no device uses it; kept in extraArgs`);
  if (snapshotAll) for (const d of disks) d.snapshot = true;
  if (disks.length) spec.disks = disks;

  const hasNet = opts.some((o) => o.option === '-netdev' || o.option === '-nic' || (o.option === '-device' && NIC_MODELS[(o.value ?? '').split(',')[0]]));
  if (spec.nics === undefined) {
    if (nics.length) spec.nics = nics;
    else if (!hasNet && !opts.some((o) => o.option === '-nodefaults')) {
      spec.nics = [{ type: 'user', model: 'e1000' }];
      warnings.push('the line names no network, so QEMU gave the guest its default NIC: an e1000 on user-mode networking; the definition says so');
    }
  }
  if (!opts.some((o) => o.option === '-display' || o.option === '-nographic')) {
    warnings.push('the line opens QEMU\'s default window (SDL or GTK); qkvm guests are headless: set display.type to vnc to see the screen');
  }

  // Accelerators: kvm then tcg is what qkvm's auto does (with a check that KVM works).
  if (accels.length === 1 && (accels[0] === 'kvm' || accels[0] === 'tcg')) spec.accel = accels[0];
  else spec.accel = 'auto';
  spec.balloon ??= false;

  if (numaNodes.length) {
    const cpus = typeof spec.smp === 'number' ? spec.smp : spec.smp?.cpus ?? 1;
    spec.numa = numaNodes.map((n, i) => ({ cpus: n.cpus ?? roundRobin(i, numaNodes.length, cpus), memory: n.memory }));
    if (numaNodes.some((n) => !n.cpus)) warnings.push('-numa: nodes without cpus= get the vCPUs round-robin, as old QEMU dealt them');
  }

  const wanted = name ?? guestName ?? (disks[0] ? basename(disks[0].file).replace(/\.[^.]*$/, '') : 'vm');
  spec.name = sanitizeName(wanted);
  if (spec.name !== wanted) warnings.push(`name "${wanted}" is not a valid qkvm name; using "${spec.name}"`);
  if (!NAME_RE.test(spec.name)) spec.name = 'vm';

  if (extra.length) {
    spec.extraArgs = extra;
    warnings.push(`kept as extraArgs, passed to QEMU unchecked: ${extraNames.join('; ')}`);
  }

  // The schema's order, so the YAML reads like docs/definition.md.
  const ORDER = ['name', 'description', 'memory', 'cpu', 'smp', 'machine', 'accel', 'boot', 'kernel', 'initrd', 'append', 'disks', 'nics', 'display', 'vga', 'balloon', 'tablet', 'serial', 'numa', 'hugepages', 'memMerge', 'maxMemory', 'memorySlots', 'extraArgs'];
  const ordered = Object.fromEntries(ORDER.filter((k) => spec[k] !== undefined).map((k) => [k, spec[k]])) as VmSpecInput & Record<string, unknown>;
  try {
    parseVmSpec(ordered, 'command line');
  } catch (e) {
    if (ordered.numa && e instanceof QkvmError && /numa/.test(e.message)) {
      delete ordered.numa;
      warnings.push('-numa: the nodes do not fit the definition (their memory must add up to memory, and each needs a vCPU); dropped');
      parseVmSpec(ordered, 'command line');
    } else {
      throw e;
    }
  }
  const errors = expl.entries.filter((e) => e.status === 'error').map((e) => `${e.raw.join(' ')}: ${e.note ?? 'QEMU refuses it'}`);
  return { spec: ordered, warnings: [...new Set(warnings)], errors, help: expl.help ?? [] };
}
