// A real Debian guest, end to end: the debian-12 image (built once per machine,
// test/image/debian.ts), a guest made from the template with --ssh-key and
// --hostname, booted under TCG inside a network namespace of its own (so its
// user-mode network reaches nothing but that namespace's loopback), `qkvm ssh
// NAME -- hostname` answering with that hostname, and `shutdown` powering it off.
import { execa } from 'execa';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_CI } from '../net/lab.js';
import { BOOT_MS, BUILD_MS, DebianWorld, debianTestMissing } from './debian.js';

const why = debianTestMissing();
if (why && !IN_CI) console.warn(`image/debian: skipped: ${why}`);

const GUEST = 'deb1';
const HOSTNAME = 'qkvm-it-deb1';

describe.skipIf(why !== '' && !IN_CI)('a Debian 12 guest from qkvm image build', () => {
  const w = new DebianWorld('imgtest');
  const qkvm = w.qkvm.bind(w);
  const { home, run, keys } = w;

  beforeAll(() => w.setUp(), BUILD_MS);
  afterAll(() => w.tearDown([GUEST]));

  it('image list finds the cached build', async () => {
    const list = JSON.parse((await qkvm(['image', 'list', '--json'])).stdout);
    expect(list).toEqual([expect.objectContaining({ image: 'debian-12', kernelVersion: expect.stringMatching(/cloud-amd64$/) })]);
    for (const f of ['disk.qcow2', 'vmlinuz', 'initrd.img']) expect(existsSync(path.join(list[0].dir, f))).toBe(true);
    expect(readFileSync(path.join(list[0].dir, 'packages.txt'), 'utf8')).toMatch(/^cloud-init .*\n[\s\S]*^qemu-guest-agent /m);
  });

  it('create --template debian-12 --ssh-key --hostname --disk-size: an overlay on the base, of that size, and a cloudInit block', async () => {
    await qkvm(['create', GUEST, '--template', 'debian-12', '--ssh-key', path.join(keys, 'id_ed25519.pub'), '--hostname', HOSTNAME, '--disk-size', '6G', '--accel', 'tcg']);
    const info = JSON.parse((await execa('qemu-img', ['info', '--output=json', path.join(home, 'images', `${GUEST}.qcow2`)])).stdout);
    expect(info['backing-filename']).toMatch(/debian-12-[0-9a-f]{12}\/disk\.qcow2$/);
    expect(info['virtual-size']).toBe(6 * 1024 ** 3);
    const yaml = readFileSync(path.join(home, 'vms', `${GUEST}.yaml`), 'utf8');
    expect(yaml).toContain(`hostname: ${HOSTNAME}`);
    expect(yaml).toMatch(/instance-id: deb1-[0-9a-f]{8}/);
    expect(yaml).toContain('ssh-ed25519 ');
  });

  it('cmdline --explain shows the seed, and the guest boots under TCG with it attached read-only', async () => {
    const explain = (await qkvm(['cmdline', GUEST, '--explain'])).stdout;
    expect(explain).toMatch(/cidata-[0-9a-f]{16}\.iso/);
    expect(explain).toMatch(/cloud-init NoCloud seed/);
    await qkvm(['start', GUEST]);
    const seeds = readdirSync(path.join(home, 'seeds', GUEST));
    expect(seeds).toEqual([expect.stringMatching(/^cidata-[0-9a-f]{16}\.iso$/)]);
    const pid = readFileSync(path.join(run, 'vms', GUEST, 'qemu.pid'), 'utf8').trim();
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(argv).toContain(`driver=file,node-name=drive-hda-file,filename=${path.join(home, 'seeds', GUEST, seeds[0])},read-only=on`);
    expect(argv).toContain('-accel');
    expect(argv[argv.indexOf('-accel') + 1]).toBe('tcg');
  });

  it('qkvm ssh NAME -- hostname prints the hostname from the seed', async () => {
    const r = await qkvm(['ssh', GUEST, '--wait', String(BOOT_MS / 1000 - 60), '--', 'hostname'], { timeout: BOOT_MS });
    expect(r.stdout.trim()).toBe(HOSTNAME);
    // The host key went into qkvm's own known_hosts, under the instance's alias.
    const id = /instance-id: (deb1-[0-9a-f]{8})/.exec(readFileSync(path.join(home, 'vms', `${GUEST}.yaml`), 'utf8'))![1];
    const found = spawnSync('ssh-keygen', ['-F', `qkvm-${id}`, '-f', path.join(home, 'ssh', 'known_hosts')], { encoding: 'utf8' });
    expect(found.stdout).toMatch(new RegExp(`^qkvm-${id} ssh-ed25519 `, 'm'));
    // The login probe's connection carried the command, and was ended after it: no ssh is left.
    const control = path.join(run, 'vms', GUEST, 'ssh.ctl');
    expect(existsSync(control)).toBe(false);
    expect(spawnSync('pgrep', ['-f', `ControlPath=${control}`]).status).toBe(1);
  }, BOOT_MS);

  it('the root file system grew to the disk size asked for, and cloud-init finished without an error', async () => {
    const r = await qkvm(['ssh', GUEST, '--', 'df -B1 --output=size / | tail -n 1; cloud-init status --wait | tail -n 1'], { timeout: 120_000 });
    const [size, status] = r.stdout.trim().split('\n');
    // The base is 4G (TEST_IMAGE_SIZE); --disk-size 6G made the overlay larger and
    // cloud-init's resizefs grew ext4 to it at first boot. Less the file system's
    // own metadata; a base made at the wrong size (once 4 TiB) fails the upper bound.
    expect(Number(size)).toBeGreaterThan(5.5 * 1024 ** 3);
    expect(Number(size)).toBeLessThanOrEqual(6 * 1024 ** 3);
    expect(status).toBe('status: done');
  }, 150_000);

  it('shutdown powers it off', async () => {
    // ACPI only (no --force): the guest's systemd must power it off itself.
    const r = await qkvm(['shutdown', GUEST, '--timeout', '280'], { timeout: 300_000 });
    expect(r.stderr).toMatch(/is shut off after .* \(powerdown\)/);
    const st = JSON.parse((await qkvm(['info', GUEST, '--json'])).stdout);
    expect(st.state).toBe('shut off');
  }, 320_000);
});
