// qemu-img through `qkvm disk`, pools and volumes through `qkvm pool`/`qkvm vol`,
// all with real qemu-img; and every write refused on an image a running QEMU holds.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, holdImage, IN_CI, missingTools, type Run } from '../storage/helpers.js';

const skip = missingTools(['qemu-img', 'qemu-io', 'qemu-system-x86_64']);
if (skip && !IN_CI) console.warn(`storage-img integration tests skipped: ${skip}`);
const d = skip && !IN_CI ? describe.skip : describe;

let dir: string;
let env: { home: string; run: string };
let q: (...a: string[]) => Promise<Run>;
const stops: (() => Promise<void>)[] = [];

beforeAll(() => {
  if (skip && IN_CI) throw new Error(`storage integration tests cannot run: ${skip}`);
  dir = mkdtempSync(join(tmpdir(), 'qkvm-storage-img-'));
  env = { home: join(dir, 'home'), run: join(dir, 'run') };
  q = cli(env);
});

afterAll(async () => {
  for (const s of stops) await s();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Writes into an image the way a guest would, with QEMU's own qemu-io. */
async function io(image: string, cmd: string): Promise<void> {
  await execa('qemu-io', ['-c', cmd, image]);
}

/** The first byte the image holds, read through its whole chain. */
async function firstByte(image: string): Promise<number> {
  const out = join(dir, `read-${Date.now()}.img`);
  await execa('qemu-img', ['convert', '-O', 'raw', image, out]);
  const b = readFileSync(out)[0];
  rmSync(out);
  return b;
}

const ok = (r: Run) => {
  if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}: ${r.stderr}${r.stdout}`);
  return r;
};

d('qkvm disk (qemu-img)', () => {
  it('creates qcow2 and raw images, with a backing file and preallocation', async () => {
    const a = join(dir, 'a.qcow2');
    ok(await q('disk', 'create', a, '64M'));
    ok(await q('disk', 'create', join(dir, 'r.img'), '8M', '--format', 'raw', '--preallocation', 'full'));
    ok(await q('disk', 'create', join(dir, 'o.qcow2'), '--backing', a));
    const info = JSON.parse(ok(await q('disk', 'info', '--json', join(dir, 'o.qcow2'))).stdout);
    expect(info.format).toBe('qcow2');
    expect(info['virtual-size']).toBe(64 * 1024 * 1024);
    expect(info.chain.map((i: any) => i.filename)).toEqual([join(dir, 'o.qcow2'), a]);
    expect(info.chain[0]['full-backing-filename']).toBe(a);
    const raw = JSON.parse(ok(await q('disk', 'info', '--json', join(dir, 'r.img'))).stdout);
    expect(raw.format).toBe('raw');
    expect(raw['actual-size']).toBeGreaterThanOrEqual(8 * 1024 * 1024);
    expect(ok(await q('disk', 'info', join(dir, 'o.qcow2'))).stdout).toMatch(/backing file: .*a\.qcow2 \(qcow2\)/);
  });

  it('validates sizes and never overwrites', async () => {
    const r = await q('disk', 'create', join(dir, 'bad.qcow2'), '12Q');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/invalid size "12Q"/);
    expect(existsSync(join(dir, 'bad.qcow2'))).toBe(false);
    const again = await q('disk', 'create', join(dir, 'a.qcow2'), '1G');
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toMatch(/already exists/);
    expect(JSON.parse(ok(await q('disk', 'info', '--json', join(dir, 'a.qcow2'))).stdout)['virtual-size']).toBe(64 * 1024 * 1024);
  });

  it('checks an image', async () => {
    const r = JSON.parse(ok(await q('disk', 'check', '--json', join(dir, 'a.qcow2'))).stdout);
    expect(r.status).toBe('ok');
    expect(ok(await q('disk', 'check', join(dir, 'r.img'))).stdout).toMatch(/no metadata to check/);
  });

  it('converts with progress, and the copy holds the same data', async () => {
    const raw = join(dir, 'data.img');
    writeFileSync(raw, Buffer.concat([Buffer.from('QKVM-CONVERT-MARKER'), Buffer.alloc(4 * 1024 * 1024 - 19, 7)]));
    const r = ok(await q('disk', 'convert', raw, join(dir, 'data.qcow2'), '--format', 'qcow2'));
    expect(r.stderr).toMatch(/convert: 100%/);
    ok(await q('disk', 'convert', join(dir, 'data.qcow2'), join(dir, 'back.img'), '-O', 'raw'));
    expect(readFileSync(join(dir, 'back.img')).equals(readFileSync(raw))).toBe(true);
  });

  it('grows; shrinking needs --shrink and warns', async () => {
    const a = join(dir, 'a.qcow2');
    ok(await q('disk', 'resize', a, '+64M'));
    const size = async () => JSON.parse(ok(await q('disk', 'info', '--json', a)).stdout)['virtual-size'];
    expect(await size()).toBe(128 * 1024 * 1024);
    const refused = await q('disk', 'resize', a, '32M');
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/--shrink/);
    expect(await size()).toBe(128 * 1024 * 1024);
    // a.qcow2 is o.qcow2's base: shrinking it would cut o's view; refused until o stands alone.
    const based = await q('disk', 'resize', a, '--shrink', '--', '-64M');
    expect(based.exitCode).toBe(1);
    expect(based.stderr).toContain(`${a} is the base image of ${join(dir, 'o.qcow2')}`);
    expect(await size()).toBe(128 * 1024 * 1024);
    ok(await q('disk', 'rebase', join(dir, 'o.qcow2'), ''));
    const shrunk = ok(await q('disk', 'resize', a, '--shrink', '--', '-64M'));
    expect(shrunk.stderr).toMatch(/warning: shrinking/);
    expect(await size()).toBe(64 * 1024 * 1024);
  });

  it('lists, creates, applies and deletes internal snapshots', async () => {
    const s = join(dir, 'snap.qcow2');
    ok(await q('disk', 'create', s, '1M'));
    await io(s, 'write -P 0x41 0 4096');
    ok(await q('disk', 'snapshot', s, '-c', 'first'));
    await io(s, 'write -P 0x42 0 4096');
    const list = JSON.parse(ok(await q('disk', 'snapshot', s, '-l', '--json')).stdout);
    expect(list.map((x: any) => x.name)).toEqual(['first']);
    expect(ok(await q('disk', 'snapshot', s, '--list')).stdout).toMatch(/first/);
    expect(await firstByte(s)).toBe(0x42);
    ok(await q('disk', 'snapshot', s, '-a', 'first'));
    expect(await firstByte(s)).toBe(0x41);
    ok(await q('disk', 'snapshot', s, '-d', 'first'));
    expect(JSON.parse(ok(await q('disk', 'snapshot', s, '-l', '--json')).stdout)).toEqual([]);
    expect((await q('disk', 'snapshot', s, '-c', '123')).exitCode).toBe(2);
    expect((await q('disk', 'snapshot', s, '-a', 'nosuch')).exitCode).toBe(1);
  });

  it('commits an overlay into its base, and rebases to standalone', async () => {
    const base = join(dir, 'base.qcow2');
    ok(await q('disk', 'create', base, '1M'));
    await io(base, 'write -P 0x11 0 4096');
    const top = join(dir, 'top.qcow2');
    ok(await q('disk', 'create', top, '--backing', base));
    await io(top, 'write -P 0x22 0 4096');
    expect(await firstByte(base)).toBe(0x11);
    ok(await q('disk', 'commit', top));
    expect(await firstByte(base)).toBe(0x22);
    const flat = join(dir, 'flat.qcow2');
    ok(await q('disk', 'create', flat, '--backing', base));
    ok(await q('disk', 'rebase', flat, ''));
    expect(JSON.parse(ok(await q('disk', 'info', '--json', flat)).stdout)['backing-filename']).toBeUndefined();
    expect(await firstByte(flat)).toBe(0x22);
    ok(await q('disk', 'rebase', flat, base));
    expect(JSON.parse(ok(await q('disk', 'info', '--json', flat)).stdout)['full-backing-filename']).toBe(base);
  });

  it('refuses every write on an image a running QEMU holds, naming the guest', async () => {
    const busyBase = join(dir, 'busy-base.qcow2');
    ok(await q('disk', 'create', busyBase, '16M'));
    const img = join(dir, 'busy.qcow2');
    ok(await q('disk', 'create', img, '--backing', busyBase));
    ok(await q('disk', 'snapshot', img, '-c', 'before'));
    const holder = await holdImage(env.run, 'holder', img, 'qcow2');
    stops.push(holder.stop);
    const attempts: string[][] = [
      ['disk', 'info', img],
      ['disk', 'check', img],
      ['disk', 'resize', img, '32M'],
      ['disk', 'snapshot', img, '-c', 'x'],
      ['disk', 'snapshot', img, '-a', 'before'],
      ['disk', 'snapshot', img, '-d', 'before'],
      ['disk', 'convert', img, join(dir, 'busy-copy.qcow2')],
      ['disk', 'commit', img],
      ['disk', 'rebase', img, ''],
    ];
    for (const a of attempts) {
      const r = await q(...a);
      expect(r.exitCode, a.join(' ')).toBe(1);
      expect(r.stderr, a.join(' ')).toMatch(/is in use: QEMU holds a lock/);
      expect(r.stderr, a.join(' ')).toMatch(/guest "holder" \(QEMU pid \d+\)/);
    }
    expect(existsSync(join(dir, 'busy-copy.qcow2'))).toBe(false);
    // Reading with -U is allowed, and says nothing changed.
    const info = JSON.parse(ok(await q('disk', 'info', '--json', '-U', img)).stdout);
    expect(info['virtual-size']).toBe(16 * 1024 * 1024);
    expect(info.snapshots.map((s: any) => s.name)).toEqual(['before']);
    await holder.stop();
    ok(await q('disk', 'resize', img, '32M'));
  });
});

d('pools and volumes, the virsh flow', () => {
  it('define, build, start, autostart, list, info; vol create, list, info, clone, delete; stop, undefine', async () => {
    const target = join(dir, 'pool-fast');
    ok(await q('pool-define-as', 'fast', 'dir', '--target', target));
    expect((await q('pool', 'define', 'fast', '--type', 'dir', '--target', target)).stderr).toMatch(/already defined/);
    let pools = JSON.parse(ok(await q('pool', 'list', '--json')).stdout);
    expect(pools.map((p: any) => [p.name, p.state])).toEqual([['default', 'active'], ['fast', 'inactive']]);
    const early = await q('vol', 'create', 'fast', 'v1', '10M');
    expect(early.stderr).toMatch(/pool "fast" is not active/);
    expect((await q('pool', 'start', 'fast')).stderr).toMatch(/pool build fast/);
    ok(await q('pool-build', 'fast'));
    ok(await q('pool-start', 'fast'));
    ok(await q('pool-autostart', 'fast'));
    const info = ok(await q('pool', 'info', 'fast')).stdout;
    expect(info).toMatch(/State:\s+active/);
    expect(info).toMatch(/Autostart:\s+yes/);

    ok(await q('vol-create-as', 'fast', 'base.qcow2', '32M', '--format', 'qcow2'));
    ok(await q('vol', 'create', 'fast', 'raw.img', '8M', '--format', 'raw'));
    ok(await q('vol', 'create', 'fast', 'top.qcow2', '--backing', 'base.qcow2'));
    expect((await q('vol', 'create', 'fast', '../escape', '1M')).stderr).toMatch(/invalid name/);
    const vols = JSON.parse(ok(await q('vol-list', 'fast', '--json')).stdout);
    expect(vols.map((v: any) => [v.name, v.format, v.capacity])).toEqual([
      ['base.qcow2', 'qcow2', 32 * 1024 * 1024], ['raw.img', 'raw', 8 * 1024 * 1024], ['top.qcow2', 'qcow2', 32 * 1024 * 1024],
    ]);
    expect(ok(await q('vol', 'list', 'fast')).stdout).toMatch(/top\.qcow2\s+qcow2\s+32M/);
    const vi = JSON.parse(ok(await q('vol', 'info', 'fast', 'top.qcow2', '--json')).stdout);
    expect(vi.backing).toBe(join(target, 'base.qcow2'));
    expect(ok(await q('vol', 'info', 'fast', 'top.qcow2')).stdout).toMatch(/Backing:\s+.*base\.qcow2/);

    const cl = ok(await q('vol', 'clone', 'fast', 'raw.img', 'raw2.img'));
    expect(cl.stderr).toMatch(/100%/);
    expect(existsSync(join(target, 'raw2.img'))).toBe(true);

    // A base volume is protected while an overlay uses it; the default pool is images/.
    expect((await q('vol', 'delete', 'fast', 'base.qcow2')).stderr).toMatch(/backing file of .*top\.qcow2/);
    ok(await q('vol', 'delete', 'fast', 'top.qcow2'));
    ok(await q('vol', 'delete', 'fast', 'base.qcow2'));
    expect(existsSync(join(target, 'base.qcow2'))).toBe(false);
    ok(await q('vol', 'create', 'default', 'd.qcow2', '4M'));
    expect(existsSync(join(env.home, 'images', 'd.qcow2'))).toBe(true);

    expect((await q('pool', 'undefine', 'fast')).stderr).toMatch(/is active/);
    ok(await q('pool', 'stop', 'fast'));
    pools = JSON.parse(ok(await q('pool-list', '--json')).stdout);
    expect(pools.find((p: any) => p.name === 'fast').state).toBe('inactive');
    ok(await q('pool', 'undefine', 'fast'));
    expect(existsSync(join(target, 'raw.img'))).toBe(true);
    expect((await q('pool', 'undefine', 'default')).exitCode).toBe(2);
  });
});
