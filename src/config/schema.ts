// The VM definition (vms/NAME.yaml). Field names follow QEMU's own vocabulary
// where one exists, so a learner finds the same word in QEMU's manual.
import { z } from 'zod';
import { MAX_MEMORY, MAX_RAW, parseSize, sizeProblem } from './size.js';
import { invalid } from '../errors.js';
import { CloudInit } from './cloud-init.js';

import { NAME_RE, NAME_RULE, validateName } from './name.js';

export { NAME_RE, validateName };
/** Bounds on lists and strings, far above real use (QEMU has ~30 PCI slots per bus), so a runaway file is refused early. */
export const LIMITS = { disks: 64, nics: 32, hostfwd: 64, numa: 64, extraArgs: 256, path: 4096, text: 4096 } as const;

export const MAC_RE = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i;

export const Name = z.string().regex(NAME_RE, `must be a valid name (${NAME_RULE})`);

/** A size string such as 512M or 2G, kept as written; parsed with parseSize and bounded by `max`. */
const Size = (bareUnit: 'B' | 'M', max: bigint) =>
  z.union([z.string(), z.number()]).superRefine((v, ctx) => {
    const problem = sizeProblem(v, bareUnit, max);
    if (problem) ctx.addIssue({ code: z.ZodIssueCode.custom, message: problem.startsWith('invalid size') ? 'must be a size like 512M or 2G' : problem });
  }).transform((v) => String(v));

export const MemorySize = Size('M', MAX_MEMORY);
export const DiskSize = Size('B', MAX_RAW);

const Smp = z.union([
  z.number().int().min(1).max(288),
  z.object({
    cpus: z.number().int().min(1).max(288).optional(),
    sockets: z.number().int().min(1).optional(),
    cores: z.number().int().min(1).optional(),
    threads: z.number().int().min(1).optional(),
    maxcpus: z.number().int().min(1).max(288).optional(),
  }).strict().superRefine((s, ctx) => {
    const topo = (s.sockets ?? 1) * (s.cores ?? 1) * (s.threads ?? 1);
    const anyTopo = s.sockets !== undefined || s.cores !== undefined || s.threads !== undefined;
    const max = s.maxcpus ?? s.cpus;
    // QEMU 7.2 insists that sockets*cores*threads equals maxcpus.
    if (anyTopo && max !== undefined && topo !== max) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `sockets*cores*threads (${topo}) must equal maxcpus (${max})` });
    }
    if (s.cpus !== undefined && s.maxcpus !== undefined && s.cpus > s.maxcpus) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, message: `cpus (${s.cpus}) must not exceed maxcpus (${s.maxcpus})` });
    }
  }),
]);

export const DiskBus = z.enum(['virtio', 'ide', 'scsi', 'sata']);
export const DiskCache = z.enum(['none', 'writeback', 'writethrough', 'unsafe', 'directsync']);

export const Disk = z.object({
  /** A path, or POOL/VOLUME (the default pool is QKVM_HOME/images). */
  file: z.string().min(1).max(LIMITS.path),
  format: z.enum(['qcow2', 'raw']).optional(),
  bus: DiskBus.default('virtio'),
  media: z.enum(['disk', 'cdrom']).default('disk'),
  cache: DiskCache.optional(),
  /** Default false; true for external and hostDevice disks unless `readonly: false` is written. */
  readonly: z.boolean().optional(),
  /** QEMU's snapshot=on: writes go to a temporary overlay and vanish at exit. */
  snapshot: z.boolean().default(false),
  /** Guest-side name hint (vda, sdb, hdc): used as the device id for hotplug. */
  target: z.string().regex(/^[a-z]{2,3}[a-z]$/, 'must look like vda, sdb or hdc').optional(),
  /** A regular file outside every storage pool, attached on purpose: never removed by qkvm (see docs/storage.md). */
  external: z.boolean().optional(),
  /** A host block device (QEMU's host_device, libvirt's type='block'), attached on purpose: never removed by qkvm. */
  hostDevice: z.boolean().optional(),
}).strict().transform((d) => ({ ...d, readonly: d.readonly ?? !!(d.external || d.hostDevice) }));

const IPV4_RE = /^(\d{1,3}\.){3}\d{1,3}$/;

export const HostFwd = z.string().regex(
  /^(tcp|udp):[0-9.]*:\d{1,5}-[0-9.]*:\d{1,5}$/,
  'must look like tcp:127.0.0.1:2222-:22',
);

