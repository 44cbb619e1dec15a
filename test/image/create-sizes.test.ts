// create's disk sizes, over a fake debian-12 build (a 64M qcow2 made here):
// a linked clone's overlay takes the size asked for and never less than its
// base; and a create that fails, before or after its first image, leaves no
// image, no record and no definition behind, and never touches a disk it did
// not make.
import { execFileSync } from 'node:child_process';
import { existsSync, lstatSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGuest } from '../../src/runtime/define.js';
import { readOwned } from '../../src/storage/owned.js';
import { fakeBuild, privateHome } from './fake-build.js';

let home: string;
let base: string;
beforeAll(() => {
  home = privateHome('createsize');
  base = path.join(fakeBuild(home, 'cccccccccccc', '2026-01-01T00:00:00.000Z'), 'disk.qcow2');
});
afterAll(() => rmSync(home, { recursive: true, force: true }));

const images = () => path.join(home, 'images');
const info = (file: string) => JSON.parse(execFileSync('qemu-img', ['info', '--output=json', file], { encoding: 'utf8' }));
/** Nothing of guest NAME: no image file, no record, no definition. */
function nothingOf(name: string): void {
  expect(readdirSync(images()).filter((f) => f.startsWith(name))).toEqual([]);
  expect(readOwned().filter((r) => r.guest === name)).toEqual([]);
  expect(existsSync(path.join(home, 'vms', `${name}.yaml`))).toBe(false);
}

describe('create: disk sizes', () => {
  it('a linked clone with a size: the overlay has that size, on the base', async () => {
    await createGuest('big', { template: 'debian-12', diskSizes: { 0: '128M' } });
    const i = info(path.join(images(), 'big.qcow2'));
    expect(i['virtual-size']).toBe(128 << 20);
    expect(i['backing-filename']).toBe(base);
    expect(readOwned().map((r) => r.path)).toContain(path.join(images(), 'big.qcow2'));
  });

  it('a linked clone without a size keeps the base size', async () => {
    await createGuest('same', { template: 'debian-12' });
    expect(info(path.join(images(), 'same.qcow2'))['virtual-size']).toBe(64 << 20);
  });

  it('refuses a linked clone smaller than its base, naming both sizes, and makes nothing', async () => {
    await expect(createGuest('small', { template: 'debian-12', diskSizes: { 0: '32M' } }))
      .rejects.toMatchObject({ code: 'INVALID', message: expect.stringMatching(/disk size 32M: smaller than the base image .*disk\.qcow2 \(64M\)/) });
    nothingOf('small');
  });

  it('a bad size on a later disk: not even the first image is made', async () => {
    await expect(createGuest('late', { template: 'debian-12', overrides: { disks: [{ file: 'late.qcow2', format: 'qcow2' }, { file: 'late-b.qcow2' }] } as any, diskSizes: { 0: '128M', 1: 'foo' } }))
      .rejects.toMatchObject({ code: 'INVALID', message: expect.stringContaining('"foo"') });
    nothingOf('late');
  });

  it('a size for a disk the guest does not have is refused', async () => {
    await expect(createGuest('nodisk', { diskSizes: { 0: '1G' } }))
      .rejects.toMatchObject({ code: 'INVALID', message: expect.stringMatching(/disk size 1G: guest "nodisk" has no disk 1/) });
    nothingOf('nodisk');
  });

  it('a failure after the first image removes it and its record, and leaves a disk it did not make', async () => {
    // keep.qcow2 exists already (create skips it); half.qcow2 is made; then the
    // third disk's name is a dangling symlink, which qkvm never writes through.
    const keep = path.join(images(), 'keep.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', keep, '16M']);
    const target = path.join(home, 'elsewhere.qcow2');
    const link = path.join(images(), 'half-c.qcow2');
    symlinkSync(target, link);
    const disks = [{ file: 'keep.qcow2' }, { file: 'half.qcow2' }, { file: 'half-c.qcow2' }];
    await expect(createGuest('half', { overrides: { disks } as any, diskSizes: { 0: '16M', 1: '16M', 2: '16M' } }))
      .rejects.toMatchObject({ code: 'EXISTS' });
    expect(existsSync(path.join(images(), 'half.qcow2'))).toBe(false);
    expect(readOwned().filter((r) => r.guest === 'half')).toEqual([]);
    expect(existsSync(path.join(home, 'vms', 'half.yaml'))).toBe(false);
    expect(info(keep)['virtual-size']).toBe(16 << 20);
    expect(existsSync(target)).toBe(false);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });
});
