// libvirt domain XML both ways: what export writes for each field, what it
// refuses (naming the field), what import reads back, and what it lists as unmapped.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseVmSpec, type VmSpecInput } from '../../src/config/schema.js';
import { QkvmError } from '../../src/errors.js';
import { fromLibvirt, toLibvirt, type LibvirtExportContext, type LibvirtImportContext } from '../../src/interop/libvirt.js';
import { child, children, attr, parseXml, text } from '../../src/interop/xml.js';

const FIX = join(__dirname, '../fixtures/interop');

const ctx = (over: Partial<LibvirtExportContext> = {}): LibvirtExportContext => ({
  diskPath: (f) => (f.startsWith('/') ? f : `/pool/${f}`),
  network: (n) => (n === 'lan' ? { mode: 'nat', bridge: 'qkbr-lan', hostfwd: [] } : n === 'slirp' ? { mode: 'user', hostfwd: ['tcp:127.0.0.1:2222-:22'] } : undefined),
  macs: ['52:54:00:00:00:01', '52:54:00:00:00:02', '52:54:00:00:00:03'],
  ...over,
});

const ictx: LibvirtImportContext = {
  networkForBridge: (b) => (b === 'qkbr-lan' ? 'lan' : undefined),
  networkExists: (n) => n === 'lan',
  insidePool: (p) => p.startsWith('/pool/'),
};

const rich: VmSpecInput = {
  name: 'rich', accel: 'tcg', memory: '1G', machine: 'q35', cpu: 'qemu64,+ssse3,-avx',
  smp: { cpus: 2, maxcpus: 4, sockets: 2, cores: 2, threads: 1 },
  numa: [{ cpus: '0-1', memory: '512M' }, { cpus: '2-3', memory: '512M' }],
  maxMemory: '2G', memorySlots: 2, hugepages: true, memMerge: false, vcpupin: { 0: '0', 1: '1' },
  kernel: '/boot/vmlinuz', initrd: '/boot/initrd', append: 'console=ttyS0 root=/dev/vda',
  boot: { order: 'cdn', menu: true },
  disks: [
    { file: 'root.qcow2', format: 'qcow2', bus: 'virtio', cache: 'none' },
    { file: '/srv/data.img', format: 'raw', bus: 'scsi', external: true, readonly: false },
    { file: '/srv/install.iso', media: 'cdrom', bus: 'sata', external: true },
    { file: '/dev/sdb', bus: 'virtio', hostDevice: true, readonly: true },
    { file: 'scratch.qcow2', bus: 'virtio', snapshot: true },
  ],
  nics: [
    { type: 'network', network: 'lan', model: 'virtio', vhost: 'on' },
    { type: 'user', model: 'e1000', net: '10.0.9.0/24', vhost: 'off' },
  ],
  display: { type: 'vnc', listen: '127.0.0.1', display: 3 },
  vga: 'qxl', tablet: true, balloon: false, serial: true, description: 'a guest with <everything> & more',
};

function dom(xml: string): any {
  return child(parseXml(xml, 'test'), 'domain');
}

