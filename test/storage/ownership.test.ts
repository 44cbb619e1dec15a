// The record of created images, the removal decision and the path rules, on
// real temp dirs: real files, symlinks, a FIFO, and a device node made with
// mknod inside the temp dir (a copy of /dev/null's 1:3; no real device is touched).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { forgetOwned, identity, ownedFile, ownedRecord, readOwned, realPathNoFollow, recordOwned, setOwner, type OwnedImage } from '../../src/storage/owned.js';
import { ownershipProblem, planGuestStorageRemoval, removeGuestStorage, unlinkIfSame, type UseFacts } from '../../src/storage/remove.js';
import { definePool } from '../../src/storage/pool.js';
import { assertDiskPlacement, diskFileType, insidePool, placementProblem, poolRoots } from '../../src/storage/placement.js';
import { backingChain, backingFileOf, imagesBackedBy } from '../../src/storage/backing.js';
import { checkSaveTarget } from '../../src/migrate/save.js';
import { SAVE_MAGIC } from '../../src/migrate/header.js';

let dir: string, images: string, fast: string, outside: string, dev: string, fifo: string;

function mknodOk(path: string, type: 'c' | 'b', maj: number, min: number): void {
  const r = spawnSync('mknod', [path, type, String(maj), String(min)]);
  if (r.status !== 0) throw new Error(`mknod ${path} failed (root is needed): ${r.stderr}`);
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'qkvm-own-'));
  process.env.QKVM_HOME = join(dir, 'home');
  process.env.QKVM_RUN = join(dir, 'run');
  images = join(dir, 'home', 'images');
  fast = join(dir, 'fast');
  outside = join(dir, 'outside');
  for (const d of [images, fast, outside]) mkdirSync(d, { recursive: true });
  definePool({ name: 'fast', target: fast });
  dev = join(outside, 'null-copy');
  mknodOk(dev, 'c', 1, 3);
  fifo = join(outside, 'fifo');
  execFileSync('mkfifo', [fifo]);
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  delete process.env.QKVM_HOME;
  delete process.env.QKVM_RUN;
});
beforeEach(() => { rmSync(ownedFile(), { force: true }); });

const file = (path: string, text = 'img') => { writeFileSync(path, text); return path; };
const noUse: UseFacts = { guestsUsing: () => [], backingUsers: () => [], processesHolding: () => [] };

