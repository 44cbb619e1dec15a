// The checks import makes before it reads a package's files: what kind of file
// it is, the manifest's form, and that a file an OVF names sits beside it.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { besideDescriptor, detectKind, parseManifest } from '../../src/interop/import.js';
import { manifestLine } from '../../src/interop/export.js';
import { tarHeader } from '../../src/interop/tar.js';

const dir = mkdtempSync(join(tmpdir(), 'qkvm-import-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('detectKind', () => {
  it('tells libvirt XML, OVF and OVA apart by content, not by name', () => {
    expect(detectKind('x', Buffer.from("<domain type='kvm'><name>a</name></domain>"))).toBe('libvirt');
    expect(detectKind('x', Buffer.from('<?xml version="1.0"?>\n<Envelope ovf:version="1.0">'))).toBe('ovf');
    expect(detectKind('x', Buffer.from('<ovf:Envelope xmlns:ovf="x">'))).toBe('ovf');
    expect(detectKind('x', Buffer.concat([tarHeader('a.ovf', 3), Buffer.alloc(512)]))).toBe('ova');
    expect(() => detectKind('notes.txt', Buffer.from('hello'))).toThrow(/notes\.txt: neither libvirt domain XML, an OVF descriptor nor an OVA archive/);
  });
});

describe('parseManifest', () => {
  it('reads the lines export writes, in any case, and keeps SHA256 only', () => {
    const m = parseManifest(manifestLine('a.ovf', 'AB'.repeat(32)) + 'SHA1(b.vmdk)= ' + 'c'.repeat(40) + '\r\n');
    expect([...m]).toEqual([['a.ovf', 'ab'.repeat(32)]]);
  });
  it('refuses a line of another form, naming it', () => {
    expect(() => parseManifest('MD5(a)= 00\n')).toThrow(/manifest line "MD5\(a\)= 00"/);
  });
});

describe('besideDescriptor', () => {
  const pkg = join(dir, 'pkg');
  mkdirSync(pkg);
  writeFileSync(join(pkg, 'disk.vmdk'), 'x');
  writeFileSync(join(dir, 'elsewhere.vmdk'), 'y');
  symlinkSync(join(dir, 'elsewhere.vmdk'), join(pkg, 'link.vmdk'));
  mkdirSync(join(pkg, 'sub.vmdk'));

  it('gives the path of a regular file beside the descriptor', () => expect(besideDescriptor(pkg, 'disk.vmdk')).toBe(join(pkg, 'disk.vmdk')));
  it('refuses a symbolic link', () => expect(() => besideDescriptor(pkg, 'link.vmdk')).toThrow(/is a symbolic link/));
  it('refuses a directory', () => expect(() => besideDescriptor(pkg, 'sub.vmdk')).toThrow(/is not a regular file/));
  it('refuses a missing file, naming it', () => expect(() => besideDescriptor(pkg, 'gone.vmdk')).toThrow(/gone\.vmdk, named by the OVF, is not beside it/));
  it('refuses .. before looking', () => expect(() => besideDescriptor(pkg, '../elsewhere.vmdk')).toThrow(/must be a plain file name inside the package/));
});