describe('toLibvirt', () => {
  const { xml, notes } = toLibvirt(parseVmSpec(rich), ctx({ serialLog: '/var/log/rich.log' }));
  const d = dom(xml);
  const devs = child(d, 'devices');

  it('writes the domain type, name, memory in KiB, vCPUs and topology', () => {
    expect(attr(d, 'type')).toBe('qemu');
    expect(text(child(d, 'name'))).toBe('rich');
    expect(text(child(d, 'memory'))).toBe(String(1024 * 1024));
    expect(attr(child(d, 'memory'), 'unit')).toBe('KiB');
    expect(text(child(d, 'maxMemory'))).toBe(String(2 * 1024 * 1024));
    expect(attr(child(d, 'maxMemory'), 'slots')).toBe('2');
    expect(text(child(d, 'vcpu'))).toBe('4');
    expect(attr(child(d, 'vcpu'), 'current')).toBe('2');
    const topo = child(child(d, 'cpu'), 'topology');
    expect([attr(topo, 'sockets'), attr(topo, 'cores'), attr(topo, 'threads')]).toEqual(['2', '2', '1']);
    expect(text(child(d, 'description'))).toBe('a guest with <everything> & more');
  });

  it('writes cpu model and features, numa cells, hugepages, nosharepages, vcpupin', () => {
    const cpu = child(d, 'cpu');
    expect(text(child(cpu, 'model'))).toBe('qemu64');
    expect(children(cpu, 'feature').map((f) => `${attr(f, 'policy')}:${attr(f, 'name')}`)).toEqual(['require:ssse3', 'disable:avx']);
    expect(children(child(cpu, 'numa'), 'cell').map((c) => [attr(c, 'cpus'), attr(c, 'memory')])).toEqual([['0-1', '524288'], ['2-3', '524288']]);
    expect(child(child(d, 'memoryBacking'), 'hugepages')).toBeDefined();
    expect(child(child(d, 'memoryBacking'), 'nosharepages')).toBeDefined();
    expect(children(child(d, 'cputune'), 'vcpupin').map((p) => attr(p, 'cpuset'))).toEqual(['0', '1']);
  });

  it('writes machine, kernel boot, boot order and menu, and ACPI', () => {
    const os = child(d, 'os');
    expect(attr(child(os, 'type'), 'machine')).toBe('q35');
    expect(text(child(os, 'kernel'))).toBe('/boot/vmlinuz');
    expect(text(child(os, 'initrd'))).toBe('/boot/initrd');
    expect(text(child(os, 'cmdline'))).toBe('console=ttyS0 root=/dev/vda');
    expect(children(os, 'boot').map((b) => attr(b, 'dev'))).toEqual(['hd', 'cdrom', 'network']);
    expect(attr(child(os, 'bootmenu'), 'enable')).toBe('yes');
    expect(child(child(d, 'features'), 'acpi')).toBeDefined();
  });

  it('writes each disk with its bus, format, cache, read-only, cdrom, block device and transient', () => {
    const disks = children(devs, 'disk');
    expect(disks.map((x) => [attr(x, 'type'), attr(x, 'device'), attr(child(x, 'source'), 'file') ?? attr(child(x, 'source'), 'dev'), attr(child(x, 'target'), 'dev'), attr(child(x, 'target'), 'bus'), attr(child(x, 'driver'), 'type')])).toEqual([
      ['file', 'disk', '/pool/root.qcow2', 'vda', 'virtio', 'qcow2'],
      ['file', 'disk', '/srv/data.img', 'sda', 'scsi', 'raw'],
      ['file', 'cdrom', '/srv/install.iso', 'sdb', 'sata', 'raw'],
      ['block', 'disk', '/dev/sdb', 'vdb', 'virtio', 'raw'],
      ['file', 'disk', '/pool/scratch.qcow2', 'vdc', 'virtio', 'qcow2'],
    ]);
    expect(attr(child(disks[0], 'driver'), 'cache')).toBe('none');
    expect(disks.map((x) => child(x, 'readonly') !== undefined)).toEqual([false, false, true, true, false]);
    expect(disks.map((x) => child(x, 'transient') !== undefined)).toEqual([false, false, false, false, true]);
    expect(children(devs, 'controller').map((c) => attr(c, 'model'))).toEqual(['virtio-scsi']);
  });

  it('writes a network NIC as the bridge of its network, a user NIC as type user, with model, MAC and vhost', () => {
    const ifs = children(devs, 'interface');
    expect(ifs.map((i) => attr(i, 'type'))).toEqual(['bridge', 'user']);
    expect(attr(child(ifs[0], 'source'), 'bridge')).toBe('qkbr-lan');
    expect(ifs.map((i) => attr(child(i, 'mac'), 'address'))).toEqual(['52:54:00:00:00:01', '52:54:00:00:00:02']);
    expect(ifs.map((i) => attr(child(i, 'model'), 'type'))).toEqual(['virtio', 'e1000']);
    expect(ifs.map((i) => attr(child(i, 'driver'), 'name'))).toEqual(['vhost', 'qemu']);
    expect([attr(child(ifs[1], 'ip'), 'address'), attr(child(ifs[1], 'ip'), 'prefix')]).toEqual(['10.0.9.0', '24']);
    expect(notes.join('\n')).toMatch(/bridge qkbr-lan of network "lan"/);
  });

  it('writes the serial console as a pty with its log, VNC on its port and address, video, tablet, balloon', () => {
    const serial = child(devs, 'serial');
    expect(attr(serial, 'type')).toBe('pty');
    expect(attr(child(serial, 'log'), 'file')).toBe('/var/log/rich.log');
    expect(attr(child(devs, 'console'), 'type')).toBe('pty');
    const g = child(devs, 'graphics');
    expect([attr(g, 'type'), attr(g, 'port'), attr(g, 'autoport'), attr(g, 'listen')]).toEqual(['vnc', '5903', 'no', '127.0.0.1']);
    expect(attr(child(child(devs, 'video'), 'model'), 'type')).toBe('qxl');
    expect(attr(child(devs, 'input'), 'type')).toBe('tablet');
    expect(attr(child(devs, 'memballoon'), 'model')).toBe('none');
  });

  it('takes the domain type from accel, and from --virt-type for accel auto', () => {
    const base = { name: 'a', kernel: '/k' };
    expect(attr(dom(toLibvirt(parseVmSpec({ ...base, accel: 'kvm' }), ctx()).xml), 'type')).toBe('kvm');
    expect(attr(dom(toLibvirt(parseVmSpec({ ...base, accel: 'auto' }), ctx()).xml), 'type')).toBe('kvm');
    expect(attr(dom(toLibvirt(parseVmSpec({ ...base, accel: 'auto' }), ctx({ domainType: 'qemu' })).xml), 'type')).toBe('qemu');
  });

  it('writes an IDE disk of a q35 guest on SATA, as qkvm runs it (AHCI)', () => {
    const r = toLibvirt(parseVmSpec({ name: 'a', machine: 'q35', disks: [{ file: 'x.qcow2', bus: 'ide' }] }), ctx());
    expect(attr(child(child(child(dom(r.xml), 'devices'), 'disk'), 'target'), 'bus')).toBe('sata');
    expect(r.notes.join()).toMatch(/AHCI/);
  });
});

