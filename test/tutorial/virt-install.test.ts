// The virt-install corpus (test/fixtures/tutorial/virt-install.yaml): every
// line run verbatim through bash with `virt-install` swapped for
// `qkvm virt-install`, against real QEMU and qemu-img, one guest at a time.
// Checked: the stored definition, the images' real format and size, that the
// guest runs (and, for --location lines, that the installer's kernel boots to
// the demo's marker), that refused lines say why and leave nothing behind.
import { execa } from 'execa';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCorpus, tutorialWorld, type TutorialWorld } from './corpus.js';
import { CLI, DEMO_DIR, IN_CI, Netns, ensureDemoGuest, missingPrerequisites } from '../net/lab.js';

const corpus = loadCorpus('virt-install');
const why = missingPrerequisites() || (process.getuid?.() === 0 && !existsSync('/usr/bin/xorriso') ? 'xorriso is missing (scripts/setup-host.sh)' : '');
if (why && IN_CI) throw new Error(`virt-install corpus cannot run in CI: ${why}`);

let world: TutorialWorld;
const ISO_LAYOUTS: Record<string, [string, string]> = {
  // Each ISO holds the demo guest's kernel and initrd where that distribution's installer keeps them.
  'ubuntu-22.04-live-server-amd64.iso': ['casper/vmlinuz', 'casper/initrd'],
  'debian-12.2.0-amd64-netinst.iso': ['install.amd/vmlinuz', 'install.amd/initrd.gz'],
  'Win10_22H2_English_x64.iso': ['sources/boot.wim', 'sources/install.wim'],
};

async function qkvm(args: string[], netns?: Netns) {
  const env = { ...process.env, QKVM_HOME: world.home, QKVM_RUN: world.run };
  const argv = netns ? ['ip', ['netns', 'exec', netns.name, process.execPath, CLI, ...args]] as const : [process.execPath, [CLI, ...args]] as const;
  const r = await execa(argv[0], [...argv[1]], { env, reject: false, cwd: world.dir, timeout: 120_000 });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** A tutorial path (or @home/...) to where it is in this world. */
const place = (p: string) => (p.startsWith('@home/') ? path.join(world.home, p.slice(6)) : world.mapped(p));

/** Every string that is a tutorial path, mapped into the world (for comparing definitions). */
const mapValues = (v: unknown): unknown =>
  typeof v === 'string' && v.startsWith('/var/lib/libvirt/') ? world.mapped(v)
    : Array.isArray(v) ? v.map(mapValues)
      : v && typeof v === 'object' ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, mapValues(x)])) : v;

async function imageInfo(file: string): Promise<{ format: string; 'virtual-size': number; 'actual-size': number }> {
  const r = await execa('qemu-img', ['info', '-U', '--output=json', file]);
  return JSON.parse(String(r.stdout));
}

function qemuCmdline(name: string): string[] {
  const pid = readFileSync(path.join(world.run, 'vms', name, 'qemu.pid'), 'utf8').trim();
  return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
}

