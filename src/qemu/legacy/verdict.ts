// The explain verdicts checked against one real QEMU: its introspection
// (src/qemu/introspect.ts) says which options, keys, machines, CPU models,
// devices and NIC models exist, and the machine's max CPUs; the host facts say
// what this host lacks (/dev/vhost-net, hugetlbfs, KVM). Pure: both come in as data.
import { editDistance } from '../../typed.js';
import { dirname } from 'node:path';
import type { QemuIntrospection } from '../introspect.js';
import { getKey, parseKeyVal, formatKeyVal, type KeyVal } from './keyval.js';
import { parseSmp } from './smp.js';
import type { ExplanationEntry, RawOption } from './types.js';

export interface HostFacts {
  /** /dev/vhost-net exists (without it, vhost=on makes QEMU 7.2 abort). */
  vhostNet: boolean;
  /** Mount points of hugetlbfs (from /proc/mounts). */
  hugetlbfs: string[];
  /** /dev/kvm exists. */
  kvm: boolean;
  /** Files that exist, for disk images on the line (absent: not checked). */
  exists?: (file: string) => boolean;
}

export interface VerdictContext {
  qemu: QemuIntrospection;
  host?: HostFacts;
}


/** The nearest candidate, when it is near enough to be a likely typo. */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = editDistance(word.toLowerCase(), c.toLowerCase());
    if (dist < bestD) { best = c; bestD = dist; }
  }
  const limit = Math.max(1, Math.min(3, Math.floor(word.length / 3)));
  // A prefix of a longer name (mode -> model, virtio -> virtio-net-pci) is a likely slip too.
  if (best !== undefined && bestD <= limit) return best;
  const pre = candidates.find((c) => c.startsWith(word) && word.length >= 3);
  return pre;
}

const didYouMean = (word: string, candidates: readonly string[]) => {
  const n = nearest(word, candidates);
  return n ? ` Did you mean ${n}?` : '';
};

const HELP = new Set(['?', 'help']);

/** The QemuOpts group of an option, as query-command-line-options names it, and its implied key. */
const GROUPS: Record<string, [string, string?]> = {
  '-machine': ['machine', 'type'], '-M': ['machine', 'type'], '-drive': ['drive'], '-vnc': ['vnc', 'vnc'],
  '-chardev': ['chardev', 'backend'], '-boot': ['boot-opts', 'order'], '-smp': ['smp-opts', 'cpus'], '-m': ['memory', 'size'],
  '-rtc': ['rtc'], '-name': ['name', 'guest'], '-sandbox': ['sandbox', 'enable'], '-fsdev': ['fsdev', 'fsdriver'],
  '-virtfs': ['virtfs', 'fsdriver'], '-action': ['action'], '-fw_cfg': ['fw_cfg'], '-msg': ['msg'], '-overcommit': ['overcommit'],
  '-icount': ['icount', 'shift'], '-mon': ['mon', 'chardev'], '-add-fd': ['add-fd'], '-iscsi': ['iscsi'],
};

/** -drive keys QEMU takes beyond query-command-line-options' list: legacy spellings and qcow2/raw runtime options. */
const DRIVE_EXTRA = ['cache', 'readonly', 'id', 'serial', 'addr', 'boot', 'cyls', 'heads', 'secs', 'trans', 'lazy-refcounts', 'l2-cache-size',
  'refcount-cache-size', 'cache-size', 'cache-clean-interval', 'overlap-check', 'pass-discard-request', 'pass-discard-snapshot',
  'pass-discard-other', 'locking', 'offset', 'size', 'backing', 'encrypt.key-secret', 'encrypt.format'];

/** Interfaces -drive if= takes, and which of them a pc or q35 machine has a bus for. */
const DRIVE_IFS = ['ide', 'scsi', 'floppy', 'pflash', 'mtd', 'sd', 'virtio', 'none', 'xen'];
const PC_IFS = ['ide', 'floppy', 'pflash', 'virtio', 'none', 'scsi'];