describe('toLibvirt refuses what libvirt cannot express, naming each field', () => {
  const refused = (input: VmSpecInput, c = ctx()): string => {
    try { toLibvirt(parseVmSpec(input), c); } catch (e) {
      expect(e).toBeInstanceOf(QkvmError);
      expect((e as QkvmError).code).toBe('INVALID');
      return (e as Error).message;
    }
    throw new Error('expected a refusal');
  };
  it.each<[string, VmSpecInput, RegExp]>([
    ['microvm', { name: 'a', machine: 'microvm', kernel: '/k' }, /machine: libvirt does not run the microvm/],
    ['extraArgs', { name: 'a', extraArgs: ['-no-hpet'] }, /extraArgs: raw QEMU arguments/],
    ['boot once', { name: 'a', boot: { once: 'd' } }, /boot\.once/],
    ['VNC password', { name: 'a', display: { type: 'vnc', password: true } }, /display\.password/],
    ['maxMemory without numa', { name: 'a', memory: '1G', maxMemory: '2G', memorySlots: 2 }, /maxMemory: libvirt allows memory hot-plug only/],
    ['user hostfwd', { name: 'a', nics: [{ type: 'user', hostfwd: ['tcp:127.0.0.1:2222-:22'] }] }, /nics\[0\]\.hostfwd/],
    ['hostfwd of a user-mode network', { name: 'a', nics: [{ type: 'network', network: 'slirp' }] }, /nics\[0\]\.hostfwd/],
    ['user dns', { name: 'a', nics: [{ type: 'user', dns: '10.0.2.3' }] }, /nics\[0\]\.dns/],
    ['unknown network', { name: 'a', nics: [{ type: 'network', network: 'ghost' }] }, /nics\[0\]\.network: network "ghost" is not defined here/],
    ['cpu property', { name: 'a', cpu: 'qemu64,level=13' }, /cpu: CPU property "level=13"/],
  ])('%s', (_n, input, re) => expect(refused(input)).toMatch(re));

  it('lists every refused field in one error', () => {
    const msg = refused({ name: 'a', extraArgs: ['-S'], boot: { once: 'd' } });
    expect(msg).toMatch(/extraArgs/);
    expect(msg).toMatch(/boot\.once/);
  });
});

