// Storage with real demo guests under TCG: snapshots (live and shut off) seen
// from inside the guest, disk hotplug, linked and full clones, undefine with
// and without --remove-storage. One guest runs at a time.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, GuestConsole, holdImage, IN_CI, missingTools, REPO, type Run } from '../storage/helpers.js';

const DEMO_DIR = process.env.QKVM_DEMO_DIR ?? join(process.env.QKVM_TEST_CACHE ?? '/var/tmp/qkvm-test-cache', 'demo');
const skip = missingTools(['qemu-img', 'qemu-system-x86_64', 'cpio', 'busybox']);
if (skip && !IN_CI) console.warn(`storage-guests integration tests skipped: ${skip}`);
const d = skip && !IN_CI ? describe.skip : describe;

let dir: string;
let env: { home: string; run: string };
let q: (...a: string[]) => Promise<Run>;
const started = new Set<string>();

const ok = (r: Run) => {
  if (r.exitCode !== 0) throw new Error(`exit ${r.exitCode}: ${r.stderr}${r.stdout}`);
  return r;
};

function defineGuest(name: string, disks: object[], extra = ''): Promise<Run> {
  const yaml = [
    `name: ${name}`, 'memory: 256M', 'accel: tcg', 'machine: pc',
    `kernel: ${join(DEMO_DIR, 'vmlinuz')}`, `initrd: ${join(DEMO_DIR, 'initrd.img')}`, 'append: console=ttyS0',
    `disks: ${JSON.stringify(disks)}`, extra,
  ].join('\n');
  const file = join(dir, `${name}.yaml`);
  writeFileSync(file, yaml + '\n');
  return q('define', file);
}

async function start(name: string, ...flags: string[]): Promise<GuestConsole> {
  ok(await q('start', name, ...flags));
  started.add(name);
  const con = new GuestConsole(env.run, name);
  await con.ready();
  return con;
}

async function shutdown(name: string): Promise<void> {
  ok(await q('shutdown', name, '--timeout', '60'));
  started.delete(name);
}

/** The first bytes of an image as the host reads them, through its whole backing chain. */
async function hostMarker(image: string): Promise<string> {
  const out = join(dir, `read-${Date.now()}.raw`);
  await execa('qemu-img', ['convert', '-U', '-O', 'raw', image, out]);
  const b = readFileSync(out).subarray(0, 32);
  rmSync(out);
  return b.toString('latin1').replace(/\0+$/, '');
}

const img = (name: string) => join(env.home, 'images', name);

beforeAll(async () => {
  if (skip && IN_CI) throw new Error(`storage guest tests cannot run: ${skip}`);
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'qkvm-storage-guests-'));
  env = { home: join(dir, 'home'), run: join(dir, 'run') };
  q = cli(env);
  // Builds the demo guest once into the shared cache; a no-op when it is up to date.
  await execa('bash', [join(REPO, 'scripts/build-demo-guest.sh'), DEMO_DIR], { timeout: 600_000 });
  ok(await q('vol', 'create', 'default', 'g1.qcow2', '64M'));
  ok(await defineGuest('g1', [{ file: 'g1.qcow2' }], 'nics: [{ type: user, mac: "52:54:00:aa:bb:01" }]'));
}, 600_000);

