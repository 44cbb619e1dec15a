// The guest agent in the real debian-12 guest: the cached image
// (test/image/debian.ts), one guest from the template (which sets agent: true),
// TCG, private QKVM_HOME/QKVM_RUN, inside a network namespace of its own. The
// waits are the guest's own: the agent's sync reply, and a loop run in the guest.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_CI, type RunResult } from '../net/lab.js';
import { BOOT_MS, BUILD_MS, DebianWorld, debianTestMissing } from '../image/debian.js';

const why = debianTestMissing();
if (why && !IN_CI) console.warn(`agent (debian-12): skipped: ${why}`);

const GUEST = 'qga-deb';
const HOSTNAME = 'qkvm-it-agent';

describe.skipIf(why !== '' && !IN_CI)('the guest agent in a debian-12 guest', () => {
  const w = new DebianWorld('agenttest');
  const { home, run } = w;
  /** Exit code and output, whatever the exit (the tests look at codes themselves). */
  const qkvm = (args: string[], o: { timeout?: number } = {}) => w.qkvm(args, { ...o, reject: false, stripFinalNewline: false });
  async function ok(args: string[], o: { timeout?: number } = {}): Promise<RunResult> {
    const r = await qkvm(args, o);
    expect(r.code, `qkvm ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
    return r;
  }

  beforeAll(async () => {
    await w.setUp();
    await ok(['create', GUEST, '--template', 'debian-12', '--ssh-key', w.pubKey, '--hostname', HOSTNAME, '--accel', 'tcg']);
    await ok(['start', GUEST]);
  }, BUILD_MS);

  afterAll(() => w.tearDown([GUEST]), 120_000);

  it('the template wires the agent: the running QEMU has the port, and agent ping answers once qemu-ga is up', async () => {
    expect(readFileSync(path.join(home, 'vms', `${GUEST}.yaml`), 'utf8')).toMatch(/^agent: true$/m);
    const pid = readFileSync(path.join(run, 'vms', GUEST, 'qemu.pid'), 'utf8').trim();
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toContain('virtserialport,bus=virtio-serial0.0,chardev=qga0,name=org.qemu.guest_agent.0');
    // The wait is qemu-ga's own answer: one sync that may wait through the boot.
    const r = await ok(['agent', GUEST, 'ping', '--timeout', String(BOOT_MS / 1000 - 60)], { timeout: BOOT_MS });
    expect(r.stdout).toContain(`guest agent of "${GUEST}" answers`);
    expect(JSON.parse((await ok(['info', GUEST, '--json'])).stdout).agent).toBe('answers');
  }, BOOT_MS);

  it('exec -- cat /etc/hostname prints the hostname cloud-init set', async () => {
    // cloud-init sets the hostname during boot: wait for it in the guest, then read the file.
    // (Its overall status is not this test's business: only that it finished.)
    const ci = await ok(['agent', GUEST, 'exec', '--timeout', '600', '--', 'sh', '-c', 'cloud-init status --wait --long >&2; exit 0'], { timeout: 660_000 });
    console.log(`cloud-init in the guest:\n${ci.stderr}`);
    expect((await ok(['agent', GUEST, 'exec', '--', 'cat', '/etc/hostname'])).stdout).toBe(`${HOSTNAME}\n`);
    expect(JSON.parse((await ok(['agent', GUEST, 'osinfo', '--json'])).stdout)).toMatchObject({ id: 'debian', 'version-id': '12' });
  }, 700_000);

  it('domifaddr --source agent shows the guest\'s address on its NIC', async () => {
    // The guest's own wait: until its NIC has the address slirp hands out.
    await ok(['agent', GUEST, 'exec', '--timeout', '300', '--', 'sh', '-c', 'until ip -4 -o addr show | grep -q " 10\\.0\\.2\\.15/"; do sleep 1; done'], { timeout: 360_000 });
    const rows = JSON.parse((await ok(['domifaddr', GUEST, '--source', 'agent', '--json'])).stdout);
    expect(rows).toContainEqual(expect.objectContaining({ nic: 'net0', address: '10.0.2.15', prefix: 24, source: 'agent' }));
  }, 400_000);

  it('a live snapshot with fsfreeze, then revert, brings back a deleted file', async () => {
    await ok(['agent', GUEST, 'exec', '--', 'sh', '-c', 'echo kept-by-snapshot > /root/keep && sync']);
    const snap = await ok(['snapshot-create-as', GUEST, 'before'], { timeout: 900_000 });
    expect(snap.stderr).toMatch(/guest agent froze [1-9]\d* filesystem\(s\) around it, thawed [1-9]/);
    expect((await ok(['agent', GUEST, 'fsfreeze', 'status'])).stdout.trim()).toBe('thawed');
    await ok(['agent', GUEST, 'exec', '--', 'sh', '-c', 'rm /root/keep && sync']);
    expect((await qkvm(['agent', GUEST, 'exec', '--', 'test', '-e', '/root/keep'])).code).toBe(1);
    const rev = await ok(['snapshot-revert', GUEST, 'before'], { timeout: 900_000 });
    expect(rev.stderr).toMatch(/guest agent thawed [1-9]\d* filesystem\(s\) frozen in the snapshot/);
    expect((await ok(['agent', GUEST, 'exec', '--', 'cat', '/root/keep'])).stdout).toBe('kept-by-snapshot\n');
  }, 1_900_000);

  it('shutdown powers it off', async () => {
    const r = await ok(['shutdown', GUEST, '--timeout', '280'], { timeout: 300_000 });
    expect(r.stderr).toMatch(/is shut off after .* \((powerdown|powerdown -> guest-shutdown)\)/);
    expect(JSON.parse((await ok(['info', GUEST, '--json'])).stdout).state).toBe('shut off');
  }, 320_000);
});
