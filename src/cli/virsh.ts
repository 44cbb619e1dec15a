// virsh's spellings, in one table: a line as a virsh tutorial writes it
// (`snapshot-revert --domain vm1 --current`, `attach-disk vm1 x.qcow2 vdb
// --persistent`) is rewritten into qkvm's own argv before yargs parses it, so
// every command gets the same treatment. Pure: no I/O, no yargs (the fast
// path loads it), unit-tested in test/cli/virsh.test.ts.
import { editDistance, normalizeDash } from '../typed.js';
import path from 'node:path';

/** What a virsh flag becomes. */
export type FlagRule =
  | string                                   // a qkvm flag of the same kind (boolean, or taking the value)
  | { to: string[]; value?: false }           // boolean virsh flag -> these qkvm tokens
  | { map: (v: string) => string[] }         // virsh flag with a value -> qkvm tokens (may throw VirshRefusal)
  | { note: string; value?: boolean }        // accepted and dropped, with a one-line note on stderr
  | { refuse: string; value?: boolean };     // refused: means something qkvm cannot do (exit 2)

/** A virsh positional option: given bare in order, or as --NAME VALUE. */
export interface VirshArg {
  name: string;
  /** Where it goes: a qkvm positional (default) or a qkvm flag. */
  flag?: string;
  /** Rewrites the value (e.g. virsh's bare size in KiB). */
  value?: (v: string, cwd: string) => string;
}

export interface VirshCommand {
  /** qkvm's words for it (default: the same name). */
  to?: string[];
  /** virsh's positional options, in virsh's order. */
  args?: (string | VirshArg)[];
  /** The qkvm positional order of those names, when it differs from virsh's. */
  order?: string[];
  flags?: Record<string, FlagRule>;
  /** Always said on stderr (what differs from virsh). */
  note?: string;
  /** Last touch on the result: the collected args and the output flags. */
  finish?: (args: Record<string, string>, out: string[], used: Set<string>, cwd: string) => void;
}

/** A virsh spelling that names something qkvm does not do: the message for exit 2. */
export class VirshRefusal extends Error {
  constructor(message: string, readonly hint?: string) { super(message); }
}

/** virsh reads a bare size as KiB ("setmem vm 524288" is 512 MiB); a suffix is kept. */
export const kib = (v: string): string => (/^\d+$/.test(v) ? `${v}K` : v);

/** A disk path typed on the command line is relative to the current directory (the shared rule). */
const filePath = (v: string, cwd: string): string => path.resolve(cwd, v);

const live: Record<string, FlagRule> = {
  live: { note: '--live: the running guest is changed (what qkvm does by default)' },
  current: { note: '--current: the running guest if it runs, else its definition (qkvm\'s default)' },
};
/** --config alone: the definition only; --persistent (or --config --live): both. */
const persist = (opts: { config?: boolean } = {}): Record<string, FlagRule> => ({
  persistent: { to: ['--persist'] },
  config: opts.config === false ? { to: ['--persist'] } : { to: ['--persist', '--no-live'] },
  live: { to: [] },
  current: { to: [] },
});
/** After flags: --config together with --live means both, as in virsh. */
const configLive = (_a: Record<string, string>, out: string[], used: Set<string>) => {
  if (used.has('config') && used.has('live')) { const i = out.indexOf('--no-live'); if (i >= 0) out.splice(i, 1); }
};

const DOMAIN: VirshCommand = { args: ['domain'] };
const refuseNames = (what: string): FlagRule => ({ refuse: `${what}: qkvm guests have names only (no UUID or id)` });

