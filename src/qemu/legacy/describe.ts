// Plain-language descriptions of option values (sizes, drives, devices), used by
// the explanation table. Words follow QEMU's manual.
import { formatSize, parseSize } from '../../config/size.js';
import { getKey, parseKeyVal } from './keyval.js';

/** "512" -> "512 MiB" (a bare -m number is MiB). */
export function describeMemory(size: string): string {
  try {
    const s = formatSize(parseSize(size, 'size', 'M'));
    return s.replace(/([KMGT])$/, ' $1iB');
  } catch {
    return size;
  }
}

export function describeMemoryOption(v: string): string {
  const kv = parseKeyVal(v, 'size');
  const size = getKey(kv, 'size');
  const maxmem = getKey(kv, 'maxmem');
  const slots = getKey(kv, 'slots');
  let s = `Gives the guest ${size ? describeMemory(size) : 'the default 128 MiB'} of RAM; a bare number means MiB.`;
  if (maxmem) s += ` It can grow to ${describeMemory(maxmem)} by hotplugging memory into ${slots ?? 'the given'} slots.`;
  return s;
}

export function describeSmp(v: string): string {
  const kv = parseKeyVal(v, 'cpus');
  const n = (k: string) => getKey(kv, k);
  const cpus = n('cpus');
  const one: Record<string, string> = { sockets: 'socket', dies: 'die', cores: 'core', threads: 'thread' };
  const topo = ['sockets', 'dies', 'cores', 'threads'].filter((k) => n(k) !== undefined).map((k) => `${n(k)} ${n(k) === '1' ? one[k] : k}`);
  let s = `Gives the guest ${cpus ?? 'as many'} virtual CPUs`;
  if (topo.length) s += `, arranged as ${topo.join(' x ')}`;
  s += '.';
  if (n('maxcpus')) s += ` Up to ${n('maxcpus')} can exist (the rest are hotplugged later).`;
  return s + ' Each vCPU is a host thread.';
}

const CACHE: Record<string, string> = {
  writeback: 'writes go through the host page cache and count as done once they are there (the default)',
  none: 'the host page cache is bypassed (O_DIRECT), the usual choice for guests with their own cache',
  off: 'old name of cache=none: the host page cache is bypassed (O_DIRECT)',
  on: 'old name of cache=writeback',
  writethrough: 'every write is flushed to the disk before the guest sees it complete (safe, slow)',
  unsafe: "the guest's flush requests are ignored (fast; a host crash loses data)",
  directsync: 'O_DIRECT and every write flushed',
};

const BUS: Record<string, string> = {
  ide: 'IDE bus (the default on pc)',
  virtio: 'virtio bus (a paravirtual virtio-blk device; the guest needs virtio drivers)',
  scsi: 'SCSI bus',
  floppy: 'floppy controller',
  sd: 'SD card slot',
  pflash: 'parallel flash (firmware such as OVMF)',
  mtd: 'MTD flash',
  none: 'no bus: only the backend is made, and a -device attaches it',
};

export function describeDrive(v: string): string {
  const kv = parseKeyVal(v);
  const g = (k: string) => getKey(kv, k);
  const file = g('file');
  const media = g('media') === 'cdrom' ? 'CD-ROM' : 'disk';
  const bus = g('if') ?? 'ide';
  let s = file ? `Attaches ${file} as a ${media} on the ${BUS[bus] ?? `${bus} bus`}` : `Creates an empty ${media} drive on the ${BUS[bus] ?? `${bus} bus`}`;
  if (g('index') !== undefined) s += `, at index ${g('index')}`;
  s += '.';
  const extra: string[] = [];
  if (g('format')) extra.push(`the image format is ${g('format')} (so QEMU does not guess it)`);
  if (g('cache')) extra.push(`cache=${g('cache')}: ${CACHE[g('cache')!] ?? 'a cache mode'}`);
  if (g('snapshot') && g('snapshot') !== 'off') extra.push('snapshot=on: writes go to a temporary overlay and vanish when QEMU exits');
  if (g('readonly') && g('readonly') !== 'off') extra.push('the guest cannot write to it');
  if (g('aio')) extra.push(`aio=${g('aio')} selects the host I/O method`);
  if (extra.length) s += ` ${extra.join('; ').replace(/^./, (c) => c.toUpperCase())}.`;
  return s;
}

