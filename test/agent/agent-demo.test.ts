// The guest agent end to end with the real qemu-ga (Debian's 7.2) inside the
// demo guest (demo-agent.ts): one guest under TCG, private QKVM_HOME/QKVM_RUN,
// a user-mode NIC (no host interface is touched) and a small qcow2 data disk.
// Waits are on the guest's own markers (console lines, the agent's sync reply).
import { execa } from 'execa';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, DEMO_DIR, IN_CI, Serial } from '../net/lab.js';
import { missing } from '../safety/world.js';
import { ensureAgentInitrd, START_AGENT } from './demo-agent.js';

const why = missing();
if (why && !IN_CI) console.warn(`agent-demo integration test skipped: ${why}`);
const d = why && !IN_CI ? describe.skip : describe;

const NAME = 'qga1';
const home = mkdtempSync(path.join(tmpdir(), 'qkvm-agent-home-'));
const runDir = mkdtempSync(path.join(tmpdir(), 'qkvm-agent-run-'));
const env = { QKVM_HOME: home, QKVM_RUN: runDir, PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
let con: Serial | undefined;

const qkvm = async (args: string[], o: { input?: string } = {}) => {
  const r = await execa('node', [CLI, ...args], { env, extendEnv: false, reject: false, input: o.input ?? '', timeout: 180_000, stripFinalNewline: false });
  return { code: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
};
const ok = async (args: string[], o: { input?: string } = {}) => {
  const r = await qkvm(args, o);
  expect(r.code, `qkvm ${args.join(' ')}\n${r.stdout}\n${r.stderr}`).toBe(0);
  return r;
};

function define(agent: boolean): void {
  const spec = {
    name: NAME, memory: '256M', accel: 'tcg', agent,
    kernel: path.join(DEMO_DIR, 'vmlinuz'), initrd: ensureAgentInitrd(),
    append: `console=ttyS0 quiet qkvm.hostname=${NAME}`,
    disks: [{ file: path.join(home, 'data.qcow2'), format: 'qcow2', external: true, readonly: false }],
    nics: [{ type: 'user', model: 'virtio' }],
  };
  const file = path.join(home, `${NAME}.yaml`);
  writeFileSync(file, JSON.stringify(spec)); // JSON is YAML
}

async function boot(): Promise<Serial> {
  await ok(['start', NAME]);
  con?.close();
  con = await Serial.connect(path.join(runDir, 'vms', NAME, 'serial.sock'));
  await con.waitFor(/QKVM-DEMO-READY/);
  await con.waitFor(/demo# /);
  return con;
}

d('the guest agent in a real guest (demo guest + Debian qemu-ga)', () => {
  beforeAll(async () => {
    if (why) throw new Error(`agent-demo: ${why}`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(home, 'data.qcow2'), '64M']);
    define(true);
    await ok(['define', path.join(home, `${NAME}.yaml`)]);
    const c = await boot();
    // A filesystem to freeze and snapshot, then the agent.
    expect((await c.run('mke2fs -q /dev/vda && mkdir -p /mnt/data && mount /dev/vda /mnt/data')).status).toBe(0);
    expect((await c.run(START_AGENT)).out).toMatch(/QKVM-AGENT-UP \/dev\/vport\d+p\d+/);
  }, 300_000);

  afterAll(async () => {
    con?.close();
    await qkvm(['destroy', NAME]);
    rmSync(home, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
  }, 60_000);

  it('agent ping answers, and info says the agent answers', async () => {
    // The agent's own answer is the marker: ping syncs with a deadline.
    expect((await ok(['agent', NAME, 'ping', '--timeout', '30'])).stdout).toContain(`guest agent of "${NAME}" answers`);
    const info = JSON.parse((await ok(['info', NAME, '--json'])).stdout);
    expect(info.agent).toBe('answers');
    expect((await ok(['info', NAME])).stdout).toMatch(/Agent:\s+answers/);
  });

  it('agent info names the version and the commands', async () => {
    const r = JSON.parse((await ok(['agent', NAME, 'info', '--json'])).stdout);
    expect(r.version).toMatch(/^7\.2\./);
    expect(r.supported_commands.map((c: any) => c.name)).toContain('guest-exec');
  });

  it('exec -- cat /etc/hostname prints the guest\'s hostname; the exit status is qkvm\'s', async () => {
    expect((await ok(['agent', NAME, 'exec', '--', 'cat', '/etc/hostname'])).stdout).toBe(`${NAME}\n`);
    const r = await qkvm(['agent', NAME, 'exec', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
    expect(r).toMatchObject({ code: 3, stdout: 'out\n' });
    expect(r.stderr).toContain('err');
  });

  it('osinfo, time and network answer', async () => {
    expect(JSON.parse((await ok(['agent', NAME, 'osinfo', '--json'])).stdout)['kernel-release']).toMatch(/cloud-amd64/);
    const t = JSON.parse((await ok(['agent', NAME, 'time', '--json'])).stdout);
    expect(t.nanoseconds).toBeGreaterThan(1.6e18);
    const ifs = JSON.parse((await ok(['agent', NAME, 'network', '--json'])).stdout);
    expect(ifs.map((i: any) => i.name)).toContain('lo');
  });

  it('domifaddr --source agent shows the address the guest has on its NIC', async () => {
    await con!.waitFor(/QKVM-NET eth0 10\.0\.2\.15/);
    const rows = JSON.parse((await ok(['domifaddr', NAME, '--source', 'agent', '--json'])).stdout);
    expect(rows).toContainEqual(expect.objectContaining({ nic: 'net0', address: '10.0.2.15', prefix: 24, source: 'agent', guestIf: 'eth0' }));
    expect((await ok(['domifaddr', NAME, '--source', 'agent'])).stdout).toMatch(/net0.*10\.0\.2\.15\/24\s+agent/);
  });

  it('fsfreeze freeze, status, thaw', async () => {
    expect((await ok(['agent', NAME, 'fsfreeze', 'status'])).stdout.trim()).toBe('thawed');
    expect((await ok(['agent', NAME, 'fsfreeze', 'freeze'])).stdout).toMatch(/^1 filesystem frozen/);
    expect((await ok(['agent', NAME, 'fsfreeze', 'status'])).stdout.trim()).toBe('frozen');
    expect((await ok(['agent', NAME, 'fsfreeze', 'thaw'])).stdout).toMatch(/^1 filesystem thawed/);
    expect((await ok(['agent', NAME, 'fsfreeze', 'status'])).stdout.trim()).toBe('thawed');
  });

  it('a live snapshot freezes and thaws the filesystems; reverting brings a deleted file back', async () => {
    await ok(['agent', NAME, 'exec', '--', 'sh', '-c', 'echo kept > /mnt/data/keep && sync']);
    const snap = await ok(['snapshot-create-as', NAME, 'before']);
    expect(snap.stderr).toMatch(/guest agent froze 1 filesystem\(s\) around it, thawed 1/);
    expect((await ok(['agent', NAME, 'fsfreeze', 'status'])).stdout.trim()).toBe('thawed');
    await ok(['agent', NAME, 'exec', '--', 'sh', '-c', 'rm /mnt/data/keep && sync']);
    expect((await qkvm(['agent', NAME, 'exec', '--', 'cat', '/mnt/data/keep'])).code).not.toBe(0);
    // The snapshot's RAM state is a frozen guest: the revert thaws it, as the snapshot did.
    const rev = await ok(['snapshot-revert', NAME, 'before']);
    expect(rev.stderr).toMatch(/guest agent thawed 1 filesystem\(s\) frozen in the snapshot/);
    expect((await ok(['agent', NAME, 'fsfreeze', 'status'])).stdout.trim()).toBe('thawed');
    expect((await ok(['agent', NAME, 'exec', '--', 'cat', '/mnt/data/keep'])).stdout).toBe('kept\n');
  });

  it('bad input is refused with exit 2 before anything is sent', async () => {
    expect((await qkvm(['agent', NAME, 'fsfreeze', 'melt'])).code).toBe(2);
    expect((await qkvm(['agent', NAME, 'exec'])).code).toBe(2);
    const r = await qkvm(['agent', NAME, 'set-user-password', 'bad user'], { input: 'pw\n' });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('bad user name "bad user"');
    expect((await qkvm(['agent', '../x', 'ping'])).code).toBe(2);
  });

  it('set-user-password reads the password from stdin and the guest gets it as it was typed', async () => {
    const r = await ok(['agent', NAME, 'set-user-password', 'root'], { input: 'Secr3t pw é\n' });
    expect(r.stdout).toContain('password of "root" set');
    expect(r.stdout + r.stderr).not.toContain('Secr3t');
    // qemu-ga decoded the base64 and fed "USER:PASSWORD" to chpasswd (the demo guest's records it).
    expect((await ok(['agent', NAME, 'exec', '--', 'cat', '/run/chpasswd.in'])).stdout).toBe('root:Secr3t pw é\n');
  });

  it('shutdown falls back to guest-shutdown when the guest ignores ACPI, and says so', async () => {
    // The guest stops listening to its power button.
    expect((await con!.run('kill $(cat /run/acpid.pid)')).status).toBe(0);
    const r = await ok(['shutdown', NAME, '--acpi-timeout', '3', '--timeout', '60']);
    expect(r.stderr).toContain('asking its guest agent (guest-shutdown)');
    expect(r.stderr).toMatch(/shut off .*\(powerdown -> guest-shutdown\)/);
    expect((await ok(['domstate', NAME])).stdout.trim()).toBe('shut off');
  }, 120_000);

  it('a guest started without agent: true has no agent: a clear error, and info says none', async () => {
    await qkvm(['destroy', NAME]); // when run alone (-t), the shutdown case above did not run
    define(false);
    await ok(['define', path.join(home, `${NAME}.yaml`), '--overwrite']);
    await boot();
    const r = await qkvm(['agent', NAME, 'ping']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`guest "${NAME}" has no guest agent channel`);
    expect(r.stderr).toContain('agent: true');
    expect(JSON.parse((await ok(['info', NAME, '--json'])).stdout).agent).toBe('not wired');
    expect(JSON.parse(readFileSync(path.join(runDir, 'vms', NAME, 'spec.json'), 'utf8')).agent).toBe(false);
  }, 120_000);
});