export const VIRSH: Record<string, VirshCommand> = {
  list: {
    flags: {
      'state-running': { to: [] },
      'state-shutoff': { to: ['--inactive'] },
      'state-paused': { note: '--state-paused: every running guest is listed; its state column says paused' },
      persistent: { note: '--persistent: every qkvm guest is persistent (has a definition)' },
      table: { to: [] },
      uuid: refuseNames('--uuid'),
      title: { note: '--title: qkvm guests have no title' },
    },
  },
  start: { args: ['domain'], flags: { 'force-boot': { note: '--force-boot: qkvm has no managed save to discard' }, autodestroy: { refuse: '--autodestroy: qkvm guests outlive the command that starts them' } } },
  shutdown: { args: ['domain'], flags: { mode: { map: (v) => (v === 'acpi' ? [] : fail(`shutdown --mode ${v}: qkvm shuts down through ACPI only`, 'drop --mode, or use qkvm destroy to stop at once')) } } },
  reboot: { args: ['domain'], flags: { mode: { map: (v) => (v === 'acpi' ? [] : fail(`reboot --mode ${v}: qkvm reboots through ACPI (Ctrl-Alt-Del) only`)) } } },
  destroy: { args: ['domain'], flags: { graceful: { note: '--graceful: qkvm destroy stops QEMU at once; use qkvm shutdown NAME to ask the guest' } } },
  reset: DOMAIN, suspend: DOMAIN, resume: DOMAIN, recover: DOMAIN, console: DOMAIN, vnc: DOMAIN, vncdisplay: { args: ['domain'], to: ['vnc'] },
  dominfo: DOMAIN, info: DOMAIN, domstate: { args: ['domain'], flags: { reason: { to: [] } } },
  domifaddr: { args: ['domain'], flags: { source: { map: (v) => (v === 'agent' ? ['--source', 'agent'] : []) } } },
  domiflist: DOMAIN, domblklist: { args: ['domain'], flags: { details: { to: [] } } }, vcpucount: DOMAIN, vcpuinfo: DOMAIN,
  dommemstat: DOMAIN, dumpconfig: DOMAIN,
  dumpxml: {
    args: ['domain'],
    note: "note: qkvm's definition is YAML, not libvirt XML (the same fields under QEMU's own names)",
    flags: { inactive: { to: [] }, 'security-info': { to: [] }, 'update-cpu': { note: '--update-cpu: the definition already names the CPU model' } },
  },
  autostart: { args: ['domain'] },
  undefine: {
    args: ['domain'],
    flags: {
      'remove-all-storage': { to: ['--remove-storage'] },
      'delete-storage-volume-snapshots': { to: [] },
      'snapshots-metadata': { note: '--snapshots-metadata: the snapshots live in the disk images, which qkvm keeps unless it removes them' },
      'managed-save': { to: [] }, nvram: { to: [] }, 'keep-nvram': { to: [] },
      storage: { refuse: '--storage: qkvm removes either every disk it created for the guest (--remove-all-storage) or none', value: true },
    },
  },
  setvcpus: { args: ['domain', 'count'], flags: { ...live, config: { refuse: '--config: qkvm sets the vCPUs of a running guest; change smp: with qkvm edit NAME for the next start' }, maximum: { refuse: '--maximum: the maximum is the definition\'s smp.maxcpus (qkvm edit NAME)' } } },
  vcpupin: { args: ['domain', 'vcpu', 'cpulist'], flags: live },
  setmem: {
    args: ['domain', { name: 'size', value: kib }],
    flags: {
      ...live,
      config: { refuse: "--config: qkvm's definition has one memory size (setmaxmem NAME SIZE --config changes it); setmem moves the running guest's balloon" },
    },
  },
  setmaxmem: {
    args: ['domain', { name: 'size', value: kib }],
    flags: { config: { to: [] }, current: { to: [] }, live: { refuse: "setmaxmem --live: QEMU cannot change a running guest's memory size; give --config (next start), or setmem for the balloon" } },
  },
  'snapshot-create-as': {
    args: ['domain', 'name', { name: 'description', flag: '--description' }],
    flags: {
      atomic: { to: [] }, live: { to: [] },
      'disk-only': { note: '--disk-only: qkvm saves RAM state with the disks of a running guest (disk-only when it is shut off)' },
      'no-metadata': { refuse: '--no-metadata: qkvm always records its snapshots' },
      quiesce: { note: '--quiesce: needs the guest agent, which the snapshot does not call' },
      diskspec: { refuse: '--diskspec: qkvm snapshots live inside the qcow2 images (internal), never as external files', value: true },
      memspec: { refuse: '--memspec: qkvm keeps the RAM state inside the first qcow2 disk', value: true },
    },
  },
  'snapshot-list': { args: ['domain'], flags: { tree: { note: '--tree: the Parent column shows the tree' }, name: { to: [] }, parent: { to: [] } } },
  'snapshot-revert': { args: ['domain', 'snapshotname'], flags: { running: { note: '--running: a snapshot with RAM state resumes running' }, paused: { refuse: '--paused: qkvm resumes the reverted guest as the snapshot was' }, force: { to: [] } } },
  'snapshot-delete': { args: ['domain', 'snapshotname'], flags: { children: { refuse: '--children: qkvm deletes one snapshot at a time' }, 'metadata': { refuse: '--metadata: qkvm deletes the snapshot from the images too' } } },
  'snapshot-current': { args: ['domain'], flags: { name: { to: [] } } },
  'snapshot-info': { args: ['domain', 'snapshotname'] },
  'attach-disk': {
    args: ['domain', 'source', { name: 'target', flag: '--target' }],
    flags: {
      ...persist(),
      driver: { map: (v) => (v === 'qemu' ? [] : fail(`--driver ${v}: qkvm runs QEMU's own block layer (driver qemu)`)) },
      subdriver: '--format',
      targetbus: '--bus',
      type: { map: (v) => (v === 'disk' ? [] : fail(`--type ${v}: qkvm hot-plugs disks only (a ${v} cannot be hot-plugged here)`, `put it in the definition: qkvm edit NAME, a disk with media: ${v === 'cdrom' ? 'cdrom' : v}`)) },
      mode: { map: (v) => (v === 'readonly' ? ['--readonly'] : fail(`--mode ${v}: qkvm never shares a writable disk between guests`, 'give --mode readonly, or clone the disk'))},
      cache: { map: (v) => fail(`--cache ${v}: qkvm sets cache per disk in the definition, not on attach`, 'attach without --cache, then qkvm edit NAME (cache: on that disk)') },
      sourcetype: { map: (v) => (v === 'file' ? [] : ['--host-device']) },
      serial: { refuse: '--serial: qkvm does not set disk serial numbers', value: true },
      shareable: { refuse: '--shareable: qkvm never shares a writable disk between guests' },
    },
    finish: (a, out, used, cwd) => {
      configLive(a, out, used);
      // Only virsh's form (a target, or a virsh flag or option name) reads the source as virsh does;
      // qkvm's own `attach-disk g VOLUME` keeps its meaning.
      // (--target is spelled the same in both: by itself it does not make the virsh form.)
      const virshForm = (a.target !== undefined && !used.has('--target')) || [...used].some((k) => k !== '--target');
      if (!virshForm) return;
      // A path the user typed is explicit (outside pools is fine); virsh attaches it writable unless --mode readonly.
      if (a.source !== undefined) a.source = filePath(a.source, cwd);
      out.push('--external');
      if (!out.includes('--readonly')) out.push('--no-readonly');
    },
  },
  'detach-disk': { args: ['domain', 'target'], flags: { ...persist(), config: { to: ['--persist'] } }, finish: configLive, note: undefined },
  'attach-interface': {
    args: ['domain', 'type', 'source'],
    order: ['domain'],
    flags: { ...persist(), model: '--model', mac: '--mac', target: { note: '--target: qkvm names the tap itself (qk-GUEST-N)', value: true }, inbound: { refuse: '--inbound: qkvm does not shape NIC traffic', value: true }, outbound: { refuse: '--outbound: qkvm does not shape NIC traffic', value: true } },
    finish: (a, out, used) => {
      configLive(a, out, used);
      if (a.type !== undefined && a.type !== 'network') {
        fail(`attach-interface --type ${a.type}: qkvm attaches NICs to a qkvm network`,
          a.type === 'bridge' ? `define a network on that bridge once: qkvm net define ${a.source ?? 'br0'}-net --mode bridge --bridge ${a.source ?? 'br0'}; then attach-interface NAME --type network --source ${a.source ?? 'br0'}-net` : 'use --type network --source NETWORK');
      }
      if (a.source !== undefined) out.push('--net', a.source);
    },
  },
  'detach-interface': {
    args: ['domain', 'type'],
    order: ['domain'],
    flags: { ...persist() },
    finish: (a, out, used) => { configLive(a, out, used); if (a.type !== undefined && a.type !== 'network' && a.type !== 'bridge') fail(`detach-interface --type ${a.type}: qkvm NICs are network NICs`); },
  },
  save: { args: ['domain', 'file'], flags: { running: { to: [] }, bypass: { to: [] }, 'bypass-cache': { to: [] } } },
  restore: { args: ['file'], flags: { name: '--name', running: { to: [] }, 'bypass-cache': { to: [] } } },
  migrate: { args: ['domain', 'desturi'], flags: { live: { to: [] } } },
  // Networks: virsh's net-* on qkvm's net group.
  'net-list': { to: ['net', 'list'], flags: { all: { to: [] }, inactive: { note: '--inactive: qkvm net list shows every network and its state' }, persistent: { to: [] } } },
  'net-start': { to: ['net', 'start'], args: ['network'] },
  'net-destroy': { to: ['net', 'stop'], args: ['network'] },
  'net-undefine': { to: ['net', 'undefine'], args: ['network'] },
  'net-autostart': { to: ['net', 'autostart'], args: ['network'] },
  'net-info': { to: ['net', 'info'], args: ['network'] },
  'net-dhcp-leases': { to: ['net', 'leases'], args: ['network'], flags: { mac: { refuse: '--mac: qkvm lists every lease of the network', value: true } } },
  'net-define': { to: ['net-define'], args: ['file'], note: "note: qkvm reads the network from its YAML (name, mode, subnet...), not libvirt XML" },
  'net-create': { to: ['net-define'], args: ['file'], note: "note: qkvm reads the network from its YAML (name, mode, subnet...), not libvirt XML; net-create defines and starts it", finish: (_a, out) => { out.push('--start'); } },
  // Pools and volumes.
  'pool-list': { flags: { all: { to: [] }, details: { to: [] } } },
  'pool-start': { args: ['pool'] }, 'pool-destroy': { args: ['pool'] }, 'pool-build': { args: ['pool'] },
  'pool-info': { args: ['pool'] }, 'pool-autostart': { args: ['pool'] }, 'pool-undefine': { args: ['pool'] },
  'pool-define-as': { args: ['name', 'type'], flags: {} },
  'vol-create-as': { args: ['pool', 'name', 'capacity'], flags: { format: '--format', allocation: { note: '--allocation: images are sparse', value: true }, 'prealloc-metadata': { to: [] } } },
  'vol-list': { args: ['pool'], flags: { details: { to: [] } } },
  'vol-delete': { to: ['vol', 'delete'], args: ['vol', 'pool'], order: ['pool', 'vol'] },
  'vol-info': { to: ['vol', 'info'], args: ['vol', 'pool'], order: ['pool', 'vol'] },
  'vol-clone': { to: ['vol', 'clone'], args: ['vol', 'newname', 'pool'], order: ['pool', 'vol', 'newname'] },
};