const NIC_MODEL: Record<string, string> = {
  virtio: 'a paravirtual virtio-net card (fastest; the guest needs virtio drivers)',
  e1000: 'an emulated Intel e1000 card (most guests have a driver)',
  rtl8139: 'an emulated Realtek RTL8139 card (very old guests)',
  ne2k_pci: 'an emulated NE2000 PCI card',
  pcnet: 'an emulated AMD PCnet card',
};

/** What the tap and user-mode keys a tutorial writes do, in one sentence each. */
const NET_KEYS: Record<string, (v: string) => string> = {
  vhost: (v) => (v === 'on' ? 'vhost=on moves the virtio-net data path into the host kernel (vhost-net, /dev/vhost-net): less CPU per packet; without /dev/vhost-net QEMU 7.2 aborts' : `vhost=${v}: the data path stays in QEMU`),
  vnet_hdr: (v) => `vnet_hdr=${v}: ${v === 'off' ? 'no' : 'the'} virtio-net header on the tap (IFF_VNET_HDR), so checksum and segmentation offloads pass between guest and host`,
  script: (v) => (v === 'no' ? 'script=no: QEMU runs no script when the tap comes up (the tap must already be configured, or something else adds it to a bridge)' : `script=${v}: QEMU runs ${v} with the tap's name when it comes up (usually to add it to a bridge)`),
  downscript: (v) => (v === 'no' ? 'downscript=no: no script when QEMU exits' : `downscript=${v}: QEMU runs ${v} when it exits`),
  fd: (v) => `fd=${v}: QEMU uses a tap already opened by its parent (file descriptor ${v}), as libvirt does`,
  ifname: (v) => `ifname=${v}: the tap's name on the host`,
  queues: (v) => `queues=${v}: a multi-queue tap (one queue per vCPU is typical)`,
  net: (v) => `net=${v}: the guest's subnet (default 10.0.2.0/24)`,
  host: (v) => `host=${v}: the host's address as the guest sees it (default x.x.x.2)`,
  dhcpstart: (v) => `dhcpstart=${v}: the first address the built-in DHCP server hands out (default x.x.x.15)`,
  dns: (v) => `dns=${v}: the built-in DNS forwarder's address (default x.x.x.3)`,
  tftp: (v) => `tftp=${v}: the built-in TFTP server serves this host directory (for PXE boot)`,
  bootfile: (v) => `bootfile=${v}: the boot file DHCP offers (with tftp=, a PXE boot: -boot n)`,
  hostfwd: (v) => `hostfwd=${v}: forwards a host port into the guest`,
  restrict: (v) => `restrict=${v}: ${v === 'on' || v === 'yes' ? 'the guest cannot reach the outside (only forwarded ports)' : 'the guest can reach the outside'}`,
  hostname: (v) => `hostname=${v}: the host name DHCP gives the guest`,
  smb: (v) => `smb=${v}: shares this host directory with the guest over SMB (needs smbd)`,
};

function netKeys(kv: ReturnType<typeof parseKeyVal>): string {
  const said = kv.filter((k) => !k.implied && NET_KEYS[k.key]).map((k) => NET_KEYS[k.key](k.value ?? 'on'));
  return said.length ? ` ${said.join('; ').replace(/^./, (c) => c.toUpperCase())}.` : '';
}

export function describeNet(v: string): string {
  return describeNetBase(v) + netKeys(parseKeyVal(v, 'type'));
}

