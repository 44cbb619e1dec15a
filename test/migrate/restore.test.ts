// restore's decision: which definition a save file may start (never the file's
// own without --use-file-definition), what its extraArgs need, the hint that
// works when pasted, and the stream handed to QEMU as an fd at the right offset.
import { closeSync, existsSync, mkdtempSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseVmSpec, type VmSpec } from '../../src/config/schema.js';
import { saveVm } from '../../src/config/store.js';
import { extraArgsDigest, writeAllowance } from '../../src/config/trust.js';
import { QkvmError } from '../../src/errors.js';
import { encodeHeader } from '../../src/migrate/header.js';
import { canonical, comparable, openStream, planRestore, restoreCommand, restoreGuest, specDiff, STREAM_FD } from '../../src/migrate/restore.js';

const spec = (over: Record<string, unknown> = {}): VmSpec => parseVmSpec({ name: 'g1', memory: '128M', kernel: '/k', ...over });
const EXEC = ['-incoming', 'exec:touch /tmp/x'];
const FILE = '/tmp/saves/g1 save';

function errorOf(fn: () => unknown): QkvmError {
  try { fn(); } catch (e) { return e as QkvmError; }
  throw new Error('expected an error');
}

let dir: string;
const env = { home: process.env.QKVM_HOME, run: process.env.QKVM_RUN };
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'qkvm-restore-'));
  process.env.QKVM_HOME = join(dir, 'home');
  process.env.QKVM_RUN = join(dir, 'run');
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
  for (const [k, v] of [['QKVM_HOME', env.home], ['QKVM_RUN', env.run]] as const) if (v === undefined) delete process.env[k]; else process.env[k] = v;
});

describe('comparable and specDiff', () => {
  it('ignore name, description and autostart', () => {
    expect(specDiff(spec(), spec({ name: 'other', description: 'x', autostart: true }))).toEqual([]);
    expect(comparable(spec())).not.toHaveProperty('name');
    expect(comparable(spec({ description: 'd' }))).not.toHaveProperty('description');
    expect(comparable(spec({ autostart: true }))).not.toHaveProperty('autostart');
  });
  it('a stored NIC without a MAC matches the MAC the file recorded; a different MAC does not', () => {
    const stored = spec({ nics: [{ type: 'user' }] });
    const file = spec({ nics: [{ type: 'user', mac: '52:54:00:00:00:01' }] });
    expect(specDiff(stored, file)).toEqual([]);
    expect(specDiff(spec({ nics: [{ type: 'user', mac: '52:54:00:00:00:02' }] }), file)).toHaveLength(1);
    expect(comparable(stored).nics).toEqual([expect.objectContaining({ mac: undefined })]);
    // A stored NIC the file lacks is a difference, not a crash.
    expect(specDiff(spec({ nics: [{ type: 'user' }, { type: 'user' }] }), file)).toEqual([expect.stringMatching(/^  nics: stored \[.*\], in the file \[.*\]$/)]);
  });
  it('names each differing field with both values, sorted', () => {
    expect(specDiff(spec(), spec({ extraArgs: EXEC, memory: '256M' }))).toEqual([
      '  extraArgs: stored [], in the file ["-incoming","exec:touch /tmp/x"]',
      '  memory: stored "128M", in the file "256M"',
    ]);
    expect(specDiff(spec({ cpu: 'max' }), spec())).toEqual(['  cpu: stored "max", in the file (none)']);
    expect(specDiff(spec(), spec({ cpu: 'max' }))).toEqual(['  cpu: stored (none), in the file "max"']);
  });
});

describe('canonical', () => {
  it('sorts keys at every depth, keeps arrays in order', () => {
    expect(canonical({ b: 1, a: { d: [2, 1], c: null } })).toBe('{"a":{"c":null,"d":[2,1]},"b":1}');
    expect(canonical(undefined)).toBeUndefined();
    expect(canonical('x')).toBe('"x"');
  });
});