/** virsh commands qkvm does not have: why, and what to use instead. */
export const REFUSED: Record<string, [why: string, instead: string]> = {
  managedsave: ['qkvm has no managed save that start resumes from', 'use qkvm save NAME FILE, then qkvm restore FILE'],
  'managedsave-remove': ['qkvm has no managed save', 'delete the file you gave qkvm save'],
  'attach-device': ['qkvm does not read libvirt XML device descriptions', 'use qkvm attach-disk or qkvm attach-interface'],
  'detach-device': ['qkvm does not read libvirt XML device descriptions', 'use qkvm detach-disk or qkvm detach-interface'],
  'update-device': ['qkvm does not read libvirt XML device descriptions', 'use qkvm edit NAME (takes effect at the next start)'],
  'change-media': ['qkvm does not swap CD-ROM media in a running guest', 'qkvm edit NAME (the cdrom disk\'s file), then restart it'],
  'domxml-from-native': ['qkvm does not write libvirt XML', 'use qkvm create NAME --from-cmdline "qemu-system-x86_64 ..." (a YAML definition)'],
  'domxml-to-native': ['qkvm does not read libvirt XML', 'use qkvm cmdline NAME (the QEMU command of a qkvm guest)'],
  domuuid: ['qkvm guests have names only (no UUID)', 'use the name'],
  domid: ['qkvm guests have names only (no id)', 'use the name; qkvm info NAME shows the QEMU pid'],
  domname: ['qkvm guests have names only (no id or UUID)', 'use the name'],
  blockcopy: ['qkvm does not mirror a running guest\'s disk', 'shut the guest down, then qkvm disk convert SRC DST'],
  blockpull: ['qkvm does not stream a running guest\'s backing file', 'shut the guest down, then qkvm disk rebase FILE --backing ""'],
  blockcommit: ['qkvm does not commit a running guest\'s overlay', 'shut the guest down, then qkvm disk commit FILE'],
  blockresize: ['qkvm does not resize a running guest\'s disk', 'shut the guest down, then qkvm disk resize FILE SIZE'],
  'snapshot-create': ['virsh snapshot-create reads libvirt XML', 'use qkvm snapshot-create-as NAME SNAP'],
  'snapshot-edit': ['qkvm snapshots have no editable XML', 'delete and take it again'],
  capabilities: ['qkvm does not describe the host in libvirt XML', 'use qkvm doctor'],
  nodeinfo: ['qkvm does not describe the host in libvirt XML', 'use qkvm doctor'],
  sysinfo: ['qkvm does not describe the host in libvirt XML', 'use qkvm doctor'],
  uri: ['qkvm has no connection URI: it runs QEMU on this host directly', 'drop --connect / -c; QKVM_HOME chooses the set of guests'],
  connect: ['qkvm has no connection: it runs QEMU on this host directly', 'run qkvm COMMAND on the host you mean'],
  hostname: ['qkvm has no connection to a remote host', 'use hostname'],
  'iface-bridge': ['qkvm does not change the host\'s interfaces behind the scenes', 'use qkvm net bridge-setup BRIDGE UPLINK (it shows each command)'],
  'iface-list': ['qkvm does not manage host interfaces', 'use ip link'],
  'net-edit': ['qkvm networks are changed by defining them again', 'qkvm net undefine NAME, then qkvm net define NAME ...'],
  'net-dumpxml': ['qkvm does not write libvirt XML', 'use qkvm net info NAME --json'],
  'pool-create-as': ['qkvm pools are defined, then started', 'use qkvm pool-define-as NAME dir, then qkvm pool-start NAME'],
  'vol-upload': ['qkvm does not stream into a volume', 'use qkvm disk convert FILE TARGET'],
  'vol-download': ['qkvm does not stream out of a volume', 'copy the file: qkvm vol info POOL VOL shows its path'],
  'vol-resize': ['qkvm resizes images as files', 'use qkvm disk resize FILE SIZE'],
  'nwfilter-list': ['qkvm has no network filters', 'use nftables on the network\'s bridge'],
  'secret-list': ['qkvm has no secret store', 'qkvm vnc NAME --password reads a password from stdin'],
  dompmsuspend: ['qkvm does not put guests to sleep through the guest agent', 'use qkvm suspend NAME (pauses the vCPUs)'],
  'send-key': ['qkvm has no send-key command', 'use qkvm monitor NAME "sendkey ctrl-alt-delete"'],
  screenshot: ['qkvm has no screenshot command', 'use qkvm monitor NAME "screendump /tmp/x.ppm"'],
  'inject-nmi': ['qkvm has no inject-nmi command', 'use qkvm monitor NAME nmi'],
};