describe('fromLibvirt', () => {
  it('round-trips every field qkvm has (export, then import)', () => {
    const spec = parseVmSpec(rich);
    const { xml } = toLibvirt(spec, ctx());
    const r = fromLibvirt(xml, ictx);
    expect(r.unmapped).toEqual([]);
    const back = parseVmSpec(r.spec);
    const want = parseVmSpec({ ...rich, disks: rich.disks!.map((d, i) => ({ ...d, file: ctx().diskPath(d.file), target: ['vda', 'sda', 'sdb', 'vdb', 'vdc'][i], format: d.format ?? (d.file.endsWith('.qcow2') ? 'qcow2' : 'raw'), ...(d.file.startsWith('/srv') ? { external: true } : {}) })), nics: rich.nics!.map((n, i) => ({ ...n, mac: ctx().macs[i] })) });
    expect(back).toEqual(want);
  });

  it('reads live `virsh dumpxml` output (libvirt 9.0): machine version, the expanded CPU, aliases and addresses', () => {
    const r = fromLibvirt(readFileSync(join(FIX, 'virsh-dumpxml-live.xml'), 'utf8'), ictx);
    expect(r.spec).toMatchObject({ name: 'demo1', accel: 'tcg', memory: '128M', smp: 1, machine: 'pc', kernel: '/var/tmp/qkvm-test-cache/demo/vmlinuz', append: 'console=ttyS0 panic=-1', serial: true, balloon: true, vga: 'none', tablet: false });
    expect(r.spec.cpu).toBe('qemu64,+hypervisor,+lahf_lm');
    expect(r.spec.boot).toBeUndefined();
    expect(r.spec.nics).toEqual([{ type: 'user', model: 'virtio', mac: '52:54:00:9f:51:9a' }]);
    expect(r.unmapped).toEqual([]);
    expect(r.notes.join('\n')).toMatch(/pc-i440fx-7\.2: imported as pc/);
    expect(() => parseVmSpec(r.spec)).not.toThrow();
  });

  it('keeps disks where they are: outside the pools external, read-only only when the XML says so', () => {
    const xml = `<domain type='kvm'><name>g</name><memory>1048576</memory><vcpu>1</vcpu><os><type>hvm</type></os><devices>
      <disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='/var/lib/libvirt/images/g.qcow2'/><target dev='vda' bus='virtio'/></disk>
      <disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/pool/data.raw'/><target dev='vdb' bus='virtio'/><readonly/></disk>
    </devices></domain>`;
    const r = fromLibvirt(xml, ictx);
    expect(r.spec.disks).toEqual([
      { file: '/var/lib/libvirt/images/g.qcow2', bus: 'virtio', media: 'disk', format: 'qcow2', target: 'vda', external: true, readonly: false },
      { file: '/pool/data.raw', bus: 'virtio', media: 'disk', format: 'raw', target: 'vdb', readonly: true },
    ]);
    expect(r.spec.accel).toBe('kvm');
    expect(r.spec.memory).toBe('1G');
  });

  it('lists what it does not map, and never turns <qemu:commandline> into extraArgs', () => {
    const xml = `<domain type='kvm' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'><name>g</name><title>t</title><memory unit='MiB'>512</memory><vcpu>1</vcpu>
      <os><type arch='x86_64' machine='pc'>hvm</type><loader readonly='yes' type='pflash'>/usr/share/OVMF/OVMF_CODE.fd</loader></os>
      <features><acpi/><hyperv/></features>
      <devices>
        <disk type='network' device='disk'><source protocol='rbd' name='pool/img'/><target dev='vda' bus='virtio'/></disk>
        <disk type='file' device='floppy'><source file='/f.img'/><target dev='fda' bus='fdc'/></disk>
        <disk type='file' device='disk'><driver name='qemu' type='vmdk'/><source file='/x.vmdk'/><target dev='vdb' bus='virtio'/></disk>
        <interface type='direct'><source dev='eth0' mode='bridge'/></interface>
        <interface type='bridge'><source bridge='br9'/><model type='virtio'/></interface>
        <interface type='network'><source network='default'/><model type='virtio'/></interface>
        <graphics type='spice' autoport='yes'/>
        <rng model='virtio'><backend model='random'>/dev/urandom</backend></rng>
        <hostdev mode='subsystem' type='pci'/>
        <channel type='unix'><target type='virtio' name='org.qemu.guest_agent.0'/></channel>
      </devices>
      <qemu:commandline><qemu:arg value='-no-hpet'/></qemu:commandline>
    </domain>`;
    const r = fromLibvirt(xml, ictx);
    const u = r.unmapped.join('\n');
    for (const re of [/<title>/, /<qemu:commandline>/, /<os><loader>/, /<features><hyperv>/, /type='network'/, /device='floppy'/, /format vmdk/, /type='direct'/, /bridge br9 is not the bridge of any qkvm network/, /libvirt network "default"/, /<graphics type='spice'>/, /<rng>/, /<hostdev type='pci'>/, /<channel type='unix'>/]) expect(u).toMatch(re);
    expect(r.spec.extraArgs).toBeUndefined();
    expect(r.spec.disks).toBeUndefined();
    expect(r.spec.nics).toEqual([]);
    expect(r.spec.memory).toBe('512M');
  });

  it('maps a bridge back to the qkvm network that owns it', () => {
    const xml = `<domain type='qemu'><name>g</name><memory>524288</memory><vcpu>1</vcpu><os><type>hvm</type></os><devices>
      <interface type='bridge'><mac address='52:54:00:AB:CD:EF'/><source bridge='qkbr-lan'/><model type='e1000e'/></interface></devices></domain>`;
    const r = fromLibvirt(xml, ictx);
    expect(r.spec.nics).toEqual([{ type: 'network', network: 'lan', model: 'e1000', mac: '52:54:00:ab:cd:ef' }]);
    expect(r.notes.join()).toMatch(/e1000e imported as e1000/);
  });

  it('refuses what is not domain XML, and XML with a DTD (no entity expansion)', () => {
    expect(() => fromLibvirt('<Envelope/>', ictx)).toThrow(/no <domain> element/);
    expect(() => fromLibvirt('<!DOCTYPE d [<!ENTITY x SYSTEM "file:///etc/shadow">]><domain><name>&x;</name></domain>', ictx)).toThrow(/DOCTYPE or ENTITY/);
    expect(() => fromLibvirt('<domain><name>a</domain>', ictx)).toThrow(/not well-formed/);
  });
});

