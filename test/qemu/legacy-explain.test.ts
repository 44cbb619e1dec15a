import { describe, expect, it } from 'vitest';
import { explainCommandLine, formatExplanation, LEGACY_OPTIONS, type Explanation } from '../../src/qemu/legacy/index.js';

const TUTORIAL =
  'qemu-kvm -name xp -m 512 -smp 4 -cpu host -drive file=xp.iso,media=cdrom -drive file=winxp.qcow2,media=disk,cache=writeback,format=qcow2 ' +
  '-boot order=dc,once=d -net nic,model=virtio,vlan=0 -net tap,ifname=tap0,script=/etc/qemu-ifup -balloon virtio -usbdevice tablet -vnc :1 -daemonize';

/** The modern command as one string per option, which reads like the README. */
function modern(line: string): string[] {
  const out: string[][] = [];
  for (const a of explainCommandLine(line).modern.args) {
    if (a.startsWith('-') || !out.length) out.push([a]);
    else out[out.length - 1].push(a);
  }
  return out.map((g) => g.join(' '));
}

const entry = (e: Explanation, option: string, nth = 0) => e.entries.filter((x) => x.option === option)[nth];
const sys = (args: string) => `qemu-system-x86_64 ${args}`;

describe('explainCommandLine: the tutorial line', () => {
  const e = explainCommandLine(TUTORIAL);

  it('explains every option, in order, with its status', () => {
    expect(e.binary).toBe('qemu-kvm');
    expect(e.entries.map((x) => [x.option, x.value, x.status])).toEqual([
      ['-name', 'xp', 'ok'],
      ['-m', '512', 'ok'],
      ['-smp', '4', 'ok'],
      ['-cpu', 'host', 'ok'],
      ['-drive', 'file=xp.iso,media=cdrom', 'ok'],
      ['-drive', 'file=winxp.qcow2,media=disk,cache=writeback,format=qcow2', 'ok'],
      ['-boot', 'order=dc,once=d', 'ok'],
      ['-net', 'nic,model=virtio,vlan=0', 'removed'],
      ['-net', 'tap,ifname=tap0,script=/etc/qemu-ifup', 'ok'],
      ['-balloon', 'virtio', 'removed'],
      ['-usbdevice', 'tablet', 'deprecated'],
      ['-vnc', ':1', 'ok'],
      ['-daemonize', undefined, 'ok'],
    ]);
    for (const x of e.entries) {
      expect(x.explain.length, x.option).toBeGreaterThan(20);
      expect(x.explain, x.option).not.toMatch(/not an option the translator knows/);
      expect(x.explain.split(/[.!?](\s|$)/).filter((s) => s.trim().length > 1).length, `${x.option}: one or two sentences`).toBeLessThanOrEqual(3);
    }
  });

  it('says what each option does in QEMU\'s words', () => {
    expect(entry(e, '-m').explain).toMatch(/512 MiB/);
    expect(entry(e, '-smp').explain).toMatch(/4 virtual CPUs/);
    expect(entry(e, '-cpu').explain).toMatch(/host CPU.*KVM.*-cpu max/);
    expect(entry(e, '-drive', 0).explain).toMatch(/xp\.iso as a CD-ROM on the IDE bus/);
    expect(entry(e, '-drive', 1).explain).toMatch(/format is qcow2.*cache=writeback/);
    expect(entry(e, '-boot').explain).toMatch(/CD-ROM, then first hard disk; on the first boot only from CD-ROM/);
    expect(entry(e, '-net', 0).explain).toMatch(/virtio-net.*hub number 0.*vlan/);
    expect(entry(e, '-net', 1).explain).toMatch(/tap device \(tap0\).*\/etc\/qemu-ifup/);
    expect(entry(e, '-balloon').explain).toMatch(/balloon/);
    expect(entry(e, '-usbdevice').explain).toMatch(/tablet.*absolute/);
    expect(entry(e, '-vnc').explain).toMatch(/all host addresses, TCP port 5901/);
    expect(entry(e, '-daemonize').explain).toMatch(/background/);
  });

  it('notes the modern form of what changed', () => {
    expect(entry(e, '-net', 0).note).toMatch(/vlan= was removed \(QEMU 3\.0\)/);
    expect(entry(e, '-balloon').note).toMatch(/Removed in QEMU 3\.1.*virtio-balloon-pci/);
    expect(entry(e, '-usbdevice').note).toMatch(/-device usb-tablet/);
    expect(entry(e, '-vnc').note).toMatch(/-display vnc=:1/);
  });

  it('writes the modern command', () => {
    expect(e.modern.binary).toBe('qemu-system-x86_64');
    expect(modern(TUTORIAL)).toEqual([
      '-accel kvm', '-accel tcg',
      '-name xp', '-m 512', '-smp 4', '-cpu host',
      '-drive file=xp.iso,media=cdrom',
      '-drive file=winxp.qcow2,media=disk,cache=writeback,format=qcow2',
      '-boot order=dc,once=d',
      '-device virtio-net-pci,netdev=net0',
      '-netdev tap,id=net0,ifname=tap0,script=/etc/qemu-ifup',
      '-device virtio-balloon-pci',
      '-usb', '-device usb-tablet',
      '-display vnc=:1',
      '-daemonize',
    ]);
  });

  it('warns about KVM, -cpu host and the VNC address', () => {
    expect(e.warnings.join('\n')).toMatch(/qemu-kvm used KVM when it could/);
    expect(e.warnings.join('\n')).toMatch(/-cpu host needs KVM.*-cpu max/);
    expect(e.warnings.join('\n')).toMatch(/all host addresses.*vnc=127\.0\.0\.1:1/);
  });

  it('takes the line as argv too, with or without the binary', () => {
    const words = TUTORIAL.split(' ');
    expect(explainCommandLine(words).modern).toEqual(e.modern);
    expect(explainCommandLine(['--', ...words]).modern).toEqual(e.modern);
    // Without a binary the line is taken as qemu-kvm's.
    expect(explainCommandLine(words.slice(1)).modern).toEqual(e.modern);
  });
});