/** qkvm commands that virsh spells the same but feeds libvirt XML: what to do instead. */
const XML_READERS: Record<string, string> = {
  define: 'write the guest as qkvm YAML (qkvm dumpxml NAME shows one), or use qkvm virt-install / qkvm create --from-cmdline',
  create: 'use qkvm virt-install, or qkvm define FILE.yaml then qkvm start NAME',
  'net-define': 'write the network as qkvm YAML: name: NAME, mode: nat, subnet: 192.168.122.0/24',
  'net-create': 'write the network as qkvm YAML: name: NAME, mode: nat, subnet: 192.168.122.0/24',
};

function fail(message: string, hint?: string): never { throw new VirshRefusal(message, hint); }

/** qkvm long options that take a value (so their value is not read as a positional). */
const QKVM_VALUE_OPTIONS = new Set(['bus', 'format', 'mac', 'model', 'net', 'timeout', 'incoming', 'until', 'interval', 'target', 'description', 'digest', 'mode', 'subnet', 'bridge', 'uplink', 'dhcp-range', 'mtu', 'vlan', 'hostfwd', 'to', 'to-home', 'backing', 'size']);

export interface Rewritten { argv: string[]; notes: string[] }

/**
 * virsh's spelling of a command line -> qkvm's. Commands outside the table
 * still get `--domain X` as their first positional. Throws VirshRefusal.
 */
