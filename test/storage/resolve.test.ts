import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePool } from '../../src/storage/pool.js';
import { assertStartable, parseDiskRef, resolveDiskPath } from '../../src/storage/resolve.js';
import { createArgs, convertArgs, targetSize } from '../../src/storage/qemu-img.js';
import { cloneDiskFile } from '../../src/storage/clone.js';
import { writeCloneRecord } from '../../src/storage/links.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'qkvm-resolve-'));
  process.env.QKVM_HOME = join(dir, 'home');
  process.env.QKVM_RUN = join(dir, 'run');
  definePool({ name: 'fast', target: join(dir, 'fast') });
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  delete process.env.QKVM_HOME;
  delete process.env.QKVM_RUN;
});

describe('resolveDiskPath', () => {
  it('keeps absolute paths', () => {
    expect(resolveDiskPath('/srv/img/a.qcow2')).toBe('/srv/img/a.qcow2');
    expect(resolveDiskPath('/srv//img/../a.qcow2')).toBe('/srv/a.qcow2');
  });
  it('puts a bare name in the default pool (images/)', () => {
    expect(resolveDiskPath('web.qcow2')).toBe(join(dir, 'home', 'images', 'web.qcow2'));
    expect(parseDiskRef('web.qcow2')).toMatchObject({ pool: 'default', volume: 'web.qcow2' });
  });
  it('reads POOL/VOLUME through the pool definition', () => {
    expect(resolveDiskPath('fast/db.qcow2')).toBe(join(dir, 'fast', 'db.qcow2'));
    expect(resolveDiskPath('default/x')).toBe(join(dir, 'home', 'images', 'x'));
  });
  it('names an undefined pool', () => {
    expect(() => resolveDiskPath('nosuch/db.qcow2')).toThrow(/pool "nosuch" is not defined/);
  });
  it('resolves ./ and ../ against the current directory', () => {
    expect(resolveDiskPath('./a.img')).toBe(resolve('a.img'));
    expect(resolveDiskPath('../a.img')).toBe(resolve('..', 'a.img'));
  });
  it('refuses bad names and deeper relative paths', () => {
    expect(() => resolveDiskPath('a/b/c')).toThrow(/not a path, POOL\/VOLUME/);
    expect(() => resolveDiskPath('.hidden')).toThrow(/invalid name/);
    expect(() => resolveDiskPath('fast/..')).toThrow(/invalid name/);
    expect(() => resolveDiskPath('')).toThrow(/empty/);
  });
});

describe('qemu-img arguments', () => {
  it('checks sizes and options before anything runs', () => {
    expect(createArgs({ file: '/x.qcow2', size: '1G' })).toEqual(['create', '-q', '-f', 'qcow2', '/x.qcow2', String(1024 ** 3)]);
    expect(createArgs({ file: '/x.qcow2', backingFile: '/b,c.qcow2', backingFormat: 'raw', preallocation: 'metadata' }))
      .toEqual(['create', '-q', '-f', 'qcow2', '-o', 'backing_file=/b,,c.qcow2,backing_fmt=raw,preallocation=metadata', '/x.qcow2']);
    expect(() => createArgs({ file: '/x', size: '12Q' })).toThrow(/invalid size "12Q"/);
    expect(() => createArgs({ file: '/x' })).toThrow(/needs a size/);
    expect(() => createArgs({ file: '/x', format: 'raw', backingFile: '/b' })).toThrow(/only qcow2/);
    expect(() => createArgs({ file: '/x', format: 'vmdk' as any, size: '1G' })).toThrow(/unsupported format "vmdk"/);
    expect(() => createArgs({ file: '/x', format: 'raw', size: '1G', preallocation: 'metadata' })).toThrow(/metadata/);
  });
  it('builds convert with progress', () => {
    expect(convertArgs({ source: '/a', target: '/b', format: 'raw', forceShare: true })).toEqual(['convert', '-p', '-O', 'raw', '-U', '/a', '/b']);
    expect(() => convertArgs({ source: '/a', target: '/b', format: 'raw', compress: true })).toThrow(/compression/);
  });
  it('reads resize sizes absolute and relative', () => {
    const G = 1024 ** 3;
    expect(targetSize(G, '2G')).toBe(2 * G);
    expect(targetSize(G, '+512M')).toBe(1.5 * G);
    expect(targetSize(2 * G, '-1G')).toBe(G);
    expect(() => targetSize(G, '-1G')).toThrow(/no space/);
    expect(() => targetSize(G, '+lots')).toThrow(/invalid size/);
  });
});

describe('clone disk names', () => {
  it('keeps the form of the source reference', () => {
    const imgs = join(dir, 'home', 'images');
    expect(cloneDiskFile('web.qcow2', join(imgs, 'web.qcow2'), 'web2', 'vda', 0, '.qcow2')).toEqual({ file: 'web2.qcow2', path: join(imgs, 'web2.qcow2') });
    expect(cloneDiskFile('fast/db.img', join(dir, 'fast', 'db.img'), 'web2', 'vdb', 1, '.img')).toEqual({ file: 'fast/web2-vdb.img', path: join(dir, 'fast', 'web2-vdb.img') });
    expect(cloneDiskFile('/srv/a.qcow2', '/srv/a.qcow2', 'b', 'vda', 0, '.qcow2')).toEqual({ file: '/srv/b.qcow2', path: '/srv/b.qcow2' });
  });
});

describe('assertStartable', () => {
  it('ignores clone records: the base is protected by what it is (test/storage/ownership, test/integration/storage-ownership)', async () => {
    writeCloneRecord('gone', { source: 'base', linked: true, created: '', disks: [{ overlay: join(dir, 'o.qcow2'), backing: join(dir, 'b.qcow2') }] });
    await expect(assertStartable('base', false, { disks: [] })).resolves.toBeUndefined();
  });
  it('refuses a disk outside every pool without external: true, naming the path and the field', async () => {
    const out = join(dir, 'out.img');
    writeFileSync(out, 'x');
    await expect(assertStartable('g', false, { disks: [{ file: out } as any] })).rejects.toThrow(`guest "g": disks[0].file: ${out} is outside every storage pool`);
    await expect(assertStartable('g', true, { disks: [{ file: out, external: true, readonly: true } as any] })).resolves.toBeUndefined();
  });
});