afterAll(async () => {
  for (const name of started) await q('destroy', name).catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

d('guest snapshots, seen by the guest', () => {
  it('live: snapshot-save, overwrite, snapshot-load brings the marker back', async () => {
    const con = await start('g1');
    await con.writeMarker('/dev/vda', 'MARK-ONE');
    expect(await con.readMarker('/dev/vda')).toBe('MARK-ONE');
    const r = ok(await q('snapshot', 'create', 'g1', 'live1', '--description', 'before the overwrite'));
    expect(r.stderr).toMatch(/with RAM state/);
    await con.writeMarker('/dev/vda', 'MARK-TWO');
    expect(await con.readMarker('/dev/vda')).toBe('MARK-TWO');
    ok(await q('snapshot-revert', 'g1', 'live1'));
    expect(await con.readMarker('/dev/vda')).toBe('MARK-ONE');
    const list = JSON.parse(ok(await q('snapshot', 'list', 'g1', '--json')).stdout);
    expect(list).toEqual([expect.objectContaining({ name: 'live1', vmState: true, current: true, description: 'before the overwrite' })]);
    expect(list[0].vmStateSize).toBeGreaterThan(0);
    // An automatic name, and the table with the current marker.
    const auto = ok(await q('snapshot-create-as', 'g1')).stdout.trim();
    expect(auto).toMatch(/^snap-\d{8}-\d{6}/);
    const table = ok(await q('snapshot-list', 'g1')).stdout;
    expect(table).toMatch(new RegExp(`\\*\\s+${auto}\\s.*yes`));
    expect(table).toMatch(/^\s+live1\s/m);
    ok(await q('snapshot', 'delete', 'g1', auto));
    expect(JSON.parse(ok(await q('snapshot', 'list', 'g1', '--json')).stdout).map((s: any) => s.name)).toEqual(['live1']);
  });

  it('shut off: qemu-img snapshots on the disks, revert seen after the next boot', async () => {
    await shutdown('g1');
    expect(await hostMarker(img('g1.qcow2'))).toBe('MARK-ONE');
    const r = ok(await q('snapshot', 'create', 'g1', 'off1'));
    expect(r.stderr).toMatch(/disk-only/);
    let con = await start('g1');
    await con.writeMarker('/dev/vda', 'MARK-THREE');
    // A disk-only snapshot has no RAM to load into a running guest.
    const live = await q('snapshot', 'revert', 'g1', 'off1');
    expect(live.exitCode).toBe(1);
    expect(live.stderr).toMatch(/disk-only/);
    await shutdown('g1');
    expect(await hostMarker(img('g1.qcow2'))).toBe('MARK-THREE');
    ok(await q('snapshot', 'revert', 'g1', '--current'));
    con = await start('g1');
    expect(await con.readMarker('/dev/vda')).toBe('MARK-ONE');
    await shutdown('g1');
    const list = JSON.parse(ok(await q('snapshot', 'list', 'g1', '--json')).stdout);
    expect(list.map((s: any) => [s.name, s.vmState, s.current, s.parent ?? null])).toEqual([
      ['live1', true, false, null], ['off1', false, true, 'live1'],
    ]);
    ok(await q('snapshot', 'delete', 'g1', 'off1'));
    ok(await q('snapshot', 'delete', 'g1', 'live1'));
    expect(JSON.parse(ok(await q('snapshot', 'list', 'g1', '--json')).stdout)).toEqual([]);
  });

  it('refuses a guest with a raw or read-only disk, and says why', async () => {
    await execa('qemu-img', ['create', '-f', 'raw', img('raw.img'), '8M']);
    ok(await defineGuest('rawg', [{ file: 'raw.img', format: 'raw' }]));
    const r = await q('snapshot', 'create', 'rawg');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/is raw: internal snapshots .* qcow2/);
    ok(await q('vol', 'create', 'default', 'ro.qcow2', '8M'));
    ok(await defineGuest('rog', [{ file: 'ro.qcow2', readonly: true }]));
    expect((await q('snapshot', 'create', 'rog')).stderr).toMatch(/is read-only: internal snapshots .* qcow2/);
    ok(await q('undefine', 'rawg'));
    ok(await q('undefine', 'rog'));
  });
});

d('disk hotplug', () => {
  it('a hot-plugged disk appears in the guest, is written by it, and is gone after detach', async () => {
    ok(await q('vol', 'create', 'default', 'extra.qcow2', '16M'));
    const con = await start('g1');
    expect((await con.run('[ -b /dev/vdb ] && echo "VDB=yes" || echo "VDB=no"'))).toMatch(/\nVDB=no/);
    const a = ok(await q('attach-disk', 'g1', 'extra.qcow2', '--target', 'vdb'));
    expect(a.stdout).toMatch(/as vdb \(qcow2\), live/);
    // The guest's kernel sees the new PCI device and makes /dev/vdb.
    await con.run('while [ ! -b /dev/vdb ]; do sleep 0.1; done');
    await con.writeMarker('/dev/vdb', 'HOTPLUG-OK');
    expect(await con.readMarker('/dev/vdb')).toBe('HOTPLUG-OK');
    // The image is in use: QEMU's lock refuses another writer.
    expect((await q('disk', 'resize', img('extra.qcow2'), '32M')).stderr).toMatch(/guest "g1"/);
    ok(await q('detach-disk', 'g1', 'vdb'));
    expect(await con.run('[ -b /dev/vdb ] && echo "VDB=yes" || echo "VDB=no"')).toMatch(/\nVDB=no/);
    expect(await hostMarker(img('extra.qcow2'))).toBe('HOTPLUG-OK');
    // blockdev-del released both nodes: the same target can be attached again, and the lock is gone.
    ok(await q('attach-disk', 'g1', 'extra.qcow2', '--target', 'vdb'));
    ok(await q('detach-disk', 'g1', 'vdb'));
    ok(await q('disk', 'resize', img('extra.qcow2'), '32M'));
    // Not persisted: the definition never had it.
    expect(JSON.parse(ok(await q('dumpconfig', 'g1', '--json')).stdout).disks).toHaveLength(1);
    // An image another QEMU holds is refused by QEMU's lock, and nothing is left half-made.
    ok(await q('vol', 'create', 'default', 'held.qcow2', '8M'));
    const holder = await holdImage(env.run, 'holder', img('held.qcow2'), 'qcow2');
    let busy: Run;
    try { busy = await q('attach-disk', 'g1', 'held.qcow2', '--target', 'vdc'); } finally { await holder.stop(); }
    expect(busy.exitCode).toBe(1);
    expect(busy.stderr).toMatch(/lock/);
    expect(busy.stderr).toMatch(/guest "holder"/);
    ok(await q('attach-disk', 'g1', 'held.qcow2', '--target', 'vdc'));
    ok(await q('detach-disk', 'g1', 'vdc'));
  });

  it('refuses a clone of the running guest, unless paused (and never a linked one)', async () => {
    const r = await q('clone', 'g1', 'nope');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/is running/);
    ok(await q('suspend', 'g1'));
    expect((await q('clone', 'g1', 'nope', '--linked')).stderr).toMatch(/linked clone needs its source shut off/);
    ok(await q('clone', 'g1', 'g1-paused'));
    ok(await q('resume', 'g1'));
    expect(await hostMarker(img('g1-paused.qcow2'))).toBe('MARK-ONE');
    ok(await q('undefine', 'g1-paused', '--remove-storage'));
    expect(existsSync(img('g1-paused.qcow2'))).toBe(false);
    await shutdown('g1');
  });

  it('a shut off guest gets its definition edited', async () => {
    const a = ok(await q('attach-disk', 'g1', 'extra.qcow2'));
    expect(a.stdout).toMatch(/as vdb .* in the definition/);
    let disks = JSON.parse(ok(await q('dumpconfig', 'g1', '--json')).stdout).disks;
    expect(disks.map((x: any) => [x.file, x.target])).toEqual([['g1.qcow2', 'vda'], ['extra.qcow2', 'vdb']]);
    const con = await start('g1');
    expect(await con.readMarker('/dev/vdb')).toBe('HOTPLUG-OK');
    await shutdown('g1');
    ok(await q('detach-disk', 'g1', 'vdb'));
    disks = JSON.parse(ok(await q('dumpconfig', 'g1', '--json')).stdout).disks;
    expect(disks.map((x: any) => x.file)).toEqual(['g1.qcow2']);
  });
});

