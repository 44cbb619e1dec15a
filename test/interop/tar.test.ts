// The .ova container: what qkvm writes, tar(1) reads; what qkvm reads from an
// archive from anywhere is only regular files with plain names.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { extractMember, listTar, readMemberText, tarHeader, writeTar } from '../../src/interop/tar.js';

const dir = mkdtempSync(join(tmpdir(), 'qkvm-tar-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, data: string | Buffer) => { const p = join(dir, name); writeFileSync(p, data); return p; };

describe('writeTar', () => {
  it('writes members in order that GNU tar lists and extracts byte for byte', async () => {
    const a = file('a.ovf', '<Envelope/>\n');
    const b = file('b.vmdk', Buffer.alloc(1500, 7));
    const out = join(dir, 'x.ova');
    const seen: number[] = [];
    await writeTar(out, [{ name: 'a.ovf', path: a, size: 12 }, { name: 'b.vmdk', path: b, size: 1500 }], (d) => seen.push(d));
    expect(execFileSync('tar', ['tf', out], { encoding: 'utf8' }).trim().split('\n')).toEqual(['a.ovf', 'b.vmdk']);
    const x = join(dir, 'x'); mkdirSync(x);
    execFileSync('tar', ['xf', out, '-C', x]);
    expect(readFileSync(join(x, 'b.vmdk'))).toEqual(Buffer.alloc(1500, 7));
    expect(seen.at(-1)).toBe(1512);
    const m = listTar(out);
    expect(m.map((e) => [e.name, e.size])).toEqual([['a.ovf', 12], ['b.vmdk', 1500]]);
    expect(readMemberText(out, m[0])).toBe('<Envelope/>\n');
    await extractMember(out, m[1], join(dir, 'copy'));
    expect(readFileSync(join(dir, 'copy'))).toEqual(Buffer.alloc(1500, 7));
  });

  it('never writes over a file', async () => {
    const a = file('c.ovf', 'x');
    const out = file('exists.ova', 'keep me');
    await expect(writeTar(out, [{ name: 'c.ovf', path: a, size: 1 }])).rejects.toThrow(/EEXIST/);
    expect(readFileSync(out, 'utf8')).toBe('keep me');
  });

  it('refuses member names that are not plain file names', () => {
    for (const n of ['../x', '/etc/x', 'a/b', 'x'.repeat(101)]) expect(() => tarHeader(n, 1)).toThrow(/plain file name/);
  });
});

describe('listTar refuses what could escape or mislead', () => {
  const make = (name: string, args: string[], cwd: string) => { execFileSync('tar', ['cf', join(dir, name), ...args], { cwd }); return join(dir, name); };
  const src = join(dir, 'src'); mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'd.ovf'), 'x');
  symlinkSync('/etc/hostname', join(src, 'link.vmdk'));
  mkdirSync(join(src, 'sub'));
  writeFileSync(join(src, 'sub', 'in.vmdk'), 'y');

  it('a symbolic link member', () => expect(() => listTar(make('sym.ova', ['d.ovf', 'link.vmdk'], src))).toThrow(/link\.vmdk" is not a regular file \(tar type '2'\)/));
  it('a directory member', () => expect(() => listTar(make('dir.ova', ['d.ovf', 'sub'], src))).toThrow(/"sub\/" is not a regular file/));
  it('a member in a subdirectory', () => expect(() => listTar(make('nested.ova', ['d.ovf', 'sub/in.vmdk'], src))).toThrow(/"sub\/in\.vmdk" is not a plain file name/));
  it('a member named with ..', () => {
    writeFileSync(join(dir, 'outside.vmdk'), 'z');
    expect(() => listTar(make('dots.ova', ['-P', 'd.ovf', '../outside.vmdk'], src))).toThrow(/"\.\.\/outside\.vmdk" is not a plain file name/);
  });
  it('an absolute member name', () => expect(() => listTar(make('abs.ova', ['-P', join(src, 'd.ovf')], src))).toThrow(/is not a plain file name/));
  it('a damaged header', () => {
    const p = make('bad.ova', ['d.ovf'], src);
    const b = readFileSync(p); b[10] ^= 0xff; writeFileSync(p, b);
    expect(() => listTar(p)).toThrow(/bad header checksum/);
  });
  it('a truncated archive', () => {
    writeFileSync(join(src, 'big.vmdk'), Buffer.alloc(4096, 1));
    const p = make('trunc.ova', ['big.vmdk'], src);
    writeFileSync(p, readFileSync(p).subarray(0, 2048));
    expect(() => listTar(p)).toThrow(/runs past the end/);
  });
});
