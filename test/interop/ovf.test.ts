// OVF descriptors both ways: the items export writes (CIM ResourceTypes), what it
// refuses, a VirtualBox-style fixture, and the File href rule.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { parseVmSpec, type VmSpecInput } from '../../src/config/schema.js';
import { QkvmError } from '../../src/errors.js';
import { checkHref, checkOvfExport, fromOvf, STREAM_OPTIMIZED, toOvf, unitBytes } from '../../src/interop/ovf.js';

const FIX = join(__dirname, '../fixtures/interop');
const octx = { networkExists: (n: string) => n === 'lan' };

const spec: VmSpecInput = {
  name: 'box', memory: '512M', smp: { sockets: 1, cores: 2, threads: 1, maxcpus: 2 }, description: 'box & co',
  disks: [
    { file: 'root.qcow2', format: 'qcow2', bus: 'virtio' },
    { file: 'data.qcow2', format: 'qcow2', bus: 'scsi' },
    { file: '/isos/x.iso', format: 'raw', bus: 'ide', media: 'cdrom', target: 'hdc', external: true },
  ],
  nics: [{ type: 'user', model: 'e1000', mac: '52:54:00:aa:bb:01' }, { type: 'network', network: 'lan', model: 'virtio' }],
};
const files = [
  { href: 'box-disk1.vmdk', size: 1000, capacity: 2 * 2 ** 30 },
  { href: 'box-disk2.vmdk', size: 2000, capacity: 2 ** 30 },
  { href: 'box-cdrom1.iso', size: 4096, capacity: 4096 },
];
const macs = ['52:54:00:aa:bb:01', '52:54:00:aa:bb:02'];

const parse = (xml: string) => new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', parseTagValue: false }).parse(xml);
const asArray = (v: any) => (Array.isArray(v) ? v : [v]);

describe('toOvf', () => {
  const { xml } = toOvf({ spec: parseVmSpec(spec), macs, files, options: { diskBus: 'sata' } });
  const env = parse(xml).Envelope;
  const items: any[] = asArray(env.VirtualSystem.VirtualHardwareSection.Item);
  const byType = (t: number) => items.filter((i) => Number(i['rasd:ResourceType']) === t);

  it('is an OVF 1.x Envelope with References, DiskSection, NetworkSection and one VirtualSystem', () => {
    expect(env['@_ovf:version']).toBe('1.0');
    expect(env['@_xmlns']).toBe('http://schemas.dmtf.org/ovf/envelope/1');
    expect(asArray(env.References.File).map((f: any) => [f['@_ovf:href'], f['@_ovf:size']])).toEqual([['box-disk1.vmdk', '1000'], ['box-disk2.vmdk', '2000'], ['box-cdrom1.iso', '4096']]);
    expect(asArray(env.DiskSection.Disk).map((d: any) => [d['@_ovf:diskId'], d['@_ovf:fileRef'], d['@_ovf:capacity'], d['@_ovf:format']])).toEqual([
      ['vmdisk1', 'file1', String(2 * 2 ** 30), STREAM_OPTIMIZED], ['vmdisk2', 'file2', String(2 ** 30), STREAM_OPTIMIZED],
    ]);
    expect(asArray(env.NetworkSection.Network).map((n: any) => n['@_ovf:name'])).toEqual(['user', 'lan']);
    expect(env.VirtualSystem['@_ovf:id']).toBe('box');
    expect(env.VirtualSystem.AnnotationSection.Annotation).toBe('box & co');
  });

  it('writes CPU (3) with cores per socket and memory (4) in MiB', () => {
    expect(byType(3)).toHaveLength(1);
    expect(byType(3)[0]['rasd:VirtualQuantity']).toBe('2');
    expect(byType(3)[0]['vmw:CoresPerSocket']['#text']).toBe('2');
    expect(byType(4)[0]['rasd:VirtualQuantity']).toBe('512');
    expect(byType(4)[0]['rasd:AllocationUnits']).toBe('byte * 2^20');
  });

  it('writes controllers (5 IDE, 6 SCSI, 20 SATA), disks (17) and the CD-ROM (15) on them', () => {
    const sata = byType(20)[0]; const scsi = byType(6)[0]; const ide = byType(5)[0];
    expect([sata['rasd:ResourceSubType'], scsi['rasd:ResourceSubType'], ide['rasd:ResourceSubType']]).toEqual(['AHCI', 'VirtioSCSI', 'PIIX4']);
    expect(ide['rasd:Address']).toBe('1'); // hdc: the secondary channel
    const disks = byType(17);
    expect(disks.map((d) => [d['rasd:HostResource'], d['rasd:Parent'], d['rasd:AddressOnParent']])).toEqual([
      ['ovf:/disk/vmdisk1', sata['rasd:InstanceID'], '0'], ['ovf:/disk/vmdisk2', scsi['rasd:InstanceID'], '0'],
    ]);
    const cd = byType(15)[0];
    expect([cd['rasd:HostResource'], cd['rasd:Parent'], cd['rasd:AddressOnParent']]).toEqual(['ovf:/file/file3', ide['rasd:InstanceID'], '0']);
  });

  it('writes NICs (10) with their network, model and MAC', () => {
    expect(byType(10).map((n) => [n['rasd:Connection'], n['rasd:ResourceSubType'], n['rasd:Address']])).toEqual([['user', 'E1000', macs[0]], ['lan', 'virtio', macs[1]]]);
  });

  it('writes rasd elements in the CIM schema\'s alphabetical order', () => {
    for (const block of xml.split('<Item>').slice(1)) {
      const names = [...block.split('</Item>')[0].matchAll(/<rasd:(\w+)>/g)].map((m) => m[1]);
      expect(names).toEqual([...names].sort());
    }
  });

  it('reads back as the same hardware (export, then import)', () => {
    const r = fromOvf(xml, octx);
    expect(r.spec).toMatchObject({ name: 'box', memory: '512M', smp: { sockets: 1, cores: 2, threads: 1, maxcpus: 2 }, description: 'box & co' });
    expect(r.spec.disks).toEqual([
      { file: '', bus: 'sata', media: 'disk', target: 'sda' },
      { file: '', bus: 'scsi', media: 'disk', target: 'sda' },
      { file: '', bus: 'ide', media: 'cdrom', target: 'hdc', readonly: true },
    ]);
    expect(r.files.map((f) => [f.href, f.format, f.media, f.capacity])).toEqual([['box-disk1.vmdk', 'vmdk', 'disk', 2 * 2 ** 30], ['box-disk2.vmdk', 'vmdk', 'disk', 2 ** 30], ['box-cdrom1.iso', 'raw', 'cdrom', undefined]]);
    expect(r.spec.nics).toEqual([{ type: 'user', model: 'e1000', mac: macs[0] }, { type: 'network', network: 'lan', model: 'virtio', mac: macs[1] }]);
    expect(r.unmapped).toEqual([]);
  });
});

