// virt-install's command line, as tutorials write it, read into a qkvm
// definition plus the work around it (images to create, an installer to boot
// once, notes for flags that mean nothing here). Pure: no file is read and
// nothing runs; src/tutorial/virt-install-run.ts checks the host and acts.
import path from 'node:path';
import { invalid } from '../errors.js';
import { MAC_RE, type VmSpecInput } from '../config/schema.js';

type Kv = { key?: string; value: string };

/** "a=1,b='x,y',c" -> items; quotes group commas (kernel_args="a b,c"), and are removed. */
export function splitOpts(text: string): Kv[] {
  const items: string[] = [];
  let cur = '', quote = '';
  for (const ch of text) {
    if (quote) { if (ch === quote) quote = ''; else cur += ch; continue; }
    if (ch === '"' || ch === "'") { quote = ch; continue; }
    if (ch === ',') { items.push(cur); cur = ''; continue; }
    cur += ch;
  }
  items.push(cur);
  return items.filter((s) => s !== '').map((s) => {
    const i = s.indexOf('=');
    return i < 0 ? { value: s } : { key: s.slice(0, i), value: s.slice(i + 1) };
  });
}

/** How each flag is read: 'v' takes a value, 'o' an optional one (never a token starting with -), 'n' none. */
const FLAGS: Record<string, 'v' | 'o' | 'n'> = {
  name: 'v', ram: 'v', memory: 'v', vcpus: 'v', cpu: 'v', cpuset: 'v',
  cdrom: 'v', location: 'v', pxe: 'n', import: 'n', 'extra-args': 'v', boot: 'v', install: 'v', initrd: 'v',
  'os-type': 'v', 'os-variant': 'v', osinfo: 'v',
  disk: 'v', nodisks: 'n', file: 'v', 'file-size': 'v', 'nonsparse': 'n',
  network: 'v', nonetworks: 'n', bridge: 'v', mac: 'v',
  graphics: 'v', nographics: 'n', vnc: 'n', vncport: 'v', vnclisten: 'v', password: 'v', keymap: 'v', sdl: 'n', spice: 'n',
  noautoconsole: 'n', autoconsole: 'v', serial: 'v', console: 'v', video: 'v', channel: 'v', sound: 'v', soundhw: 'v', rng: 'v',
  'virt-type': 'v', accelerate: 'n', hvm: 'n', paravirt: 'n', arch: 'v', machine: 'v',
  autostart: 'n', 'print-xml': 'o', 'dry-run': 'n', force: 'n', debug: 'n', connect: 'v', wait: 'o', noreboot: 'n',
  description: 'v', metadata: 'v', check: 'v', memballoon: 'v', input: 'v', controller: 'v', features: 'v', clock: 'v',
  events: 'v', noapic: 'n', noacpi: 'n', quiet: 'n', transient: 'n', destroy_on_exit: 'n',
  'destroy-on-exit': 'n', help: 'n', 'host-device': 'v', filesystem: 'v', 'cloud-init': 'v', unattended: 'o',
  'location-kernel': 'v', 'location-initrd': 'v', tpm: 'v', watchdog: 'v', smartcard: 'v', redirdev: 'v', memorybacking: 'v',
  security: 'v', numatune: 'v', blkiotune: 'v', memtune: 'v', idmap: 'v', sysinfo: 'v', qemu_commandline: 'v', 'qemu-commandline': 'v',
  'xml': 'v', iothreads: 'v', seclabel: 'v', resource: 'v', vsock: 'v', panic: 'v', parallel: 'v', hostdev: 'v', memdev: 'v',
  'os-distro': 'v', 'container': 'n', 'reinstall': 'v', 'cpus': 'v',
};

const SHORT: Record<string, string> = {
  n: 'name', r: 'ram', c: 'cdrom', l: 'location', x: 'extra-args', w: 'network', d: 'debug', v: 'hvm', p: 'paravirt',
  f: 'file', s: 'file-size', m: 'mac', k: 'keymap', q: 'quiet', h: 'help', u: 'uuid',
};
FLAGS.uuid = 'v';

/** Flags that do nothing here, and the one line that says so. */
const IGNORED: Record<string, string> = {
  accelerate: '--accelerate: ignored (qkvm uses KVM whenever it works on this host: accel auto)',
  hvm: '--hvm: ignored (full virtualization is the only kind QEMU does here)',
  force: '--force: nothing to confirm (qkvm asks no questions; it never overwrites an image or a definition)',
  noreboot: '--noreboot: ignored (the guest keeps running; qkvm never restarts it for you)',
  wait: '--wait: ignored (qkvm returns once the guest runs; watch it with `qkvm console NAME` or `qkvm domstate NAME`)',
  cpuset: '--cpuset: ignored (pin vCPUs after start with `qkvm vcpupin`)',
  check: '--check: ignored (qkvm always runs its checks)',
  metadata: '--metadata: ignored (use --description)',
  channel: '--channel: ignored (qkvm adds no channels; the guest agent is not wired by virt-install here)',
  sound: '--sound: ignored (qkvm guests have no sound device)',
  soundhw: '--soundhw: ignored (qkvm guests have no sound device)',
  rng: '--rng: ignored (qkvm adds no RNG device)',
  controller: '--controller: ignored (qkvm adds the controllers the disks need)',
  features: '--features: ignored (qkvm sets ACPI/APIC as QEMU does by default)',
  clock: '--clock: ignored (QEMU keeps UTC)',
  events: '--events: ignored (a qkvm guest that stops stays stopped)',
  noapic: '--noapic: ignored', noacpi: '--noacpi: ignored',
  quiet: '--quiet: ignored (qkvm prints only notes on stderr)',
  keymap: '--keymap: ignored (the VNC client sends key codes)',
  arch: '--arch: ignored (qkvm runs x86_64 guests)',
  uuid: '--uuid: ignored (qkvm identifies guests by name)',
  transient: '--transient: ignored (qkvm keeps the definition; remove it with `qkvm undefine NAME`)',
  'destroy-on-exit': '--destroy-on-exit: ignored (stop the guest with `qkvm destroy NAME`)',
  destroy_on_exit: '--destroy-on-exit: ignored (stop the guest with `qkvm destroy NAME`)',
  iothreads: '--iothreads: ignored', memtune: '--memtune: ignored', blkiotune: '--blkiotune: ignored', numatune: '--numatune: ignored',
  memorybacking: '--memorybacking: ignored (see hugepages in the definition)', security: '--security: ignored', seclabel: '--seclabel: ignored',
  resource: '--resource: ignored', sysinfo: '--sysinfo: ignored', idmap: '--idmap: ignored', panic: '--panic: ignored', watchdog: '--watchdog: ignored',
  tpm: '--tpm: ignored (no TPM emulator here)', smartcard: '--smartcard: ignored', redirdev: '--redirdev: ignored', vsock: '--vsock: ignored',
  'os-distro': '--os-distro: ignored',
};