describe('fields added to the definition after these exporters', () => {
  const base = () => parseVmSpec({ name: 'a', kernel: '/k', nics: [{ type: 'user' }] });
  it('are refused by every exporter when set, never dropped; unset (default) ones pass', async () => {
    const { checkOvfExport } = await import('../../src/interop/ovf.js');
    const { toNomad } = await import('../../src/interop/nomad.js');
    const later = { ...base(), cloudInit: { user: 'debian' } } as any;
    expect(() => toLibvirt(later, ctx())).toThrow(/cloudInit: the libvirt export does not map this field yet/);
    expect(() => checkOvfExport(later).check('x', 'y')).toThrow(/cloudInit: the OVF export does not map this field yet/);
    expect(() => toNomad(later, (f) => f)).toThrow(/cloudInit: the Nomad export does not map this field yet/);
    expect(() => toLibvirt({ ...base(), cloudInit: undefined, lab: false } as any, ctx())).not.toThrow();
  });
  it('a NIC type they do not know (a lab link) is refused, naming the NIC', () => {
    const s = { ...base(), nics: [{ type: 'link', model: 'virtio', hostfwd: [], vhost: 'auto' }] } as any;
    expect(() => toLibvirt(s, ctx())).toThrow(/nics\[0\]\.type: a link NIC has no libvirt form/);
  });
  it('agent: true becomes the guest agent\'s virtio channel', () => {
    const { xml } = toLibvirt({ ...base(), agent: true } as any, ctx());
    const ch = child(child(dom(xml), 'devices'), 'channel');
    expect([attr(ch, 'type'), attr(child(ch, 'target'), 'name')]).toEqual(['unix', 'org.qemu.guest_agent.0']);
  });
});