d('clones', () => {
  it('a linked clone boots, its writes leave the source image alone, and the source is protected', async () => {
    const before = readFileSync(img('g1.qcow2'));
    const r = ok(await q('clone', 'g1', 'g1-linked', '--linked'));
    expect(r.stdout).toMatch(/linked clone of g1/);
    const spec = JSON.parse(ok(await q('dumpconfig', 'g1-linked', '--json')).stdout);
    expect(spec.disks[0].file).toBe('g1-linked.qcow2');
    expect(spec.nics[0].mac).toBeUndefined();
    const info = JSON.parse(ok(await q('disk', 'info', '--json', img('g1-linked.qcow2'))).stdout);
    expect(info['full-backing-filename']).toBe(img('g1.qcow2'));

    const refused = await q('start', 'g1');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain(`${img('g1.qcow2')} is the base image of ${img('g1-linked.qcow2')} (disk of "g1-linked")`);

    const con = await start('g1-linked');
    expect(await con.readMarker('/dev/vda')).toBe('MARK-ONE');
    await con.writeMarker('/dev/vda', 'LINKED-WRITE');
    expect(await con.readMarker('/dev/vda')).toBe('LINKED-WRITE');
    await shutdown('g1-linked');
    expect(readFileSync(img('g1.qcow2')).equals(before)).toBe(true);
    expect(await hostMarker(img('g1.qcow2'))).toBe('MARK-ONE');
    expect(await hostMarker(img('g1-linked.qcow2'))).toBe('LINKED-WRITE');
    // --force does not lift the guard: the base is protected by what it is.
    const forced = await q('start', 'g1', '--force', '--paused');
    expect(forced.exitCode).toBe(1);
    expect(forced.stderr).toMatch(/--force does not change this/);
  });

  it('a full clone is independent of its source', async () => {
    const r = ok(await q('clone', 'g1', 'g1-full'));
    expect(r.stderr).toMatch(/100%/);
    const info = JSON.parse(ok(await q('disk', 'info', '--json', img('g1-full.qcow2'))).stdout);
    expect(info['backing-filename']).toBeUndefined();
    expect(await hostMarker(img('g1-full.qcow2'))).toBe('MARK-ONE');
    const con = await start('g1-full');
    await con.writeMarker('/dev/vda', 'FULL-WRITE');
    await shutdown('g1-full');
    expect(await hostMarker(img('g1-full.qcow2'))).toBe('FULL-WRITE');
    expect(await hostMarker(img('g1.qcow2'))).toBe('MARK-ONE');
  });
});