/** Flags qkvm refuses, with the reason (exit 2): using them silently would give a different guest. */
const REFUSED: Record<string, string> = {
  paravirt: '--paravirt: Xen paravirtualized guests do not exist under QEMU/KVM; drop the flag',
  container: '--container: qkvm runs virtual machines, not containers',
  'host-device': '--host-device: qkvm passes no host PCI/USB devices through from virt-install; see `qkvm attach-disk` and docs/safety.md',
  hostdev: '--hostdev: qkvm passes no host PCI/USB devices through from virt-install',
  filesystem: '--filesystem: qkvm shares no host directories (no virtiofs/9p here)',
  'cloud-init': '--cloud-init: not supported by `qkvm virt-install`; attach a cidata ISO with --disk ...,device=cdrom',
  unattended: '--unattended: qkvm has no unattended installer scripts (osinfo); use --location with --extra-args',
  xml: '--xml: qkvm writes no libvirt XML; edit the definition with `qkvm edit NAME`',
  'qemu-commandline': '--qemu-commandline: put raw QEMU options in the definition\'s extraArgs (`qkvm edit`, then `qkvm trust`)',
  qemu_commandline: '--qemu-commandline: put raw QEMU options in the definition\'s extraArgs (`qkvm edit`, then `qkvm trust`)',
  reinstall: '--reinstall: not supported; `qkvm undefine NAME` and run the line again',
  'location-kernel': '--location-kernel: not supported; use --boot kernel=,initrd=',
  'location-initrd': '--location-initrd: not supported; use --boot kernel=,initrd=',
  parallel: '--parallel: qkvm guests have no parallel port',
  memdev: '--memdev: not supported by `qkvm virt-install`',
  install: '--install: not supported; use --cdrom, --location, --pxe or --import',
  initrd: '--initrd-inject: not supported (no unattended installs here)',
  sdl: '--sdl: QEMU 7.2 here has no SDL display; use --graphics vnc',
  cpus: '--cpus: not a virt-install flag; did you mean --vcpus?',
};

export interface DiskPlan {
  /** Index in spec.disks. */
  index: number;
  /** An absolute host path (path=, or the bare PATH form). */
  path?: string;
  /** pool=NAME,size=N: a new volume in that pool (its name is chosen at run time). */
  pool?: string;
  /** vol=POOL/VOL: an existing volume. */
  vol?: string;
  /** Size to create it with when missing, as qkvm writes sizes (20G, 512M). */
  size?: string;
  format?: 'qcow2' | 'raw';
  sparse: boolean;
  media: 'disk' | 'cdrom';
  /** The flag it came from, for messages: --disk, --cdrom or --file. */
  flag?: string;
}

export interface NicPlan { index: number; bridge: string }

export type InstallKind = 'cdrom' | 'location' | 'pxe' | 'import' | 'kernel' | 'boot';

export interface VirtInstallPlan {
  name: string;
  /** The definition, before the run fills in what needs the host (formats, volume names, networks). */
  spec: VmSpecInput & { disks: any[]; nics: any[] };
  notes: string[];
  disks: DiskPlan[];
  /** NICs given as bridge=BR: joined to a qkvm network of mode bridge at run time. */
  bridges: NicPlan[];
  /** No --network and no --nonetworks: network "default" if qkvm has one, else user mode (decided at run time). */
  defaultNic: boolean;
  install: { kind: InstallKind; location?: string; extraArgs?: string; bootOnce?: string };
  /** From --graphics vnc,password= : set over QMP after start, never written anywhere. */
  vncPassword?: string;
  /** VNC without a port (or port=-1): pick a free display at run time, as virt-install's autoport. */
  vncAutoPort: boolean;
  autoconsole: boolean;
  printXml: boolean;
  dryRun: boolean;
  debug: boolean;
  help: boolean;
}

const GiB = (n: string, what: string): string => {
  if (!/^\d+(\.\d+)?$/.test(n)) throw invalid(`${what}: invalid size "${n}" (virt-install sizes are GiB, e.g. size=20)`, 'write size=20 for 20 GiB, or size=0.5 for 512 MiB');
  const v = Number(n);
  if (v <= 0) throw invalid(`${what}: size must be more than 0, got "${n}"`, 'write size=20 for 20 GiB');
  return Number.isInteger(v) ? `${v}G` : `${Math.round(v * 1024)}M`;
};

const MiBSize = (n: string, what: string): string => {
  if (!/^\d+$/.test(n) || Number(n) === 0) throw invalid(`${what}: invalid memory "${n}" (virt-install memory is MiB, e.g. 2048)`, `write ${what} 2048 for 2 GiB`);
  return `${n}M`;
};

const int = (v: string, what: string): number => {
  if (!/^\d+$/.test(v) || Number(v) < 1) throw invalid(`${what}: "${v}" is not a positive whole number`);
  return Number(v);
};

