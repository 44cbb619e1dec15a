// Definitions are bounded: a file over 1 MiB is refused before it is read, a
// stored definition is never read through a symlink, lists and strings are capped.
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS, parseVmSpec } from '../../src/config/schema.js';
import { MAX_DEFINITION_BYTES, listVmNames, loadVm, parseVmYaml, readDefinitionFile } from '../../src/config/store.js';

let dir: string;
const saved = process.env.QKVM_HOME;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'qkvm-limits-'));
  process.env.QKVM_HOME = join(dir, 'home');
  mkdirSync(join(dir, 'home', 'vms'), { recursive: true });
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
  if (saved === undefined) delete process.env.QKVM_HOME; else process.env.QKVM_HOME = saved;
});

describe('readDefinitionFile', () => {
  it('reads a file up to the limit, and refuses one byte more, naming the file and the limit', () => {
    const ok = join(dir, 'ok.yaml');
    writeFileSync(ok, 'x'.repeat(MAX_DEFINITION_BYTES));
    expect(readDefinitionFile(ok)).toHaveLength(MAX_DEFINITION_BYTES);
    const big = join(dir, 'big.yaml');
    writeFileSync(big, 'x'.repeat(MAX_DEFINITION_BYTES + 1));
    for (const follow of [false, true]) {
      expect(() => readDefinitionFile(big, { follow })).toThrow(`${big}: the definition is ${MAX_DEFINITION_BYTES + 1} bytes, more than the limit of 1048576 bytes (1 MiB)`);
    }
    expect(() => parseVmYaml('x'.repeat(MAX_DEFINITION_BYTES + 1), 'src.yaml')).toThrow('src.yaml: the definition is 1048577 bytes');
  });

  it('refuses a symlink among its own files, follows one the user named', () => {
    const target = join(dir, 't.yaml');
    writeFileSync(target, 'name: t\n');
    const link = join(dir, 'l.yaml');
    symlinkSync(target, link);
    expect(() => readDefinitionFile(link)).toThrow(`${link}: is a symbolic link`);
    expect(readDefinitionFile(link, { follow: true })).toBe('name: t\n');
  });

  it('refuses what is not a regular file, without waiting on a FIFO', () => {
    expect(() => readDefinitionFile(dir, { follow: true })).toThrow(`${dir}: not a regular file`);
    const fifo = join(dir, 'fifo');
    spawnSync('mkfifo', [fifo]);
    expect(() => readDefinitionFile(fifo, { follow: true })).toThrow(`${fifo}: not a regular file`);
    expect(() => readDefinitionFile(fifo)).toThrow(`${fifo}: not a regular file`);
  });

  it('passes ENOENT on for the caller to word', () => {
    expect(() => readDefinitionFile(join(dir, 'none.yaml'))).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => loadVm('absent')).toThrow('guest "absent" is not defined');
  });

  it('loads a stored definition, refuses a stored symlink, and skips bad names in listings', () => {
    const vms = join(dir, 'home', 'vms');
    writeFileSync(join(vms, 'good.yaml'), 'name: good\n');
    writeFileSync(join(vms, '-bad.yaml'), 'name: "-bad"\n');
    symlinkSync(join(vms, 'good.yaml'), join(vms, 'linked.yaml'));
    expect(loadVm('good').name).toBe('good');
    expect(() => loadVm('linked')).toThrow('is a symbolic link');
    expect(listVmNames()).toEqual(['good', 'linked']);
  });
});

describe('schema caps', () => {
  const over = (n: number, make: (i: number) => unknown) => Array.from({ length: n + 1 }, (_, i) => make(i));
  it.each([
    ['disks', LIMITS.disks, (i: number) => ({ file: `/d${i}` }), /disks = \[65 items\]: Array must contain at most 64 element/],
    ['nics', LIMITS.nics, () => ({ type: 'user' }), /nics = \[33 items\]: Array must contain at most 32/],
    ['extraArgs', LIMITS.extraArgs, () => '-S', /extraArgs = \[257 items\]: Array must contain at most 256/],
    ['numa', LIMITS.numa, () => ({ cpus: '0', memory: '1M' }), /numa = \[65 items\]: Array must contain at most 64/],
  ])('caps %s at %i', (field, n, make, msg) => {
    expect(() => parseVmSpec({ name: 'g', [field]: over(n, make) })).toThrow(msg);
    if (field !== 'numa') expect(() => parseVmSpec({ name: 'g', [field]: over(n - 1, make) })).not.toThrow();
  });

  it('caps strings and shows long values cut short', () => {
    let msg = '';
    try { parseVmSpec({ name: 'g', description: 'd'.repeat(LIMITS.text + 1) }); } catch (e) { msg = (e as Error).message; }
    expect(msg).toContain(`description = "${'d'.repeat(99)}... (${LIMITS.text + 3} characters): String must contain at most 4096`);
    expect(() => parseVmSpec({ name: 'g', kernel: `/${'k'.repeat(LIMITS.path)}` })).toThrow(/kernel = .*at most 4096/);
    expect(() => parseVmSpec({ name: 'g', extraArgs: ['x'.repeat(LIMITS.text + 1)] })).toThrow(/extraArgs\[0\]/);
    expect(() => parseVmSpec({ name: 'g', nics: [{ type: 'user', hostfwd: over(LIMITS.hostfwd, (i) => `tcp:127.0.0.1:${1000 + i}-:22`) }] })).toThrow(/hostfwd = \[65 items\]/);
  });

  it('reports at most 20 problems', () => {
    let msg = '';
    try { parseVmSpec({ name: 'g', disks: Array.from({ length: 30 }, () => ({ file: '' })) }); } catch (e) { msg = (e as Error).message; }
    expect(msg.split('\n')).toHaveLength(22);
    expect(msg).toMatch(/\.\.\. and 10 more problems$/);
  });
});
