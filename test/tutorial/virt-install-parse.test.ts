// The pure reading of virt-install's argv (src/tutorial/virt-install.ts), the
// installer-kernel lookup table, and argv's en-dash normalization.
import { describe, expect, it } from 'vitest';
import { osDefaults, parseVirtInstall, splitOpts, tokenize } from '../../src/tutorial/virt-install.js';
import { pickKernel } from '../../src/tutorial/virt-install-run.js';
import { normalizeDashes } from '../../src/cli/args.js';

const parse = (line: string) => parseVirtInstall(line.split(/\s+/).filter(Boolean), { cwd: '/work' });
const fails = (line: string, text: string | RegExp) => {
  let err: any;
  try { parse(line); } catch (e) { err = e; }
  expect(err?.code, `should refuse: ${line}`).toBe('INVALID');
  expect(err.message).toMatch(text);
};

describe('virt-install argv', () => {
  it('reads --flag=value, --flag value and short options alike', () => {
    const a = parse('--name=web --ram 2048 --vcpus=2 --import --disk path=web.qcow2');
    const b = parse('-n web -r 2048 --vcpus 2 --import --disk=path=web.qcow2');
    expect(a.spec).toEqual(b.spec);
    expect(a.spec).toMatchObject({ name: 'web', memory: '2048M', smp: 2 });
    expect(a.spec.disks[0]).toMatchObject({ file: '/work/web.qcow2', readonly: false, bus: 'virtio' });
  });

  it('reads size= as GiB (the 512-byte image of issue 10) and resolves paths against the cwd', () => {
    const p = parse('--name a --ram 512 --import --disk path=../imgs/a.qcow2,size=20');
    expect(p.disks[0]).toMatchObject({ path: '/imgs/a.qcow2', size: '20G', sparse: true });
    expect(parse('--name a --import --disk path=a.img,size=0.5').disks[0].size).toBe('512M');
    fails('--name a --import --disk path=a.img,size=20G', /invalid size "20G".*GiB/);
    fails('--name a --import --disk path=a.img,size=0', /more than 0/);
  });

  it('reads --memory forms and notes maxmemory', () => {
    expect(parse('--name a --memory 1024 --pxe').spec.memory).toBe('1024M');
    const p = parse('--name a --memory memory=1024,maxmemory=2048 --pxe');
    expect(p.spec.memory).toBe('1024M');
    expect(p.notes.join('\n')).toMatch(/maxmemory=: ignored/);
    fails('--name a --ram 2G --pxe', /invalid memory "2G".*MiB/);
  });

  it('reads --vcpus with a topology', () => {
    expect(parse('--name a --vcpus 4,maxvcpus=8 --pxe').spec.smp).toEqual({ cpus: 4, maxcpus: 8 });
    expect(parse('--name a --vcpus sockets=2,cores=2,threads=1 --pxe').spec.smp).toEqual({ cpus: 4, maxcpus: 4, sockets: 2, cores: 2, threads: 1 });
    fails('--name a --vcpus two --pxe', /"two" is not a positive whole number/);
  });

  it('maps host CPUs to max, with a note', () => {
    const p = parse('--name a --cpu host-passthrough --pxe');
    expect(p.spec.cpu).toBe('max');
    expect(p.notes.join()).toMatch(/host-passthrough/);
    expect(parse('--name a --cpu Skylake-Client --pxe').spec.cpu).toBe('Skylake-Client');
  });

  it('knows the install sources and their boot orders', () => {
    const cd = parse('--name a --cdrom x.iso --disk path=a.qcow2,size=1');
    expect(cd.install).toMatchObject({ kind: 'cdrom', bootOnce: 'd' });
    expect(cd.spec.boot).toEqual({ order: 'cd' });
    expect(cd.spec.disks[1]).toMatchObject({ file: '/work/x.iso', media: 'cdrom', bus: 'ide' });
    const loc = parseVirtInstall(['--name', 'a', '--location', 'd.iso', '--extra-args', 'console=ttyS0 quiet', '--graphics', 'none'], { cwd: '/w' });
    expect(loc.install).toEqual({ kind: 'location', location: '/w/d.iso', extraArgs: 'console=ttyS0 quiet' });
    expect(parse('--name a --pxe --nodisks').spec.boot).toEqual({ order: 'cn' });
    expect(parse('--name a --import --disk a.qcow2').spec.boot).toEqual({ order: 'c' });
    expect(parse('--name a --boot cdrom,hd,network --disk a.qcow2').spec.boot).toEqual({ order: 'dcn' });
    const k = parseVirtInstall(['--name', 'a', '--boot', 'kernel=/b/vmlinuz,initrd=/b/initrd,kernel_args="console=ttyS0 root=/dev/vda"'], { cwd: '/' });
    expect(k.spec).toMatchObject({ kernel: '/b/vmlinuz', initrd: '/b/initrd', append: 'console=ttyS0 root=/dev/vda' });
    fails('--name a --cdrom x.iso --extra-args console=ttyS0', /--extra-args works only with --location/);
    fails('--name a --cdrom x.iso --pxe', /one install method/);
    fails('--name a --ram 512', /an install method is needed/);
    fails('--name a --location http://deb.debian.org/debian/ --ram 512', /not a URL/);
    fails('--name a --boot uefi --disk a.qcow2', /SeaBIOS/);
  });

  it('reads every --disk option and refuses what qkvm cannot do', () => {
    const d = parse('--name a --import --disk path=a.raw,bus=sata,cache=none,format=raw,sparse=no,perms=ro,target=sdb');
    expect(d.spec.disks[0]).toMatchObject({ file: '/work/a.raw', bus: 'sata', cache: 'none', readonly: true, target: 'sdb' });
    expect(d.disks[0]).toMatchObject({ format: 'raw', sparse: false });
    expect(parse('--name a --import --disk x.qcow2 --disk pool=fast,size=2').disks[1]).toMatchObject({ pool: 'fast', size: '2G' });
    expect(parse('--name a --import --disk vol=fast/x.qcow2').disks[0]).toMatchObject({ vol: 'fast/x.qcow2' });
    expect(parse('--name a --pxe --disk size=8').disks[0]).toMatchObject({ pool: 'default', size: '8G' });
    expect(parse('--name a --import --disk a.qcow2,perms=sh').notes.join()).toMatch(/perms=sh/);
    fails('--name a --import --disk a.qcow2,bus=usb', /bus=usb/);
    fails('--name a --import --disk a.vfd,device=floppy', /floppy/);
    fails('--name a --import --disk a.vmdk,format=vmdk', /format=vmdk/);
    fails('--name a --import --disk a.qcow2,cache=fast', /unknown cache mode "fast"/);
    fails('--name a --import --disk a.qcow2,sise=20', /unknown option "sise="/);
    fails('--name a --import --disk pool=default', /needs size=/);
    fails('--name a --import --nodisks', /--import needs a --disk/);
  });

  it('chooses devices by --os-variant and never fails on an unknown one', () => {
    expect(osDefaults('ubuntu22.04')).toMatchObject({ diskBus: 'virtio', nicModel: 'virtio', known: true });
    expect(osDefaults('win10')).toMatchObject({ diskBus: 'sata', nicModel: 'e1000' });
    expect(osDefaults('winxp')).toMatchObject({ diskBus: 'ide', nicModel: 'rtl8139', vga: 'cirrus' });
    expect(osDefaults('win2k8r2')).toMatchObject({ diskBus: 'sata', nicModel: 'e1000' });
    expect(osDefaults('win2k19')).toMatchObject({ diskBus: 'sata' });
    expect(osDefaults('win2k3')).toMatchObject({ diskBus: 'ide', nicModel: 'rtl8139' });
    expect(osDefaults('rhel4.8')).toMatchObject({ diskBus: 'ide' });
    expect(osDefaults('zork3')).toMatchObject({ diskBus: 'virtio', known: false });
    const p = parse('--name a --os-variant zork3 --import --disk a.qcow2');
    expect(p.notes.join()).toMatch(/zork3: not one qkvm knows/);
    const w = parse('--name a --os-variant=win10 --import --disk a.qcow2');
    expect(w.spec.disks[0].bus).toBe('sata');
    expect(w.spec.nics[0].model).toBe('e1000');
    // An explicit bus or model wins over the variant's.
    expect(parse('--name a --os-variant win10 --import --disk a.qcow2,bus=virtio --network user,model=virtio').spec).toMatchObject({ disks: [{ bus: 'virtio' }], nics: [{ model: 'virtio' }] });
  });

  it('reads the network forms', () => {
    expect(parse('--name a --pxe --network network=default,model=e1000,mac=52:54:00:00:00:01').spec.nics).toEqual([{ type: 'network', network: 'default', model: 'e1000', mac: '52:54:00:00:00:01' }]);
    const b = parse('--name a --pxe --network bridge=br0');
    expect(b.bridges).toEqual([{ index: 0, bridge: 'br0' }]);
    expect(parse('--name a --pxe -w bridge:br1').bridges).toEqual([{ index: 0, bridge: 'br1' }]);
    expect(parse('--name a --pxe --bridge=br2').bridges).toEqual([{ index: 0, bridge: 'br2' }]);
    expect(parse('--name a --pxe --network user').spec.nics).toEqual([{ type: 'user', model: 'virtio' }]);
    expect(parse('--name a --pxe --nonetworks').spec.nics).toEqual([]);
    expect(parse('--name a --pxe').defaultNic).toBe(true);
    fails('--name a --pxe --network network=default,model=ne2k_pci', /ne2k_pci/);
    fails('--name a --pxe --network network=default,mac=zz', /invalid MAC "zz"/);
    fails('--name a --pxe --network --nonetworks', /needs a value|--nonetworks and --network/);
  });

  it('reads graphics; VNC on loopback; the password never in the definition', () => {
    expect(parse('--name a --pxe --graphics none').spec.display).toEqual({ type: 'none' });
    expect(parse('--name a --pxe --nographics').spec.display).toEqual({ type: 'none' });
    const v = parse('--name a --pxe --graphics vnc,port=5905,password=abc');
    expect(v.spec.display).toEqual({ type: 'vnc', listen: '127.0.0.1', display: 5, password: true });
    expect(v.vncPassword).toBe('abc');
    expect(JSON.stringify(v.spec)).not.toContain('abc');
    expect(parse('--name a --pxe --vnc --vncport=5907 --vnclisten=0.0.0.0').spec.display).toEqual({ type: 'vnc', listen: '0.0.0.0', display: 7 });
    expect(parse('--name a --pxe --graphics vnc').vncAutoPort).toBe(true);
    expect(parse('--name a --pxe --graphics spice').notes.join()).toMatch(/qkvm serves VNC/);
    fails('--name a --pxe --graphics vnc,port=80', /port=80/);
    fails('--name a --pxe --graphics vnc,password=waytoolongpassword', /1-8 characters/);
  });

  it('gives a note for each flag that means nothing here, and refuses unknown flags', () => {
    const p = parse('--name a --pxe --hvm --accelerate --force --noreboot --connect qemu:///system --serial pty --console pty --wait -1');
    const notes = p.notes.join('\n');
    for (const f of ['--hvm', '--accelerate', '--force', '--noreboot', '--connect', '--serial pty', '--console pty', '--wait']) expect(notes).toContain(f);
    fails('--name a --pxe --connect qemu+ssh://root@far/system', /only the local host/);
    fails('--name a --pxe --frobnicate', /unknown option "--frobnicate"/);
    fails('--name a --pxe -Z', /unknown option "-Z"/);
    fails('--name a --pxe stray', /unexpected argument "stray"/);
    fails('--name a --pxe --paravirt', /Xen/);
    fails('--ram 512 --pxe', /--name is required/);
  });

  it('sets the rest: autostart, video, print-xml, dry-run, autoconsole', () => {
    const p = parse('--name a --pxe --autostart --video qxl --print-xml --dry-run --noautoconsole --debug');
    expect(p.spec).toMatchObject({ autostart: true, vga: 'qxl' });
    expect(p).toMatchObject({ printXml: true, dryRun: true, autoconsole: false, debug: true });
    expect(parse('--name a --pxe').autoconsole).toBe(true);
  });

  it('splits option lists with quotes, and tokenizes optional values', () => {
    expect(splitOpts('kernel=/k,kernel_args="a=1,b c",initrd=/i')).toEqual([{ key: 'kernel', value: '/k' }, { key: 'kernel_args', value: 'a=1,b c' }, { key: 'initrd', value: '/i' }]);
    expect(tokenize(['--print-xml', '--name', 'x']).map((t) => t.flag)).toEqual(['print-xml', 'name']);
    expect(tokenize(['-nweb', '-r=512'])).toMatchObject([{ flag: 'name', value: 'web' }, { flag: 'ram', value: '512' }]);
  });
});