/** The slot a drive option takes: if and index, as QEMU numbers them. */
function driveSlot(o: RawOption): { iface: string; index?: number; what: string } | undefined {
  const fixed: Record<string, [string, number]> = { FILE: ['ide', 0], '-hda': ['ide', 0], '-hdb': ['ide', 1], '-hdc': ['ide', 2], '-hdd': ['ide', 3], '-cdrom': ['ide', 2], '-fda': ['floppy', 0], '-fdb': ['floppy', 1] };
  if (fixed[o.option]) return { iface: fixed[o.option][0], index: fixed[o.option][1], what: o.raw.join(' ') };
  // -pflash, -sd and -mtdblock are -drive if=pflash|sd|mtd,file=FILE.
  const bare: Record<string, string> = { '-pflash': 'pflash', '-sd': 'sd', '-mtdblock': 'mtd' };
  if (bare[o.option]) return { iface: bare[o.option], what: o.raw.join(' ') };
  if (o.option !== '-drive') return undefined;
  const kv = parseKeyVal(o.value ?? '');
  const iface = getKey(kv, 'if') ?? 'ide';
  const index = getKey(kv, 'index');
  const bus = getKey(kv, 'bus');
  const unit = getKey(kv, 'unit');
  const perBus = iface === 'ide' ? 2 : iface === 'scsi' ? 7 : 1;
  let n: number | undefined;
  if (index !== undefined && /^\d+$/.test(index)) n = Number(index);
  else if (bus !== undefined || unit !== undefined) n = Number(bus ?? 0) * perBus + Number(unit ?? 0);
  return { iface, index: n, what: o.raw.join(' ') };
}

const ideBusUnit = (index: number) => `bus=${Math.floor(index / 2)}, unit=${index % 2}`;

function machineOf(opts: readonly RawOption[], q: QemuIntrospection) {
  let type: string | undefined;
  for (const o of opts) if ((o.option === '-M' || o.option === '-machine') && o.value) type = getKey(parseKeyVal(o.value, 'type'), 'type') ?? type;
  const m = type ? q.machines.find((x) => x.name === type || x.alias === type) : q.machines.find((x) => x.isDefault);
  return { type: type ?? m?.name ?? 'pc', machine: m };
}

interface Found { error?: string; host?: string; modern?: string[]; help?: { query: string; items: string[] } }

/** Checks one key=value list against the keys QEMU takes; short booleans (nowait) count as their key. */
function badKey(kv: KeyVal[], valid: readonly string[], what: string, skip: readonly string[] = []): string | undefined {
  for (const k of kv) {
    if (k.implied || skip.includes(k.key) || valid.includes(k.key)) continue;
    if (k.value === undefined && k.key.startsWith('no') && valid.includes(k.key.slice(2))) continue;
    return `QEMU refuses it: ${what} has no parameter '${k.key}' (Invalid parameter '${k.key}').${didYouMean(k.key, valid)}`;
  }
  return undefined;
}

function helpOf(query: string, items: readonly string[]): Found {
  return { help: { query, items: [...items] } };
}