/** --os-variant families -> the devices their installers have drivers for. */
export interface OsDefaults { diskBus: 'virtio' | 'ide' | 'sata'; nicModel: 'virtio' | 'e1000' | 'rtl8139'; vga?: 'std' | 'cirrus' | 'virtio'; known: boolean }

export function osDefaults(variant: string | undefined, osType?: string): OsDefaults {
  const v = (variant ?? '').toLowerCase();
  if (!v) return osType?.toLowerCase() === 'windows' ? { diskBus: 'ide', nicModel: 'e1000', vga: 'std', known: true } : { diskBus: 'virtio', nicModel: 'virtio', known: true };
  // Old Windows: no AHCI, no e1000 driver in XP's box (rtl8139 it has).
  if (/^win(2k|2k3|2k3r2|xp|xp64|nt[0-9.]*|me|9x|95|98)$/.test(v)) return { diskBus: 'ide', nicModel: 'rtl8139', vga: 'cirrus', known: true };
  if (/^win(vista|7|8|8\.1|2k8|2k8r2|2k12|2k12r2)/.test(v)) return { diskBus: 'sata', nicModel: 'e1000', vga: 'std', known: true };
  if (/^win(10|11|2k16|2k19|2k22|2k25)/.test(v)) return { diskBus: 'sata', nicModel: 'e1000', vga: 'std', known: true };
  if (v === 'generic' || v === 'unknown' || v === 'none') return { diskBus: 'ide', nicModel: 'e1000', known: true };
  // Linux before virtio drivers (2.6.25) and other old systems.
  if (/^(rhel[234](\.|$)|centos[234]|sles(9|10)|debian(etch|lenny|[3-4])|ubuntu(hardy|[5-7]\.)|fedora[1-8]$|linux20(0[0-9])|msdos|dos|solaris|opensolaris|freebsd[1-8](\.|$)|netbsd|openbsd[1-5])/.test(v)) {
    return { diskBus: 'ide', nicModel: 'e1000', known: true };
  }
  if (/^(rhel|centos|rocky|alma|almalinux|ol|fedora|debian|ubuntu|opensuse|sle|sles|archlinux|gentoo|alpine|linux|mageia|slackware|silverblue|freebsd|openbsd|cirros|nixos|mint|popos|manjaro|kali|clearlinux|coreos|fedora-coreos|rhcos|voidlinux|chromeos|android|mandriva)/.test(v)) {
    return { diskBus: 'virtio', nicModel: 'virtio', known: true };
  }
  return { diskBus: 'virtio', nicModel: 'virtio', known: false };
}

const NIC_MODELS: Record<string, 'virtio' | 'e1000' | 'rtl8139'> = { virtio: 'virtio', 'virtio-net': 'virtio', 'virtio-net-pci': 'virtio', e1000: 'e1000', rtl8139: 'rtl8139' };
const VIDEO: Record<string, 'std' | 'cirrus' | 'vmware' | 'qxl' | 'virtio' | 'none'> = { vga: 'std', std: 'std', cirrus: 'cirrus', vmvga: 'vmware', vmware: 'vmware', qxl: 'qxl', virtio: 'virtio', none: 'none' };
const CACHES = ['none', 'writeback', 'writethrough', 'unsafe', 'directsync'];

interface Token { flag: string; value?: string; written: string }

/** argv -> flags with values, --flag=value and --flag value both, short options too. */
export function tokenize(argv: string[]): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < argv.length; i++) {
    const t = argv[i];
    let flag: string, value: string | undefined, written = t;
    if (t.startsWith('--')) {
      const eq = t.indexOf('=');
      flag = (eq < 0 ? t.slice(2) : t.slice(2, eq)).toLowerCase();
      // "–r 2048" from a web page arrives as "--r": the short option it was.
      if (flag.length === 1 && SHORT[flag]) flag = SHORT[flag];
      if (eq >= 0) value = t.slice(eq + 1);
      written = eq < 0 ? t : t.slice(0, eq);
      // Old spellings virt-install still reads.
      if (flag === 'os-variant' || flag === 'osinfo') flag = 'os-variant';
      if (flag === 'initrd-inject') flag = 'initrd';
      if (flag === 'extra_args') flag = 'extra-args';
    } else if (/^-[A-Za-z]/.test(t)) {
      const long = SHORT[t[1]];
      if (!long) throw invalid(`virt-install: unknown option "${t.slice(0, 2)}"`, 'see `qkvm virt-install --help`');
      flag = long;
      written = t.slice(0, 2);
      if (t.length > 2) value = t[2] === '=' ? t.slice(3) : t.slice(2);
    } else {
      throw invalid(`virt-install: unexpected argument "${t}" (virt-install takes only options)`, 'did a value lose its flag? write --disk PATH, --name NAME ...');
    }
    const kind = FLAGS[flag];
    if (!kind) throw invalid(`virt-install: unknown option "${written}"`, 'see `qkvm virt-install --help` for the options qkvm reads');
    if (kind === 'n' && value !== undefined && !['print-xml'].includes(flag)) throw invalid(`virt-install: ${written} takes no value (got "${value}")`);
    if (kind === 'v' && value === undefined) {
      // The next option is not a value (except for --extra-args, whose kernel arguments may start with dashes).
      if (i + 1 >= argv.length || (argv[i + 1].startsWith('--') && flag !== 'extra-args')) throw invalid(`virt-install: ${written} needs a value`);
      value = argv[++i];
    }
    if (kind === 'o' && value === undefined && i + 1 < argv.length && (!argv[i + 1].startsWith('-') || /^-\d+$/.test(argv[i + 1]))) value = argv[++i];
    out.push({ flag, value, written });
  }
  return out;
}