export const Nic = z.object({
  /**
   * network: a qkvm network (a tap on its bridge); user: QEMU's built-in slirp;
   * link: a point-to-point lab link (QEMU listens on RUN/vms/NAME/netN.sock, a lab's link relay connects).
   */
  type: z.enum(['network', 'user', 'link']).optional(),
  network: Name.optional(),
  hostfwd: z.array(HostFwd).max(LIMITS.hostfwd).default([]),
  model: z.enum(['virtio', 'e1000', 'rtl8139']).default('virtio'),
  mac: z.string().regex(MAC_RE, 'must be six hex pairs like 52:54:00:12:34:56').optional(),
  vhost: z.enum(['auto', 'on', 'off']).default('auto'),
  // User-mode (slirp) options, as -netdev user takes them: the guest's subnet, the
  // host's and the DNS forwarder's addresses in it, the first DHCP address, and PXE (tftp + bootfile).
  net: z.string().regex(/^(\d{1,3}\.){3}\d{1,3}\/\d{1,2}$/, 'must be an IPv4 subnet like 10.0.5.0/24').optional(),
  host: z.string().regex(IPV4_RE, 'must be an IPv4 address').optional(),
  dhcpstart: z.string().regex(IPV4_RE, 'must be an IPv4 address').optional(),
  dns: z.string().regex(IPV4_RE, 'must be an IPv4 address').optional(),
  tftp: z.string().regex(/^\/[^,\0]*$/, 'must be an absolute directory path without commas').max(LIMITS.path).optional(),
  bootfile: z.string().regex(/^[^,\s\0]+$/, 'must be a file name without commas or spaces').max(LIMITS.path).optional(),
}).strict().superRefine((n, ctx) => {
  const type = n.type ?? (n.network ? 'network' : 'user');
  if (type === 'network' && !n.network) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['network'], message: 'a network NIC needs a network name' });
  }
  if (type === 'user' && n.network) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['network'], message: 'a user-mode NIC takes no network name' });
  }
  if (type === 'link' && n.network) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['network'], message: 'a link NIC takes no network name (its other end is set by the lab\'s links:)' });
  }
  for (const k of ['net', 'host', 'dhcpstart', 'dns', 'tftp', 'bootfile'] as const) {
    if (type !== 'user' && n[k] !== undefined) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [k], message: `${k} only applies to user-mode NICs` });
  }
  for (const k of ['host', 'dhcpstart', 'dns'] as const) {
    const a = n[k];
    if (a && a.split('.').some((x) => Number(x) > 255)) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [k], message: 'must be an IPv4 address' });
  }
  if (type !== 'user' && n.hostfwd.length) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['hostfwd'], message: 'hostfwd only applies to user-mode NICs' });
  }
}).transform((n) => ({ ...n, type: n.type ?? (n.network ? 'network' as const : 'user' as const) }));

export const Display = z.object({
  type: z.enum(['none', 'vnc']).default('none'),
  listen: z.string().regex(/^[0-9.]+$|^::1?$|^[0-9a-f:]+$/i, 'must be an IP address').default('127.0.0.1'),
  /** VNC display number: port 5900+N. */
  display: z.number().int().min(0).max(99).default(0),
  /** Require a password; it is set over QMP (`qkvm vnc NAME --password`), never on the command line. */
  password: z.boolean().default(false),
}).strict();

export const NumaNode = z.object({
  cpus: z.string().regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/, 'must be a CPU list like 0-1 or 0,2'),
  memory: MemorySize,
}).strict();

export const Boot = z.object({
  order: z.string().regex(/^[a-dn]{1,4}$/, 'must be letters of a (floppy) c (disk) d (cdrom) n (network)').optional(),
  once: z.string().regex(/^[a-dn]{1,4}$/, 'must be letters of a c d n').optional(),
  menu: z.boolean().optional(),
}).strict();