function checkOne(o: RawOption, e: ExplanationEntry, opts: readonly RawOption[], ctx: VerdictContext, seen: Map<string, string>): Found | undefined {
  const { qemu: q, host } = ctx;
  const v = o.value ?? '';
  // -soundhw is gone from 7.2, but its help query still deserves the answer: the sound cards -device takes.
  if (o.option === '-soundhw' && HELP.has(v)) return helpOf(`-soundhw ${v}`, q.soundDevices);
  const known = new Set([...q.options, '-M', '-h']);
  if (o.option !== 'FILE' && !known.has(o.option)) {
    if (['removed', 'changed', 'conflict'].includes(e.status)) return undefined;
    return { error: `QEMU ${q.version} has no option ${o.option} ("invalid option").${didYouMean(o.option, q.options)}` };
  }
  if (o.missingArg) return { error: `QEMU refuses it: ${o.option} requires an argument.` };
  const group = GROUPS[o.option];
  switch (o.option) {
    case '-M': case '-machine': {
      const kv = parseKeyVal(v, 'type');
      const type = getKey(kv, 'type');
      if (type && HELP.has(type)) return helpOf(`${o.option} ${v}`, q.machines.flatMap((m) => [...(m.alias ? [`${m.alias} (alias of ${m.name})`] : []), `${m.name}${m.isDefault ? ' (default)' : ''}`]));
      if (type && !q.machines.some((m) => m.name === type || m.alias === type) && !['removed', 'changed'].includes(e.status)) {
        return { error: `QEMU refuses it: unsupported machine type "${type}" (-machine help lists them).${didYouMean(type, q.machines.flatMap((m) => m.alias ? [m.alias, m.name] : [m.name]))}` };
      }
      return { error: badKey(kv, [...(q.optionKeys.machine ?? []), ...q.machineProps], '-machine', ['type', 'accel']) };
    }
    case '-cpu': {
      const model = v.split(',')[0];
      if (HELP.has(model)) return helpOf(`-cpu ${v}`, q.cpus);
      if (!q.cpus.includes(model)) return { error: `QEMU refuses it: unable to find CPU model '${model}' (-cpu help lists them).${didYouMean(model, q.cpus)}` };
      return undefined;
    }
    case '-device': {
      const driver = v.split(',')[0];
      if (HELP.has(driver)) return helpOf(`-device ${v}`, q.devices);
      if (v.split(',').slice(1).some((x) => HELP.has(x))) return { help: { query: `-device ${v}`, items: [] } };
      if (!q.devices.includes(driver) && !['removed'].includes(e.status)) return { error: `QEMU refuses it: '${driver}' is not a valid device model name (-device help lists them).${didYouMean(driver, q.devices)}` };
      return undefined;
    }
    case '-soundhw':
      if (HELP.has(v)) return helpOf(`-soundhw ${v}`, q.soundDevices);
      return undefined;
    case '-vga':
      if (HELP.has(v)) return helpOf(`-vga ${v}`, q.vgas);
      if (!q.vgas.includes(v)) return { error: `QEMU refuses it: unknown vga type "${v}".${didYouMean(v, q.vgas)}` };
      return undefined;
    case '-accel': {
      const name = getKey(parseKeyVal(v, 'accel'), 'accel') ?? '';
      if (HELP.has(name)) return helpOf(`-accel ${v}`, q.accels);
      if (!q.accels.includes(name)) return { error: `QEMU refuses it: invalid accelerator ${name}.${didYouMean(name, q.accels)}` };
      if (name === 'kvm' && host && !host.kvm) return { host: 'This host has no /dev/kvm, so QEMU would stop with "Could not access KVM kernel module"; here the modern command uses -accel tcg (emulation, slower).', modern: ['-accel', 'tcg'] };
      return undefined;
    }
    case '-enable-kvm':
      if (host && !host.kvm && e.status === 'ok') return { host: 'This host has no /dev/kvm, so QEMU would stop with "Could not access KVM kernel module"; here the modern command uses -accel tcg (emulation, slower).', modern: ['-accel', 'tcg'] };
      return undefined;
    case '-display': {
      const type = v.split(',')[0].split('=')[0];
      if (HELP.has(type)) return helpOf(`-display ${v}`, q.displays);
      if (type !== 'vnc' && type !== 'default' && !q.displays.includes(type)) {
        if (type === 'sdl' || type === 'gtk') return { host: `This QEMU has no ${type} display (Debian puts it in qemu-system-gui, not installed here: "Display '${type}' is not available"); here the modern command serves the screen over VNC on 127.0.0.1:0 instead (vncviewer 127.0.0.1:0).`, modern: ['-display', 'vnc=127.0.0.1:0'] };
        return { error: `QEMU refuses it: Display '${type}' is not available.${didYouMean(type, q.displays)}` };
      }
      return undefined;
    }
    case '-sdl':
      if (!q.displays.includes('sdl')) return { host: 'This QEMU has no SDL display either (qemu-system-gui is not installed here); here the modern command serves the screen over VNC on 127.0.0.1:0.', modern: ['-display', 'vnc=127.0.0.1:0'] };
      return undefined;
    case '-smp': {
      const { smp } = parseSmp(v);
      const n = Math.max(smp.cpus ?? 0, smp.maxcpus ?? 0, (smp.sockets ?? 1) * (smp.dies ?? 1) * (smp.cores ?? 1) * (smp.threads ?? 1));
      const { type, machine } = machineOf(opts, q);
      if (machine && n > machine.cpuMax) return { error: `QEMU refuses it: Invalid SMP CPUs ${n}. The max CPUs supported by machine '${machine.name}' is ${machine.cpuMax}${type !== machine.name ? ` (${type})` : ''}.` };
      break;
    }
    case '-boot': {
      const kv = parseKeyVal(v, 'order');
      for (const k of ['order', 'once']) {
        const s = getKey(kv, k);
        if (s && !/^[a-p]+$/.test(s)) return { error: `QEMU refuses it: invalid boot device in ${k}=${s} (a, b: floppy; c: first hard disk; d: first CD-ROM; n-p: network).` };
      }
      break;
    }
    case '-net': case '-netdev': case '-nic': {
      const kv = parseKeyVal(v, 'type');
      const type = getKey(kv, 'type') ?? '';
      const types = Object.keys(q.netdevKeys).filter((t) => (o.option === '-net' ? true : o.option === '-nic' ? !['nic', 'hubport'].includes(t) : t !== 'nic'));
      if (HELP.has(type)) return helpOf(`${o.option} ${v}`, types);
      if (!types.includes(type)) {
        if (e.status === 'removed' || ['dump', 'channel'].includes(type)) return undefined;
        return { error: `QEMU refuses it: ${o.option} ${type}: invalid network backend type.${didYouMean(type, types)}` };
      }
      const model = getKey(kv, 'model');
      if ((o.option === '-nic' || type === 'nic') && model !== undefined) {
        if (HELP.has(model)) return helpOf(`${o.option} ${v}`, q.nicModels);
        if (model !== 'virtio' && !q.nicModels.includes(model)) return { error: `QEMU refuses it: unsupported NIC model: ${model} (model=help lists this QEMU's).${didYouMean(model, [...q.nicModels, 'virtio'])}` };
      }
      const keys = [...(q.netdevKeys[type] ?? []), 'id', ...(o.option === '-nic' ? ['model', 'mac'] : [])];
      const err = badKey(kv, keys, `${o.option} ${type}`, ['type', 'vlan', 'name']);
      if (err) return { error: err };
      // Host checks for tap backends.
      if (host && type === 'tap' && getKey(kv, 'vhost') === 'on' && !host.vhostNet) {
        const fixed = kv.map((k) => (k.key === 'vhost' ? { key: 'vhost', value: 'off' } : k));
        const modern = (e.modern ?? []).map((w) => (w.includes('vhost=on') ? w.replace(/(^|,)vhost=on\b/, '$1vhost=off') : w));
        return { host: `This host has no /dev/vhost-net (modprobe vhost_net loads it), and with vhost=on QEMU 7.2 aborts; here the modern command says vhost=off (the virtio-net data path stays in QEMU: slower, but it works). qkvm's vhost: auto does this by itself.`, modern: modern.length ? modern : [o.option, formatKeyVal(fixed)] };
      }
      return undefined;
    }
    case '-qmp': case '-qmp-pretty':
      if (v === 'none') return { error: `QEMU refuses it: 'none' is not a valid char driver for ${o.option} (leave ${o.option} out for no QMP).` };
      return undefined;
    case '-mem-path':
      if (host?.hugetlbfs.some((m) => v === m || v.startsWith(`${m}/`))) return undefined;
      if (host) {
        if (v.startsWith('/dev/hugepages')) return { host: `No hugetlbfs is mounted at ${v} on this host, so QEMU would silently make a regular file there instead of using huge pages; here the modern command leaves it out. To get huge pages: mount -t hugetlbfs hugetlbfs /dev/hugepages and reserve them (echo N > /proc/sys/vm/nr_hugepages).`, modern: [] };
      }
      // QEMU makes its file in a directory, or at the path: the directory must be there.
      if (host?.exists && !host.exists(v) && !host.exists(dirname(v))) return { error: `QEMU refuses it: ${v}: neither it nor its directory exists ("can't open backing store").` };
      return undefined;
  }
  if (group) {
    const [name, implied] = group;
    const valid = q.optionKeys[name];
    if (valid && valid.length) {
      const kv = parseKeyVal(v, implied);
      const extra = o.option === '-drive' ? DRIVE_EXTRA : [];
      const err = badKey(kv, [...valid, ...extra, 'id'], o.option, implied ? [implied] : []);
      if (err) return { error: err };
    }
  }
  const slot = driveSlot(o);
  if (slot) {
    if (!DRIVE_IFS.includes(slot.iface)) return { error: `QEMU refuses it: unsupported bus type '${slot.iface}'.${didYouMean(slot.iface, DRIVE_IFS)}` };
    const board = machineOf(opts, q).type;
    if (!PC_IFS.includes(slot.iface) && board !== 'none') return { error: `QEMU refuses it: machine type does not support if=${slot.iface} (a pc or q35 machine has no ${slot.iface} bus; use if=virtio or if=ide).` };
    if (slot.index !== undefined) {
      if (slot.iface === 'ide' && slot.index > 3 && !/q35/.test(board)) return { error: `QEMU refuses it: an IDE index ${slot.index} needs a third IDE bus, and the pc machine has two (indexes 0-3).` };
      const key = `${slot.iface}:${slot.index}`;
      const prev = seen.get(key);
      if (prev && e.status !== 'removed') {
        const where = slot.iface === 'ide' ? `bus=${ideBusUnit(slot.index)} (index=${slot.index})` : `index=${slot.index}`;
        return { error: `QEMU refuses it: drive with ${where.replace('bus=bus=', 'bus=')} exists: ${prev} already takes that slot (-cdrom and -hdc are both the IDE secondary master, index 2).` };
      }
      seen.set(key, slot.what);
    }
    if (host?.exists && o.option !== '-drive' && v && !/^[a-z]+:/.test(v) && !host.exists(v)) {
      const hint = /\.iso$/i.test(v) || o.option === '-cdrom' ? 'give the path of the ISO you downloaded' : `create it first: qemu-img create -f qcow2 ${v} 10G`;
      return { error: `QEMU refuses it: Could not open '${v}': No such file or directory (${hint}).` };
    }
    if (host?.exists && o.option === '-drive') {
      const file = getKey(parseKeyVal(v), 'file');
      if (file && !/^[a-z]+:/.test(file) && !host.exists(file)) return { error: `QEMU refuses it: Could not open '${file}': No such file or directory.` };
    }
  }
  return undefined;
}

