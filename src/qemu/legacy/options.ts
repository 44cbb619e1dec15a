// The explanation table: every option the translator knows, whether it takes an
// argument, one or two sentences on what it does, and, for options whose fate does
// not depend on the rest of the line, what QEMU 7.2 makes of it.
// Statuses were checked against qemu-system-x86_64 7.2 (Debian 12); see
// test/integration/legacy-qemu.test.ts.
import {
  describeChardev, describeDevice, describeDisplay, describeDrive, describeMemory, describeMemoryOption, describeNet, describeNetdev,
  describeSmp, describeVga,
} from './describe.js';
import { getKey, parseKeyVal } from './keyval.js';
import type { LegacyStatus } from './types.js';

export interface OptionInfo {
  /** Set when the option takes an argument: the argument's name in the manual. */
  arg?: string;
  explain: string | ((value: string) => string);
  /** For options whose status does not depend on the rest of the line. */
  status?: LegacyStatus;
  note?: string;
  /** The modern replacement, for options with a fixed one; [] means dropped. */
  modern?: (value: string) => string[];
}

const disk = (n: number, what: string) => (v: string) =>
  `Attaches ${v} as ${what}; shorthand for -drive file=${v},index=${n},media=disk.`;

export const OPTIONS: Record<string, OptionInfo> = {
  // --- the guest: identity, CPUs, memory, machine, accelerator --------------
  '-name': { arg: 'name', explain: (v) => `Names the guest "${getKey(parseKeyVal(v, 'guest'), 'guest')}"; QEMU shows it in window titles and the monitor (process= also renames the process).` },
  '-uuid': { arg: 'uuid', explain: "Sets the guest's system UUID (SMBIOS), which guest tools and licensing read." },
  '-m': { arg: 'size', explain: describeMemoryOption },
  '-smp': { arg: 'n', explain: describeSmp },
  '-cpu': {
    arg: 'model',
    explain: (v) => {
      const model = v.split(',')[0];
      if (model === 'host') return "Passes the host CPU model and all its features to the guest. Only KVM can do that: under TCG use -cpu max.";
      if (model === 'max') return 'Gives the guest the most capable CPU the accelerator can offer (all features TCG emulates, or all the host has under KVM).';
      const flags = v.includes(',') ? ' (+flag adds a CPU feature, -flag removes one)' : '';
      return `Sets the emulated CPU model to "${model}"${flags}; \`-cpu help\` lists the models.`;
    },
  },
  '-machine': {
    arg: 'type',
    explain: (v) => {
      const type = getKey(parseKeyVal(v, 'type'), 'type');
      const board = type?.startsWith('pc-q35') || type === 'q35' ? ' (Q35/ICH9 chipset, PCIe)' : type?.startsWith('pc') ? ' (i440FX/PIIX chipset, the classic PC)' : '';
      return `${type ? `Selects the machine type "${type}"${board}: the emulated board and chipset` : 'Sets machine properties'}${v.includes(',') ? ', with the given machine properties' : ''}.`;
    },
  },
  '-M': { arg: 'type', explain: (v) => `Short for -machine ${v}: selects the emulated board and chipset.` },
  '-accel': { arg: 'name', explain: (v) => `Selects the accelerator "${v.split(',')[0]}": kvm runs guest code on the host CPU through /dev/kvm, tcg translates it in software. Several -accel options are tried in order.` },
  '-enable-kvm': { explain: 'Turns on KVM, so guest code runs directly on the host CPU through /dev/kvm; short for -accel kvm.' },
  '-no-kvm': { explain: 'Told qemu-kvm not to use KVM but to emulate the CPU in software (TCG).', status: 'removed', note: 'Removed in QEMU 5.2; the modern form is -accel tcg.' },
  '-kvm-shadow-memory': { arg: 'megs', explain: 'Set how much memory (MiB) KVM used for shadow page tables (only matters on CPUs without EPT/NPT).' },
  '-tdf': {
    explain: "Enabled qemu-kvm's time-drift fix: timer interrupts the guest missed were re-injected.",
    status: 'removed',
    note: 'Removed in QEMU 2.12 with no replacement: the in-kernel PIT already re-injects lost ticks (-global kvm-pit.lost_tick_policy=delay is the default).',
    modern: () => [],
  },
  '-no-kvm-irqchip': {
    explain: 'Kept the interrupt controllers (PIC, IOAPIC) in QEMU instead of in the KVM kernel module.',
    status: 'removed', note: 'Removed in QEMU 3.0; the modern form is -machine kernel_irqchip=off (itself deprecated with KVM since 6.0 and gone in 8.0; kernel_irqchip=split keeps only the local APIC in the kernel).',
    modern: () => ['-machine', 'kernel_irqchip=off'],
  },
  '-no-kvm-pit': {
    explain: 'Kept the timer chip (PIT) in QEMU instead of in the KVM kernel module.',
    status: 'removed', note: 'Removed in QEMU 2.12; it had been ignored for years. -machine kernel_irqchip=split comes closest (it also moves the IOAPIC out of the kernel).',
    modern: () => [],
  },
  '-no-kvm-pit-reinjection': {
    explain: "Stopped KVM's in-kernel PIT from re-injecting timer ticks the guest missed.",
    status: 'removed', note: 'Removed in QEMU 3.0; the modern form is -global kvm-pit.lost_tick_policy=discard.',
    modern: () => ['-global', 'kvm-pit.lost_tick_policy=discard'],
  },
  '-enable-nesting': { explain: 'Let the guest run its own KVM guests (nested virtualization) on AMD hosts.', status: 'removed', note: 'Gone; nesting is a CPU feature now: -cpu host (or -cpu max,+vmx / +svm) and the kvm module parameter nested=1.', modern: () => [] },
  '-kernel-kqemu': { explain: 'Used the kqemu kernel accelerator for guest kernel code too.', status: 'removed', note: 'kqemu was dropped in QEMU 0.12; use -accel kvm or -accel tcg.', modern: () => [] },
  '-enable-kqemu': { explain: 'Used the kqemu kernel accelerator.', status: 'removed', note: 'kqemu was dropped in QEMU 0.12; use -accel kvm or -accel tcg.', modern: () => [] },
  '-no-kqemu': { explain: 'Disabled the kqemu accelerator.', status: 'removed', note: 'kqemu was dropped in QEMU 0.12; nothing to disable.', modern: () => [] },
  '-numa': {
    arg: 'node',
    explain: (v) => {
      const kv = parseKeyVal(v, 'type');
      const t = getKey(kv, 'type');
      if (t === 'node') {
        const mem = getKey(kv, 'mem');
        const memdev = getKey(kv, 'memdev');
        const parts = [getKey(kv, 'cpus') && `vCPUs ${getKey(kv, 'cpus')}`, mem && `${describeMemory(mem)} of RAM`, memdev && `the RAM of backend ${memdev}`].filter(Boolean);
        return `Defines a guest NUMA node${getKey(kv, 'nodeid') ? ` ${getKey(kv, 'nodeid')}` : ''}${parts.length ? ` with ${parts.join(' and ')}` : ''}: the guest sees some memory as closer to some CPUs.`;
      }
      if (t === 'dist') return 'Sets the distance (relative access cost) between two guest NUMA nodes.';
      if (t === 'cpu') return 'Places a vCPU (by socket/core/thread) in a guest NUMA node.';
      return 'Configures guest NUMA topology.';
    },
  },
  '-mem-path': { arg: 'path', explain: 'Allocates guest RAM from files in this directory, usually a hugetlbfs mount such as /dev/hugepages (huge pages).' },
  '-mem-prealloc': { explain: 'Allocates all guest RAM when QEMU starts instead of on first use (no surprises later, slower start).' },
  '-realtime': {
    arg: 'mlock=on|off', explain: 'Locked all guest and QEMU memory in host RAM (mlock=on) so that it is never swapped out.',
    status: 'removed', note: 'Removed in QEMU 6.0; the modern form is -overcommit mem-lock=on|off.',
    modern: (v) => { const m = getKey(parseKeyVal(v), 'mlock'); return m === undefined ? [] : ['-overcommit', `mem-lock=${m}`]; },
  },
  '-overcommit': { arg: 'mem-lock=on|off', explain: 'Controls host memory and CPU overcommit: mem-lock=on locks guest memory in RAM, cpu-pm=on lets the guest idle the host CPU.' },
  '-tb-size': { arg: 'n', explain: "Set the size (MiB) of TCG's translated-code cache.", status: 'removed', note: 'Removed in QEMU 6.0; the modern form is -accel tcg,tb-size=N.' },
  '-icount': { arg: 'shift', explain: 'Makes TCG count instructions to drive the virtual clock (deterministic timing, slower).' },
  '-singlestep': { explain: 'Makes TCG translate one guest instruction at a time (for debugging).' },

  // --- boot -----------------------------------------------------------------
  '-boot': {
    arg: 'order',
    explain: (v) => {
      const kv = parseKeyVal(v, 'order');
      const letters = (s: string) => s.split('').map((c) => ({ a: 'floppy', b: 'floppy', c: 'first hard disk', d: 'CD-ROM', n: 'network (PXE)' } as Record<string, string>)[c] ?? c).join(', then ');
      const parts: string[] = [];
      const order = getKey(kv, 'order');
      const once = getKey(kv, 'once');
      if (order) parts.push(`boots from ${letters(order)}`);
      if (once) parts.push(`on the first boot only from ${letters(once)}`);
      if (getKey(kv, 'menu')) parts.push(`menu=${getKey(kv, 'menu')} ${getKey(kv, 'menu') === 'on' ? 'shows' : 'hides'} the firmware boot menu`);
      return `Sets the firmware boot order: ${parts.join('; ') || v}.`;
    },
  },
  '-kernel': { arg: 'bzImage', explain: 'Boots this Linux kernel directly (direct kernel boot), without a boot loader on the guest disk.' },
  '-initrd': { arg: 'file', explain: 'Loads this file as the initial RAM disk of the -kernel boot.' },
  '-append': { arg: 'cmdline', explain: 'Passes this command line to the -kernel (for example console=ttyS0 root=/dev/vda1).' },
  '-bios': { arg: 'file', explain: 'Uses this file as the firmware instead of SeaBIOS.' },
  '-L': { arg: 'path', explain: 'Adds a directory where QEMU looks for firmware and option ROMs.' },
  '-option-rom': { arg: 'file', explain: 'Loads this option ROM.' },
  '-dtb': { arg: 'file', explain: 'Uses this device tree blob for the guest.' },

  // --- disks ------------------------------------------------------------------
  '-drive': { arg: 'option[,...]', explain: describeDrive },
  '-hda': { arg: 'file', explain: disk(0, 'the first IDE hard disk (index 0, primary master)') },
  '-hdb': { arg: 'file', explain: disk(1, 'the second IDE hard disk (index 1, primary slave)') },
  '-hdc': { arg: 'file', explain: disk(2, 'the third IDE hard disk (index 2, secondary master)') },
  '-hdd': { arg: 'file', explain: disk(3, 'the fourth IDE hard disk (index 3, secondary slave)') },
  '-cdrom': { arg: 'file', explain: (v) => `Puts ${v} (an ISO image or the host's /dev/cdrom) in the IDE CD-ROM drive (index 2, secondary master); shorthand for -drive file=${v},index=2,media=cdrom.` },
  '-fda': { arg: 'file', explain: (v) => `Uses ${v} as the first floppy disk; shorthand for -drive file=${v},index=0,if=floppy.` },
  '-fdb': { arg: 'file', explain: (v) => `Uses ${v} as the second floppy disk; shorthand for -drive file=${v},index=1,if=floppy.` },
  '-snapshot': { explain: 'Writes to temporary overlay files instead of the disk images; all changes vanish when QEMU exits.' },
  '-blockdev': { arg: 'option[,...]', explain: 'Defines a block node (the modern, lowest-level disk backend); a -device attaches it.' },
  '-hdachs': { arg: 'c,h,s[,t]', explain: 'Set the geometry (cylinders, heads, sectors) of the first IDE disk.', status: 'removed', note: 'Removed in QEMU 2.12; geometry is now a -device ide-hd property (cyls=, heads=, secs=) with -drive if=none. Modern guests ignore it.', modern: () => [] },
  '-pflash': { arg: 'file', explain: 'Uses this file as parallel flash (firmware); shorthand for -drive if=pflash.' },
  '-sd': { arg: 'file', explain: 'Uses this file as an SD card.' },
  '-mtdblock': { arg: 'file', explain: 'Uses this file as on-board flash.' },

  // --- network ----------------------------------------------------------------
  '-net': { arg: 'type[,...]', explain: describeNet },
  '-netdev': { arg: 'type,id=id[,...]', explain: describeNetdev },
  '-nic': { arg: 'type[,...]', explain: (v) => `Creates a guest NIC and its host backend (${v.split(',')[0]}) in one option; shorthand for a -netdev plus a -device.` },
  '-redir': { arg: '[tcp|udp]:hostport:[guestaddr]:guestport', explain: (v) => `Forwarded a host port to the guest through user-mode networking (${v}): connections to the host port reached the guest port.` },
  '-smb': { arg: 'dir', explain: 'Shared a host directory with the guest over SMB through user-mode networking (needs Samba on the host).' },
  '-tftp': { arg: 'dir', explain: "Served a host directory over TFTP from user-mode networking's built-in server (for PXE boot)." },
  '-bootp': { arg: 'file', explain: "Told user-mode networking's DHCP server which boot file to offer (for PXE boot)." },

  // --- devices --------------------------------------------------------------
  '-device': { arg: 'driver[,prop=value...]', explain: describeDevice },
  '-global': { arg: 'driver.prop=value', explain: (v) => `Sets a default property for every device of one type (here ${v}).` },
  '-object': { arg: 'type,id=id[,...]', explain: (v) => { const kv = parseKeyVal(v, 'qom-type'); return `Creates a backend object of type ${getKey(kv, 'qom-type')}${getKey(kv, 'id') ? ` named ${getKey(kv, 'id')}` : ''} (memory, RNG, secret and TLS backends are objects) that devices and options refer to by id.`; } },
  '-set': { arg: 'group.id.arg=value', explain: 'Sets one property of an option group defined earlier.' },
  '-balloon': {
    arg: 'none|virtio', explain: 'Added a virtio memory balloon device: the host can ask the guest to give memory back (and read its memory statistics).',
    status: 'removed', note: 'Removed in QEMU 3.1; the modern form is -device virtio-balloon-pci (-balloon none was a no-op).',
    modern: (v) => { const kv = parseKeyVal(v, 'type'); if (getKey(kv, 'type') === 'none') return []; const addr = getKey(kv, 'addr'); return ['-device', `virtio-balloon-pci${addr ? `,addr=${addr}` : ''}`]; },
  },
  '-usb': { explain: "Turns on the machine's default USB controller (same as -machine usb=on), for -device usb-* devices." },
  '-usbdevice': {
    arg: 'devname',
    explain: (v) => {
      const d: Record<string, string> = {
        tablet: 'Adds a USB tablet: an absolute pointer, so the guest pointer follows the host pointer without grabbing (good over VNC).',
        mouse: 'Adds a USB mouse.',
        keyboard: 'Adds a USB keyboard.',
        'wacom-tablet': 'Adds a Wacom PenPartner USB tablet.',
        braille: 'Adds a USB Braille device.',
      };
      const kind = v.split(':')[0];
      const old: Record<string, string> = {
        disk: 'Attached an image as a USB mass-storage device.',
        host: 'Passed a host USB device through to the guest.',
        serial: 'Added a USB serial adapter.',
        net: 'Added a USB network adapter.',
        audio: 'Added a USB sound card.',
        ccid: 'Added a USB smart-card reader.',
        bt: 'Added a USB Bluetooth dongle.',
      };
      return (d[v] ?? old[kind] ?? `Adds the USB device "${v}".`) + ' USB is turned on for it.';
    },
  },
  '-soundhw': { arg: 'card[,...]', explain: (v) => `Added emulated sound card(s): ${v}.` },
  '-audiodev': { arg: 'driver,id=id', explain: (v) => `Creates an audio backend (${v.split(',')[0]}: where the guest's sound goes on the host) for sound devices to use with audiodev=.` },
  '-audio': { arg: 'driver,model=card', explain: 'Adds a sound card and its audio backend in one option.' },
  '-watchdog': { arg: 'model', explain: (v) => `Added an emulated hardware watchdog (${v}); if the guest stops feeding it, -watchdog-action happens.`, status: 'removed', note: 'Removed in QEMU 7.2; the modern form is -device MODEL.', modern: (v) => ['-device', v] },
  '-watchdog-action': { arg: 'action', explain: (v) => `Says what happens when the guest's watchdog fires: ${v}.` },
  '-pcidevice': { arg: 'host=bus:dev.func', explain: 'Assigned a host PCI device to the guest with the old KVM device assignment.' },
  '-virtioconsole': { arg: 'c', explain: 'Added a virtio console connected to a host character device.', status: 'removed', note: 'Removed; the modern form is -device virtio-serial-pci -chardev ...,id=X -device virtconsole,chardev=X.' },
  '-rtc': { arg: '[base=utc|localtime|date][,clock=...][,driftfix=...]', explain: "Configures the guest's real-time clock: base= sets where it starts (utc, localtime or a date), clock= which host clock drives it, driftfix=slew makes up for lost ticks (for Windows)." },
  '-localtime': { explain: "Started the guest's real-time clock at the host's local time instead of UTC (what Windows expects)." },
  '-startdate': { arg: 'date', explain: "Set the date the guest's real-time clock starts at." },
  '-rtc-td-hack': { explain: 'Re-injected RTC interrupts the guest missed (a time-drift fix for Windows).', status: 'removed', note: 'Removed in QEMU 3.1; the modern form is -rtc driftfix=slew.', modern: () => ['-rtc', 'driftfix=slew'] },
  '-clock': { arg: 'method', explain: 'Chose the host timer QEMU used (dynticks, hpet, rtc, unix).', status: 'removed', note: 'Removed; QEMU picks its own host timers now.', modern: () => [] },
  '-win2k-hack': { explain: 'Works around a Windows 2000 installer bug with disk-full errors; use it only during that install.' },
  '-no-acpi': { explain: 'Turns off ACPI in the guest (the machine property acpi=off).' },
  '-no-hpet': { explain: 'Removes the HPET timer from the guest (some old Windows guests keep time better without it).' },
  '-no-fd-bootchk': { explain: 'Lets the BIOS boot from a floppy without checking its boot signature.' },
  '-smbios': { arg: 'type=...', explain: 'Sets SMBIOS (DMI) table fields the guest reads, such as the manufacturer and serial number.' },
  '-acpitable': { arg: 'file=...', explain: 'Adds an ACPI table to the guest.' },
  '-fw_cfg': { arg: 'name=...', explain: "Passes a blob to the guest firmware through QEMU's fw_cfg interface." },
  '-tpmdev': { arg: 'backend,id=id', explain: 'Creates a TPM backend for a -device tpm-tis.' },
  '-fsdev': { arg: 'local,id=id,path=...', explain: 'Creates a host directory backend for a 9p shared folder.' },
  '-virtfs': { arg: 'local,path=...,mount_tag=tag', explain: 'Shares a host directory with the guest over 9p (mount it in the guest by its mount_tag).' },
  '-add-fd': { arg: 'fd=...', explain: 'Hands QEMU an already open file descriptor.' },
  '-iscsi': { arg: 'options', explain: 'Sets iSCSI initiator parameters for iscsi:// drives.' },

  // --- display ----------------------------------------------------------------
  '-display': { arg: 'type[,...]', explain: describeDisplay },
  '-nographic': { explain: 'Opens no window: the serial port and the monitor share the terminal (Ctrl-a c switches, Ctrl-a x quits), so the guest needs a serial console.' },
  '-vnc': {
    arg: 'display[,...]',
    explain: (v) => {
      const d = v.split(',')[0];
      const m = /^(.*):(\d+)$/.exec(d);
      const where = d === 'none' ? 'nowhere yet (it can be enabled from the monitor)' : m ? `${m[1] || 'all host addresses'}, TCP port ${5900 + Number(m[2])} (display :${m[2]})` : d;
      return `Serves the guest's screen over VNC on ${where}${v.includes('password') ? '; clients need a password' : ''}.`;
    },
  },
  '-sdl': { explain: "Showed the guest's screen in an SDL window.", status: 'removed', note: 'Removed in QEMU 7.1; the modern form is -display sdl.' },
  '-curses': { explain: "Showed the guest's text-mode screen in the terminal with curses.", status: 'removed', note: 'Removed in QEMU 7.1; the modern form is -display curses.' },
  '-alt-grab': { explain: 'Made Ctrl-Alt-Shift (instead of Ctrl-Alt) grab and release the mouse in the SDL window.' },
  '-ctrl-grab': { explain: 'Made Right-Ctrl grab and release the mouse in the SDL window.' },
  '-no-quit': { explain: 'Made closing the window not quit QEMU.' },
  '-show-cursor': { explain: 'Kept the host mouse pointer visible over the window.' },
  '-no-frame': { explain: 'Opened the SDL window without a frame.', status: 'removed', note: 'Removed (QEMU 7.2 rejects it), with no replacement.', modern: () => [] },
  '-full-screen': { explain: 'Starts the window in full-screen mode.' },
  '-portrait': { explain: 'Rotates the graphical output 90 degrees left.' },
  '-rotate': { arg: 'deg', explain: 'Rotates the graphical output by this many degrees.' },
  '-g': { arg: 'WxH[xDEPTH]', explain: 'Sets the initial graphical resolution (for some firmware).' },
  '-k': { arg: 'language', explain: (v) => `Sets the keyboard layout to ${v}. Only needed when the display gets keysyms instead of raw keycodes (some VNC clients); otherwise leave it out.` },
  '-vga': { arg: 'type', explain: describeVga },
  '-std-vga': { explain: 'Gave the guest a standard VGA card instead of the Cirrus one.', status: 'removed', note: 'Removed long ago; the modern form is -vga std.', modern: () => ['-vga', 'std'] },
  '-spice': { arg: 'option[,...]', explain: "Serves the guest's screen, sound and USB over the SPICE protocol." },

  // --- monitor, serial, debugging, process ---------------------------------
  '-monitor': { arg: 'dev', explain: (v) => describeChardev(v, 'the human monitor (HMP, where commands like info status and quit are typed)') },
  '-qmp': { arg: 'dev', explain: (v) => describeChardev(v, 'the QEMU Machine Protocol (QMP: JSON commands for programs)') },
  '-qmp-pretty': { arg: 'dev', explain: (v) => describeChardev(v, 'QMP with pretty-printed JSON') },
  '-mon': { arg: 'chardev=id[,mode=...]', explain: 'Attaches a monitor (mode=readline for HMP, mode=control for QMP) to a -chardev.' },
  '-chardev': { arg: 'backend,id=id[,...]', explain: (v) => { const kv = parseKeyVal(v, 'backend'); return `Creates the character device ${getKey(kv, 'id') ?? ''} (${getKey(kv, 'backend')}) that a serial port, monitor or virtio console refers to by id.`; } },
  '-serial': { arg: 'dev', explain: (v) => describeChardev(v, 'the next serial port (the first is COM1, ttyS0 in Linux)') },
  '-parallel': { arg: 'dev', explain: (v) => describeChardev(v, 'the parallel port') },
  '-debugcon': { arg: 'dev', explain: (v) => describeChardev(v, 'the debug console (I/O port 0xe9)') },
  '-echr': { arg: 'numeric_ascii_value', explain: 'Changes the Ctrl-a escape key of the terminal multiplexer.' },
  '-S': { explain: "Starts with the guest's CPUs stopped; 'cont' in the monitor (or QMP) starts them." },
  '-s': { explain: 'Opens a gdb server on TCP port 1234 (short for -gdb tcp::1234).' },
  '-gdb': { arg: 'dev', explain: (v) => `Opens a gdb server on ${v} (connect with target remote).` },
  '-d': { arg: 'item[,...]', explain: 'Turns on QEMU debug logging of these items.' },
  '-D': { arg: 'logfile', explain: "Writes QEMU's log (and, with -daemonize, messages nobody would see otherwise) to this file." },
  '-daemonize': { explain: 'Detaches QEMU from the terminal once the guest is set up and keeps it running in the background.' },
  '-pidfile': { arg: 'file', explain: "Writes QEMU's process id to this file." },
  '-no-reboot': { explain: 'Makes QEMU exit instead of rebooting when the guest reboots.' },
  '-no-shutdown': { explain: 'Keeps QEMU running (stopped) when the guest powers off, so it can still be inspected from the monitor.' },
  '-incoming': { arg: 'uri', explain: 'Waits for an incoming migration on this URI instead of booting.' },
  '-loadvm': { arg: 'name', explain: 'Starts from this internal snapshot (taken with savevm).' },
  '-chroot': { arg: 'dir', explain: 'Makes QEMU chroot into this directory after starting up.' },
  '-runas': { arg: 'user', explain: 'Makes QEMU drop root privileges and run as this user after starting up.' },
  '-sandbox': { arg: 'on|off', explain: "Restricts the system calls QEMU may make (seccomp)." },
  '-msg': { arg: 'timestamp=on|off', explain: "Controls the format of QEMU's error messages." },
  '-trace': { arg: 'pattern', explain: "Enables QEMU's trace events matching this pattern." },
  '-readconfig': { arg: 'file', explain: 'Reads more options from this configuration file.' },
  '-writeconfig': { arg: 'file', explain: 'Wrote the options to a configuration file.', status: 'removed', note: 'Removed in QEMU 7.1, with no replacement.', modern: () => [] },
  '-nodefconfig': { explain: "Skipped QEMU's default configuration files.", status: 'removed', note: 'Removed in QEMU 3.1; the modern form is -no-user-config.', modern: () => ['-no-user-config'] },
  '-no-user-config': { explain: "Skips the user-provided configuration files (/etc/qemu/*.conf)." },
  '-nodefaults': { explain: 'Creates none of the default devices (VGA card, serial and parallel ports, monitor, NIC, CD-ROM, floppy): only what the line asks for.' },
  '-enable-fips': { explain: 'Restricted QEMU to FIPS-approved cryptography.', status: 'removed', note: 'Removed in QEMU 7.1; FIPS mode follows the host and the crypto library.', modern: () => [] },
  '-preconfig': { explain: 'Pauses before the machine is created, for configuration over QMP.' },
  '-only-migratable': { explain: 'Refuses devices that would block migration.' },
  '-action': { arg: 'event=action', explain: 'Says what QEMU does on an event (reboot, shutdown, panic, watchdog).' },
  '-seed': { arg: 'n', explain: "Seeds QEMU's random number generator." },
  '-plugin': { arg: 'file=...', explain: 'Loads a TCG plugin.' },
  '-compat': { arg: 'option[,...]', explain: 'Sets policy for deprecated or unstable interfaces.' },
};

/** Options QEMU 7.2 takes without an argument but that the table leaves out. */
export function takesArgument(option: string): boolean | undefined {
  const info = OPTIONS[option];
  return info ? info.arg !== undefined : undefined;
}

export function explainOption(option: string, value: string | undefined): string {
  const info = OPTIONS[option];
  if (!info) return 'Not an option the translator knows; it is passed through as written.';
  if (typeof info.explain === 'string') return info.explain;
  try {
    return info.explain(value ?? '');
  } catch {
    return `${option} ${value ?? ''}`.trim();
  }
}