describe('the record of created images', () => {
  it('records a regular file by real path, device and inode, with its guest and command', async () => {
    const p = file(join(images, 'a.qcow2'));
    const rec = await recordOwned(p, { by: 'create', guest: 'g1' });
    const st = identity(p);
    expect(rec).toMatchObject({ path: p, dev: st.dev, ino: st.ino, guest: 'g1', by: 'create' });
    expect(Date.parse(rec.created)).toBeGreaterThan(Date.now() - 60_000);
    expect(readOwned()).toEqual([rec]);
    const doc = JSON.parse(readFileSync(ownedFile(), 'utf8'));
    expect(doc.version).toBe(1);
    expect(ownedFile()).toBe(join(dir, 'home', 'storage', 'owned.json'));
  });
  it('leaves out the guest for volumes, and replaces an earlier record of the same path', async () => {
    const p = file(join(images, 'v.qcow2'));
    await recordOwned(p, { by: 'vol create', guest: 'old' });
    const rec = await recordOwned(p, { by: 'vol create' });
    expect('guest' in rec).toBe(false);
    expect(readOwned()).toHaveLength(1);
    const q = file(join(images, 'w.qcow2'));
    await recordOwned(q, { by: 'disk create' });
    expect(readOwned().map((r) => r.path)).toEqual([p, q]);
  });
  it('records a file reached through a symlinked directory by its real path', async () => {
    const link = join(dir, 'images-link');
    symlinkSync(images, link);
    const p = file(join(images, 'via.qcow2'));
    const rec = await recordOwned(join(link, 'via.qcow2'), { by: 'disk create' });
    expect(rec.path).toBe(p);
    expect(realPathNoFollow(join(link, 'via.qcow2'))).toBe(p);
    unlinkSync(link);
  });
  it('refuses to record a symlink, a device or a FIFO', async () => {
    const l = join(images, 'l.qcow2');
    symlinkSync(file(join(outside, 't')), l);
    await expect(recordOwned(l, { by: 'x' })).rejects.toThrow(`${l} is not a regular file`);
    await expect(recordOwned(dev, { by: 'x' })).rejects.toThrow(/not a regular file/);
    await expect(recordOwned(fifo, { by: 'x' })).rejects.toThrow(/not a regular file/);
    expect(existsSync(ownedFile())).toBe(false);
    unlinkSync(l);
  });
  it('reads a missing, corrupt or foreign record as empty (nothing removable)', () => {
    expect(readOwned()).toEqual([]);
    mkdirSync(join(dir, 'home', 'storage'), { recursive: true });
    writeFileSync(ownedFile(), '{not json');
    expect(readOwned()).toEqual([]);
    writeFileSync(ownedFile(), 'null');
    expect(readOwned()).toEqual([]);
    writeFileSync(ownedFile(), JSON.stringify({ version: 1, images: 'x' }));
    expect(readOwned()).toEqual([]);
    writeFileSync(ownedFile(), JSON.stringify({ version: 1, images: [null, { path: '/a', dev: 1, ino: '2' }, { path: '/a', dev: '1', ino: 2 }, { path: 3, dev: '1', ino: '2' }, { path: '/ok', dev: '1', ino: '2', created: '', by: 'x' }] }));
    expect(readOwned().map((r) => r.path)).toEqual(['/ok']);
  });
  it('finds a record only for the same inode: a file swapped after creation is "replaced"', async () => {
    const p = file(join(images, 's.qcow2'));
    const rec = await recordOwned(p, { by: 'create', guest: 'g' });
    expect(ownedRecord(p)).toEqual({ rec, replaced: false });
    const other = file(join(images, 'other'));
    renameSync(other, p);
    expect(ownedRecord(p)).toEqual({ rec, replaced: true });
    expect(ownedRecord(join(images, 'none'))).toEqual({ replaced: false });
    expect(ownedRecord(file(join(images, 'unrec')))).toEqual({ replaced: false });
  });
  it('a device with the same inode number on another device is not the recorded file', async () => {
    const p = file(join(images, 'd.qcow2'));
    const rec = await recordOwned(p, { by: 'create' });
    const fake: OwnedImage = { ...rec, dev: String(BigInt(rec.dev) + 1n) };
    expect(ownedRecord(p, [fake]).replaced).toBe(true);
    const fake2: OwnedImage = { ...rec, ino: String(BigInt(rec.ino) + 1n) };
    expect(ownedRecord(p, [fake2]).replaced).toBe(true);
  });
  it('forgets records, and changes an owner', async () => {
    const a = file(join(images, 'fa')), b = file(join(images, 'fb'));
    await recordOwned(a, { by: 'x', guest: 'g1' });
    await recordOwned(b, { by: 'x' });
    await setOwner(b, 'g2');
    expect(readOwned().find((r) => r.path === b)?.guest).toBe('g2');
    expect(readOwned().find((r) => r.path === a)?.guest).toBe('g1');
    await setOwner(b, undefined);
    expect('guest' in readOwned().find((r) => r.path === b)!).toBe(false);
    await forgetOwned([]);
    await forgetOwned([a]);
    expect(readOwned().map((r) => r.path)).toEqual([b]);
  });
});

