// OVF/OVA for real, with qemu-img: export then import round-trips a guest and
// its disk's bytes; the exported VMDK is streamOptimized; a VirtualBox-style OVF
// written from the specification imports; and a package whose files reach
// outside itself (.., absolute paths, symlinks, VMDK extents) is refused with
// nothing left behind.
import { execa } from 'execa';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseVmSpec } from '../../src/config/schema.js';
import { CLI, IN_CI } from '../net/lab.js';
import { listTar, extractMember } from '../../src/interop/tar.js';
import { spawnSync } from 'node:child_process';

const has = (cmd: string) => spawnSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' }).status === 0;
const why = ['qemu-img', 'qemu-io', 'tar'].filter((c) => !has(c)).map((c) => `missing ${c}`).join(', ') || (existsSync(CLI) ? '' : `${CLI} is missing: run \`npm run build\` first`);
if (why && !IN_CI) console.warn(`interop-ova: skipped: ${why}`);

const FIX = join(__dirname, '../fixtures/interop');

class Home {
  readonly home = mkdtempSync(join(tmpdir(), 'qkvm-ova-home-'));
  readonly run = mkdtempSync(join(tmpdir(), 'qkvm-ova-run-'));
  async qkvm(args: string[], cwd?: string) {
    const r = await execa(process.execPath, [CLI, ...args], { cwd, reject: false, env: { QKVM_HOME: this.home, QKVM_RUN: this.run, PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' }, extendEnv: false, timeout: 180_000 });
    return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  }
  definition(name: string) { return parseVmSpec(parse(readFileSync(join(this.home, 'vms', `${name}.yaml`), 'utf8'))); }
  images(): string[] { const d = join(this.home, 'images'); return existsSync(d) ? readdirSync(d).sort() : []; }
  vms(): string[] { const d = join(this.home, 'vms'); return existsSync(d) ? readdirSync(d).sort() : []; }
  owned(): any[] { const f = join(this.home, 'storage', 'owned.json'); return existsSync(f) ? JSON.parse(readFileSync(f, 'utf8')).images : []; }
  cleanup() { rmSync(this.home, { recursive: true, force: true }); rmSync(this.run, { recursive: true, force: true }); }
}

async function same(a: string, b: string): Promise<boolean> {
  return (await execa('qemu-img', ['compare', '-q', a, b], { reject: false })).exitCode === 0;
}

describe.skipIf(why !== '' && !IN_CI)('OVF and OVA export and import (qemu-img)', () => {
  const src = new Home();
  const dst = new Home();
  const work = mkdtempSync(join(tmpdir(), 'qkvm-ova-work-'));
  let disk = '';
  let iso = '';

  beforeAll(async () => {
    if (why) throw new Error(why);
    mkdirSync(join(src.home, 'images'), { mode: 0o700 });
    disk = join(src.home, 'images', 'ovabox.qcow2');
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '48M']);
    await execa('qemu-io', ['-c', 'write -P 0x5a 1M 2M', '-c', 'write -P 0xa5 40M 64k', disk]);
    iso = join(work, 'tools.iso');
    writeFileSync(iso, Buffer.alloc(2 * 1024 * 1024, 0x33));
    const spec = {
      name: 'ovabox', accel: 'tcg', memory: '256M', smp: 2, description: 'round trip',
      disks: [{ file: 'ovabox.qcow2', format: 'qcow2', bus: 'virtio' }, { file: iso, format: 'raw', bus: 'ide', media: 'cdrom', target: 'hdc', external: true }],
      nics: [{ type: 'user', model: 'e1000', mac: '52:54:00:0a:0b:0c' }],
    };
    writeFileSync(join(work, 'ovabox.json.yaml'), JSON.stringify(spec));
    const r = await src.qkvm(['define', join(work, 'ovabox.json.yaml')]);
    if (r.code !== 0) throw new Error(`define: ${r.stderr}`);
  });
  afterAll(() => { src.cleanup(); dst.cleanup(); rmSync(work, { recursive: true, force: true }); });

  it('refuses a virtio-blk disk without --disk-bus, naming the field, and writes nothing', async () => {
    const r = await src.qkvm(['export', 'ovabox', '--format', 'ova', '-o', join(work, 'no.ova')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/disks\[0\]\.bus: OVF has no virtio-blk controller/);
    expect(existsSync(join(work, 'no.ova'))).toBe(false);
  });

  it('exports an OVA: the descriptor first, the manifest, then a streamOptimized VMDK and the ISO, with progress', async () => {
    const ova = join(work, 'ovabox.ova');
    const r = await src.qkvm(['export', 'ovabox', '--format', 'ova', '--disk-bus', 'sata', '-o', ova]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/convert ovabox\.qcow2 to ovabox-disk1\.vmdk: 100%/);
    const members = listTar(ova);
    expect(members.map((m) => m.name)).toEqual(['ovabox.ovf', 'ovabox.mf', 'ovabox-disk1.vmdk', 'ovabox-cdrom1.iso']);
    expect(execaSyncList(ova)).toEqual(['ovabox.ovf', 'ovabox.mf', 'ovabox-disk1.vmdk', 'ovabox-cdrom1.iso']);
    const vmdk = join(work, 'out.vmdk');
    await extractMember(ova, members[2], vmdk);
    const info = JSON.parse((await execa('qemu-img', ['info', '--output=json', vmdk])).stdout);
    expect(info.format).toBe('vmdk');
    expect(info['format-specific'].data['create-type']).toBe('streamOptimized');
    expect((await execa('qemu-img', ['info', vmdk])).stdout).toMatch(/create type: streamOptimized/);
    expect(await same(disk, vmdk)).toBe(true);
    // The export is the user's file, not an image qkvm keeps.
    expect(src.owned()).toEqual([]);
  });

  it('imports the OVA back: same hardware, the disk converted to qcow2 in the default pool and recorded as qkvm\'s own', async () => {
    const r = await dst.qkvm(['import', join(work, 'ovabox.ova')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/convert ovabox-disk1\.vmdk to ovabox-disk1\.qcow2: 100%/);
    const a = src.definition('ovabox');
    const b = dst.definition('ovabox');
    expect(b).toMatchObject({ name: a.name, memory: a.memory, smp: a.smp, description: a.description, nics: a.nics });
    expect(b.disks).toEqual([
      { file: 'ovabox-disk1.qcow2', format: 'qcow2', bus: 'sata', media: 'disk', target: 'sda', readonly: false, snapshot: false },
      { file: 'ovabox-cdrom2.iso', format: 'raw', bus: 'ide', media: 'cdrom', target: 'hdc', readonly: true, snapshot: false },
    ]);
    expect(dst.images()).toEqual(['ovabox-cdrom2.iso', 'ovabox-disk1.qcow2']);
    const q = JSON.parse((await execa('qemu-img', ['info', '--output=json', join(dst.home, 'images', 'ovabox-disk1.qcow2')])).stdout);
    expect(q.format).toBe('qcow2');
    expect(await same(disk, join(dst.home, 'images', 'ovabox-disk1.qcow2'))).toBe(true);
    expect(readFileSync(join(dst.home, 'images', 'ovabox-cdrom2.iso'))).toEqual(readFileSync(iso));
    expect(dst.owned().map((o) => [o.path.split('/').pop(), o.by, o.guest]).sort()).toEqual([['ovabox-cdrom2.iso', 'import', 'ovabox'], ['ovabox-disk1.qcow2', 'import', 'ovabox']]);
    // The guest's own disk goes with --remove-storage (a CD-ROM is never removed: docs/safety.md); the OVA is untouched.
    const u = await dst.qkvm(['undefine', 'ovabox', '--remove-storage']);
    expect(u.code, u.stderr).toBe(0);
    expect(dst.images()).toEqual(['ovabox-cdrom2.iso']);
    expect(existsSync(join(work, 'ovabox.ova'))).toBe(true);
  });

  it('exports an OVF directory that imports the same way', async () => {
    const dir = join(work, 'ovfdir');
    const r = await src.qkvm(['export', 'ovabox', '--format', 'ovf', '--disk-bus', 'scsi', '-o', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['ovabox-cdrom1.iso', 'ovabox-disk1.vmdk', 'ovabox.mf', 'ovabox.ovf']);
    const back = await dst.qkvm(['import', join(dir, 'ovabox.ovf'), '--name', 'fromovf']);
    expect(back.code, back.stderr).toBe(0);
    expect(dst.definition('fromovf').disks[0]).toMatchObject({ bus: 'scsi', file: 'fromovf-disk1.qcow2' });
    expect(await same(disk, join(dst.home, 'images', 'fromovf-disk1.qcow2'))).toBe(true);
  });

  it('imports the VirtualBox-style fixture: CPUs, memory, the SATA disk\'s bytes, NICs; lists what it did not map', async () => {
    const dir = join(work, 'vbox');
    mkdirSync(dir);
    copyFileSync(join(FIX, 'vbox-style.ovf'), join(dir, 'tiny.ovf'));
    const raw = join(work, 'tiny.qcow2');
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', raw, '64M']);
    await execa('qemu-io', ['-c', 'write -P 0x77 0 1M', raw]);
    await execa('qemu-img', ['convert', '-O', 'vmdk', '-o', 'subformat=streamOptimized', raw, join(dir, 'tiny-disk001.vmdk')]);
    const r = await dst.qkvm(['import', join(dir, 'tiny.ovf')]);
    expect(r.code, r.stderr).toBe(0);
    const d = dst.definition('tiny');
    expect(d).toMatchObject({ name: 'tiny', smp: 2, memory: '384M', description: 'A tiny appliance' });
    expect(d.disks).toEqual([{ file: 'tiny-disk1.qcow2', format: 'qcow2', bus: 'sata', media: 'disk', target: 'sda', readonly: false, snapshot: false }]);
    expect(d.nics.map((n) => [n.type, n.model])).toEqual([['user', 'e1000'], ['user', 'virtio']]);
    expect(await same(raw, join(dst.home, 'images', 'tiny-disk1.qcow2'))).toBe(true);
    expect(r.stderr).toMatch(/vbox:Machine/);
    expect(r.stderr).toMatch(/not mapped \(3\):\n {2}usb: USB controller\n {2}sound: sound card\n {2}cdrom1: an empty CD-ROM drive/);
  });

  describe('a package that reaches outside itself is refused, and nothing is left behind', () => {
    const refusedCleanly = async (file: string, re: RegExp) => {
      const images = dst.images(); const vms = dst.vms(); const owned = dst.owned().length;
      const r = await dst.qkvm(['import', file, '--name', 'evil']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stderr).toMatch(re);
      expect(dst.images()).toEqual(images);
      expect(dst.vms()).toEqual(vms);
      expect(dst.owned()).toHaveLength(owned);
    };
    const withHref = (dir: string, href: string) => {
      mkdirSync(dir, { recursive: true });
      const p = join(dir, 'x.ovf');
      writeFileSync(p, readFileSync(join(FIX, 'vbox-style.ovf'), 'utf8').replace('ovf:href="tiny-disk001.vmdk"', `ovf:href="${href}"`));
      return p;
    };

    it('a File href with ..', async () => {
      await execa('qemu-img', ['convert', '-O', 'vmdk', '-o', 'subformat=streamOptimized', join(work, 'tiny.qcow2'), join(work, 'outside.vmdk')]);
      await refusedCleanly(withHref(join(work, 'dots'), '../outside.vmdk'), /href "\.\.\/outside\.vmdk": must be a plain file name inside the package/);
    });
    it('an absolute File href', async () => {
      await refusedCleanly(withHref(join(work, 'abs'), join(work, 'outside.vmdk')), /must be a plain file name inside the package/);
    });
    it('a disk file that is a symbolic link', async () => {
      const p = withHref(join(work, 'sym'), 'tiny-disk001.vmdk');
      symlinkSync(join(work, 'outside.vmdk'), join(work, 'sym', 'tiny-disk001.vmdk'));
      await refusedCleanly(p, /is a symbolic link/);
    });
    it('an OVA member that is a symbolic link', async () => {
      const dir = join(work, 'symova');
      const p = withHref(dir, 'tiny-disk001.vmdk');
      symlinkSync('/etc/hostname', join(dir, 'tiny-disk001.vmdk'));
      await execa('tar', ['cf', join(work, 'sym.ova'), 'x.ovf', 'tiny-disk001.vmdk'], { cwd: dir });
      expect(existsSync(p)).toBe(true);
      await refusedCleanly(join(work, 'sym.ova'), /is not a regular file \(tar type '2'\)/);
    });
    it('a VMDK whose extent is another file of the host', async () => {
      const dir = join(work, 'extent');
      const p = withHref(dir, 'tiny-disk001.vmdk');
      await execa('qemu-img', ['create', '-q', '-f', 'vmdk', '-o', 'subformat=monolithicFlat', join(dir, 'tiny-disk001.vmdk'), '1M']);
      const desc = readFileSync(join(dir, 'tiny-disk001.vmdk'), 'utf8').replace(/"tiny-disk001-flat\.vmdk"/, '"/etc/hostname"');
      writeFileSync(join(dir, 'tiny-disk001.vmdk'), desc);
      await refusedCleanly(p, /extent points at \/etc\/hostname/);
    });
    it('a disk whose bytes do not match the manifest', async () => {
      const dir = join(work, 'ovfdir');
      writeFileSync(join(dir, 'ovabox.mf'), readFileSync(join(dir, 'ovabox.mf'), 'utf8').replace(/(SHA256\(ovabox-disk1\.vmdk\)= )[0-9a-f]+/, `$1${'0'.repeat(64)}`));
      await refusedCleanly(join(dir, 'ovabox.ovf'), /ovabox-disk1\.vmdk does not match its SHA256/);
    });
  });
});

function execaSyncList(ova: string): string[] {
  return spawnSync('tar', ['tf', ova], { encoding: 'utf8' }).stdout.trim().split('\n');
}