export function rewriteVirsh(argv: string[], cwd = process.cwd()): Rewritten {
  // A web page's en (or em) dash for "--" is read as "--" (the shared rule; args.ts may do it first).
  argv = argv.map(normalizeDash);
  // virsh's global -c/--connect URI (qemu:///system): there is no connection here.
  const connect: string[] = [];
  while (argv[0] === '-c' || argv[0] === '--connect' || argv[0]?.startsWith('--connect=')) {
    const uri = argv[0].includes('=') ? argv[0].slice(argv[0].indexOf('=') + 1) : argv[1];
    argv = argv.slice(argv[0].includes('=') ? 1 : 2);
    connect.push(`note: --connect ${uri ?? ''}: qkvm runs QEMU on this host directly; ignored`);
  }
  const r = rewriteCommand(argv, cwd);
  return { argv: r.argv, notes: [...connect, ...r.notes] };
}

function rewriteCommand(argv: string[], cwd: string): Rewritten {
  const [cmd, ...rest] = argv;
  if (!cmd || cmd.startsWith('-')) return { argv, notes: [] };
  const refused = REFUSED[cmd];
  if (refused) fail(`${cmd}: ${refused[0]}`, refused[1]);
  // virsh define/create FILE.xml: the same words as qkvm's, but libvirt XML.
  const xml = rest.find((t) => /\.xml$/i.test(t));
  if (XML_READERS[cmd] && xml) fail(`${cmd} ${xml}: qkvm reads its own YAML, not libvirt XML`, XML_READERS[cmd]);
  const spec: VirshCommand | undefined = VIRSH[cmd];
  if (!spec && !rest.some((t) => t === '--domain' || t.startsWith('--domain='))) return { argv, notes: [] };
  const c = spec ?? DOMAIN;
  const args = (c.args ?? []).map((a) => (typeof a === 'string' ? { name: a } : a));
  const byName = new Map(args.map((a) => [a.name, a]));
  const got: Record<string, string> = {};
  const bare: string[] = [];
  const out: string[] = [];
  const notes: string[] = c.note ? [c.note] : [];
  const used = new Set<string>();
  const end = rest.indexOf('--');
  const words = end === -1 ? rest : rest.slice(0, end);
  // A line in qkvm's own spelling is left exactly as written: only a virsh
  // form (a virsh flag or named positional, a renamed command, a positional
  // read virsh's way) is rewritten, so qkvm's own options keep their values.
  const flagKey = (t: string) => (t.startsWith('--') ? t.slice(2).split('=')[0] : undefined);
  const plainWords = words.filter((t) => !t.startsWith('-')).length;
  const virshForm = !!c.to || args.some((a) => a.value) || c.finish !== undefined
    || (args.some((a) => a.flag) && plainWords > args.filter((a) => !a.flag).length)
    || words.some((t) => { const k = flagKey(t); return k !== undefined && (byName.has(k) || c.flags?.[k] !== undefined); });
  if (!virshForm) return { argv, notes: c.note ? [c.note] : [] };
  for (let i = 0; i < words.length; i++) {
    const t = words[i];
    if (!t.startsWith('--') || t === '--') { bare.push(t); continue; }
    const eq = t.indexOf('=');
    const key = eq === -1 ? t.slice(2) : t.slice(2, eq);
    const inline = eq === -1 ? undefined : t.slice(eq + 1);
    const takeValue = (): string => {
      if (inline !== undefined) return inline;
      const v = words[i + 1];
      if (v === undefined) fail(`${cmd} --${key}: needs a value`);
      i++;
      return v;
    };
    const arg = byName.get(key);
    if (arg) { got[key] = takeValue(); if (key !== 'domain') used.add(`--${key}`); continue; }
    const rule = c.flags?.[key];
    if (rule === undefined) {
      // A qkvm flag: passed through as written (with its value, when it takes one).
      out.push(t);
      if (inline === undefined && QKVM_VALUE_OPTIONS.has(key) && words[i + 1] !== undefined && !words[i + 1].startsWith('--')) out.push(words[++i]);
      continue;
    }
    used.add(key);
    if (typeof rule === 'string') {
      // Same kind as the qkvm flag it becomes: a value rides along when the virsh flag has one.
      if (inline !== undefined) out.push(`${rule}=${inline}`);
      else if (words[i + 1] !== undefined && !words[i + 1].startsWith('--')) out.push(rule, words[++i]);
      else out.push(rule);
    } else if ('to' in rule) {
      out.push(...rule.to);
    } else if ('map' in rule) {
      out.push(...rule.map(takeValue()));
    } else if ('note' in rule) {
      if (rule.value) takeValue();
      notes.push(`note: ${rule.note}`);
    } else {
      if (rule.value) takeValue();
      fail(`${cmd} ${rule.refuse}`);
    }
  }
  // Bare words fill virsh's positional options not given by name, in order.
  const free = args.filter((a) => got[a.name] === undefined);
  const extra: string[] = [];
  for (const w of bare) {
    const a = free.shift();
    if (a) got[a.name] = w; else extra.push(w);
  }
  for (const a of args) if (got[a.name] !== undefined && a.value) got[a.name] = a.value(got[a.name], cwd);
  c.finish?.(got, out, used, cwd);
  const order = c.order ?? args.filter((a) => !a.flag).map((a) => a.name);
  const positionals = order.filter((n) => got[n] !== undefined).map((n) => got[n]);
  const asFlags = args.filter((a) => a.flag && got[a.name] !== undefined).flatMap((a) => [a.flag!, got[a.name]]);
  const tail = end === -1 ? [] : rest.slice(end);
  return { argv: [...(c.to ?? [cmd]), ...positionals, ...extra, ...asFlags, ...out, ...tail], notes };
}

export { editDistance } from '../typed.js';

/** The closest candidate, if it is close enough to be a typo (at most 2 edits, and under a third of the word). */
export function didYouMean(word: string, candidates: Iterable<string>): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const dist = editDistance(word.toLowerCase(), c.toLowerCase());
    if (dist < bestD || (dist === bestD && best !== undefined && c < best)) { best = c; bestD = dist; }
  }
  const limit = Math.min(2, Math.max(1, Math.floor(word.length / 3)));
  return best !== undefined && bestD > 0 && bestD <= limit ? best : undefined;
}

/** Every command name qkvm answers to: its own (from the command index) and virsh's spellings. */
export function knownCommands(index: Record<string, string>): Set<string> {
  return new Set([...Object.keys(index), ...Object.keys(VIRSH), ...Object.keys(REFUSED)]);
}