describe('explainCommandLine: statuses', () => {
  const status = (line: string, option: string) => entry(explainCommandLine(sys(line)), option).status;

  it.each([
    ['-balloon virtio', '-balloon'],
    ['-net nic,vlan=1', '-net'],
    ['-net user,name=u1', '-net'],
    ['-sdl', '-sdl'],
    ['-curses', '-curses'],
    ['-alt-grab', '-alt-grab'],
    ['-ctrl-grab', '-ctrl-grab'],
    ['-no-kvm', '-no-kvm'],
    ['-m 512 -numa node,mem=512', '-numa'],
    ['-soundhw ac97', '-soundhw'],
    ['-redir tcp:2222::22', '-redir'],
    ['-tdf', '-tdf'],
    ['-no-kvm-irqchip', '-no-kvm-irqchip'],
    ['-no-kvm-pit', '-no-kvm-pit'],
    ['-no-kvm-pit-reinjection', '-no-kvm-pit-reinjection'],
    ['-nodefconfig', '-nodefconfig'],
    ['-kvm-shadow-memory 128', '-kvm-shadow-memory'],
    ['-localtime', '-localtime'],
    ['-realtime mlock=on', '-realtime'],
    ['-usbdevice disk:x.img', '-usbdevice'],
    ['-watchdog i6300esb', '-watchdog'],
    ['-startdate now', '-startdate'],
    ['-drive file=x.img,if=virtio,boot=on', '-drive'],
    ['-drive file=x.img,if=scsi', '-drive'],
    ['-vnc :1,tls', '-vnc'],
    ['-M pc-0.14', '-M'],
    ['-tb-size 64', '-tb-size'],
    ['-show-cursor', '-show-cursor'],
    ['-no-quit', '-no-quit'],
    ['-smb /srv', '-smb'],
    ['-tftp /srv', '-tftp'],
    ['-bootp pxelinux.0', '-bootp'],
    ['-pcidevice host=01:00.0', '-pcidevice'],
    ['-hdachs 100,16,63', '-hdachs'],
    ['-enable-fips', '-enable-fips'],
    ['-writeconfig x.cfg', '-writeconfig'],
  ])('%s is removed', (line, option) => {
    expect(status(line, option)).toBe('removed');
  });

  it.each([
    ['-enable-kvm -accel tcg', '-enable-kvm'],
    ['-machine pc,accel=kvm -accel tcg', '-machine'],
    ['-accel tcg -cpu host', '-cpu'],
    ['-monitor stdio -daemonize', '-monitor'],
    ['-serial mon:stdio -daemonize', '-serial'],
    ['-nographic -daemonize', '-nographic'],
    ['-append quiet', '-append'],
    ['-nographic -monitor stdio', '-monitor'],
    ['-serial stdio -monitor stdio', '-serial'],
    ['-display curses -daemonize', '-display'],
  ])('%s is a conflict', (line, option) => {
    expect(status(line, option)).toBe('conflict');
  });

  it.each([
    ['-smp 4,sockets=2,cores=1,threads=1', '-smp'],
    ['-smp 6,sockets=2,cores=2', '-smp'],
    ['-m 512 -numa node -numa node', '-numa'],
    ['-M pc-1.5', '-M'],
    ['-uuid not-a-uuid', '-uuid'],
  ])('%s is changed', (line, option) => {
    expect(status(line, option)).toBe('changed');
  });

  it.each([
    ['-usbdevice tablet', '-usbdevice'],
    ['-usbdevice mouse', '-usbdevice'],
    ['-chardev socket,id=c,path=/tmp/c,server,nowait', '-chardev'],
    ['-drive file=x.img,snapshot', '-drive'],
    ['-vnc :1,password', '-vnc'],
    ['-smp 0', '-smp'],
    ['-device sga', '-device'],
    ['-device AC97', '-device'],
    ['-M pc-i440fx-1.4', '-M'],
  ])('%s is deprecated', (line, option) => {
    expect(status(line, option)).toBe('deprecated');
  });

  it.each([
    ['-hda x.img', '-hda'], ['-hdb x.img', '-hdb'], ['-cdrom x.iso', '-cdrom'], ['-fda f.img', '-fda'],
    ['-vga std', '-vga'], ['-monitor stdio', '-monitor'], ['-serial stdio', '-serial'], ['-k de', '-k'],
    ['-usb', '-usb'], ['-boot c', '-boot'], ['-kernel bzImage -initrd i.img -append x', '-append'], ['-m 1G', '-m'],
    ['-daemonize -pidfile /run/x.pid', '-pidfile'], ['-chardev pty,id=c', '-chardev'], ['-device e1000', '-device'],
    ['-netdev user,id=n', '-netdev'], ['-drive file=x.img,if=virtio,cache=none,format=raw,index=1', '-drive'],
    ['-machine q35', '-machine'], ['-M pc', '-M'], ['-accel tcg', '-accel'], ['-display none', '-display'],
    ['-nographic', '-nographic'], ['-no-reboot', '-no-reboot'], ['-no-shutdown', '-no-shutdown'], ['-S', '-S'],
    ['-s', '-s'], ['-gdb tcp::1234', '-gdb'], ['-name xp', '-name'], ['-uuid 12345678-1234-1234-1234-123456789abc', '-uuid'],
    ['-rtc base=localtime', '-rtc'], ['-global kvm-pit.lost_tick_policy=delay', '-global'], ['-object rng-random,id=r,filename=/dev/urandom', '-object'],
    ['-mem-path /dev/hugepages', '-mem-path'], ['-mem-prealloc', '-mem-prealloc'], ['-enable-kvm', '-enable-kvm'], ['-net nic -net user', '-net'],
    ['-smp 4,cores=2', '-smp'], ['-cpu qemu64,+ssse3', '-cpu'],
  ])('%s is ok', (line, option) => {
    expect(status(line, option)).toBe('ok');
  });

  it('passes an unknown option through with a warning', () => {
    const e = explainCommandLine(sys('-frobnicate 3 -m 512'));
    expect(entry(e, '-frobnicate')).toMatchObject({ status: 'unknown', value: '3', modern: ['-frobnicate', '3'] });
    expect(e.modern.args).toEqual(['-frobnicate', '3', '-m', '512']);
    expect(e.warnings[0]).toMatch(/-frobnicate 3: not an option the translator knows/);
  });

  it('has an explanation for every option in its table', () => {
    for (const [option, info] of Object.entries(LEGACY_OPTIONS)) {
      const line = info.arg ? [option, 'x'] : [option];
      const x = explainCommandLine(['qemu-system-x86_64', ...line]).entries[0];
      expect(x.option).toBe(option);
      expect(x.explain.length, option).toBeGreaterThan(15);
    }
  });
});

