// Storage ownership with real qemu-img and real QEMU: a linked clone's base
// opened by another guest (writable: refused; read-only: allowed), the hint of
// the refusal pasted into a shell, the record of created images, vol adopt, and
// an external file attached read-only by default.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, GuestConsole, IN_CI, missingTools, REPO, type Run } from '../storage/helpers.js';

const DEMO_DIR = process.env.QKVM_DEMO_DIR ?? join(process.env.QKVM_TEST_CACHE ?? '/var/tmp/qkvm-test-cache', 'demo');
const skip = missingTools(['qemu-img', 'qemu-system-x86_64', 'cpio', 'busybox']);
if (skip && !IN_CI) console.warn(`storage-ownership integration tests skipped: ${skip}`);
const d = skip && !IN_CI ? describe.skip : describe;

let dir: string;
let env: { home: string; run: string };
let q: (...a: string[]) => Promise<Run>;
const started = new Set<string>();
const img = (name: string) => join(env.home, 'images', name);

const ok = (r: Run) => {
  if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}: ${r.stderr}${r.stdout}`);
  return r;
};

function defineGuest(name: string, disks: object[]): Promise<Run> {
  const yaml = [
    `name: ${name}`, 'memory: 128M', 'accel: tcg', 'machine: pc',
    `kernel: ${join(DEMO_DIR, 'vmlinuz')}`, `initrd: ${join(DEMO_DIR, 'initrd.img')}`, 'append: console=ttyS0',
    `disks: ${JSON.stringify(disks)}`,
  ].join('\n');
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml + '\n');
  return q('define', file);
}

async function start(name: string): Promise<GuestConsole> {
  ok(await q('start', name));
  started.add(name);
  const con = new GuestConsole(env.run, name);
  await con.waitFor(/QKVM-DEMO-READY/);
  return con;
}

async function destroy(name: string): Promise<void> {
  ok(await q('destroy', name));
  started.delete(name);
}

const owned = () => JSON.parse(readFileSync(join(env.home, 'storage', 'owned.json'), 'utf8')).images as { path: string; guest?: string; by: string }[];

beforeAll(async () => {
  if (skip && IN_CI) throw new Error(`storage ownership tests cannot run: ${skip}`);
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'qkvm-storage-own-'));
  env = { home: join(dir, 'home'), run: join(dir, 'run') };
  q = cli(env);
  await execa('bash', [join(REPO, 'scripts/build-demo-guest.sh'), DEMO_DIR], { timeout: 600_000 });
}, 600_000);

afterAll(async () => {
  for (const name of started) await q('destroy', name).catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

d('linked-clone bases', () => {
  it('another guest may open a clone\'s base read-only, never writable; the pasted hint frees it', async () => {
    ok(await q('vol', 'create', 'default', 'base.qcow2', '16M'));
    ok(await defineGuest('src', [{ file: 'base.qcow2' }]));
    ok(await q('clone', 'src', 'clone', '--linked'));
    expect(owned()).toEqual(expect.arrayContaining([
      expect.objectContaining({ path: img('base.qcow2'), by: 'vol create' }),
      expect.objectContaining({ path: img('clone.qcow2'), by: 'clone --linked', guest: 'clone' }),
    ]));
    const base = readFileSync(img('base.qcow2'));

    ok(await defineGuest('writer', [{ file: img('base.qcow2') }]));
    const r = await q('start', 'writer');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(`${img('base.qcow2')} is the base image of ${img('clone.qcow2')} (disk of "clone")`);
    expect(existsSync(join(env.run, 'vms', 'writer', 'qemu.pid'))).toBe(false);

    ok(await defineGuest('reader', [{ file: img('base.qcow2'), readonly: true }]));
    await start('reader');
    const pid = Number(readFileSync(join(env.run, 'vms', 'reader', 'qemu.pid'), 'utf8'));
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toMatch(/read-only=on/);
    // The running reader holds the base read-only, and a live writable attach is refused too.
    const att = await q('attach-disk', 'reader', 'base.qcow2', '--target', 'vdb');
    expect(att.exitCode).toBe(1);
    expect(att.stderr).toContain(`${img('base.qcow2')} is the base image of ${img('clone.qcow2')}`);
    await destroy('reader');
    expect(readFileSync(img('base.qcow2')).equals(base)).toBe(true);

    // The refusal's hint, pasted into a shell as it is (qkvm on PATH), makes the clone standalone.
    const hint = /`(qkvm disk rebase [^`]+)`/.exec(r.stderr)![1];
    const bin = join(dir, 'bin');
    execFileSync('mkdir', ['-p', bin]);
    writeFileSync(join(bin, 'qkvm'), `#!/bin/sh\nexec node ${join(REPO, 'dist/src/cli/main.js')} "$@"\n`, { mode: 0o755 });
    await execa('sh', ['-c', hint], { env: { PATH: `${bin}:${process.env.PATH}`, QKVM_HOME: env.home, QKVM_RUN: env.run } });
    const info = JSON.parse(ok(await q('disk', 'info', '--json', img('clone.qcow2'))).stdout);
    expect(info['backing-filename']).toBeUndefined();
    await start('writer');
    await destroy('writer');
  });
});

d('records and adoption', () => {
  it('vol delete removes a recorded volume; an unrecorded one after vol adopt; the record follows', async () => {
    ok(await q('vol', 'create', 'default', 'v1.qcow2', '8M'));
    ok(await q('vol', 'delete', 'default', 'v1.qcow2'));
    expect(existsSync(img('v1.qcow2'))).toBe(false);
    expect(owned().some((r) => r.path === img('v1.qcow2'))).toBe(false);

    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', img('old.qcow2'), '8M']);
    ok(await defineGuest('old', [{ file: 'old.qcow2' }]));
    const kept = ok(await q('undefine', 'old', '--remove-storage'));
    expect(kept.stderr).toMatch(new RegExp(`kept ${img('old.qcow2')}: qkvm has no record of creating it`));
    ok(await defineGuest('old', [{ file: 'old.qcow2' }]));
    ok(await q('vol', 'adopt', 'default', 'old.qcow2', '--guest', 'old'));
    expect(owned()).toEqual(expect.arrayContaining([expect.objectContaining({ path: img('old.qcow2'), guest: 'old', by: 'vol adopt' })]));
    const gone = ok(await q('undefine', 'old', '--remove-storage'));
    expect(gone.stderr).toContain(`removed ${img('old.qcow2')}`);
    expect(existsSync(img('old.qcow2'))).toBe(false);
  });

  it('an external file attaches read-only unless readonly: false is written, and is never removed', async () => {
    const ext = join(dir, 'outside.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', ext, '8M']);
    ok(await defineGuest('ext', [{ file: ext, external: true }]));
    expect(JSON.parse(ok(await q('dumpconfig', 'ext', '--json')).stdout).disks[0]).toMatchObject({ external: true, readonly: true });
    await start('ext');
    const pid = Number(readFileSync(join(env.run, 'vms', 'ext', 'qemu.pid'), 'utf8'));
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toMatch(/read-only=on/);
    await destroy('ext');
    const r = ok(await q('undefine', 'ext', '--remove-storage'));
    expect(r.stderr).toContain(`kept ${ext}: an external file (external: true): qkvm never removes it`);
    expect(existsSync(ext)).toBe(true);
  });
});
