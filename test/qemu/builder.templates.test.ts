// The bundled templates: each renders, parses, builds, and says what its comment promises.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { templatesDir } from '../../src/config/paths.js';
import { parseVmSpec, type VmSpec } from '../../src/config/schema.js';
import { buildCommand } from '../../src/qemu/builder.js';
import { GOLDEN_CAPS, GOLDEN_SCRIPTS } from './golden/load.js';

const render = (file: string, name: string): VmSpec => {
  const text = readFileSync(path.join(templatesDir(), file), 'utf8')
    .replaceAll('{{name}}', name)
    .replaceAll('{{images}}', '/var/lib/qkvm/images')
    .replaceAll('{{demo}}', '/var/lib/qkvm/cache/demo')
    .replaceAll('{{image:debian-12}}', '/var/lib/qkvm/images/base/debian-12-0123456789ab')
    .replaceAll('{{ssh-port}}', '22022');
  expect(text).not.toMatch(/\{\{/);
  // linkedClone is the template's own key (createGuest's), not the definition's.
  const { linkedClone: _base, ...doc } = parse(text);
  return parseVmSpec(doc, file);
};
const args = (spec: VmSpec) => buildCommand(spec, { caps: GOLDEN_CAPS, scripts: GOLDEN_SCRIPTS }).args;

describe('templates', () => {
  const files = readdirSync(templatesDir()).filter((f) => f.endsWith('.yaml')).sort();

  it('are the six documented ones', () => {
    expect(files).toEqual(['debian-12.yaml', 'demo.yaml', 'linux-server.yaml', 'microvm.yaml', 'pxe.yaml', 'winxp-lab.yaml']);
  });

  it('debian-12: a direct-kernel guest on an overlay, 1G, 2 vCPUs, ssh forwarded on loopback, a cloud-init seed', () => {
    const s = render('debian-12.yaml', 'web');
    expect(s).toMatchObject({
      accel: 'auto', memory: '1G', smp: 2, serial: true,
      kernel: '/var/lib/qkvm/images/base/debian-12-0123456789ab/vmlinuz',
      initrd: '/var/lib/qkvm/images/base/debian-12-0123456789ab/initrd.img',
      append: 'root=/dev/vda rw console=ttyS0', cloudInit: { user: 'debian' },
    });
    expect(s.disks).toEqual([expect.objectContaining({ file: 'web.qcow2', format: 'qcow2', bus: 'virtio' })]);
    expect(s.nics).toEqual([expect.objectContaining({ type: 'user', hostfwd: ['tcp:127.0.0.1:22022-:22'] })]);
    const a = args(s);
    // The seed: a read-only IDE CD-ROM after the root disk.
    expect(a).toContain('driver=file,node-name=drive-hda-file,filename=cidata.iso,read-only=on');
    expect(a).toContain('ide-cd,drive=drive-hda,id=hda,bus=ide.0,unit=0');
  });

  for (const f of files) {
    it(`${f} renders, parses and builds`, () => {
      const spec = render(f, 'guest1');
      expect(spec.name).toBe('guest1');
      expect(args(spec).length).toBeGreaterThan(5);
    });
  }

  it('demo: the small kernel-boot guest', () => {
    const s = render('demo.yaml', 'd');
    expect(s).toMatchObject({
      machine: 'pc', accel: 'auto', memory: '192M', smp: 1, kernel: '/var/lib/qkvm/cache/demo/vmlinuz',
      initrd: '/var/lib/qkvm/cache/demo/initrd.img', append: 'console=ttyS0 panic=-1 quiet qkvm.hostname=d', disks: [],
      balloon: true, serial: true, display: { type: 'none' },
    });
    expect(s.nics).toEqual([expect.objectContaining({ type: 'user', model: 'virtio' })]);
  });

  it('linux-server: a qcow2 disk named after the guest, virtio on network default, VNC', () => {
    const s = render('linux-server.yaml', 'web');
    expect(s.disks).toEqual([expect.objectContaining({ file: '/var/lib/qkvm/images/web.qcow2', bus: 'virtio' })]);
    expect(s.nics).toEqual([expect.objectContaining({ type: 'network', network: 'default', model: 'virtio' })]);
    expect(s.display.type).toBe('vnc');
  });

  it('winxp-lab: the tutorial\'s guest', () => {
    const s = render('winxp-lab.yaml', 'xp');
    expect(s.memory).toBe('512M');
    expect(s.smp).toMatchObject({ cpus: 4 });
    expect(s.disks.map((d) => [d.bus, d.media, d.file, d.cache])).toEqual([
      ['ide', 'disk', '/var/lib/qkvm/images/xp.qcow2', 'writeback'],
      ['ide', 'cdrom', '/var/lib/qkvm/images/winxp.iso', undefined],
    ]);
    expect(s.boot).toEqual({ order: 'dc', once: 'd' });
    expect(s).toMatchObject({ tablet: true, display: { type: 'vnc', display: 1 } });
    expect(['rtl8139', 'e1000']).toContain(s.nics[0].model);
    expect(args(s)).toContain('vnc=127.0.0.1:1');
  });

  it('microvm: the demo kernel on microvm', () => {
    const s = render('microvm.yaml', 'm');
    expect(s).toMatchObject({ machine: 'microvm', kernel: '/var/lib/qkvm/cache/demo/vmlinuz' });
    expect(args(s)).toContain('virtio-balloon-device,id=balloon0');
  });

  it('pxe: network boot with a NIC and no disk', () => {
    const s = render('pxe.yaml', 'p');
    expect(s.boot?.order).toBe('n');
    expect(s.disks).toEqual([]);
    expect(s.nics).toHaveLength(1);
  });
});