describe('explainCommandLine: translations', () => {
  it.each<[string, string[]]>([
    ['-balloon none', []],
    ['-balloon virtio,addr=0x5', ['-device virtio-balloon-pci,addr=0x5']],
    ['-net nic,model=virtio,macaddr=52:54:00:12:34:56 -net tap,ifname=tap0,script=no,downscript=no',
      ['-device virtio-net-pci,netdev=net0,mac=52:54:00:12:34:56', '-netdev tap,id=net0,ifname=tap0,script=no,downscript=no']],
    ['-net nic,model=e1000,vlan=1 -net user,vlan=1,hostfwd=tcp::8080-:80', ['-device e1000,netdev=net1', '-netdev user,id=net1,hostfwd=tcp::8080-:80']],
    ['-net nic -net user -redir tcp:2222::22 -redir udp:5353:10.0.2.15:53',
      ['-device e1000,netdev=net0', '-netdev user,id=net0,hostfwd=tcp::2222-:22,hostfwd=udp::5353-10.0.2.15:53']],
    ['-redir tcp:2222::22', ['-netdev user,id=net0,hostfwd=tcp::2222-:22', '-device e1000,netdev=net0']],
    ['-net nic -net user -tftp /srv/tftp -bootp pxelinux.0 -smb /srv/share',
      ['-device e1000,netdev=net0', '-netdev user,id=net0,tftp=/srv/tftp,bootfile=pxelinux.0,smb=/srv/share']],
    ['-net nic,vlan=0 -net nic,model=rtl8139,vlan=0 -net user,vlan=0',
      ['-netdev hubport,id=hub0p0,hubid=0', '-device e1000,netdev=hub0p0', '-netdev hubport,id=hub0p1,hubid=0', '-device rtl8139,netdev=hub0p1',
        '-netdev user,id=net0-2', '-netdev hubport,id=hub0p2,hubid=0,netdev=net0-2']],
    ['-net nic -net user -net dump,file=/tmp/x.pcap,len=128', ['-device e1000,netdev=net0', '-netdev user,id=net0', '-object filter-dump,id=dump0,netdev=net0,file=/tmp/x.pcap,maxlen=128']],
    ['-net none', ['-nic none']],
    ['-net nic,netdev=n0 -netdev user,id=n0', ['-device e1000,netdev=n0', '-netdev user,id=n0']],
    ['-sdl -ctrl-grab -no-quit -show-cursor', ['-display sdl,grab-mod=rctrl,window-close=off,show-cursor=on']],
    ['-alt-grab -display sdl', ['-display sdl,grab-mod=lshift-lctrl-lalt']],
    ['-display sdl,alt_grab=on,window_close=off', ['-display sdl,grab-mod=lshift-lctrl-lalt,window-close=off']],
    ['-curses -alt-grab', ['-display curses']],
    ['-no-kvm -cpu host', ['-accel tcg', '-cpu max']],
    ['-cpu host,+vmx', ['-cpu max,+vmx']],
    ['-enable-kvm -cpu host', ['-accel kvm', '-cpu host']],
    ['-enable-kvm -accel tcg', ['-accel tcg']],
    ['-machine pc,accel=kvm:tcg', ['-machine pc', '-accel kvm', '-accel tcg']],
    ['-machine accel=tcg -enable-kvm', ['-accel tcg']],
    ['-no-kvm -tb-size 64', ['-accel tcg,tb-size=64']],
    ['-accel tcg -tb-size 64', ['-accel tcg,tb-size=64']],
    ['-m 1024 -numa node,mem=512,cpus=0 -numa node,mem=512,cpus=1', ['-m 1024',
      '-object memory-backend-ram,id=ram-node0,size=512M', '-numa node,cpus=0,memdev=ram-node0',
      '-object memory-backend-ram,id=ram-node1,size=512M', '-numa node,cpus=1,memdev=ram-node1']],
    ['-m 1000 -numa node -numa node -numa node', ['-m 1000',
      '-object memory-backend-ram,id=ram-node0,size=328M', '-numa node,memdev=ram-node0',
      '-object memory-backend-ram,id=ram-node1,size=328M', '-numa node,memdev=ram-node1',
      '-object memory-backend-ram,id=ram-node2,size=344M', '-numa node,memdev=ram-node2']],
    ['-m 256 -mem-path /dev/hugepages -mem-prealloc -numa node,mem=256M,nodeid=0', ['-m 256', '-mem-path /dev/hugepages', '-mem-prealloc',
      '-object memory-backend-file,id=ram-node0,size=256M,mem-path=/dev/hugepages,prealloc=on', '-numa node,nodeid=0,memdev=ram-node0']],
    ['-smp 4,sockets=2,cores=1,threads=1', ['-smp 4,sockets=2,cores=2,threads=1']],
    ['-smp 3,cores=2', ['-smp 3,sockets=1,cores=3,threads=1']],
    ['-smp 4,sockets=4,cores=2', ['-smp 4,sockets=4,cores=1,threads=1']],
    ['-smp cpus=2,maxcpus=6,sockets=4,cores=2', ['-smp 2,sockets=3,cores=2,threads=1,maxcpus=6']],
    ['-smp 0', []],
    ['-smp 8,sockets=0', ['-smp 8']],
    ['-usbdevice tablet -usbdevice keyboard', ['-usb', '-device usb-tablet', '-device usb-kbd']],
    ['-usbdevice tablet -device qemu-xhci', ['-device usb-tablet', '-device qemu-xhci']],
    ['-usbdevice host:1234:abcd -usbdevice host:3.2', ['-usb', '-device usb-host,vendorid=0x1234,productid=0xabcd', '-device usb-host,hostbus=3,hostaddr=2']],
    ['-soundhw hda', ['-device intel-hda', '-device hda-duplex']],
    ['-soundhw sb16,es1370', ['-device sb16', '-device ES1370']],
    ['-hda a.img -hdb b.img -cdrom c.iso -fda f.img',
      ['-drive file=a.img,index=0,media=disk', '-drive file=b.img,index=1,media=disk', '-drive file=c.iso,index=2,media=cdrom', '-drive file=f.img,index=0,if=floppy']],
    ['winxp.img', ['-drive file=winxp.img,index=0,media=disk']],
    ['-hda "my disk,1.img"', ['-drive file=my disk,,1.img,index=0,media=disk']],
    ['-drive file=a.img,if=virtio,boot=on', ['-drive file=a.img,if=virtio']],
    ['-drive file=a.img,cache=off -drive file=b.img,cache=on', ['-drive file=a.img,cache=none', '-drive file=b.img,cache=writeback']],
    ['-drive file=a.img,snapshot,readonly', ['-drive file=a.img,snapshot=on,readonly=on']],
    ['-drive file=a.img,index=1,serial=abc123', ['-drive file=a.img,if=none,id=drive0', '-device ide-hd,bus=ide.0,unit=1,drive=drive0,serial=abc123']],
    ['-drive file=a.img,if=virtio,addr=0x6', ['-drive file=a.img,if=none,id=drive0', '-device virtio-blk-pci,drive=drive0,addr=0x6']],
    ['-drive file=a.img,if=scsi -drive file=b.iso,if=scsi,media=cdrom,index=3',
      ['-device lsi53c895a,id=scsi0', '-drive file=a.img,if=none,id=drive0', '-device scsi-hd,bus=scsi0.0,drive=drive0',
        '-drive file=b.iso,media=cdrom,if=none,id=drive1', '-device scsi-cd,bus=scsi0.0,scsi-id=3,drive=drive1']],
    ['-vnc :1,password', ['-display vnc=:1,password=on']],
    ['-vnc 0.0.0.0:2,tls,x509=/etc/pki', ['-display vnc=0.0.0.0:2']],
    ['-vnc unix:/run/vm.vnc', ['-display vnc=unix:/run/vm.vnc']],
    ['-localtime', ['-rtc base=localtime']],
    ['-startdate 2010-01-01', ['-rtc base=2010-01-01']],
    ['-rtc-td-hack', ['-rtc driftfix=slew']],
    ['-no-kvm-irqchip -no-kvm-pit -no-kvm-pit-reinjection -tdf', ['-machine kernel_irqchip=off', '-global kvm-pit.lost_tick_policy=discard']],
    ['-nodefconfig', ['-no-user-config']],
    ['-kvm-shadow-memory 128', ['-machine kvm-shadow-mem=134217728']],
    ['-realtime mlock=off', ['-overcommit mem-lock=off']],
    ['-M pc-0.14', ['-M pc']],
    ['-M pc-1.5', ['-M pc-i440fx-1.5']],
    ['-machine pc-q35-2.0', ['-machine q35']],
    ['-monitor stdio -serial stdio -daemonize', ['-daemonize']],
    ['-nographic -daemonize', ['-display none', '-daemonize']],
    ['-nographic -daemonize -nodefaults', ['-nographic', '-daemonize', '-nodefaults']],
    ['-nographic -serial stdio -monitor stdio', ['-nographic']],
    ['-serial stdio -monitor stdio', ['-serial mon:stdio']],
    ['-curses -daemonize', ['-display none', '-daemonize']],
    ['-nodefaults -nographic -serial stdio', ['-nodefaults', '-nographic', '-serial stdio']],
    ['-chardev socket,id=c0,path=/tmp/c.sock,server,nowait', ['-chardev socket,id=c0,path=/tmp/c.sock,server=on,wait=off']],
    ['-chardev tty,id=c0,path=/dev/ttyS0', ['-chardev serial,id=c0,path=/dev/ttyS0']],
    ['-pcidevice host=01:00.0 -device pci-assign,host=02:00.0', ['-device vfio-pci,host=01:00.0', '-device vfio-pci,host=02:00.0']],
    ['-watchdog ib700 -watchdog-action pause', ['-device ib700', '-watchdog-action pause']],
    ['-virtioconsole pty', ['-device virtio-serial-pci', '-chardev pty,id=vcon0', '-device virtconsole,chardev=vcon0']],
    ['-std-vga', ['-vga std']],
    ['--enable-kvm --m 512', ['-accel kvm', '-m 512']],
    ['-kernel bzImage -append "console=ttyS0 root=/dev/vda"', ['-kernel bzImage', '-append console=ttyS0 root=/dev/vda']],
    ['-initrd i.img', []],
    ['-uuid nope', []],
    ['-m', []],
  ])('%s', (line, expected) => {
    expect(modern(sys(line))).toEqual(expected);
  });

  it('adds -accel kvm -accel tcg for qemu-kvm lines that pick no accelerator', () => {
    expect(modern('qemu-kvm -m 512')).toEqual(['-accel kvm', '-accel tcg', '-m 512']);
    expect(modern('kvm -no-kvm -m 512')).toEqual(['-accel tcg', '-m 512']);
    expect(modern('qemu-system-x86_64 -m 512')).toEqual(['-m 512']);
  });

  it('drops the grab options with a warning when the line uses no SDL window', () => {
    const e = explainCommandLine(sys('-vnc :1 -alt-grab -no-quit'));
    expect(e.modern.args).toEqual(['-display', 'vnc=:1']);
    expect(e.warnings.filter((w) => /^-alt-grab|^-no-quit/.test(w))).toHaveLength(2);
  });

  it('warns where the guest or the host would notice', () => {
    const w = (line: string) => explainCommandLine(sys(line)).warnings.join('\n');
    expect(w('-vnc :1,password')).toMatch(/password.*monitor.*set_password/);
    expect(w('-vnc 127.0.0.1:1')).not.toMatch(/all host addresses/);
    expect(w('-smp 4,sockets=2,cores=1,threads=1')).toMatch(/QEMU 7\.2 refuses that.*-smp 4,sockets=2,cores=2,threads=1/);
    expect(w('-net nic -net tap -redir tcp:2222::22')).toMatch(/-redir tcp:2222::22: dropped/);
    expect(w('-net nic,model=virtio')).toMatch(/no backend/);
    expect(w('-m 1024 -numa node,mem=256 -numa node,mem=256')).toMatch(/512 MiB but -m gives 1024 MiB/);
    expect(w('-soundhw ac97')).toMatch(/audiodev/);
    expect(w('-M pc-0.14')).toMatch(/replaced by pc/);
  });
});