describe('OVF export refuses what OVF cannot express, naming each field', () => {
  const refused = (input: VmSpecInput, o = {}): string => {
    try { checkOvfExport(parseVmSpec(input), o).check('x', 'y'); } catch (e) {
      expect((e as QkvmError).code).toBe('INVALID');
      return (e as Error).message;
    }
    throw new Error('expected a refusal');
  };
  it.each<[string, VmSpecInput, RegExp]>([
    ['kernel boot', { name: 'a', kernel: '/k' }, /kernel: OVF has no direct kernel boot/],
    ['virtio-blk without --disk-bus', { name: 'a', disks: [{ file: 'a.qcow2' }] }, /disks\[0\]\.bus: OVF has no virtio-blk controller.*--disk-bus/],
    ['snapshot disk', { name: 'a', disks: [{ file: 'a.qcow2', bus: 'sata', snapshot: true }] }, /disks\[0\]\.snapshot/],
    ['hostfwd', { name: 'a', nics: [{ type: 'user', hostfwd: ['tcp::2222-:22'] }] }, /nics\[0\]\.hostfwd: OVF has no port forwards/],
    ['numa', { name: 'a', memory: '1G', numa: [{ cpus: '0', memory: '1G' }] }, /numa/],
    ['threads', { name: 'a', smp: { sockets: 1, cores: 1, threads: 2, maxcpus: 2 } }, /smp\.threads/],
    ['hot-pluggable vCPUs', { name: 'a', smp: { cpus: 1, maxcpus: 2 } }, /smp\.cpus/],
    ['extraArgs', { name: 'a', extraArgs: ['-S'] }, /extraArgs/],
  ])('%s', (_n, input, re) => expect(refused(input)).toMatch(re));

  it('notes host-side settings it does not carry', () => {
    const f = checkOvfExport(parseVmSpec({ name: 'a', machine: 'q35', display: { type: 'vnc' }, tablet: true }));
    expect(f.refused).toEqual([]);
    expect(f.notes.join('\n')).toMatch(/machine q35/);
    expect(f.notes.join('\n')).toMatch(/display: a host-side setting/);
  });
});