describe('installer kernels in ISOs and trees', () => {
  it('finds the kernel and initrd where each distribution keeps them', () => {
    expect(pickKernel(['casper/vmlinuz', 'casper/initrd', 'md5sum.txt'])).toEqual({ kernel: 'casper/vmlinuz', initrd: 'casper/initrd' });
    expect(pickKernel(['install.amd/vmlinuz', 'install.amd/initrd.gz'])).toEqual({ kernel: 'install.amd/vmlinuz', initrd: 'install.amd/initrd.gz' });
    expect(pickKernel(['images/pxeboot/vmlinuz', 'images/pxeboot/initrd.img', 'isolinux/vmlinuz', 'isolinux/initrd.img'])).toEqual({ kernel: 'images/pxeboot/vmlinuz', initrd: 'images/pxeboot/initrd.img' });
    expect(pickKernel(['isolinux/vmlinuz'])).toBeUndefined();
    expect(pickKernel(['sources/install.wim'])).toBeUndefined();
  });
});

describe('en dashes in argv', () => {
  it('reads an argument starting with an en or em dash as --', () => {
    expect(normalizeDashes(['virt-install', '\u2013name', 'x', '\u2014ram=512', '\u2013-vcpus', '2'])).toEqual(['virt-install', '--name', 'x', '--ram=512', '--vcpus', '2']);
    // Values keep their dashes; a lone dash is left alone.
    expect(normalizeDashes(['--append', 'a \u2013b', '\u2013', 'x\u2013y'])).toEqual(['--append', 'a \u2013b', '\u2013', 'x\u2013y']);
  });
});