function describeNetBase(v: string): string {
  const kv = parseKeyVal(v, 'type');
  const type = getKey(kv, 'type') ?? '';
  const hub = getKey(kv, 'vlan') ?? '0';
  const hubWords = `QEMU's internal hub number ${hub} (what old QEMU called a "vlan")`;
  switch (type) {
    case 'nic': {
      const model = getKey(kv, 'model');
      return `Adds a guest network card, ${model ? NIC_MODEL[model] ?? `model ${model}` : 'of the machine default model (e1000 on pc)'}, and plugs it into ${hubWords}.`;
    }
    case 'user':
      return `Connects ${hubWords} to user-mode networking (slirp): QEMU itself NATs the guest's traffic, on 10.0.2.0/24 with the host at 10.0.2.2; no root needed, but the guest is not reachable from outside without hostfwd.`;
    case 'tap': {
      const script = getKey(kv, 'script') ?? '/etc/qemu-ifup';
      return `Connects ${hubWords} to a host tap device${getKey(kv, 'ifname') ? ` (${getKey(kv, 'ifname')})` : ''}; QEMU runs ${script === 'no' ? 'no script' : script} to bring it up (usually adding it to a bridge), which needs root.`;
    }
    case 'bridge':
      return `Connects ${hubWords} to a tap on host bridge ${getKey(kv, 'br') ?? 'br0'}, made by qemu-bridge-helper.`;
    case 'socket':
      return `Connects ${hubWords} to another QEMU through a TCP or UDP socket.`;
    case 'vde':
      return `Connects ${hubWords} to a VDE switch.`;
    case 'none':
      return 'Gives the guest no network card (without it, QEMU adds a default e1000 card on user-mode networking).';
    case 'dump':
      return `Recorded the traffic on ${hubWords} to a pcap file.`;
    case 'channel':
      return 'Forwarded a guest TCP port to a host character device through slirp.';
    default:
      return `Adds network part "${type}" on ${hubWords}.`;
  }
}

export function describeNetdev(v: string): string {
  const kv = parseKeyVal(v, 'type');
  const type = getKey(kv, 'type') ?? '';
  const id = getKey(kv, 'id') ?? '?';
  const what: Record<string, string> = {
    user: 'user-mode networking (slirp: QEMU NATs the traffic itself, no root needed)',
    tap: `a host tap device${getKey(kv, 'ifname') ? ` (${getKey(kv, 'ifname')})` : ''}, brought up by ${getKey(kv, 'script') === 'no' ? 'no script' : getKey(kv, 'script') ?? '/etc/qemu-ifup'}`,
    bridge: `a tap on host bridge ${getKey(kv, 'br') ?? 'br0'} (via qemu-bridge-helper)`,
    socket: 'a TCP/UDP socket to another QEMU',
    hubport: `a port of QEMU's internal hub ${getKey(kv, 'hubid') ?? ''}`,
    'vhost-user': 'a vhost-user socket',
    l2tpv3: 'an L2TPv3 tunnel',
    vde: 'a VDE switch',
  };
  return `Creates the host side of a network, "${id}": ${what[type] ?? type}. A guest NIC joins it with -device MODEL,netdev=${id}.${netKeys(kv)}`;
}

const DEVICES: Record<string, string> = {
  'virtio-net-pci': 'a virtio network card (paravirtual)',
  e1000: 'an Intel e1000 network card',
  rtl8139: 'a Realtek RTL8139 network card',
  'virtio-blk-pci': 'a virtio disk (paravirtual)',
  'virtio-scsi-pci': 'a virtio SCSI controller',
  lsi53c895a: 'an LSI 53C895A SCSI controller',
  'scsi-hd': 'a SCSI disk',
  'scsi-cd': 'a SCSI CD-ROM',
  'ide-hd': 'an IDE disk',
  'ide-cd': 'an IDE CD-ROM',
  'usb-tablet': 'a USB tablet (absolute pointer: the guest pointer follows the host one without grabbing)',
  'usb-mouse': 'a USB mouse',
  'usb-kbd': 'a USB keyboard',
  'usb-storage': 'a USB mass-storage device',
  'usb-host': 'a host USB device passed through to the guest',
  'qemu-xhci': 'a USB 3 (xHCI) controller',
  'usb-ehci': 'a USB 2 (EHCI) controller',
  'piix3-usb-uhci': 'a USB 1 (UHCI) controller',
  'virtio-balloon-pci': 'a virtio memory balloon (the host can ask the guest to hand memory back)',
  'virtio-balloon': 'a virtio memory balloon (the host can ask the guest to hand memory back)',
  'virtio-rng-pci': 'a virtio random-number generator fed from the host',
  'virtio-serial-pci': 'a virtio serial controller (for virtconsole and the guest agent channel)',
  'virtio-serial': 'a virtio serial controller (for virtconsole and the guest agent channel)',
  virtconsole: 'a virtio console port',
  virtserialport: 'a virtio serial port (e.g. the guest agent channel)',
  AC97: 'an Intel AC97 sound card',
  'intel-hda': 'an Intel HD Audio controller (needs a codec such as hda-duplex)',
  'ich9-intel-hda': 'an Intel HD Audio controller of the ICH9 chipset',
  'hda-duplex': 'an HD Audio codec with line-out and line-in',
  'hda-output': 'an HD Audio codec with line-out only',
  ES1370: 'an Ensoniq ES1370 sound card',
  sb16: 'a Sound Blaster 16 (ISA)',
  i6300esb: 'an Intel 6300ESB watchdog',
  ib700: 'an iBASE 700 watchdog',
  'vfio-pci': 'a host PCI device assigned to the guest through VFIO',
  VGA: 'a standard VGA card',
  'cirrus-vga': 'a Cirrus Logic VGA card',
  'qxl-vga': 'a QXL graphics card',
  'virtio-vga': 'a virtio GPU with VGA compatibility',
  pvpanic: 'a pvpanic device (the guest reports kernel panics to QEMU)',
};