d('undefine and storage', () => {
  it('keeps every image without --remove-storage, and removes only own disks with it', async () => {
    ok(await q('undefine', 'g1-full'));
    expect(existsSync(img('g1-full.qcow2'))).toBe(true);

    // g3 shares g1's disk, has its own, and a read-only ISO.
    ok(await q('vol', 'create', 'default', 'g3.qcow2', '8M'));
    writeFileSync(img('install.iso'), Buffer.alloc(2048));
    ok(await defineGuest('g3', [{ file: 'g3.qcow2' }, { file: 'g1.qcow2', target: 'vdb' }, { file: 'install.iso', media: 'cdrom', bus: 'ide', format: 'raw' }]));
    ok(await q('undefine', 'g3', '--remove-storage'));
    expect(existsSync(img('g3.qcow2'))).toBe(false);
    expect(existsSync(img('g1.qcow2'))).toBe(true);
    expect(existsSync(img('install.iso'))).toBe(true);

    // The source's disk backs the linked clone: undefining the source keeps it.
    ok(await q('undefine', 'g1', '--remove-storage'));
    expect(existsSync(img('g1.qcow2'))).toBe(true);
    // The clone's own overlay goes; its base stays.
    ok(await q('undefine', 'g1-linked', '--remove-storage'));
    expect(existsSync(img('g1-linked.qcow2'))).toBe(false);
    expect(existsSync(img('g1.qcow2'))).toBe(true);
    expect(existsSync(img('g1-full.qcow2'))).toBe(true);
  });
});