/**
 * Rechecks each entry against this QEMU and host. Entries and opts are parallel.
 * Never turns a refusal into [ok]: it only raises a status to error, host or help.
 */
export function applyVerdicts(opts: readonly RawOption[], entries: ExplanationEntry[], warnings: string[], ctx: VerdictContext): { query: string; items: string[] }[] {
  const help: { query: string; items: string[] }[] = [];
  const seen = new Map<string, string>();
  opts.forEach((o, i) => {
    const e = entries[i];
    const f = checkOne(o, e, opts, ctx, seen);
    if (!f) return;
    if (f.help) {
      help.push(f.help);
      e.status = 'help';
      e.explain = `Asks QEMU for a list (${f.help.query}) instead of starting a guest; QEMU prints it and exits.`;
      e.note = f.help.items.length ? `A help query: this QEMU (${ctx.qemu.version}) lists ${f.help.items.length}, below.` : 'A help query: QEMU prints the properties and exits.';
      e.modern = [];
    } else if (f.error) {
      e.status = 'error';
      e.note = f.error;
      e.modern = [];
      warnings.push(`${o.raw.join(' ')}: ${f.error.replace(/^QEMU refuses it: /, 'QEMU refuses it: ')} Dropped from the modern command.`);
    } else if (f.host) {
      e.status = 'host';
      e.note = f.host;
      if (f.modern) e.modern = f.modern;
      warnings.push(`${o.raw.join(' ')}: ${f.host}`);
    }
  });
  return help;
}