describe('fromOvf: a VirtualBox-style descriptor (test/fixtures/interop/vbox-style.ovf)', () => {
  const r = fromOvf(readFileSync(join(FIX, 'vbox-style.ovf'), 'utf8'), octx, 'vbox-style.ovf');

  it('reads CPUs, memory in MegaBytes, the annotation and the disk on the SATA controller', () => {
    expect(r.spec).toMatchObject({ name: 'tiny', smp: 2, memory: '384M', description: 'A tiny appliance' });
    expect(r.spec.disks).toEqual([{ file: '', bus: 'sata', media: 'disk', target: 'sda' }]);
    expect(r.files).toEqual([{ index: 0, href: 'tiny-disk001.vmdk', media: 'disk', format: 'vmdk', capacity: 64 * 2 ** 20 }]);
  });

  it('reads both NICs; a network that qkvm does not have becomes user-mode, with a note', () => {
    expect(r.spec.nics).toEqual([{ type: 'user', model: 'e1000' }, { type: 'user', model: 'virtio' }]);
    expect(r.notes.join('\n')).toMatch(/network "NAT" is not a qkvm network/);
  });

  it('ignores vbox:Machine with a note, and lists the USB controller, the sound card and the empty CD-ROM', () => {
    expect(r.notes.join('\n')).toMatch(/vbox:Machine/);
    expect(r.unmapped).toEqual(['usb: USB controller', 'sound: sound card', 'cdrom1: an empty CD-ROM drive (qkvm has no empty drives)']);
    expect(() => parseVmSpec({ ...r.spec, disks: [{ ...(r.spec.disks as any[])[0], file: 'x.qcow2' }] })).not.toThrow();
  });
});

describe('OVF details', () => {
  it.each([['byte', 1], ['byte * 2^20', 2 ** 20], ['byte*2^30', 2 ** 30], ['MegaBytes', 2 ** 20], ['GigaBytes', 2 ** 30], ['byte * 10^3', 1000]])('allocation units %s', (u, n) => expect(unitBytes(u)).toBe(n));

  it.each(['disk.vmdk', 'tiny-disk001.vmdk', 'a.b.c'])('accepts the href %s', (h) => expect(checkHref(h)).toBe(h));
  it.each(['../etc/shadow', '/etc/shadow', 'sub/../../x', 'http://example.org/d.vmdk', 'file:///etc/passwd', 'a\\..\\b', '', 'sub//x', './x', 'x\0y'])('refuses the href %j', (h) => {
    expect(() => checkHref(h)).toThrow(/must be a plain file name inside the package/);
  });

  it('refuses a descriptor whose disk file escapes the package, before anything else', () => {
    const xml = readFileSync(join(FIX, 'vbox-style.ovf'), 'utf8').replace('ovf:href="tiny-disk001.vmdk"', 'ovf:href="../../etc/shadow"');
    expect(() => fromOvf(xml, octx)).toThrow(/"\.\.\/\.\.\/etc\/shadow"/);
  });

  it('refuses several virtual systems, a DTD, and what is not OVF', () => {
    expect(() => fromOvf('<Envelope><VirtualSystemCollection/></Envelope>', octx)).toThrow(/VirtualSystemCollection/);
    expect(() => fromOvf('<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/shadow">]><Envelope/>', octx)).toThrow(/DOCTYPE/);
    expect(() => fromOvf('<domain/>', octx)).toThrow(/not an OVF descriptor/);
  });
});

describe('fromOvf: a VMware-style descriptor (test/fixtures/interop/vmware-style.ovf)', () => {
  const r = fromOvf(readFileSync(join(FIX, 'vmware-style.ovf'), 'utf8'), octx, 'vmware-style.ovf');

  it('reads CPUs with cores per socket, memory, and the disk on the lsilogic controller as virtio-scsi (with a note)', () => {
    expect(r.spec).toMatchObject({ name: 'web01', memory: '2048M', smp: { sockets: 2, cores: 2, threads: 1, maxcpus: 4 } });
    expect(r.spec.disks).toEqual([{ file: '', bus: 'scsi', media: 'disk', target: 'sda' }]);
    expect(r.files).toEqual([{ index: 0, href: 'web01-disk1.vmdk', media: 'disk', format: 'vmdk', capacity: 2 * 2 ** 30 }]);
    expect(r.notes.join('\n')).toMatch(/SCSI controller lsilogic: qkvm's SCSI disks are on virtio-scsi/);
  });

  it('reads the VmxNet3 NIC as virtio with its MAC, on a user-mode NIC for "VM Network"', () => {
    expect(r.spec.nics).toEqual([{ type: 'user', model: 'virtio', mac: '00:50:56:aa:bb:cc' }]);
    expect(r.notes.join('\n')).toMatch(/VmxNet3 imported as virtio/);
  });

  it('lists the empty CD-ROM drive, the video card and VMware\'s firmware setting as not mapped', () => {
    expect(r.unmapped).toEqual(['CD/DVD drive 1: an empty CD-ROM drive (qkvm has no empty drives)', 'Video card: graphics controller', 'vmw:Config firmware=efi']);
  });
});
