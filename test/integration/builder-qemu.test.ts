// Every command line the builder emits must be one QEMU 7.2 accepts. For each
// template and each golden fixture, the test builds the real command (with -S
// added, under TCG), points its files at small images made with qemu-img, starts
// it daemonized, and checks over QMP that the guest exists; then quits it.
//
// Tap NICs stay taps when the test can make its own network namespace (root):
// QEMU runs inside it, with ifup/ifdown scripts that only bring the tap up. Without
// one, tap NICs become user-mode NICs. Kernel-boot cases need a real kernel: the
// demo guest's (QKVM_TEST_KERNEL, or the shared cache that scripts/
// build-demo-guest.sh fills, built here when missing); without one they skip and
// say so. In CI a missing QEMU or kernel is a failure.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseVmSpec, type VmSpec } from '../../src/config/schema.js';
import { buildCommand, type BuildContext } from '../../src/qemu/builder.js';
import { formatOf } from '../../src/qemu/devices/block.js';
import { formatCommand } from '../../src/qemu/format.js';
import { fixtureNames, loadFixture } from '../qemu/golden/load.js';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const TEMPLATES = path.join(REPO, 'templates');
const BUILD_SCRIPT = path.join(REPO, 'scripts/build-demo-guest.sh');
const DEMO_DIR =
  process.env.QKVM_DEMO_DIR ?? path.join(process.env.QKVM_TEST_CACHE ?? '/var/tmp/qkvm-test-cache', 'demo');
const QEMU = 'qemu-system-x86_64';
const IN_CI = !!process.env.CI;

const commandExists = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const missing = [QEMU, 'qemu-img'].filter((c) => !commandExists(c));
const skipAll = missing.length > 0 && !IN_CI;
if (skipAll) console.warn(`builder-qemu integration test skipped: missing on this host: ${missing.join(', ')} (run scripts/setup-host.sh)`);

interface Case {
  label: string;
  spec: VmSpec;
  ctx: Pick<BuildContext, 'paused' | 'incoming' | 'nics'>;
}

function templateCases(): Case[] {
  // debian-12 is filled from a built base image ({{image:debian-12}}, a linked clone, a free ssh port):
  // its argv is checked on a real build in test/image/debian.test.ts and the golden debian-cloudinit case.
  return readdirSync(TEMPLATES).filter((f) => f.endsWith('.yaml') && f !== 'debian-12.yaml').sort().map((f) => {
    const name = `tpl-${f.slice(0, -5)}`;
    const text = readFileSync(path.join(TEMPLATES, f), 'utf8')
      .replaceAll('{{name}}', name)
      .replaceAll('{{images}}', '/var/lib/qkvm/images')
      .replaceAll('{{demo}}', '/var/lib/qkvm/cache/demo');
    return { label: `template ${f}`, spec: parseVmSpec(parse(text), f), ctx: {} };
  });
}

function fixtureCases(): Case[] {
  // link needs a run directory for its socket, debian-cloudinit a seed ISO: QEMU starts them for real in
  // test/lab/relay.test.ts and test/image/debian.test.ts.
  return fixtureNames().filter((n) => n !== 'link' && n !== 'debian-cloudinit').map((n) => {
    const f = loadFixture(n);
    return { label: `golden ${n}`, spec: f.spec, ctx: { paused: f.ctx.paused, incoming: f.ctx.incoming, nics: f.ctx.nics } };
  });
}

/** Talks just enough QMP to ask for the status and quit. */
async function qmpStatusAndQuit(socket: string): Promise<string> {
  const sock = net.createConnection(socket);
  sock.setEncoding('utf8');
  const lines: any[] = [];
  let buf = '';
  let wake: (() => void) | undefined;
  let closed = false;
  sock.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) lines.push(JSON.parse(line));
    }
    wake?.();
  });
  sock.on('close', () => {
    closed = true;
    wake?.();
  });
  sock.on('error', () => { /* seen as close */ });
  const next = async (pred: (m: any) => boolean) => {
    for (;;) {
      const i = lines.findIndex(pred);
      if (i >= 0) return lines.splice(i, 1)[0];
      if (closed) throw new Error('QMP socket closed');
      await new Promise<void>((r) => { wake = r; });
    }
  };
  await next((m) => m.QMP);
  sock.write('{"execute":"qmp_capabilities","id":1}\n');
  await next((m) => m.id === 1);
  sock.write('{"execute":"query-status","id":2}\n');
  const status = await next((m) => m.id === 2);
  sock.write('{"execute":"quit","id":3}\n');
  await next((m) => m.id === 3).catch(() => undefined);
  while (!closed) await new Promise<void>((r) => { wake = r; });
  return status.return?.status ?? JSON.stringify(status);
}

/** Alive and not a zombie (PID 1 reaps late here: kill -0 is not enough). */
function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