describe('restoreCommand', () => {
  it('repeats the command with the missing flags, quoted for the shell', () => {
    expect(restoreCommand(FILE, {}, ['--use-file-definition'])).toBe("qkvm restore '/tmp/saves/g1 save' --use-file-definition");
    expect(restoreCommand('/f', { name: 'g2', paused: true, useFileDefinition: true, allowExtraArgs: true }, ['--allow-programs']))
      .toBe('qkvm restore /f --name g2 --paused --use-file-definition --allow-extra-args --allow-programs');
    expect(restoreCommand('/f', { allowPrograms: true, allowExtraArgs: true }, ['--allow-extra-args'])).toBe('qkvm restore /f --allow-extra-args --allow-programs');
    expect(restoreCommand('/f', { paused: false }, [])).toBe('qkvm restore /f');
  });
});

describe('planRestore', () => {
  it('uses the stored definition when the file agrees, with the MACs the guest had', () => {
    const stored = spec({ nics: [{ type: 'user' }], description: 'mine' });
    const file = spec({ nics: [{ type: 'user', mac: '52:54:00:00:00:01' }] });
    const p = planRestore(FILE, file, stored, undefined, {});
    expect(p.definition).toBe('stored');
    expect(p.spec.description).toBe('mine');
    expect(p.spec.nics[0].mac).toBe('52:54:00:00:00:01');
    expect(p.warning).toBeUndefined();
    const own = planRestore(FILE, file, spec({ nics: [{ type: 'user', mac: '52:54:00:00:00:01' }] }), undefined, {});
    expect(own.spec.nics[0].mac).toBe('52:54:00:00:00:01');
  });
  it('the stored definition takes the restored name', () => {
    expect(planRestore(FILE, spec({ name: 'g2' }), spec(), undefined, {}).spec.name).toBe('g2');
  });
  it('refuses a file whose definition differs, showing the difference and the flag', () => {
    const e = errorOf(() => planRestore(FILE, spec({ extraArgs: EXEC }), spec(), undefined, {}));
    expect(e.code).toBe('INVALID');
    expect(e.message).toContain(`restore: the definition in ${FILE} differs from the stored definition of "g1":\n  extraArgs: stored [], in the file ["-incoming","exec:touch /tmp/x"]`);
    expect(e.hint).toContain("\n  qkvm restore '/tmp/saves/g1 save' --use-file-definition");
    // One line per differing field.
    expect(errorOf(() => planRestore(FILE, spec({ memory: '256M', cpu: 'max' }), spec(), undefined, {})).message)
      .toMatch(/:\n  cpu: stored \(none\), in the file "max"\n  memory: stored "128M", in the file "256M"$/);
  });
  it('with --use-file-definition the file\'s extraArgs still need this command\'s flags', () => {
    const e = errorOf(() => planRestore(FILE, spec({ extraArgs: EXEC }), spec(), undefined, { useFileDefinition: true }));
    expect(e.message).toContain(`the definition in ${FILE}: extraArgs ["-incoming","exec:touch /tmp/x"] are not allowed (--allow-extra-args and --allow-programs needed)`);
    expect(e.hint).toContain("qkvm restore '/tmp/saves/g1 save' --use-file-definition --allow-extra-args --allow-programs");
    const half = errorOf(() => planRestore(FILE, spec({ extraArgs: EXEC }), spec(), undefined, { useFileDefinition: true, allowExtraArgs: true }));
    expect(half.message).toContain('(--allow-programs needed)');
    const p = planRestore(FILE, spec({ extraArgs: EXEC }), spec(), undefined, { useFileDefinition: true, allowExtraArgs: true, allowPrograms: true });
    expect(p).toMatchObject({ definition: 'file', spec: { extraArgs: EXEC } });
    expect(p.warning).toContain('allowed to run programs as root: exec:touch /tmp/x');
  });
  it('a different file definition without extraArgs starts with the flag alone', () => {
    const p = planRestore(FILE, spec({ memory: '256M' }), spec(), undefined, { useFileDefinition: true });
    expect(p).toMatchObject({ definition: 'file', spec: { memory: '256M' } });
  });
  it('the stored definition\'s extraArgs need the record, as at start', () => {
    const stored = spec({ extraArgs: ['-no-reboot'] });
    expect(errorOf(() => planRestore(FILE, stored, stored, undefined, {})).message).toContain('guest "g1": extraArgs ["-no-reboot"] are not allowed');
    const a = writeAllowance('g1', ['-no-reboot'], false);
    expect(a.digest).toBe(extraArgsDigest(['-no-reboot']));
    expect(planRestore(FILE, stored, stored, a, {}).warning).toContain('runs with raw extraArgs');
    // A record for other arguments does not allow the file's.
    expect(errorOf(() => planRestore(FILE, spec({ extraArgs: EXEC }), stored, writeAllowance('g1', ['-no-reboot'], true), { useFileDefinition: true })).code).toBe('INVALID');
  });
  it('with no stored definition: refuses and says how to define it, or starts from the file with the flag', () => {
    const e = errorOf(() => planRestore(FILE, spec({ name: 'new1' }), undefined, undefined, { name: 'new1' }));
    expect(e.code).toBe('INVALID');
    expect(e.message).toContain('no guest "new1" is defined here');
    expect(e.hint).toContain('define "new1" first (qkvm define FILE)');
    expect(e.hint).toContain("qkvm restore '/tmp/saves/g1 save' --name new1 --use-file-definition");
    expect(planRestore(FILE, spec({ name: 'new1' }), undefined, undefined, { useFileDefinition: true }).definition).toBe('file');
    expect(errorOf(() => planRestore(FILE, spec({ extraArgs: EXEC }), undefined, undefined, { useFileDefinition: true })).message).toContain('--allow-extra-args and --allow-programs needed');
  });
});

