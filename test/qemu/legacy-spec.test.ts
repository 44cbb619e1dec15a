import { describe, expect, it } from 'vitest';
import { parseVmSpec } from '../../src/config/schema.js';
import { specFromCommandLine } from '../../src/qemu/legacy/index.js';

const TUTORIAL =
  'qemu-kvm -name xp -m 512 -smp 4 -cpu host -drive file=xp.iso,media=cdrom -drive file=winxp.qcow2,media=disk,cache=writeback,format=qcow2 ' +
  '-boot order=dc,once=d -net nic,model=virtio,vlan=0 -net tap,ifname=tap0,script=/etc/qemu-ifup -balloon virtio -usbdevice tablet -vnc :1 -daemonize';

/** specFromCommandLine, checked by the schema every time. */
function spec(line: string, name?: string) {
  const r = specFromCommandLine(line, name);
  const parsed = parseVmSpec(r.spec, line);
  return { ...r, parsed };
}

describe('specFromCommandLine', () => {
  it('turns the tutorial line into a definition', () => {
    const { spec: s, parsed, warnings } = spec(TUTORIAL);
    expect(s).toEqual({
      name: 'xp',
      memory: '512M',
      smp: 4,
      cpu: 'host',
      boot: { order: 'dc', once: 'd' },
      disks: [
        { file: 'xp.iso', bus: 'ide', media: 'cdrom' },
        { file: 'winxp.qcow2', format: 'qcow2', bus: 'ide', cache: 'writeback' },
      ],
      nics: [{ type: 'network', network: 'default', model: 'virtio' }],
      display: { type: 'vnc', listen: '127.0.0.1', display: 1, password: false },
      balloon: true,
      tablet: true,
      accel: 'auto',
    });
    expect(parsed.nics[0]).toMatchObject({ type: 'network', network: 'default', model: 'virtio' });
    const w = warnings.join('\n');
    expect(w).toMatch(/network "default", which must exist/);
    expect(w).toMatch(/the definition listens on 127\.0\.0\.1/);
    expect(w).toMatch(/-daemonize: dropped, qkvm always starts QEMU daemonized/);
  });

  it('takes the name from the caller, then -name, then the first disk', () => {
    expect(spec(TUTORIAL, 'lab1').spec.name).toBe('lab1');
    expect(spec('qemu-kvm -hda /vm/debian-6.img').spec.name).toBe('debian-6');
    expect(spec('qemu-kvm -m 256').spec.name).toBe('vm');
    const r = spec('qemu-kvm -name "Windows XP (SP3)"');
    expect(r.spec.name).toBe('Windows-XP-SP3');
    expect(r.warnings.join('\n')).toMatch(/not a valid qkvm name/);
  });

  it('maps the accelerator options', () => {
    expect(spec('qemu-kvm -no-kvm').spec.accel).toBe('tcg');
    expect(spec('qemu-system-x86_64 -enable-kvm').spec.accel).toBe('kvm');
    expect(spec('qemu-system-x86_64 -accel kvm').spec.accel).toBe('kvm');
    expect(spec('qemu-system-x86_64 -machine pc,accel=kvm:tcg').spec.accel).toBe('auto');
    expect(spec('qemu-kvm -m 512').spec.accel).toBe('auto');
    expect(spec('qemu-system-x86_64 -m 512').spec.accel).toBe('auto');
  });

  it('keeps memory in the size QEMU read', () => {
    expect(spec('qemu-kvm -m 512').spec.memory).toBe('512M');
    expect(spec('qemu-kvm -m 2G').spec.memory).toBe('2G');
    const r = spec('qemu-kvm -m size=1G,slots=2,maxmem=4G');
    expect(r.spec.memory).toBe('1G');
    // Memory hotplug is kept: maxmem= and slots= are maxMemory and memorySlots.
    expect(r.spec).toMatchObject({ maxMemory: '4G', memorySlots: 2 });
  });

  it('writes the fixed CPU topology in full', () => {
    expect(spec('qemu-kvm -smp 2').spec.smp).toBe(2);
    expect(spec('qemu-kvm -smp 4,sockets=2,cores=1,threads=1').spec.smp).toEqual({ cpus: 4, sockets: 2, cores: 2, threads: 1 });
    expect(spec('qemu-kvm -smp 4,cores=2').spec.smp).toEqual({ cpus: 4, sockets: 2, cores: 2, threads: 1 });
    expect(spec('qemu-kvm -smp 2,maxcpus=4').spec.smp).toEqual({ cpus: 2, sockets: 1, cores: 4, threads: 1, maxcpus: 4 });
  });

  it('turns -numa node,mem= into numa nodes', () => {
    const { spec: s } = spec('qemu-kvm -m 1024 -smp 4 -numa node,mem=512,cpus=0-1 -numa node,mem=512,cpus=2-3');
    expect(s.numa).toEqual([{ cpus: '0-1', memory: '512M' }, { cpus: '2-3', memory: '512M' }]);
  });

  it('deals vCPUs round-robin to nodes without cpus=, as old QEMU did', () => {
    const r = spec('qemu-kvm -m 1024 -smp 4 -numa node -numa node');
    expect(r.spec.numa).toEqual([{ cpus: '0,2', memory: '512M' }, { cpus: '1,3', memory: '512M' }]);
  });

  it('drops numa nodes the definition cannot hold, with a warning', () => {
    const r = spec('qemu-kvm -m 1024 -numa node,mem=256 -numa node,mem=256');
    expect(r.spec.numa).toBeUndefined();
    expect(r.warnings.join('\n')).toMatch(/-numa: the nodes do not fit/);
  });

  it('maps the disk options and shorthands', () => {
    const { spec: s } = spec('qemu-kvm -hda a.img -hdb b.qcow2 -cdrom c.iso -drive file=d.img,if=virtio,format=raw,cache=none,snapshot=on,index=1 -drive file=e.img,if=virtio,readonly=on');
    expect(s.disks).toEqual([
      { file: 'a.img', bus: 'ide', target: 'hda' },
      { file: 'b.qcow2', bus: 'ide', target: 'hdb' },
      { file: 'c.iso', bus: 'ide', media: 'cdrom', target: 'hdc' },
      { file: 'd.img', format: 'raw', bus: 'virtio', cache: 'none', snapshot: true, target: 'vdb' },
      { file: 'e.img', bus: 'virtio', readonly: true },
    ]);
  });

  it('follows -drive if=none to its -device, and applies -snapshot to every disk', () => {
    const { spec: s } = spec('qemu-kvm -snapshot -drive file=a.img,if=none,id=d0,format=qcow2 -device virtio-blk-pci,drive=d0 -drive file=b.img,if=scsi');
    expect(s.disks).toEqual([
      { file: 'a.img', format: 'qcow2', bus: 'virtio', snapshot: true },
      { file: 'b.img', bus: 'scsi', snapshot: true },
    ]);
  });

  it('turns user-mode networking with -redir into a user NIC with hostfwd', () => {
    const { spec: s } = spec('qemu-kvm -net nic,model=e1000 -net user -redir tcp:2222::22 -redir 8080::80');
    expect(s.nics).toEqual([{ type: 'user', model: 'e1000', hostfwd: ['tcp::2222-:22', 'tcp::8080-:80'] }]);
  });

  it('reads modern -netdev/-device and -nic lines too', () => {
    const { spec: s } = spec('qemu-system-x86_64 -netdev user,id=n0,hostfwd=tcp:127.0.0.1:2222-:22 -device virtio-net-pci,netdev=n0,mac=52:54:00:AA:BB:CC -nic tap,model=rtl8139');
    expect(s.nics).toEqual([
      { type: 'user', model: 'virtio', mac: '52:54:00:aa:bb:cc', hostfwd: ['tcp:127.0.0.1:2222-:22'] },
      { type: 'network', network: 'default', model: 'rtl8139' },
    ]);
  });

  it('gives a line without networking QEMU\'s default NIC, and -net none none', () => {
    expect(spec('qemu-kvm -m 512').spec.nics).toEqual([{ type: 'user', model: 'e1000' }]);
    expect(spec('qemu-kvm -m 512 -net none').spec.nics).toEqual([]);
  });

  it('maps VNC, with its address, display number and password flag', () => {
    expect(spec('qemu-kvm -vnc 127.0.0.1:3,password').spec.display).toEqual({ type: 'vnc', listen: '127.0.0.1', display: 3, password: true });
    expect(spec('qemu-kvm -vnc localhost:0').spec.display).toEqual({ type: 'vnc', listen: '127.0.0.1', display: 0, password: false });
    const r = spec('qemu-kvm -sdl');
    expect(r.spec.display).toEqual({ type: 'none' });
    expect(r.warnings.join('\n')).toMatch(/headless/);
  });

  it('maps kernel boot, vga, balloon, tablet, hugepages and mem-merge', () => {
    const { spec: s } = spec('qemu-kvm -kernel vmlinuz -initrd initrd.img -append "root=/dev/vda console=ttyS0" -vga cirrus -usb -usbdevice tablet -mem-path /dev/hugepages -machine pc,mem-merge=off');
    expect(s).toMatchObject({
      kernel: 'vmlinuz', initrd: 'initrd.img', append: 'root=/dev/vda console=ttyS0', vga: 'cirrus',
      tablet: true, balloon: false, hugepages: true, memMerge: false, machine: 'pc',
    });
    expect(s.extraArgs).toBeUndefined();
  });

  it('maps machine types to pc or q35 with a warning', () => {
    const old = spec('qemu-kvm -M pc-0.14');
    expect(old.spec.machine).toBe('pc');
    expect(old.warnings.join('\n')).toMatch(/replaced by pc/);
    const q35 = spec('qemu-kvm -machine pc-q35-2.6');
    expect(q35.spec.machine).toBe('q35');
    expect(q35.warnings.join('\n')).toMatch(/pc, q35 or microvm/);
  });

  it('puts what has no field into extraArgs, in modern form, with a warning', () => {
    const r = spec('qemu-kvm -localtime -k de -soundhw ac97 -no-kvm-irqchip -usbdevice mouse');
    expect(r.spec.extraArgs).toEqual(['-rtc', 'base=localtime', '-k', 'de', '-device', 'AC97', '-machine', 'kernel_irqchip=off', '-usb', '-device', 'usb-mouse']);
    expect(r.warnings.join('\n')).toMatch(/kept as extraArgs, passed to QEMU unchecked: -rtc base=localtime; -k de/);
  });

  it('drops what qkvm manages itself, saying why', () => {
    const r = spec('qemu-kvm -monitor telnet::4444,server,nowait -serial pty -pidfile /run/x.pid -daemonize -S -qmp unix:/tmp/q.sock,server,nowait');
    expect(r.spec.extraArgs).toBeUndefined();
    const w = r.warnings.join('\n');
    for (const o of ['-monitor', '-serial', '-pidfile', '-daemonize', '-S', '-qmp']) expect(w).toContain(`${o}`);
    expect(spec('qemu-kvm -serial none').spec.serial).toBe(false);
  });

  it.each([
    TUTORIAL,
    'kvm -hda debian.img -cdrom debian-6.0.iso -boot d -m 1024 -net nic -net user -redir tcp:2222::22 -localtime',
    'qemu-kvm -m 1024 -smp 4,sockets=2,cores=1,threads=1 -numa node,mem=512,cpus=0-1 -numa node,mem=512,cpus=2-3 -hda numa.qcow2',
    'qemu-kvm -no-kvm -m 256 -hda freedos.img -sdl -alt-grab -usbdevice mouse',
    'qemu-kvm -m 768 -hda win7.img -soundhw ac97,hda -usbdevice tablet -localtime -vga std -curses -k en-us',
    'qemu-kvm -m 512 -drive file=root.img,if=virtio,boot=on -drive file=data.img,if=scsi,cache=off -net nic,model=virtio,vlan=0 -net user,vlan=0 -net nic,model=e1000,vlan=1 -net user,vlan=1 -nographic',
    '/usr/libexec/qemu-kvm -M pc-0.14 -m 512 -hda rhel6.img -no-kvm-irqchip -tdf -nodefconfig -kvm-shadow-memory 128 -realtime mlock=off -vnc :2,password -k de -monitor stdio -daemonize',
    'qemu-system-x86_64 -enable-kvm -accel tcg -m 256 -kernel vmlinuz -initrd initrd.img -append "root=/dev/vda" -drive file=disk.raw,if=virtio,format=raw -net nic,vlan=0 -net nic,model=rtl8139,vlan=0 -net user,vlan=0',
    'qemu -m 128 -boot n -tftp /srv/tftp -bootp pxelinux.0 -startdate now -watchdog i6300esb -std-vga -usbdevice disk:stick.img -fda floppy.img',
    'qemu-kvm -drive file=win.vmdk,format=vmdk -net nic,model=ne2k_pci -net user -cpu host -smp 0 -uuid nope',
  ])('gives a valid definition for: %s', (line) => {
    expect(() => spec(line)).not.toThrow();
  });
});

describe('VNC addresses from old command lines', () => {
  it('keeps an explicit 0.0.0.0, and turns an implicit all-addresses into loopback', () => {
    expect(specFromCommandLine('qemu-kvm -vnc 0.0.0.0:2').spec.display).toMatchObject({ listen: '0.0.0.0', display: 2 });
    expect(specFromCommandLine('qemu-kvm -vnc :2').spec.display).toMatchObject({ listen: '127.0.0.1', display: 2 });
  });
});