describe('the path rules', () => {
  it('names the kind of file QEMU would open', () => {
    expect(diskFileType(file(join(images, 'k')))).toBe('file');
    expect(diskFileType(join(images, 'missing'))).toBe('missing');
    expect(diskFileType(dev)).toBe('char');
    expect(diskFileType(fifo)).toBe('fifo');
    expect(diskFileType(outside)).toBe('directory');
  });
  it('a file is inside a pool only when its real path is', () => {
    const roots = poolRoots();
    expect(roots).toEqual(expect.arrayContaining([images, fast]));
    expect(insidePool(join(images, 'x.qcow2'), roots)).toBe(true);
    expect(insidePool(join(fast, 'sub', 'x.qcow2'), roots)).toBe(true);
    expect(insidePool(join(outside, 'x.qcow2'), roots)).toBe(false);
    expect(insidePool(images, roots)).toBe(false);
    expect(insidePool(`${images}-evil/x`, roots)).toBe(false);
    const esc = join(images, 'escape');
    symlinkSync(outside, esc);
    expect(insidePool(join(esc, 'x.qcow2'), roots)).toBe(false);
    unlinkSync(esc);
  });
  it('refuses special files always, and files outside pools or block devices without the field', () => {
    expect(placementProblem({ file: join(images, 'x.qcow2') }, 'f')).toBeUndefined();
    expect(placementProblem({ file: 'fast/x.qcow2' }, 'f')).toBeUndefined();
    expect(placementProblem({ file: dev, external: true }, 'f')?.message).toBe(`f: ${dev} is a character device, which can never be a disk`);
    expect(placementProblem({ file: fifo, external: true, hostDevice: true }, 'f')?.message).toMatch(/is a FIFO/);
    expect(placementProblem({ file: outside }, 'f')?.message).toMatch(/is a directory/);
    const out = file(join(outside, 'shadow'));
    const p = placementProblem({ file: out }, 'disks[0].file')!;
    expect(p.message).toContain(`disks[0].file: ${out} is outside every storage pool`);
    expect(p.hint).toContain('external: true');
    expect(placementProblem({ file: out, external: true }, 'f')).toBeUndefined();
    expect(placementProblem({ file: out, hostDevice: true }, 'f')?.message).toMatch(/is not a block device/);
    // A symlink in a pool pointing outside is outside.
    const l = join(images, 'shadow-link');
    symlinkSync(out, l);
    expect(placementProblem({ file: l }, 'f')?.message).toMatch(/outside every storage pool/);
    unlinkSync(l);
    expect(() => assertDiskPlacement([{ file: join(images, 'ok') }, { file: out }], 'guest "g"')).toThrow(`guest "g": disks[1].file: ${out} is outside`);
    expect(() => assertDiskPlacement([{ file: join(images, 'ok') }], 'guest "g"')).not.toThrow();
  });
  it('a block device needs hostDevice: true', () => {
    const blk = join(outside, 'blk');
    mknodOk(blk, 'b', 7, 200);
    try {
      expect(diskFileType(blk)).toBe('block');
      const p = placementProblem({ file: blk, external: true }, 'f')!;
      expect(p.message).toBe(`f: ${blk} is a host block device; qkvm attaches one only when the definition says so`);
      expect(p.hint).toContain('hostDevice: true');
      expect(placementProblem({ file: blk, hostDevice: true }, 'f')).toBeUndefined();
    } finally { unlinkSync(blk); }
  });
});