/** A save file: qkvm's header, then a stand-in for QEMU's stream. */
function saveFile(s: VmSpec, stream = 'QEVM-rest-of-stream'): { file: string; offset: number } {
  const header = encodeHeader({ version: 1, name: s.name, savedAt: 'now', wasRunning: true, spec: s });
  const file = join(dir, 'g1.save');
  writeFileSync(file, Buffer.concat([header, Buffer.from(stream)]));
  return { file, offset: header.length };
}

describe('openStream', () => {
  it('returns an fd positioned at QEMU\'s stream', () => {
    const { file, offset } = saveFile(spec());
    const fd = openStream(file, offset);
    const buf = Buffer.alloc(64);
    const n = readSync(fd, buf, 0, 64, null);
    closeSync(fd);
    expect(buf.subarray(0, n).toString()).toBe('QEVM-rest-of-stream');
    expect(STREAM_FD).toBe(3);
  });
  it('skips more than one buffer of header', () => {
    const file = join(dir, 'big');
    writeFileSync(file, Buffer.concat([Buffer.alloc(70_000, 1), Buffer.from('QEVM')]));
    const fd = openStream(file, 70_000);
    const buf = Buffer.alloc(8);
    const n = readSync(fd, buf, 0, 8, null);
    closeSync(fd);
    expect(buf.subarray(0, n).toString()).toBe('QEVM');
  });
  it('refuses a file shorter than its header', () => {
    const file = join(dir, 'short');
    writeFileSync(file, 'abc');
    expect(errorOf(() => openStream(file, 10)).message).toContain('ends inside its header');
    expect(openStream(file, 0)).toBeGreaterThan(2);
  });
});

describe('restoreGuest refuses before anything runs', () => {
  const refused = async (p: Promise<unknown>) => { try { await p; } catch (e) { return e as QkvmError; } throw new Error('expected a refusal'); };
  it('a tampered definition in the file', async () => {
    saveVm(spec());
    const { file } = saveFile(spec({ extraArgs: EXEC }));
    const e = await refused(restoreGuest(file));
    expect(e.code).toBe('INVALID');
    expect(e.message).toContain('exec:touch /tmp/x');
    expect(existsSync(join(dir, 'run', 'vms', 'g1'))).toBe(false);
  });
  it('the tampered definition with --use-file-definition but no allow flags', async () => {
    saveVm(spec());
    const { file } = saveFile(spec({ extraArgs: EXEC }));
    const e = await refused(restoreGuest(file, { useFileDefinition: true, allowExtraArgs: true }));
    expect(e.message).toContain('(--allow-programs needed)');
    expect(existsSync(join(dir, 'run', 'vms', 'g1'))).toBe(false);
  });
  it('a name with no stored definition', async () => {
    const { file } = saveFile(spec());
    const e = await refused(restoreGuest(file, { name: 'other' }));
    expect(e.message).toContain('no guest "other" is defined here');
    expect(existsSync(join(dir, 'run', 'vms', 'other'))).toBe(false);
  });
  it('a bad name', async () => {
    const { file } = saveFile(spec());
    expect((await refused(restoreGuest(file, { name: '../x' }))).code).toBe('INVALID');
  });
});