export const VmSpec = z.object({
  name: Name,
  memory: MemorySize.default('512M'),
  /** Largest memory the guest may grow to by hot-plugged DIMMs (QEMU's -m maxmem=); needs memorySlots. */
  maxMemory: MemorySize.optional(),
  /** How many DIMMs may be hot-plugged (QEMU's -m slots=). */
  memorySlots: z.number().int().min(1).max(256).optional(),
  cpu: z.string().regex(/^[A-Za-z0-9_.,+=-]+$/, 'must be a CPU model such as qemu64, max or host').optional(),
  smp: Smp.default(1),
  machine: z.enum(['pc', 'q35', 'microvm']).default('pc'),
  accel: z.enum(['auto', 'kvm', 'tcg']).default('auto'),
  boot: Boot.optional(),
  kernel: z.string().min(1).max(LIMITS.path).optional(),
  initrd: z.string().min(1).max(LIMITS.path).optional(),
  append: z.string().max(LIMITS.text).optional(),
  disks: z.array(Disk).max(LIMITS.disks).default([]),
  nics: z.array(Nic).max(LIMITS.nics).default([]),
  display: Display.default({}),
  vga: z.enum(['std', 'cirrus', 'vmware', 'qxl', 'virtio', 'none']).optional(),
  balloon: z.boolean().default(true),
  tablet: z.boolean().default(false),
  /** The serial console on a UNIX socket, logged to a file (`qkvm console`). */
  serial: z.boolean().default(true),
  /** A virtio-serial port for the QEMU guest agent (qemu-ga in the guest) on a UNIX socket (`qkvm agent`). */
  agent: z.boolean().default(false),
  numa: z.array(NumaNode).max(LIMITS.numa).default([]),
  hugepages: z.boolean().default(false),
  memMerge: z.boolean().optional(),
  autostart: z.boolean().default(false),
  /** Host CPUs for each vCPU, applied at start: { "0": "0-1" }. */
  vcpupin: z.record(z.string().regex(/^\d+$/), z.string().regex(/^\d+(-\d+)?(,\d+(-\d+)?)*$/)).optional(),
  /** Raw arguments appended as they are; qkvm does not check them. */
  extraArgs: z.array(z.string().max(LIMITS.text)).max(LIMITS.extraArgs).default([]),
  /** Free text, kept with the definition. */
  description: z.string().max(LIMITS.text).optional(),
  /** A cloud-init NoCloud seed (an ISO labelled cidata) attached as a read-only CD-ROM (src/image/seed.ts). */
  cloudInit: CloudInit.optional(),
}).strict().superRefine((s, ctx) => {
  if ((s.initrd || s.append) && !s.kernel) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['kernel'], message: 'initrd and append need a kernel' });
  }
  if (s.machine === 'microvm' && !s.kernel) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['kernel'], message: 'the microvm machine has no firmware boot: it needs a kernel' });
  }
  if ((s.maxMemory === undefined) !== (s.memorySlots === undefined)) {
    const [path, message] = s.maxMemory === undefined ? ['memorySlots', 'memorySlots needs maxMemory (the most the guest may grow to)'] : ['maxMemory', 'maxMemory needs memorySlots (how many DIMMs may be plugged, e.g. 4)'];
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: [path], message });
  }
  if (s.maxMemory !== undefined && parseSize(s.maxMemory, 'maxMemory', 'M') <= parseSize(s.memory, 'memory', 'M')) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['maxMemory'], message: `must be more than memory (${s.memory})` });
  }
  if (s.maxMemory !== undefined && s.machine === 'microvm') {
    ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['maxMemory'], message: 'the microvm machine has no memory hotplug' });
  }
  if (s.numa.length) {
    const total = s.numa.reduce((a, n) => a + parseSize(n.memory, 'numa', 'M'), 0);
    if (total !== parseSize(s.memory, 'memory', 'M')) {
      ctx.addIssue({ code: z.ZodIssueCode.custom, path: ['numa'], message: `the numa nodes' memory must add up to memory (${s.memory})` });
    }
  }
});

export type VmSpecInput = z.input<typeof VmSpec>;
export type VmSpec = z.output<typeof VmSpec>;
export type Disk = z.output<typeof Disk>;
export type Nic = z.output<typeof Nic>;

/** Reads the value at a zod issue path, so an error can quote what was written. */
function valueAt(input: unknown, path: (string | number)[]): unknown {
  let v: any = input;
  for (const k of path) {
    if (v == null || typeof v !== 'object') return undefined;
    v = v[k];
  }
  return v;
}

export function formatPath(path: (string | number)[]): string {
  return path.reduce<string>((acc, k) => (typeof k === 'number' ? `${acc}[${k}]` : acc ? `${acc}.${k}` : k), '');
}

/** A value as written, cut short: an error about a 10k-item list must stay readable. */
function showValue(v: unknown): string {
  if (Array.isArray(v) && v.length > 8) return `[${v.length} items]`;
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 120 ? `${s.slice(0, 100)}... (${s.length} characters)` : s;
}

/** Validates with any zod schema; every problem names the field and the value written there. */
export function parseWith<S extends z.ZodTypeAny>(schema: S, input: unknown, source: string): z.output<S> {
  const r = schema.safeParse(input);
  if (r.success) return r.data;
  const lines = r.error.issues.map((i) => {
    const field = formatPath(i.path) || '(top level)';
    const value = valueAt(input, i.path);
    let msg = i.message;
    if (i.code === z.ZodIssueCode.unrecognized_keys) msg = `unknown field(s) ${i.keys.map((k) => `"${k}"`).join(', ')}`;
    if (i.code === z.ZodIssueCode.invalid_enum_value) msg = `must be one of ${i.options.join(', ')}`;
    const shown = i.code === z.ZodIssueCode.unrecognized_keys ? '' : value === undefined ? (i.code === z.ZodIssueCode.invalid_type && i.received === 'undefined' ? ' (missing)' : '') : ` = ${showValue(value)}`;
    return `  ${field}${shown}: ${msg}`;
  });
  const more = lines.length > 20 ? [`  ... and ${lines.length - 20} more problems`] : [];
  throw invalid(`${source}: invalid definition\n${[...lines.slice(0, 20), ...more].join('\n')}`);
}

export const parseVmSpec = (input: unknown, source = 'definition'): VmSpec => parseWith(VmSpec, input, source);

export { smpOf } from './smp.js';