export function describeDevice(v: string): string {
  const kv = parseKeyVal(v, 'driver');
  const driver = getKey(kv, 'driver') ?? '';
  const d = DEVICES[driver];
  const links = ['netdev', 'drive', 'chardev', 'audiodev'].filter((k) => getKey(kv, k)).map((k) => `${k} ${getKey(kv, k)}`);
  return `Adds ${d ?? `the device "${driver}"`}${links.length ? `, connected to ${links.join(' and ')}` : ''}. (\`qemu-system-x86_64 -device ${driver},help\` lists its properties.)`;
}

const VGA: Record<string, string> = {
  std: 'a standard VGA card with Bochs VBE extensions (high resolutions; the default)',
  cirrus: 'a Cirrus Logic GD5446 card (the old default, for very old guests)',
  vmware: 'a VMware SVGA-II card',
  qxl: 'a QXL paravirtual card (best with SPICE)',
  virtio: 'a virtio GPU with VGA compatibility',
  none: 'no graphics card at all',
};

export function describeVga(v: string): string {
  return `Gives the guest ${VGA[v] ?? `the "${v}" graphics card`}.`;
}

export function describeDisplay(v: string): string {
  if (v.startsWith('vnc=')) return `Serves the guest's screen over VNC at ${v.slice(4).split(',')[0]} (display :N is TCP port 5900+N).`;
  const type = v.split(',')[0];
  const what: Record<string, string> = {
    sdl: 'in an SDL window on the host desktop',
    gtk: 'in a GTK window on the host desktop (with menus)',
    curses: "in the terminal, text mode only (curses)",
    none: 'nowhere: the guest still has a graphics card, but no window is opened',
    'egl-headless': 'to an offscreen OpenGL renderer (for VNC or SPICE)',
    'spice-app': 'in a SPICE client started by QEMU',
    dbus: 'on D-Bus',
  };
  return `Shows the guest's screen ${what[type] ?? `with the "${type}" display`}.`;
}

export function describeChardev(v: string, what: string): string {
  const backend = v.split(/[,:]/)[0];
  const where: Record<string, string> = {
    stdio: 'the terminal QEMU runs in (stdio)',
    mon: 'the terminal, shared with the monitor (mon:stdio; Ctrl-a c switches)',
    pty: 'a new pseudo-terminal (QEMU prints its /dev/pts path)',
    telnet: 'a telnet server',
    tcp: 'a TCP socket',
    unix: 'a UNIX socket',
    file: 'a file',
    vc: 'a virtual console in the QEMU window',
    null: 'nowhere (discarded)',
    none: 'nothing (disabled)',
    udp: 'a UDP socket',
    pipe: 'a named pipe',
  };
  return `Connects ${what} to ${where[backend] ?? v}${/server/.test(v) ? ', where QEMU listens for a client' : ''}.`;
}
