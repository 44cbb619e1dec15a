// Definitions are bounded: a file over 1 MiB is refused before it is read, a
// stored definition is never read through a symlink, lists and strings are capped.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIMITS, parseVmSpec } from '../../src/config/schema.js';
import { MAX_DEFINITION_BYTES, listVmNames, loadVm, loadVmText, parseVmYaml, readDefinitionFile, removeVmFile, rewriteDefinition, saveVm, vmExists } from '../../src/config/store.js';
import { home } from '../../src/config/paths.js';

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

describe('the store around the limits', () => {
  const vms = () => join(dir, 'home', 'vms');

  it('parses only a YAML mapping, naming the source', () => {
    for (const text of ['', 'null', '- a\n- b', '42', '"x"']) expect(() => parseVmYaml(text, 'src.yaml'), text).toThrow('src.yaml: a definition must be a YAML mapping');
    expect(() => parseVmYaml('a: [\n', 'src.yaml')).toThrow(/^src\.yaml: not valid YAML: [^\n]+$/);
    expect(parseVmYaml('name: m\n', 'src.yaml').name).toBe('m');
    expect(() => parseVmYaml('x'.repeat(MAX_DEFINITION_BYTES), 'src.yaml')).not.toThrow(/definition is/);
  });

  it('names the guest and says what to do when it is missing; checks the name first', () => {
    let e: any;
    try { loadVm('nobody'); } catch (x) { e = x; }
    expect([e.code, e.message, e.hint]).toEqual(['NOT_FOUND', 'guest "nobody" is not defined', 'see `qkvm list --all`, or define it: `qkvm create nobody --memory 512M` (`qkvm templates` lists ready-made ones)']);
    expect(() => loadVm('../x')).toThrow('guest name: invalid name "../x"');
    expect(() => loadVmText('../x')).toThrow('guest name: invalid name "../x"');
    expect(() => vmExists('../x')).toThrow('guest name: invalid name "../x"');
    expect(() => removeVmFile('../x')).toThrow('guest name: invalid name "../x"');
    expect(() => loadVmText('nobody')).toThrow('guest "nobody" is not defined');
    expect(vmExists('nobody')).toBe(false);
  });

  it('saves, refuses to overwrite unless told, and removes the definition with its snapshot records', () => {
    const s = saveVm({ name: 'keep', memory: '1G' });
    expect(s.memory).toBe('1G');
    expect(vmExists('keep')).toBe(true);
    let e: any;
    try { saveVm({ name: 'keep' }); } catch (x) { e = x; }
    expect([e.code, e.message, e.hint]).toEqual(['EXISTS', 'guest "keep" is already defined', 'pick another name, or `qkvm undefine keep` first']);
    expect(saveVm({ name: 'keep', memory: '2G' }, { overwrite: true }).memory).toBe('2G');
    expect(() => saveVm({ name: 'keep', memory: '-1G' } as never, { overwrite: true })).toThrow('guest "keep": invalid definition\n  memory = "-1G": -1G is negative');
    writeFileSync(home.snapshotsFile('keep'), '[]');
    removeVmFile('keep');
    expect(vmExists('keep')).toBe(false);
    expect(existsSync(home.snapshotsFile('keep'))).toBe(false);
    removeVmFile('keep');
  });

  it('rewrites fields in place, deleting those set to undefined', () => {
    writeFileSync(join(vms(), 'rw.yaml'), '# mine\nname: rw\ndescription: old\nautostart: true\n');
    const spec = rewriteDefinition('rw', { description: 'new', autostart: undefined });
    expect([spec.description, spec.autostart]).toEqual(['new', false]);
    expect(readFileSync(join(vms(), 'rw.yaml'), 'utf8')).toBe('# mine\nname: rw\ndescription: new\n');
  });

  it('lists only .yaml files with valid names, not hidden ones, sorted', () => {
    for (const f of ['b.yaml', 'a.yaml', '.hidden.yaml', 'notes.txt', '.b.yaml.rejected']) writeFileSync(join(vms(), f), 'name: x\n');
    const names = listVmNames();
    expect(names.filter((n) => ['a', 'b'].includes(n))).toEqual(['a', 'b']);
    expect(names.some((n) => n.startsWith('.') || n.includes('notes') || n.startsWith('-'))).toBe(false);
    const saved = process.env.QKVM_HOME;
    process.env.QKVM_HOME = join(dir, 'nothing-here');
    try { expect(listVmNames()).toEqual([]); } finally { process.env.QKVM_HOME = saved; }
  });
});