async function waitFor(file: string, marker: string, ms: number): Promise<void> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (existsSync(file) && readFileSync(file, 'utf8').includes(marker)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${marker} did not appear in ${file} within ${ms / 1000} s:\n${existsSync(file) ? readFileSync(file, 'utf8').slice(-2000) : '(no log)'}`);
}

describe.skipIf(!!why && !IN_CI)(`virt-install corpus (${corpus.length} lines)${why ? `: skipped, ${why}` : ''}`, () => {
  beforeAll(async () => {
    ensureDemoGuest();
    world = tutorialWorld();
    const images = world.mapped('/var/lib/libvirt/images');
    const boot = world.mapped('/var/lib/libvirt/boot');
    for (const [iso, [k, i]] of Object.entries(ISO_LAYOUTS)) {
      const tree = path.join(world.dir, 'iso-src', iso);
      mkdirSync(path.dirname(path.join(tree, k)), { recursive: true });
      mkdirSync(path.dirname(path.join(tree, i)), { recursive: true });
      copyFileSync(path.join(DEMO_DIR, 'vmlinuz'), path.join(tree, k));
      copyFileSync(path.join(DEMO_DIR, 'initrd.img'), path.join(tree, i));
      await execa('xorriso', ['-as', 'mkisofs', '-quiet', '-R', '-J', '-V', 'QKVMTEST', '-o', path.join(images, iso), tree]);
    }
    // An install tree (what a loop-mounted CentOS ISO shows), and a kernel for --boot kernel=.
    mkdirSync(path.join(boot, 'centos7-tree/images/pxeboot'), { recursive: true });
    copyFileSync(path.join(DEMO_DIR, 'vmlinuz'), path.join(boot, 'centos7-tree/images/pxeboot/vmlinuz'));
    copyFileSync(path.join(DEMO_DIR, 'initrd.img'), path.join(boot, 'centos7-tree/images/pxeboot/initrd.img'));
    copyFileSync(path.join(DEMO_DIR, 'vmlinuz'), path.join(boot, 'vmlinuz'));
    copyFileSync(path.join(DEMO_DIR, 'initrd.img'), path.join(boot, 'initrd.img'));
    // A downloaded cloud image (qcow2, named .img as CirrOS ships it) and a volume of the default pool.
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(images, 'cirros-0.5.2-x86_64-disk.img'), '64M']);
    mkdirSync(path.join(world.home, 'images'), { recursive: true });
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(world.home, 'images', 'base.qcow2'), '64M']);
  }, 300_000);

  afterAll(() => world?.cleanup());

  for (const e of corpus) {
    const x = (e.expect ?? {}) as Record<string, any>;
    it(`${e.id} (${e.status}): ${e.line.split('\n')[0].slice(0, 90)}`, async () => {
      let ns: Netns | undefined;
      const binQkvm = path.join(world.dir, 'bin', 'qkvm');
      const plain = readFileSync(binQkvm, 'utf8');
      if (x.netns) {
        // Host networking (a NAT network, a bridge) only inside a namespace of this test's own.
        ns = await new Netns().create();
        await ns.exec(['ip', 'link', 'add', 'br0', 'type', 'bridge']);
        await ns.exec(['ip', 'link', 'set', 'br0', 'up']);
        writeFileSync(binQkvm, `#!/bin/sh\nexec ip netns exec ${ns.name} ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`);
        chmodSync(binQkvm, 0o755);
      }
      try {
        const r = await world.exec(e.line, { timeoutMs: 120_000 });
        const out = r.stdout + r.stderr;
        if (e.status === 'refused') {
          expect(r.code, out).toBe(2);
        } else {
          expect(r.code, out).toBe(0);
        }
        if (e.says) expect(out).toContain(e.says);
        for (const s of (x.stdout ?? []) as string[]) expect(r.stdout).toContain(s);
        for (const p of (x.absent ?? []) as string[]) expect(existsSync(place(p)), `${p} must not exist`).toBe(false);
        if (x.defined === false || e.status === 'refused') {
          expect(existsSync(path.join(world.home, 'vms'))
            ? (await execa('ls', [path.join(world.home, 'vms')])).stdout.split('\n').filter((f) => f.endsWith('.yaml'))
            : []).toEqual([]);
          return;
        }
        const name = x.guest as string;
        const defText = readFileSync(path.join(world.home, 'vms', `${name}.yaml`), 'utf8');
        const def = parse(defText);
        if (x.def) expect(def).toMatchObject(mapValues(x.def) as object);
        if (x.disks) {
          expect(def.disks).toHaveLength(x.disks.length);
          (x.disks as object[]).forEach((d, i) => expect(def.disks[i]).toMatchObject(mapValues(d) as object));
        }
        if (x.noKernelInDef) expect(def.kernel).toBeUndefined();
        for (const [p, want] of Object.entries((x.images ?? {}) as Record<string, any>)) {
          const info = await imageInfo(place(p));
          expect(info.format).toBe(want.format);
          expect(info['virtual-size']).toBe(want.virtualSize);
          if (want.allocated) expect(info['actual-size']).toBeGreaterThanOrEqual(want.allocated);
          // Recorded as qkvm's own, for this guest (undefine --remove-storage may delete it).
          const owned = JSON.parse(readFileSync(path.join(world.home, 'storage', 'owned.json'), 'utf8')).images;
          expect(owned.some((o: any) => o.path === place(p) && o.guest === name && o.by === 'virt-install')).toBe(true);
        }
        const st = await qkvm(['domstate', name], ns);
        expect(st.stdout.trim()).toBe('running');
        const argv = qemuCmdline(name);
        for (const s of (x.cmdline ?? []) as string[]) expect(argv.join(' ')).toContain(s);
        if (x.secret) {
          expect(defText).not.toContain(x.secret);
          expect(argv.join(' ')).not.toContain(x.secret);
          const v = await qkvm(['vnc', name, '--json'], ns);
          expect(JSON.parse(v.stdout).auth).toBe(x.vncAuth);
        }
        if (x.ready) {
          // The installer's kernel (found in the ISO or tree) booted with --extra-args console=ttyS0.
          expect(argv).toContain('-kernel');
          await waitFor(path.join(world.run, 'vms', name, 'serial.log'), 'QKVM-DEMO-READY', 150_000);
        }
      } finally {
        if (x.guest) {
          await qkvm(['destroy', x.guest], ns);
          await qkvm(['undefine', x.guest], ns);
        }
        if (ns) {
          for (const n of ['default', 'br0']) await qkvm(['net', 'stop', n], ns);
          for (const n of ['default', 'br0']) await qkvm(['net', 'undefine', n], ns);
          await ns.destroy();
          writeFileSync(binQkvm, plain);
        }
      }
    }, 240_000);
  }

  it('removes only what it made when the start fails after an image was created', async () => {
    // QEMU cannot bind a VNC port that is taken: the failure comes after the image and the definition exist.
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(5944, '127.0.0.1', resolve));
    try {
      const keep = world.mapped('/var/lib/libvirt/images/cirros-0.5.2-x86_64-disk.img');
      const r = await world.exec('virt-install --name fail01 --ram 256 --disk path=/var/lib/libvirt/images/fail01.qcow2,size=1 --disk ' + keep + ' --pxe --graphics vnc,port=5944 --noautoconsole');
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toMatch(/QEMU could not start guest "fail01"/);
      expect(existsSync(world.mapped('/var/lib/libvirt/images/fail01.qcow2'))).toBe(false);
      expect(existsSync(keep)).toBe(true);
      expect(existsSync(path.join(world.home, 'vms', 'fail01.yaml'))).toBe(false);
      const owned = JSON.parse(readFileSync(path.join(world.home, 'storage', 'owned.json'), 'utf8')).images;
      expect(owned.some((o: any) => o.guest === 'fail01')).toBe(false);
    } finally {
      server.close();
    }
  }, 120_000);

  it('prints its help with examples', async () => {
    const r = await world.exec('virt-install --help');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: qkvm virt-install --name NAME/);
    expect(r.stdout).toMatch(/Examples:\n  qkvm virt-install --name=web --ram 2048/);
  });
});
