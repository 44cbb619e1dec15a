// Issue 10, item 7: one rule for where a disk path points, and a new home that works.
import { execa } from 'execa';
import { statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { learnerWorld, ok, type LearnerWorld } from './world.js';

let w: LearnerWorld;
beforeAll(() => { w = learnerWorld(); });
afterAll(() => w.cleanup());

const format = async (file: string) => JSON.parse((await execa('qemu-img', ['info', '--output=json', '-U', file])).stdout).format;

describe('a disk path typed on the command line is relative to the current directory', () => {
  it('disk create data.qcow2, then attach-disk g1 data.qcow2 finds the same file, recorded absolute and external', async () => {
    ok(await w.sh('qkvm disk create data.qcow2 64M'), 'disk create');
    ok(await w.sh('qkvm create g1 --memory 128M'), 'create');
    const r = ok(await w.sh('qkvm attach-disk g1 data.qcow2'), 'attach-disk');
    expect(r.stdout).toContain(path.join(w.dir, 'data.qcow2'));
    const d = w.definition('g1').disks[0];
    expect(d).toMatchObject({ file: path.join(w.dir, 'data.qcow2'), format: 'qcow2', external: true, readonly: false });
  });

  it('a .img made by disk create without -f is raw (as qemu-img makes it), and the definition records raw', async () => {
    ok(await w.sh('qkvm disk create plain.img 32M'), 'disk create');
    expect(await format(path.join(w.dir, 'plain.img'))).toBe('raw');
    ok(await w.sh('qkvm attach-disk g1 plain.img'), 'attach-disk');
    expect(w.definition('g1').disks[1]).toMatchObject({ file: path.join(w.dir, 'plain.img'), format: 'raw' });
  });

  it('the recorded format is the probed one, whatever the name says: a qcow2 named .img is recorded qcow2', async () => {
    ok(await w.sh('qkvm disk create -f qcow2 liar.img 32M'), 'disk create');
    ok(await w.sh('qkvm attach-disk g1 liar.img'), 'attach-disk');
    expect(w.definition('g1').disks[2]).toMatchObject({ file: path.join(w.dir, 'liar.img'), format: 'qcow2' });
  });

  it('create --from-cmdline -- -hda disk.img means ./disk.img, stored absolute with its real format', async () => {
    ok(await w.sh('qkvm disk create -f qcow2 disk.img 32M'), 'disk create');
    ok(await w.sh('qkvm create xp --from-cmdline -- qemu-kvm -m 256 -hda disk.img'), 'create --from-cmdline');
    expect(w.definition('xp').disks[0]).toMatchObject({ file: path.join(w.dir, 'disk.img'), format: 'qcow2', external: true });
  });

  it('an absolute path outside the pools still needs --external (the safety floor)', async () => {
    const r = await w.sh(`qkvm attach-disk g1 ${path.join(w.dir, 'data.qcow2')}`);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--external');
  });
});

describe('a new home works', () => {
  it('disk create default/disk.img in a new home makes images/ (0700) and the image in it', async () => {
    const fresh = learnerWorld();
    try {
      const r = ok(await fresh.sh('qkvm disk create default/disk.img 16M'), 'disk create default/disk.img');
      const img = path.join(fresh.home, 'images', 'disk.img');
      expect(r.stdout).toContain(img);
      expect(statSync(path.join(fresh.home, 'images')).mode & 0o777).toBe(0o700);
      expect(await format(img)).toBe('raw');
    } finally { fresh.cleanup(); }
  });
});