describe('the removal decision', () => {
  const roots = () => poolRoots();
  it('keeps what is not a regular file qkvm recorded inside a pool, with the reason', async () => {
    const owned = readOwned();
    expect(ownershipProblem(join(images, 'nope'), { roots: roots(), owned })).toBe('it does not exist');
    const l = join(images, 'sym.qcow2');
    symlinkSync(file(join(outside, 'victim')), l);
    expect(ownershipProblem(l, { roots: roots(), owned })).toBe('it is a symbolic link, not a regular file: qkvm removes only image files it created');
    unlinkSync(l);
    expect(ownershipProblem(dev, { roots: roots(), owned })).toMatch(/^it is a character device, not a regular file/);
    expect(ownershipProblem(fifo, { roots: roots(), owned })).toMatch(/^it is a FIFO, not/);
    expect(ownershipProblem(outside, { roots: roots(), owned })).toMatch(/^it is a directory, not/);
    const devIn = join(images, 'nullcopy');
    mknodOk(devIn, 'c', 1, 3);
    expect(ownershipProblem(devIn, { roots: roots(), owned })).toMatch(/^it is a character device/);
    unlinkSync(devIn);
    const blk = join(images, 'blk');
    mknodOk(blk, 'b', 7, 201);
    expect(ownershipProblem(blk, { roots: roots(), owned })).toMatch(/^it is a block device/);
    unlinkSync(blk);
  });
  it('keeps a recorded file outside pools, an unrecorded one, a swapped one and another guest\'s', async () => {
    const out = file(join(outside, 'rec.qcow2'));
    await recordOwned(out, { by: 'disk create' });
    const unrec = file(join(images, 'unrec.qcow2'));
    const swapped = file(join(images, 'swap.qcow2'));
    await recordOwned(swapped, { by: 'create', guest: 'g1' });
    renameSync(file(join(images, 'tmp')), swapped);
    const theirs = file(join(fast, 'theirs.qcow2'));
    await recordOwned(theirs, { by: 'create', guest: 'g2' });
    const mine = file(join(fast, 'mine.qcow2'));
    await recordOwned(mine, { by: 'create', guest: 'g1' });
    const vol = file(join(images, 'vol.qcow2'));
    await recordOwned(vol, { by: 'vol create' });
    const owned = readOwned();
    const o = { guest: 'g1', roots: roots(), owned };
    expect(ownershipProblem(out, o)).toBe(`it is outside every storage pool (${roots().join(', ')}): qkvm never removes such a file`);
    expect(ownershipProblem(unrec, o)).toMatch(/^qkvm has no record of creating it/);
    expect(ownershipProblem(swapped, o)).toMatch(/^it is not the file qkvm created there on .*another file took its name/);
    expect(ownershipProblem(theirs, o)).toBe('qkvm created it for guest "g2", not "g1"');
    expect(ownershipProblem(theirs, { roots: roots(), owned })).toBeUndefined();
    expect(ownershipProblem(mine, o)).toBeUndefined();
    expect(ownershipProblem(vol, o)).toBeUndefined();
  });
  it('plans: media and explicit disks kept, duplicates once, other users, overlays and processes kept', async () => {
    const own = file(join(images, 'own.qcow2'));
    await recordOwned(own, { by: 'create', guest: 'g1' });
    const shared = file(join(images, 'shared.qcow2'));
    await recordOwned(shared, { by: 'create', guest: 'g1' });
    const base = file(join(images, 'base.qcow2'));
    await recordOwned(base, { by: 'create', guest: 'g1' });
    const open = file(join(images, 'open.qcow2'));
    await recordOwned(open, { by: 'create', guest: 'g1' });
    const iso = file(join(images, 'inst.iso'));
    await recordOwned(iso, { by: 'create', guest: 'g1' });
    const cd = file(join(images, 'cd.img'));
    const ro = file(join(images, 'ro.img'));
    const ext = file(join(images, 'ext.img'));
    const hd = file(join(images, 'hd.img'));
    const facts: UseFacts = {
      guestsUsing: (p, except) => { expect(except).toBe('g1'); return p === shared ? ['g2', 'g3'] : []; },
      backingUsers: (p) => (p === base ? ['/x/overlay.qcow2', '/x/o2'] : p === own ? [open] : []),
      processesHolding: (p) => (p === open ? [4242, 4343] : []),
    };
    const plan = planGuestStorageRemoval({ name: 'g1', disks: [
      { file: own }, { file: own }, { file: 'own.qcow2' }, { file: shared }, { file: base }, { file: open },
      { file: cd, media: 'cdrom' }, { file: ro, readonly: true }, { file: iso }, { file: ext, external: true }, { file: hd, hostDevice: true },
      { file: join(images, 'gone.qcow2') }, { file: 'no/such/thing' },
    ] as any }, { facts });
    expect(plan.remove).toEqual([own]);
    expect(plan.keep).toEqual([
      { path: shared, why: 'also a disk of g2, g3' },
      { path: cd, why: 'a CD-ROM' },
      { path: ro, why: 'read-only (shared media)' },
      { path: iso, why: 'an ISO image' },
      { path: ext, why: 'an external file (external: true): qkvm never removes it' },
      { path: hd, why: 'a host device (hostDevice: true): qkvm never removes it' },
      { path: base, why: 'the backing file of /x/overlay.qcow2, /x/o2' },
      { path: open, why: 'open in process 4242, 4343' },
    ]);
  });
  it('a name that merely contains .iso is not an ISO; a socket is kept', async () => {
    const notIso = file(join(images, 'x.iso.qcow2'));
    await recordOwned(notIso, { by: 'create', guest: 'g1' });
    expect(planGuestStorageRemoval({ name: 'g1', disks: [{ file: notIso }] as any }, { facts: noUse })).toEqual({ remove: [notIso], keep: [] });
    const sock = join(images, 'sock');
    const srv = net.createServer();
    await new Promise<void>((res) => srv.listen(sock, res));
    try {
      expect(ownershipProblem(sock, { roots: poolRoots(), owned: [] })).toMatch(/^it is a socket, not a regular file/);
    } finally { await new Promise((res) => srv.close(res)); }
  });
  it('an overlay and its base both owned by the guest go together', async () => {
    const top = file(join(images, 'top.qcow2')), bottom = file(join(images, 'bottom.qcow2'));
    await recordOwned(top, { by: 'create', guest: 'g1' });
    await recordOwned(bottom, { by: 'create', guest: 'g1' });
    const facts: UseFacts = { ...noUse, backingUsers: (p) => (p === bottom ? [top] : []) };
    const plan = planGuestStorageRemoval({ name: 'g1', disks: [{ file: top }, { file: bottom }] as any }, { facts });
    expect(plan).toEqual({ remove: [top, bottom], keep: [] });
  });
  it('unlinks only the same inode', async () => {
    const p = file(join(images, 'u.qcow2'));
    await recordOwned(p, { by: 'create' });
    const owned = readOwned();
    renameSync(file(join(images, 'u2')), p);
    expect(unlinkIfSame(p, owned)).toBe(false);
    expect(existsSync(p)).toBe(true);
    expect(unlinkIfSame(join(images, 'nothing'), owned)).toBe(false);
    expect(unlinkIfSame(file(join(images, 'never')), owned)).toBe(false);
    await recordOwned(p, { by: 'create' });
    expect(unlinkIfSame(p, readOwned())).toBe(true);
    expect(existsSync(p)).toBe(false);
  });
  it('removes for real only the guest\'s own recorded files, forgets them, and drops the clone record', async () => {
    const own = file(join(images, 'real-own.qcow2'));
    await recordOwned(own, { by: 'create', guest: 'rg' });
    const victim = file(join(outside, 'victim.txt'), 'precious');
    const link = join(images, 'real-link.qcow2');
    symlinkSync(victim, link);
    const unrec = file(join(images, 'real-unrec.qcow2'));
    const other = file(join(images, 'other.qcow2'));
    await recordOwned(other, { by: 'create', guest: 'x' });
    mkdirSync(join(dir, 'home', 'vms'), { recursive: true });
    writeFileSync(join(dir, 'home', 'vms', 'rg.clone.json'), '{}');
    const r = await removeGuestStorage({ name: 'rg', disks: [{ file: own }, { file: link }, { file: dev }, { file: unrec }, { file: victim }] as any });
    expect(r.remove).toEqual([own]);
    expect(r.keep.map((k) => k.path)).toEqual([link, dev, unrec, victim]);
    expect(r.keep.map((k) => k.why)).toEqual([
      expect.stringMatching(/^it is a symbolic link, not a regular file/),
      expect.stringMatching(/^it is a character device, not a regular file/),
      expect.stringMatching(/^qkvm has no record of creating it/),
      expect.stringMatching(/^it is outside every storage pool/),
    ]);
    expect(existsSync(own)).toBe(false);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
    expect(existsSync(link) && existsSync(dev) && existsSync(unrec)).toBe(true);
    expect(readOwned().map((x) => x.path)).toEqual([other]);
    expect(existsSync(join(dir, 'home', 'vms', 'rg.clone.json'))).toBe(false);
  });
});

