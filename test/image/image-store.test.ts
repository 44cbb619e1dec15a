// image list, info and rm over builds on disk (made here with qemu-img, not
// mmdebstrap): rm removes only a build qkvm recorded, and never one a guest's
// overlay is built on.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { saveVm } from '../../src/config/store.js';
import { findImage, listImages, removeImage } from '../../src/image/build.js';
import { recordOwned } from '../../src/storage/owned.js';
import { fakeBuild as fakeBuildIn, privateHome } from './fake-build.js';

let home: string;
beforeAll(() => { home = privateHome('imgstore'); });
afterAll(() => rmSync(home, { recursive: true, force: true }));

const fakeBuild = (key: string, built: string) => fakeBuildIn(home, key, built);

describe('image list, info, rm', () => {
  it('lists builds newest first; IMAGE means the newest, IMAGE-KEY that one', () => {
    fakeBuild('aaaaaaaaaaaa', '2026-01-01T00:00:00.000Z');
    fakeBuild('bbbbbbbbbbbb', '2026-02-01T00:00:00.000Z');
    expect(listImages().map((m) => m.id)).toEqual(['debian-12-bbbbbbbbbbbb', 'debian-12-aaaaaaaaaaaa']);
    expect(findImage('debian-12').id).toBe('debian-12-bbbbbbbbbbbb');
    expect(findImage('debian-12-aaaaaaaaaaaa').key).toBe('aaaaaaaaaaaa');
    expect(() => findImage('debian-13')).toThrow(/no image "debian-13" is built/);
  });

  it('rm refuses a build qkvm did not record', async () => {
    await expect(removeImage('debian-12-aaaaaaaaaaaa')).rejects.toThrow(/not an image qkvm recorded/);
    expect(existsSync(path.join(home, 'images', 'base', 'debian-12-aaaaaaaaaaaa', 'disk.qcow2'))).toBe(true);
  });

  it('rm refuses while an overlay is built on it, then removes the recorded build', async () => {
    const dir = path.join(home, 'images', 'base', 'debian-12-bbbbbbbbbbbb');
    await recordOwned(path.join(dir, 'disk.qcow2'), { by: 'image build' });
    const overlay = path.join(home, 'images', 'g.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-b', path.join(dir, 'disk.qcow2'), '-F', 'qcow2', overlay]);
    saveVm({ name: 'g', disks: [{ file: 'g.qcow2' }] });
    await expect(removeImage('debian-12-bbbbbbbbbbbb')).rejects.toThrow(/is the base of .*g\.qcow2/);
    expect(existsSync(path.join(dir, 'disk.qcow2'))).toBe(true);
    rmSync(overlay);
    expect((await removeImage('debian-12-bbbbbbbbbbbb')).removed).toBe(dir);
    expect(existsSync(dir)).toBe(false);
    expect(listImages().map((m) => m.id)).toEqual(['debian-12-aaaaaaaaaaaa']);
  });
});