describe('formatExplanation', () => {
  const text = formatExplanation(explainCommandLine(TUTORIAL));

  it('lists each option with its status tag, its sentence and its modern form', () => {
    expect(text).toMatch(/^qemu-kvm, option by option:/);
    expect(text).toMatch(/ {2}-balloon virtio {2}\[removed\]\n {6}Added a virtio memory balloon/);
    expect(text).toMatch(/ {2}-usbdevice tablet {2}\[deprecated\]/);
    expect(text).toMatch(/now: -device virtio-balloon-pci\n/);
    expect(text).toMatch(/ {2}-m 512 {2}\[ok\]\n {6}Gives the guest 512 MiB/);
    expect(text).toMatch(/Warnings:\n {2}- /);
  });

  it('ends with the modern command, one option per line, continued with backslashes', () => {
    const cmd = text.slice(text.indexOf('qemu-system-x86_64 \\'));
    expect(cmd.trimEnd().split('\n')).toEqual([
      'qemu-system-x86_64 \\',
      '    -accel kvm \\', '    -accel tcg \\', '    -name xp \\', '    -m 512 \\', '    -smp 4 \\', '    -cpu host \\',
      '    -drive file=xp.iso,media=cdrom \\',
      '    -drive file=winxp.qcow2,media=disk,cache=writeback,format=qcow2 \\',
      '    -boot order=dc,once=d \\',
      '    -device virtio-net-pci,netdev=net0 \\',
      '    -netdev tap,id=net0,ifname=tap0,script=/etc/qemu-ifup \\',
      '    -device virtio-balloon-pci \\',
      '    -usb \\', '    -device usb-tablet \\',
      '    -display vnc=:1 \\',
      '    -daemonize',
    ]);
  });

  it('shell-quotes values', () => {
    const t = formatExplanation(explainCommandLine(sys(`-kernel bzImage -append "console=ttyS0 root=/dev/vda" -name "it's"`)));
    expect(t).toContain(`-append 'console=ttyS0 root=/dev/vda' \\`);
    expect(t).toContain(`-name 'it'\\''s'`);
  });

  it('says when an option is dropped', () => {
    expect(formatExplanation(explainCommandLine(sys('-tdf')))).toContain('now: (dropped)');
  });
});
