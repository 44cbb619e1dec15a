// qkvm export --format libvirt, for real: the domain XML of a demo guest is
// defined and booted by libvirt 9.0 (a private session daemon, see
// test/interop/libvirtd.ts), its serial output shows the demo kernel's version,
// and `qkvm import` of `virsh dumpxml` gives back the same definition.
import { execa } from 'execa';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseVmSpec } from '../../src/config/schema.js';
import { CLI, DEMO_DIR, ensureDemoGuest, IN_CI } from '../net/lab.js';
import { libvirtMissing, PrivateLibvirt } from '../interop/libvirtd.js';

const why = libvirtMissing() || (existsSync(CLI) ? '' : `${CLI} is missing: run \`npm run build\` first`);
if (why && !IN_CI) console.warn(`interop-libvirt: skipped: ${why}`);

/** A private QKVM_HOME and QKVM_RUN: one "host" that qkvm runs on. */
class Home {
  readonly home = mkdtempSync(join(tmpdir(), 'qkvm-interop-home-'));
  readonly run = mkdtempSync(join(tmpdir(), 'qkvm-interop-run-'));
  async qkvm(args: string[]) {
    const r = await execa(process.execPath, [CLI, ...args], { reject: false, env: { QKVM_HOME: this.home, QKVM_RUN: this.run, PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' }, extendEnv: false, timeout: 120_000 });
    return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  }
  definition(name: string) { return parseVmSpec(parse(readFileSync(join(this.home, 'vms', `${name}.yaml`), 'utf8'))); }
  cleanup() { rmSync(this.home, { recursive: true, force: true }); rmSync(this.run, { recursive: true, force: true }); }
}

const sha = (p: string) => createHash('sha256').update(readFileSync(p)).digest('hex');

describe.skipIf(why !== '' && !IN_CI)('libvirt interop (a private libvirtd)', () => {
  const lv = new PrivateLibvirt();
  const src = new Home();
  const dst = new Home();
  let data = '';
  let iso = '';
  let serialLog = '';
  const version = () => readFileSync(join(DEMO_DIR, 'VERSION'), 'utf8').trim();

  beforeAll(async () => {
    if (why) throw new Error(why);
    ensureDemoGuest();
    await lv.start();
    data = join(lv.files, 'data.qcow2');
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', data, '16M']);
    await execa('qemu-io', ['-c', 'write -P 0x42 0 64k', data]);
    iso = join(lv.files, 'cd.iso');
    writeFileSync(iso, Buffer.alloc(1024 * 1024, 0x11));
    lv.own(data); lv.own(iso);
    serialLog = join(lv.files, 'lvdemo-serial.log');
    const spec = {
      name: 'lvdemo', accel: 'tcg', machine: 'pc', memory: '160M', smp: { sockets: 1, cores: 2, threads: 1, maxcpus: 2 },
      kernel: join(DEMO_DIR, 'vmlinuz'), initrd: join(DEMO_DIR, 'initrd.img'), append: 'console=ttyS0 panic=-1',
      disks: [
        { file: data, format: 'qcow2', bus: 'virtio', cache: 'writeback', target: 'vda', external: true, readonly: false },
        { file: iso, format: 'raw', bus: 'ide', media: 'cdrom', target: 'hdc', external: true },
      ],
      nics: [{ type: 'user', model: 'e1000', mac: '52:54:00:12:34:56' }],
      display: { type: 'vnc', listen: '127.0.0.1', display: 77 }, vga: 'std',
      balloon: true, serial: true, description: 'exported to libvirt by the interop test',
    };
    const file = join(src.home, 'lvdemo.json.yaml');
    writeFileSync(file, JSON.stringify(spec));
    const r = await src.qkvm(['define', file]);
    if (r.code !== 0) throw new Error(`define failed: ${r.stderr}`);
  }, 120_000);

  afterAll(async () => {
    await lv.stop();
    src.cleanup();
    dst.cleanup();
  });

  it('exports domain XML that virsh defines, and the guest boots under libvirt: its serial log shows the kernel version', async () => {
    const xml = join(lv.files, 'lvdemo.xml');
    const r = await src.qkvm(['export', 'lvdemo', '--format', 'libvirt', '--serial-log', serialLog, '-o', xml]);
    expect(r.code, r.stderr).toBe(0);
    lv.own(xml);
    await lv.virsh(['define', xml]);
    await lv.virsh(['start', 'lvdemo']);
    const deadline = Date.now() + 120_000;
    let log = '';
    while (!/QKVM-DEMO-READY/.test(log)) {
      if (Date.now() > deadline) throw new Error(`no QKVM-DEMO-READY in ${serialLog}:\n${log.slice(-2000)}`);
      await new Promise((res) => setTimeout(res, 200));
      log = existsSync(serialLog) ? readFileSync(serialLog, 'utf8') : '';
    }
    expect(log).toContain(`Linux version ${version()}`);
    expect(log).toContain(`QKVM-DEMO-READY kernel=${version()}`);
    // libvirt ran QEMU itself: its command line has the disk, the CD-ROM and our VNC port.
    const live = (await lv.virsh(['dumpxml', 'lvdemo'])).stdout;
    expect(live).toMatch(/<graphics type='vnc' port='5977' autoport='no' listen='127\.0\.0\.1'/);
    await lv.virsh(['destroy', 'lvdemo']);
  }, 180_000);

  it('imports `virsh dumpxml` into a definition equal to the exported one, leaving the disks where they are', async () => {
    const dump = join(dst.home, 'lvdemo.dump.xml');
    writeFileSync(dump, (await lv.virsh(['dumpxml', '--inactive', 'lvdemo'])).stdout);
    const before = sha(data);
    const r = await dst.qkvm(['import', dump, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const result = JSON.parse(r.stdout);
    expect(result).toMatchObject({ name: 'lvdemo', kind: 'libvirt', images: [] });
    expect(result.unmapped).toEqual([]);
    expect(dst.definition('lvdemo')).toEqual(src.definition('lvdemo'));
    expect(sha(data)).toBe(before);
    expect(existsSync(join(dst.home, 'storage', 'owned.json'))).toBe(false);
  }, 60_000);

  it('maps a NIC on a qkvm network to its bridge, and back to the network', async () => {
    for (const h of [src, dst]) expect((await h.qkvm(['net', 'define', 'lan', '--mode', 'isolated'])).code).toBe(0);
    const file = join(src.home, 'lvnet.json.yaml');
    writeFileSync(file, JSON.stringify({ name: 'lvnet', accel: 'tcg', memory: '128M', kernel: join(DEMO_DIR, 'vmlinuz'), nics: [{ type: 'network', network: 'lan', model: 'virtio', mac: '52:54:00:12:34:57' }] }));
    expect((await src.qkvm(['define', file])).code).toBe(0);
    const xml = join(lv.files, 'lvnet.xml');
    const r = await src.qkvm(['export', 'lvnet', '--format', 'libvirt', '-o', xml]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(xml, 'utf8')).toMatch(/<interface type="bridge">[\s\S]*<source bridge="qkbr-lan"\/>/);
    lv.own(xml);
    await lv.virsh(['define', xml]);
    const dump = join(dst.home, 'lvnet.dump.xml');
    writeFileSync(dump, (await lv.virsh(['dumpxml', '--inactive', 'lvnet'])).stdout);
    const back = await dst.qkvm(['import', dump]);
    expect(back.code, back.stderr).toBe(0);
    expect(dst.definition('lvnet').nics).toEqual(src.definition('lvnet').nics);
  }, 60_000);

  it('refuses, naming the field, what libvirt cannot express, and writes nothing', async () => {
    const file = join(src.home, 'lvfwd.json.yaml');
    writeFileSync(file, JSON.stringify({ name: 'lvfwd', kernel: join(DEMO_DIR, 'vmlinuz'), nics: [{ type: 'user', hostfwd: ['tcp:127.0.0.1:2222-:22'] }] }));
    expect((await src.qkvm(['define', file])).code).toBe(0);
    const out = join(src.home, 'lvfwd.xml');
    const r = await src.qkvm(['export', 'lvfwd', '--format', 'libvirt', '-o', out]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nics\[0\]\.hostfwd/);
    expect(existsSync(out)).toBe(false);
  });

  it('leaves nothing in libvirt and stops both daemons by pid', async () => {
    for (const d of await lv.domains()) { await lv.virsh(['destroy', d], { reject: false }); await lv.virsh(['undefine', d]); }
    expect(await lv.domains()).toEqual([]);
    await lv.stop();
    expect(lv.alive()).toEqual([]);
  }, 60_000);
});