/** A minimal qcow2 header: magic, version 3, backing name at offset 512. */
function qcow2With(path: string, backing?: string): string {
  const buf = Buffer.alloc(1024);
  buf.writeUInt32BE(0x514649fb, 0);
  buf.writeUInt32BE(3, 4);
  if (backing) {
    buf.writeBigUInt64BE(512n, 8);
    buf.writeUInt32BE(Buffer.byteLength(backing), 16);
    buf.write(backing, 512);
  }
  writeFileSync(path, buf);
  return path;
}

describe('backing chains from the qcow2 header', () => {
  it('reads absolute, relative and file: names, and ignores raw, protocols and special files', () => {
    const sub = join(dir, 'chain');
    mkdirSync(sub, { recursive: true });
    const base = file(join(sub, 'base.raw'), 'raw data');
    const mid = qcow2With(join(sub, 'mid.qcow2'), 'base.raw');
    const top = qcow2With(join(sub, 'top.qcow2'), mid);
    const f = qcow2With(join(sub, 'f.qcow2'), `file:${base}`);
    expect(backingFileOf(mid)).toBe(base);
    expect(backingFileOf(top)).toBe(mid);
    expect(backingFileOf(f)).toBe(base);
    expect(backingFileOf(base)).toBeUndefined();
    expect(backingFileOf(qcow2With(join(sub, 'alone.qcow2')))).toBeUndefined();
    expect(backingFileOf(qcow2With(join(sub, 'nbd.qcow2'), 'nbd://host/x'))).toBeUndefined();
    expect(backingFileOf(fifo)).toBeUndefined();
    expect(backingFileOf(join(sub, 'missing'))).toBeUndefined();
    expect(backingChain(top)).toEqual([mid, base]);
    const loop = qcow2With(join(sub, 'loop.qcow2'), 'loop.qcow2');
    expect(backingChain(loop)).toHaveLength(32);
    // By inode: a hard link or a symlink to the base is the base.
    const alias = join(sub, 'alias');
    symlinkSync(base, alias);
    expect(imagesBackedBy(alias, [top, mid, base, f, alias])).toEqual([f, mid, top].sort());
    expect(imagesBackedBy(top, [top, mid, base])).toEqual([]);
    expect(imagesBackedBy(join(sub, 'missing'), [top])).toEqual([]);
  });
  it('agrees with qemu-img on a real overlay', () => {
    const sub = join(dir, 'real');
    mkdirSync(sub, { recursive: true });
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', join(sub, 'b.qcow2'), '1M']);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', 'b.qcow2', '-F', 'qcow2', join(sub, 'o.qcow2')]);
    expect(backingChain(join(sub, 'o.qcow2'))).toEqual([join(sub, 'b.qcow2')]);
  });
});