/** virt-install's argv -> a qkvm definition and the plan around it. Throws INVALID (exit 2) naming the bad flag or value. */
export function parseVirtInstall(argv: string[], opts: { cwd: string }): VirtInstallPlan {
  const notes: string[] = [];
  const abs = (p: string) => path.resolve(opts.cwd, p.startsWith('~/') ? path.join(process.env.HOME ?? '/root', p.slice(2)) : p);
  const toks = tokenize(argv);
  const all = (f: string) => toks.filter((t) => t.flag === f);
  const last = (f: string) => all(f).at(-1)?.value;
  const has = (f: string) => all(f).length > 0;

  const plan: VirtInstallPlan = {
    name: '', spec: { name: '', disks: [], nics: [] }, notes, disks: [], bridges: [], defaultNic: false,
    install: { kind: 'boot' }, vncAutoPort: false, autoconsole: !has('noautoconsole'),
    printXml: has('print-xml'), dryRun: has('dry-run'), debug: has('debug'), help: has('help'),
  };
  if (plan.help) return plan;

  for (const t of toks) {
    if (REFUSED[t.flag]) throw invalid(`virt-install: ${REFUSED[t.flag]}`);
    if (IGNORED[t.flag] && !notes.includes(IGNORED[t.flag])) notes.push(IGNORED[t.flag]);
  }
  const autoconsole = last('autoconsole');
  if (autoconsole !== undefined) {
    if (autoconsole === 'none') plan.autoconsole = false;
    else notes.push(`--autoconsole ${autoconsole}: qkvm's console is text (the serial port)`);
  }

  // ---- connection
  const uri = last('connect');
  if (uri !== undefined) {
    if (/^qemu(\+unix)?:\/\/\/(system|session)$/.test(uri) || uri === 'qemu:///') notes.push(`--connect ${uri}: ignored (qkvm manages the local host, without libvirt)`);
    else throw invalid(`--connect ${uri}: qkvm manages only the local host (no remote libvirt URIs)`, 'run qkvm on that host, e.g. over ssh');
  }

  // ---- name, memory, vCPUs, CPU
  const name = last('name');
  if (!name) throw invalid('virt-install: --name is required', 'write --name NAME (or -n NAME)');
  plan.name = name;
  const spec = plan.spec;
  spec.name = name;
  const description = last('description');
  if (description !== undefined) spec.description = description;
  const ram = last('ram');
  const memory = last('memory');
  if (ram !== undefined && memory !== undefined) notes.push('--ram and --memory both given: --memory wins');
  if (ram !== undefined) spec.memory = MiBSize(ram, '--ram');
  if (memory !== undefined) {
    for (const kv of splitOpts(memory)) {
      if (!kv.key || kv.key === 'memory') spec.memory = MiBSize(kv.value, '--memory');
      else if (kv.key === 'maxmemory' || kv.key === 'currentMemory' || kv.key === 'maxMemory' || kv.key === 'hotplugmemorymax' || kv.key === 'hotplugmemoryslots') notes.push(`--memory ${kv.key}=: ignored (the guest gets its full memory; resize it with \`qkvm setmem\`)`);
      else throw invalid(`--memory: unknown option "${kv.key}=" in "${memory}"`, 'write --memory 2048 (MiB)');
    }
  }
  const vcpus = last('vcpus');
  if (vcpus !== undefined) {
    const smp: Record<string, number> = {};
    for (const kv of splitOpts(vcpus)) {
      const k = kv.key ?? 'vcpus';
      if (k === 'vcpus' || k === 'vcpu') smp.cpus = int(kv.value, '--vcpus');
      else if (k === 'maxvcpus' || k === 'sockets' || k === 'cores' || k === 'threads') smp[k === 'maxvcpus' ? 'maxcpus' : k] = int(kv.value, `--vcpus ${k}=`);
      else if (k === 'cpuset' || k === 'placement' || k === 'current') notes.push(`--vcpus ${k}=: ignored`);
      else throw invalid(`--vcpus: unknown option "${k}=" in "${vcpus}"`, 'write --vcpus 2, or --vcpus 2,maxvcpus=4,sockets=1,cores=4,threads=1');
    }
    const topo = ['sockets', 'cores', 'threads'].some((k) => smp[k] !== undefined);
    if (!topo && smp.maxcpus === undefined) spec.smp = smp.cpus ?? 1;
    else {
      // virt-install fills the rest of the topology from what is given, as QEMU does.
      if (topo && smp.cpus === undefined && smp.maxcpus === undefined) smp.cpus = (smp.sockets ?? 1) * (smp.cores ?? 1) * (smp.threads ?? 1);
      if (topo && smp.maxcpus === undefined) smp.maxcpus = (smp.sockets ?? 1) * (smp.cores ?? 1) * (smp.threads ?? 1);
      if (smp.cpus === undefined) smp.cpus = smp.maxcpus;
      spec.smp = smp as any;
    }
  }
  const cpu = last('cpu');
  if (cpu !== undefined) {
    const model = splitOpts(cpu)[0]?.value ?? '';
    const extra = splitOpts(cpu).filter((kv) => kv.key);
    if (extra.length) notes.push(`--cpu ${extra.map((kv) => `${kv.key}=`).join(',')}: ignored (only the model is used)`);
    if (['host', 'host-passthrough', 'host-model', 'host-copy', 'maximum'].includes(model)) {
      spec.cpu = 'max';
      notes.push(`--cpu ${model}: the guest gets QEMU's "max" model (the host CPU's features under KVM, all TCG can emulate under TCG)`);
    } else if (model === 'default' || model === 'clear' || model === '') {
      notes.push(`--cpu ${model}: QEMU's default model`);
    } else if (/^[A-Za-z0-9_.+-]+$/.test(model)) spec.cpu = model;
    else throw invalid(`--cpu: invalid CPU model "${model}"`, 'write --cpu host-passthrough, or a model such as Skylake-Client');
  }
  const machine = last('machine');
  if (machine !== undefined) {
    const m = machine.startsWith('pc-q35') ? 'q35' : machine.startsWith('pc') ? 'pc' : machine;
    if (m !== 'pc' && m !== 'q35' && m !== 'microvm') throw invalid(`--machine: "${machine}" is not an x86 machine qkvm runs (pc, q35, microvm)`);
    spec.machine = m;
  }

  // ---- hypervisor
  const virtType = last('virt-type');
  if (virtType !== undefined) {
    if (virtType === 'kvm') notes.push('--virt-type kvm: qkvm uses KVM when it works on this host and says so when it falls back to TCG (accel: auto)');
    else if (virtType === 'qemu') spec.accel = 'tcg';
    else throw invalid(`--virt-type: "${virtType}" is not a hypervisor here (kvm or qemu)`);
  }

  // ---- OS
  const osType = last('os-type');
  let variant: string | undefined;
  const osv = last('os-variant');
  if (osv !== undefined) {
    for (const kv of splitOpts(osv)) {
      if (!kv.key || kv.key === 'name' || kv.key === 'short-id' || kv.key === 'id') variant = kv.value.replace(/^https?:\/\/[^/]+\/([^/]+)\/(.+)$/, '$1$2');
      else if (kv.key === 'detect' || kv.key === 'require') notes.push(`--os-variant ${kv.key}=: ignored (qkvm does not inspect install media)`);
    }
  }
  if (osType !== undefined) notes.push(`--os-type ${osType}: read as a hint for device defaults (virt-install ignores it too)`);
  const os = osDefaults(variant, osType);
  if (variant && !os.known) notes.push(`--os-variant ${variant}: not one qkvm knows; using modern defaults (virtio disk and network)`);
  if (os.vga) spec.vga = os.vga;

  // ---- install source
  const cdrom = last('cdrom');
  const location = last('location');
  const extraArgs = all('extra-args').map((t) => t.value!).join(' ') || undefined;
  const pxe = has('pxe');
  const imp = has('import');
  const sources = [cdrom !== undefined && '--cdrom', location !== undefined && '--location', pxe && '--pxe', imp && '--import'].filter(Boolean);
  if (sources.length > 1) throw invalid(`virt-install: choose one install method, not ${sources.join(' and ')}`);
  let bootOrder: string | undefined;
  const boot = last('boot');
  let kernelBoot = false;
  if (boot !== undefined) {
    const order: string[] = [];
    for (const kv of splitOpts(boot)) {
      const k = kv.key;
      if (!k) {
        const dev = ({ hd: 'c', cdrom: 'd', network: 'n', fd: 'a' } as Record<string, string>)[kv.value];
        if (dev) order.push(dev);
        else if (kv.value === 'uefi') throw invalid('--boot uefi: qkvm boots guests with SeaBIOS (BIOS); no UEFI firmware here', 'drop uefi, or install an OS that boots from BIOS');
        else if (kv.value === 'menu=on') spec.boot = { ...(spec.boot as object), menu: true };
        else throw invalid(`--boot: unknown device "${kv.value}" in "${boot}"`, 'write --boot cdrom,hd,network or --boot kernel=PATH,initrd=PATH,kernel_args="..."');
      } else if (k === 'kernel') { spec.kernel = abs(kv.value); kernelBoot = true; }
      else if (k === 'initrd') spec.initrd = abs(kv.value);
      else if (k === 'kernel_args' || k === 'cmdline') spec.append = kv.value;
      else if (k === 'menu') spec.boot = { ...(spec.boot as object), menu: kv.value === 'on' || kv.value === 'yes' };
      else if (k === 'loader' || k === 'firmware' || k === 'nvram') throw invalid(`--boot ${k}=: qkvm boots guests with SeaBIOS; no other firmware here`);
      else if (['bootmenu.enable', 'useserial', 'bios.useserial', 'rebootTimeout', 'smbios_mode', 'init', 'dtb'].includes(k)) notes.push(`--boot ${k}=: ignored`);
      else throw invalid(`--boot: unknown option "${k}=" in "${boot}"`, 'write --boot cdrom,hd,network or --boot kernel=PATH,initrd=PATH,kernel_args="..."');
    }
    if (order.length) bootOrder = order.join('');
  }
  if (extraArgs !== undefined && location === undefined && !kernelBoot) {
    throw invalid('--extra-args works only with --location (or --boot kernel=)', 'add --location ISO_OR_TREE, or drop --extra-args');
  }
  if (kernelBoot && extraArgs) spec.append = [spec.append, extraArgs].filter(Boolean).join(' ');
  if (spec.initrd && !spec.kernel) throw invalid('--boot initrd= needs kernel= too');
  if (location !== undefined) {
    if (/^(https?|ftp|nfs):\/\//.test(location)) throw invalid(`--location ${location}: qkvm reads a local ISO or directory tree, not a URL`, 'download the ISO first, then --location /path/to.iso');
    plan.install = { kind: 'location', location: abs(location), extraArgs };
  } else if (cdrom !== undefined) plan.install = { kind: 'cdrom' };
  else if (pxe) plan.install = { kind: 'pxe', bootOnce: 'n' };
  else if (imp) plan.install = { kind: 'import' };
  else if (kernelBoot) plan.install = { kind: 'kernel' };
  else if (bootOrder) plan.install = { kind: 'boot' };
  else if (!plan.printXml) throw invalid('virt-install: an install method is needed: --cdrom ISO, --location ISO_OR_TREE, --pxe, --import or --boot', 'e.g. --cdrom /var/lib/libvirt/images/debian.iso, or --import for an existing disk');

  // ---- disks
  const disk = (d: Record<string, unknown>, p: Omit<DiskPlan, 'index'>) => {
    plan.disks.push({ ...p, index: spec.disks.length });
    spec.disks.push(d);
  };
  if (has('nodisks') && has('disk')) throw invalid('virt-install: --nodisks and --disk together');
  for (const t of all('disk')) {
    const text = t.value!;
    const items = splitOpts(text);
    if (items.length === 1 && !items[0].key && items[0].value === 'none') continue;
    const d: Record<string, unknown> = {};
    const p: Omit<DiskPlan, 'index'> = { sparse: true, media: 'disk' };
    let size: string | undefined, perms = 'rw', device = 'disk', bus: string | undefined;
    items.forEach((kv, i) => {
      const k = kv.key ?? (i === 0 ? 'path' : undefined);
      if (!k) throw invalid(`--disk: "${kv.value}" needs a key (path=, size=, ...) in "${text}"`);
      switch (k) {
        case 'path': p.path = abs(kv.value); break;
        case 'size': size = GiB(kv.value, `--disk ${text}`); break;
        case 'pool': p.pool = kv.value; break;
        case 'vol': if (kv.value.split('/').length !== 2) throw invalid(`--disk vol=${kv.value}: write vol=POOL/VOLUME`); p.vol = kv.value; break;
        case 'device':
          if (kv.value === 'floppy') throw invalid(`--disk ${text}: device=floppy: qkvm guests have no floppy drive`, 'attach the image as a disk or a cdrom');
          if (kv.value === 'lun') throw invalid(`--disk ${text}: device=lun: SCSI passthrough is not supported; use device=disk`);
          if (kv.value !== 'cdrom' && kv.value !== 'disk') throw invalid(`--disk ${text}: unknown device "${kv.value}" (disk or cdrom)`);
          device = kv.value; break;
        case 'bus': case 'target.bus':
          if (kv.value === 'usb' || kv.value === 'xen' || kv.value === 'sd' || kv.value === 'fdc') throw invalid(`--disk ${text}: bus=${kv.value}: qkvm attaches disks on virtio, ide, sata or scsi`, 'write bus=virtio (or bus=sata for a guest without virtio drivers)');
          if (!['virtio', 'ide', 'sata', 'scsi'].includes(kv.value)) throw invalid(`--disk ${text}: unknown bus "${kv.value}" (virtio, ide, sata, scsi)`);
          bus = kv.value; break;
        case 'perms':
          if (!['ro', 'sh', 'rw'].includes(kv.value)) throw invalid(`--disk ${text}: perms must be ro, sh or rw, not "${kv.value}"`);
          perms = kv.value; break;
        case 'readonly': if (['on', 'yes', 'true'].includes(kv.value)) perms = 'ro'; break;
        case 'shareable': if (['on', 'yes', 'true'].includes(kv.value)) perms = 'sh'; break;
        case 'cache': case 'driver.cache':
          if (!CACHES.includes(kv.value)) throw invalid(`--disk ${text}: unknown cache mode "${kv.value}" (${CACHES.join(', ')})`);
          d.cache = kv.value; break;
        case 'format': case 'driver.type':
          if (kv.value !== 'qcow2' && kv.value !== 'raw') throw invalid(`--disk ${text}: format=${kv.value}: qkvm runs qcow2 and raw images`, `convert it: qkvm qemu-img convert -O qcow2 FILE.${kv.value} FILE.qcow2`);
          p.format = kv.value; break;
        case 'sparse':
          if (!['yes', 'no', 'on', 'off', 'true', 'false'].includes(kv.value)) throw invalid(`--disk ${text}: sparse must be yes or no, not "${kv.value}"`);
          p.sparse = ['yes', 'on', 'true'].includes(kv.value); break;
        case 'target': case 'target.dev':
          if (!/^[a-z]{2,3}[a-z]$/.test(kv.value)) throw invalid(`--disk ${text}: target=${kv.value} must look like vda, sdb or hdc`);
          d.target = kv.value; break;
        case 'io': case 'driver.io': case 'discard': case 'driver.discard': case 'detect_zeroes': case 'error_policy': case 'serial': case 'boot_order': case 'boot.order': case 'driver.name': case 'startup_policy': case 'iothread':
          notes.push(`--disk ${k}=${kv.value}: ignored`); break;
        default: throw invalid(`--disk: unknown option "${k}=" in "${text}"`, 'options: path, size (GiB), pool, vol, device, bus, perms, cache, format, sparse, target');
      }
    });
    if ([p.path, p.pool, p.vol].filter(Boolean).length > 1) throw invalid(`--disk ${text}: give one of path=, pool= or vol=`);
    if (size && p.vol) throw invalid(`--disk ${text}: vol= names an existing volume; size= does not apply`);
    if (!p.path && !p.vol && !p.pool) {
      if (!size) throw invalid(`--disk ${text}: no path`, 'write --disk path=FILE,size=N or --disk size=N (a new volume in the default pool)');
      p.pool = 'default';
    }
    if (p.pool && !size) throw invalid(`--disk ${text}: pool= needs size= (GiB) for the new volume`);
    p.size = size;
    p.media = device as 'disk' | 'cdrom';
    if (device === 'cdrom') {
      if (size) throw invalid(`--disk ${text}: a cdrom is not created: drop size=`);
      d.bus = bus ?? (spec.machine === 'q35' ? 'sata' : 'ide');
      d.media = 'cdrom';
    } else {
      d.bus = bus ?? os.diskBus;
      if (perms === 'ro') d.readonly = true;
      else d.readonly = false; // a path typed here is the user's own disk, written as virt-install does
      if (perms === 'sh') notes.push(`--disk ${text}: perms=sh: qkvm does not share a disk between guests; this guest holds it read-write`);
    }
    if (!p.sparse && p.format === undefined && !size) notes.push(`--disk ${text}: sparse=no applies only to a new image`);
    // The file is set at run time when it needs the host (pool volumes); paths now.
    d.file = p.path ?? p.vol ?? '';
    disk(d, p);
  }
  for (const t of all('file')) {
    // The old -f/--file PATH [-s GiB] form of virt-install 0.x tutorials.
    const sizes = all('file-size');
    const i = all('file').indexOf(t);
    disk({ file: abs(t.value!), bus: os.diskBus, readonly: false }, { flag: '--file', path: abs(t.value!), size: sizes[i] ? GiB(sizes[i].value!, '--file-size') : undefined, sparse: !has('nonsparse'), media: 'disk' });
  }
  if (has('file-size') && !has('file')) throw invalid('--file-size needs --file PATH');
  if (cdrom !== undefined) {
    if (/^(https?|ftp):\/\//.test(cdrom)) throw invalid(`--cdrom ${cdrom}: qkvm reads a local ISO, not a URL`, 'download it first, then --cdrom /path/to.iso');
    disk({ file: abs(cdrom), media: 'cdrom', bus: spec.machine === 'q35' ? 'sata' : 'ide' }, { flag: '--cdrom', path: abs(cdrom), sparse: true, media: 'cdrom' });
  }
  if (!spec.disks.length && !has('nodisks') && !imp && plan.install.kind !== 'kernel' && plan.install.kind !== 'location' && plan.install.kind !== 'pxe') {
    notes.push('no --disk: the guest has no hard disk (add --disk size=N to give it one)');
  }
  if (imp && !plan.disks.some((d) => d.media === 'disk')) throw invalid('--import needs a --disk to boot from', 'write --import --disk path=EXISTING.qcow2');

  // ---- boot order, as virt-install: the install medium first, once; the disk after.
  if (bootOrder) spec.boot = { ...(spec.boot as object), order: bootOrder };
  else if (plan.install.kind === 'cdrom') { spec.boot = { ...(spec.boot as object), order: 'cd' }; plan.install.bootOnce = 'd'; }
  else if (plan.install.kind === 'pxe') spec.boot = { ...(spec.boot as object), order: 'cn' };
  else if (plan.install.kind === 'import') spec.boot = { ...(spec.boot as object), order: 'c' };

  // ---- networks
  const nets = [...all('network'), ...all('bridge').map((t) => ({ ...t, value: `bridge=${t.value}` }))];
  const macs = all('mac').map((t) => t.value!);
  if (has('nonetworks')) {
    if (nets.length) throw invalid('virt-install: --nonetworks and --network together');
  } else if (!nets.length) {
    plan.defaultNic = true;
    spec.nics.push({ model: os.nicModel, ...(macs[0] ? { mac: macs[0].toLowerCase() } : {}) });
  }
  nets.forEach((t, ni) => {
    const text = t.value!;
    const items = splitOpts(text.replace(/^(network|bridge):/, '$1='));
    const nic: Record<string, unknown> = { model: os.nicModel };
    let kind: 'network' | 'bridge' | 'user' | 'none' | undefined;
    let source = '';
    items.forEach((kv, i) => {
      const k = kv.key ?? (i === 0 ? kv.value : undefined);
      if (!kv.key && i === 0) {
        if (kv.value === 'user' || kv.value === 'none') { kind = kv.value; return; }
        if (kv.value === 'default') { kind = 'network'; source = 'default'; return; }
        throw invalid(`--network: unknown network "${kv.value}" in "${text}"`, 'write network=NAME, bridge=BR, user or none');
      }
      switch (k) {
        case 'network': kind = 'network'; source = kv.value; break;
        case 'bridge': kind = 'bridge'; source = kv.value; break;
        case 'type': if (kv.value === 'user' || kv.value === 'network' || kv.value === 'bridge') kind = kv.value; else throw invalid(`--network: type=${kv.value} is not supported (network, bridge, user)`); break;
        case 'source': source = kv.value; break;
        case 'model': case 'model.type': {
          const m = NIC_MODELS[kv.value];
          if (!m) throw invalid(`--network ${text}: NIC model "${kv.value}" is not one qkvm emulates (virtio, e1000, rtl8139)`, 'write model=virtio (or model=e1000 for a guest without virtio drivers)');
          nic.model = m; break;
        }
        case 'mac': case 'mac.address':
          if (kv.value.toUpperCase() === 'RANDOM') break;
          if (!MAC_RE.test(kv.value)) throw invalid(`--network ${text}: invalid MAC "${kv.value}"`, 'write six hex pairs, e.g. mac=52:54:00:12:34:56');
          nic.mac = kv.value.toLowerCase(); break;
        case 'driver.name': case 'driver_name':
          nic.vhost = kv.value === 'vhost' ? 'auto' : 'off'; break;
        case 'filterref': case 'link.state': case 'link_state': case 'trustGuestRxFilters': case 'boot_order': case 'boot.order': case 'rom.bar': case 'target.dev': case 'virtualport_type': case 'virtualport.type':
          notes.push(`--network ${k}=: ignored`); break;
        default: throw invalid(`--network: unknown option "${k}" in "${text}"`, 'options: network=NAME | bridge=BR | user | none, with model=, mac=');
      }
    });
    if (!nic.mac && macs[ni]) nic.mac = macs[ni].toLowerCase();
    if (kind === 'none') return;
    if (!kind) throw invalid(`--network ${text}: say network=NAME, bridge=BR or user`);
    if (kind === 'user') { spec.nics.push({ type: 'user', ...nic }); return; }
    if (!source) throw invalid(`--network ${text}: ${kind}= needs a name`);
    if (kind === 'bridge') plan.bridges.push({ index: spec.nics.length, bridge: source });
    spec.nics.push({ type: 'network', network: kind === 'network' ? source : '', ...nic });
  });
  for (const m of macs) if (!MAC_RE.test(m)) throw invalid(`--mac: invalid MAC "${m}"`, 'write six hex pairs, e.g. 52:54:00:12:34:56');

  // ---- graphics
  const g = last('graphics');
  let gtype: string | undefined, listen: string | undefined, port: string | undefined, password: string | undefined;
  if (has('nographics')) gtype = 'none';
  if (has('vnc')) gtype = 'vnc';
  if (has('spice')) gtype = 'spice';
  if (g !== undefined) {
    splitOpts(g).forEach((kv, i) => {
      const k = kv.key ?? (i === 0 ? 'type' : undefined);
      if (k === 'type') gtype = kv.value;
      else if (k === 'listen' || k === 'address') listen = kv.value;
      else if (k === 'port') port = kv.value;
      else if (k === 'password' || k === 'passwd') password = kv.value;
      else if (k === 'keymap' || k === 'gl' || k === 'passwordvalidto' || k === 'tlsport' || k === 'image.compression' || k === 'rendernode' || k === 'gl.enable') notes.push(`--graphics ${k}=: ignored`);
      else throw invalid(`--graphics: unknown option "${kv.key ?? kv.value}" in "${g}"`, 'write --graphics vnc,listen=127.0.0.1,port=5901 or --graphics none');
    });
  }
  port = last('vncport') ?? port;
  listen = last('vnclisten') ?? listen;
  password = last('password') ?? password;
  if ((last('vncport') !== undefined || last('vnclisten') !== undefined) && gtype === undefined) gtype = 'vnc';
  if (gtype === undefined) {
    gtype = 'vnc';
    notes.push('no --graphics: a VNC display on 127.0.0.1, as virt-install gives (write --graphics none for a serial-only guest)');
  }
  if (gtype === 'spice') {
    notes.push('--graphics spice: qkvm serves VNC (no SPICE); the guest gets a VNC display instead');
    gtype = 'vnc';
  } else if (gtype === 'sdl') throw invalid('--graphics sdl: QEMU 7.2 here has no SDL display; use --graphics vnc');
  if (gtype === 'none') {
    spec.display = { type: 'none' };
    if (listen !== undefined || port !== undefined || password !== undefined) notes.push('--graphics none: listen=, port= and password= are ignored');
  } else if (gtype === 'vnc') {
    // Loopback unless told, and written down, so the definition says where VNC listens.
    const display: Record<string, unknown> = { type: 'vnc', listen: '127.0.0.1' };
    if (listen !== undefined) {
      if (listen === 'localhost') display.listen = '127.0.0.1';
      else if (listen === 'none' || listen === 'socket') notes.push(`--graphics listen=${listen}: VNC listens on 127.0.0.1 here`);
      else if (/^[0-9.]+$|^[0-9a-f:]+$/i.test(listen)) display.listen = listen;
      else throw invalid(`--graphics: listen=${listen} is not an IP address`, 'write listen=127.0.0.1 (or 0.0.0.0 for every address, with a password)');
    }
    if (port === undefined || port === '-1' || port === 'auto') plan.vncAutoPort = true;
    else {
      if (!/^\d+$/.test(port) || Number(port) < 5900 || Number(port) > 5999) throw invalid(`--graphics: port=${port}: VNC ports here are 5900-5999 (display 0-99)`, 'write port=5901, or leave it out for a free one');
      display.display = Number(port) - 5900;
    }
    if (password !== undefined) {
      if (!password || password.length > 8) throw invalid('--graphics password=: a VNC password is 1-8 characters (VNC authentication uses only 8)');
      display.password = true;
      plan.vncPassword = password;
      notes.push('--graphics password=: set over QMP after start, never written to the definition; a password on a command line is visible in `ps` while it runs: next time, use `qkvm vnc NAME --password` (reads stdin)');
    }
    spec.display = display;
  } else throw invalid(`--graphics: unknown type "${gtype}" (vnc, spice or none)`);

  // ---- consoles and video
  for (const f of ['serial', 'console'] as const) {
    for (const t of all(f)) {
      const v = splitOpts(t.value!)[0]?.value;
      if (v === 'pty' || v === 'pty,target_type=serial' || v === undefined) notes.push(`--${f} ${t.value}: the guest's serial port is always there, on a UNIX socket and logged (attach with \`qkvm console ${name}\`)`);
      else notes.push(`--${f} ${t.value}: ignored (the serial port is a UNIX socket: \`qkvm console ${name}\`)`);
    }
  }
  const video = last('video');
  if (video !== undefined) {
    const m = splitOpts(video).find((kv) => !kv.key || kv.key === 'model' || kv.key === 'model.type')?.value ?? '';
    if (!VIDEO[m]) {
      if (m === 'bochs' || m === 'ramfb') { notes.push(`--video ${m}: not offered here; the guest gets the standard VGA`); spec.vga = 'std'; }
      else throw invalid(`--video: unknown model "${m}" (vga, cirrus, vmvga, qxl, virtio, none)`);
    } else spec.vga = VIDEO[m];
  }
  const mb = last('memballoon');
  if (mb !== undefined) spec.balloon = !['none', 'model=none', 'off'].includes(mb);
  const input = all('input').map((t) => t.value!);
  for (const i of input) {
    if (/tablet/.test(i)) spec.tablet = true;
    else notes.push(`--input ${i}: ignored (a PS/2 keyboard and mouse are always there)`);
  }

  // ---- the rest
  if (has('autostart')) spec.autostart = true;
  if (has('debug')) notes.push('--debug: qkvm also prints the definition it stored (see the QEMU command with `qkvm cmdline NAME --explain`)');
  if (plan.printXml && last('print-xml') !== undefined) notes.push(`--print-xml ${last('print-xml')}: qkvm prints the whole definition`);
  if (plan.install.kind === 'location' && !plan.printXml && !plan.dryRun && plan.autoconsole && spec.display && (spec.display as any).type === 'none' && !/console=ttyS0/.test(extraArgs ?? '')) {
    notes.push('--location with --graphics none: add --extra-args "console=ttyS0" to see the installer on the serial console');
  }
  return plan;
}