describe.skipIf(skipAll)('the builder\'s command lines start QEMU 7.2', () => {
  let tmp = '';
  let kernel: string | undefined;
  let initrd: string | undefined;
  let kernelMissing = '';
  let netns: string | undefined;
  let version = '';
  const started: number[] = [];

  beforeAll(() => {
    if (missing.length) throw new Error(`CI host is not set up: missing ${missing.join(', ')}`);
    // On a real disk, not tmpfs: cache.direct=on needs O_DIRECT.
    tmp = mkdtempSync('/var/tmp/qkvm-builder-qemu-');
    version = /version (\S+)/.exec(spawnSync(QEMU, ['--version'], { encoding: 'utf8' }).stdout)?.[1] ?? '';

    kernel = process.env.QKVM_TEST_KERNEL ?? path.join(DEMO_DIR, 'vmlinuz');
    if (!existsSync(kernel) && !process.env.QKVM_TEST_KERNEL && existsSync(BUILD_SCRIPT)) {
      const build = spawnSync('bash', [BUILD_SCRIPT, DEMO_DIR], { encoding: 'utf8', timeout: 280_000 });
      if (build.status !== 0) kernelMissing = `build-demo-guest.sh failed: ${build.stderr.trim().split('\n').slice(-3).join(' ')}`;
    }
    if (!existsSync(kernel)) {
      kernelMissing ||= `no kernel at ${kernel}`;
      kernel = undefined;
      if (IN_CI) throw new Error(`kernel-boot cases cannot run in CI: ${kernelMissing}`);
      console.warn(`builder-qemu: kernel-boot cases will skip: ${kernelMissing}`);
    }
    initrd = kernel && existsSync(path.join(path.dirname(kernel), 'initrd.img')) ? path.join(path.dirname(kernel), 'initrd.img') : undefined;
    if (!initrd) {
      initrd = path.join(tmp, 'initrd.img');
      writeFileSync(initrd, 'not really an initramfs: QEMU only loads it\n');
    }

    // Our own network namespace, for real taps and private VNC/hostfwd ports.
    // QKVM_TEST_NO_NETNS=1 tries the fallback that a non-root host takes.
    if (process.getuid?.() === 0 && existsSync('/dev/net/tun') && commandExists('ip') && !process.env.QKVM_TEST_NO_NETNS) {
      const ns = `qkbt-${process.pid}`;
      if (spawnSync('ip', ['netns', 'add', ns]).status === 0) {
        netns = ns;
        spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
      }
    }
    if (!netns) console.warn('builder-qemu: not root (or no ip/tun): tap NICs are tested as user-mode NICs');
    for (const s of ['ifup', 'ifdown']) {
      writeFileSync(path.join(tmp, s), s === 'ifup' ? '#!/bin/sh\nip link set "$1" up\n' : '#!/bin/sh\nexit 0\n');
      chmodSync(path.join(tmp, s), 0o755);
    }
    mkdirSync(path.join(tmp, 'hugepages'));
  }, 300_000);

  afterAll(() => {
    for (const pid of started) if (running(pid)) process.kill(pid, 'SIGKILL');
    if (netns) spawnSync('ip', ['netns', 'del', netns]);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** The case's definition with its files replaced by temporary ones. */
  function localize(c: Case, dir: string): VmSpec {
    const spec: VmSpec = structuredClone(c.spec);
    spec.accel = 'tcg';
    spec.disks = spec.disks.map((d, i) => {
      const format = formatOf(d);
      const file = path.join(dir, `disk${i}.${format === 'qcow2' ? 'qcow2' : d.media === 'cdrom' ? 'iso' : 'img'}`);
      const r = spawnSync('qemu-img', ['create', '-q', '-f', format, file, d.media === 'cdrom' ? '1M' : '16M'], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      return { ...d, file, format };
    });
    if (spec.kernel) {
      spec.kernel = kernel;
      if (spec.initrd) spec.initrd = initrd;
    }
    const vhostNet = existsSync('/dev/vhost-net');
    spec.nics = spec.nics.map((n) => {
      const vhost = n.vhost === 'on' && !vhostNet ? 'auto' as const : n.vhost;
      if (netns) return { ...n, vhost };
      return { ...n, type: 'user' as const, network: undefined, vhost: 'auto' as const, hostfwd: n.hostfwd.map((f) => f.replace(/:\d+-/, ':0-')) };
    });
    if (!netns && spec.display.type === 'vnc') spec.display = { ...spec.display, listen: '127.0.0.1', display: 40 + (process.pid % 50) };
    return spec;
  }

  it('notices an option QEMU refuses (the check below is not vacuous)', () => {
    const cmd = buildCommand(parseVmSpec({ name: 'bad', serial: false, extraArgs: ['-device', 'no-such-device'] }), {
      caps: { binary: QEMU, version, accel: 'tcg', vhostNet: false },
    });
    const r = spawnSync(QEMU, [...cmd.args, '-S', '-daemonize', '-pidfile', path.join(tmp, 'bad.pid')], { encoding: 'utf8', timeout: 60_000 });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('no-such-device');
  });

  // Beyond being accepted: the kernel-boot templates really boot the demo guest.
  for (const tpl of ['demo.yaml', 'microvm.yaml']) {
    it(`template ${tpl} boots the demo guest to its READY marker`, async (t) => {
      const demoInitrd = kernel && path.join(path.dirname(kernel), 'initrd.img');
      if (!kernel || !demoInitrd || !existsSync(demoInitrd)) {
        const why = `no demo guest (${kernelMissing || 'no initrd.img beside the kernel'})`;
        if (IN_CI) throw new Error(`${tpl} boot: ${why}`);
        console.warn(`${tpl} boot: skipped, ${why}`);
        t.skip();
      }
      const c = templateCases().find((x) => x.label === `template ${tpl}`)!;
      const dir = path.join(tmp, 'boot', c.spec.name);
      mkdirSync(dir, { recursive: true });
      const spec = { ...structuredClone(c.spec), accel: 'tcg' as const, kernel, initrd: demoInitrd };
      const run = {
        qmpSocket: path.join(dir, 'qmp.sock'), serialSocket: path.join(dir, 'serial.sock'), serialLog: path.join(dir, 'serial.log'),
        pidFile: path.join(dir, 'qemu.pid'), qemuLog: path.join(dir, 'qemu.log'),
      };
      const cmd = buildCommand(spec, { caps: { binary: QEMU, version, accel: 'tcg', vhostNet: false }, run });
      const r = spawnSync(QEMU, cmd.args, { encoding: 'utf8', timeout: 60_000 });
      expect(r.status, r.stderr).toBe(0);
      const pid = Number(readFileSync(run.pidFile, 'utf8').trim());
      started.push(pid);
      let log = '';
      for (let i = 0; i < 1800 && !log.includes('QKVM-DEMO-READY') && running(pid); i++) {
        await new Promise((res) => setTimeout(res, 50));
        log = existsSync(run.serialLog) ? readFileSync(run.serialLog, 'utf8') : '';
      }
      expect(log, `serial log of ${tpl}`).toContain('QKVM-DEMO-READY');
      await qmpStatusAndQuit(run.qmpSocket);
    }, 120_000);
  }

  for (const c of [...templateCases(), ...fixtureCases()]) {
    it(c.label, async (t) => {
      if (c.spec.kernel && !kernel) {
        if (IN_CI) throw new Error(`${c.label}: it boots a kernel and none is available (${kernelMissing})`);
        console.warn(`${c.label}: skipped, it boots a kernel and none is available (${kernelMissing})`);
        t.skip();
      }
      const dir = path.join(tmp, 'guests', c.spec.name);
      mkdirSync(dir, { recursive: true });
      const spec = localize(c, dir);
      const run = {
        qmpSocket: path.join(dir, 'qmp.sock'),
        serialSocket: path.join(dir, 'serial.sock'),
        serialLog: path.join(dir, 'serial.log'),
        pidFile: path.join(dir, 'qemu.pid'),
        qemuLog: path.join(dir, 'qemu.log'),
        agentSocket: path.join(dir, 'qga.sock'),
      };
      const cmd = buildCommand(spec, {
        ...c.ctx,
        caps: { binary: QEMU, version, accel: 'tcg', vhostNet: existsSync('/dev/vhost-net') },
        run,
        scripts: { ifup: path.join(tmp, 'ifup'), ifdown: path.join(tmp, 'ifdown') },
        hugepagesPath: path.join(tmp, 'hugepages'),
      });
      const args = cmd.args.includes('-S') ? cmd.args : [...cmd.args, '-S'];
      const argv = netns ? ['ip', 'netns', 'exec', netns, QEMU, ...args] : [QEMU, ...args];
      const r = spawnSync(argv[0], argv.slice(1), { encoding: 'utf8', timeout: 60_000 });
      const shown = `${formatCommand(cmd)}\nexit ${r.status}: ${r.stderr}${existsSync(run.qemuLog) ? readFileSync(run.qemuLog, 'utf8') : ''}`;
      expect(r.status, shown).toBe(0);
      const pid = Number(readFileSync(run.pidFile, 'utf8').trim());
      started.push(pid);
      expect(running(pid), shown).toBe(true);
      // QEMU made the agent's socket (it removes it on quit); absent when the definition has no agent.
      expect(existsSync(run.agentSocket), 'the guest agent socket').toBe(spec.agent);

      const status = await qmpStatusAndQuit(run.qmpSocket);
      expect(status).toBe(c.ctx.incoming ? 'inmigrate' : 'prelaunch');
      if (spec.serial) expect(existsSync(run.serialLog), 'the serial log is created').toBe(true);
      for (let i = 0; i < 100 && running(pid); i++) await new Promise((res) => setTimeout(res, 50));
      expect(running(pid), 'QEMU exits on quit').toBe(false);
    });
  }
});