describe('changes to a base', () => {
  it('commit, snapshot --apply and shrink refuse a base that other images are built on', async () => {
    const base = qcow2With(join(images, 'cb-base.qcow2'));
    const o1 = qcow2With(join(images, 'cb-o1.qcow2'), base);
    const o2 = qcow2With(join(fast, 'cb-o2.qcow2'), base);
    const { assertNoOverlays } = await import('../../src/storage/guard.js');
    expect(() => assertNoOverlays(base, 'commit X', [o1])).toThrow(`commit X: ${base} is the base image of ${o2}; changing its data would corrupt it`);
    expect(() => assertNoOverlays(base, 'commit X')).toThrow(`is the base image of ${[o1, o2].sort().join(', ')}; changing its data would corrupt them`);
    expect(() => assertNoOverlays(base, 'commit X', [o1, o2])).not.toThrow();
    expect(() => assertNoOverlays(o1, 'resize --shrink')).not.toThrow();
    rmSync(o1); rmSync(o2); rmSync(base);
  });
});

describe('save --force targets', () => {
  it('a new name is fine; an existing one needs --force and must be an earlier save file', () => {
    const d = join(dir, 'saves');
    mkdirSync(d, { recursive: true });
    expect(() => checkSaveTarget(join(d, 'new.save'), false)).not.toThrow();
    expect(() => checkSaveTarget(join(d, 'nodir', 'x'), true)).toThrow(`save: directory ${join(d, 'nodir')} does not exist`);
    const plain = file(join(d, 'plain'));
    expect(() => checkSaveTarget(join(plain, 'x'), true)).toThrow(`save: ${plain} is not a directory`);
    expect(() => checkSaveTarget(plain, false)).toThrow(`save: ${plain} already exists`);
    expect(() => checkSaveTarget(plain, true)).toThrow(`save: ${plain} is not a qkvm save file`);
    const old = file(join(d, 'old.save'), `${SAVE_MAGIC}0000000002\n{}\n`);
    expect(() => checkSaveTarget(old, true)).not.toThrow();
    expect(() => checkSaveTarget(file(join(d, 'short'), 'QKVM'), true)).toThrow(/not a qkvm save file/);
    expect(() => checkSaveTarget(dev, true)).toThrow(`save: ${dev} is a character device; qkvm writes a save only to a new file or over an earlier save file (--force does not change this)`);
    expect(() => checkSaveTarget(fifo, true)).toThrow(/is a FIFO/);
    expect(() => checkSaveTarget(d, true)).toThrow(/is a directory/);
    const l = join(d, 'link.save');
    symlinkSync(old, l);
    expect(() => checkSaveTarget(l, true)).toThrow(`save: ${l} is a symbolic link`);
    expect(() => checkSaveTarget(l, false)).toThrow(/is a symbolic link; .* save file$/);
  });
});
