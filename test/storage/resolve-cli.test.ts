// The one rule for disk paths typed on the command line (storage/resolve.ts).
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newImageFormat, resolveCliDisk, resolveCliDiskPath } from '../../src/storage/resolve.js';

let dir: string, cwd: string, saved: string | undefined;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'qkvm-resolve-'));
  cwd = path.join(dir, 'work');
  mkdirSync(cwd);
  saved = process.env.QKVM_HOME;
  process.env.QKVM_HOME = path.join(dir, 'home');
});
afterAll(() => {
  if (saved === undefined) delete process.env.QKVM_HOME; else process.env.QKVM_HOME = saved;
  rmSync(dir, { recursive: true, force: true });
});

describe('resolveCliDisk', () => {
  it('a bare name is a file in the current directory, absolute', () => {
    expect(resolveCliDisk('data.qcow2', cwd)).toEqual({ path: path.join(cwd, 'data.qcow2'), relative: true });
    expect(resolveCliDiskPath('sub/x.img', cwd)).toBe(path.join(cwd, 'sub/x.img'));
    expect(resolveCliDiskPath('../x.img', cwd)).toBe(path.join(dir, 'x.img'));
  });
  it('an absolute path stays, not relative', () => {
    expect(resolveCliDisk('/srv/x.qcow2', cwd)).toEqual({ path: '/srv/x.qcow2', relative: false });
  });
  it('default/NAME is the default pool, whose directory is made (0700) in a new home', () => {
    const r = resolveCliDisk('default/disk.img', cwd);
    expect(r).toEqual({ path: path.join(dir, 'home', 'images', 'disk.img'), relative: false, pool: 'default' });
    expect(statSync(path.join(dir, 'home', 'images')).mode & 0o777).toBe(0o700);
  });
  it('an existing ./default/NAME file wins over the pool', () => {
    mkdirSync(path.join(cwd, 'default'));
    writeFileSync(path.join(cwd, 'default', 'here.img'), '');
    expect(resolveCliDisk('default/here.img', cwd).path).toBe(path.join(cwd, 'default', 'here.img'));
  });
  it('with existing: a bare name not in cwd but in the default pool is that volume', () => {
    writeFileSync(path.join(dir, 'home', 'images', 'vol.qcow2'), '');
    expect(resolveCliDisk('vol.qcow2', cwd, { existing: true })).toMatchObject({ path: path.join(dir, 'home', 'images', 'vol.qcow2'), pool: 'default' });
    expect(resolveCliDisk('vol.qcow2', cwd).path).toBe(path.join(cwd, 'vol.qcow2'));
  });
  it('refuses an empty path (exit 2)', () => {
    expect(() => resolveCliDisk('', cwd)).toThrow(/empty/);
  });
});

describe('newImageFormat: the format of an image made without -f', () => {
  it('raw for .img/.raw/.bin, as qemu-img makes them; qcow2 otherwise', () => {
    expect(newImageFormat('disk.img')).toBe('raw');
    expect(newImageFormat('x.RAW')).toBe('raw');
    expect(newImageFormat('x.qcow2')).toBe('qcow2');
    expect(newImageFormat('x')).toBe('qcow2');
  });
});
