// The allowance record (QKVM_HOME/trust/NAME.json) and the decisions built on
// it: start's check, storing with and without the flags, `qkvm trust --digest`.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  assertAllowed, checkAtStart, checkDigest, decideExtraArgs, describeFindings, extraArgsDigest, extraArgsWarning,
  readAllowance, removeAllowance, storeTrust, trustCommand, trustFile, writeAllowance,
} from '../../src/config/trust.js';
import { QkvmError } from '../../src/errors.js';

const EXEC = ['-incoming', 'exec:touch /tmp/x'];
const SAFE = ['-no-reboot'];
let dir: string;
const saved = process.env.QKVM_HOME;

beforeEach(() => { dir = mkdtempSync(join(tmpdir(), 'qkvm-trust-')); process.env.QKVM_HOME = dir; });
afterEach(() => { rmSync(dir, { recursive: true, force: true }); if (saved === undefined) delete process.env.QKVM_HOME; else process.env.QKVM_HOME = saved; });

/** The error a function throws (it must throw). */
function errorOf(fn: () => unknown): QkvmError {
  try { fn(); } catch (e) { return e as QkvmError; }
  throw new Error('expected an error');
}

describe('the record', () => {
  it('lives at QKVM_HOME/trust/NAME.json and checks the name', () => {
    expect(trustFile('g1')).toBe(join(dir, 'trust', 'g1.json'));
    expect(errorOf(() => trustFile('../x')).code).toBe('INVALID');
  });
  it('round-trips, holding the digest of exactly the arguments', () => {
    const a = writeAllowance('g1', EXEC, true);
    expect(a).toMatchObject({ version: 1, name: 'g1', digest: extraArgsDigest(EXEC), extraArgs: EXEC, programs: true });
    expect(readAllowance('g1')).toEqual(a);
    expect(JSON.parse(readFileSync(trustFile('g1'), 'utf8')).digest).toMatch(/^[0-9a-f]{64}$/);
    removeAllowance('g1');
    expect(existsSync(trustFile('g1'))).toBe(false);
    expect(readAllowance('g1')).toBeUndefined();
    removeAllowance('g1');
  });
  it('the digest changes with any change to the arguments, order and splitting included', () => {
    const d = extraArgsDigest(['-a', 'b']);
    expect(d).toMatch(/^[0-9a-f]{64}$/);
    expect(extraArgsDigest(['-a', 'b'])).toBe(d);
    expect(extraArgsDigest(['b', '-a'])).not.toBe(d);
    expect(extraArgsDigest(['-a b'])).not.toBe(d);
    expect(extraArgsDigest(['-a', 'b', ''])).not.toBe(d);
  });
  it.each([
    ['not JSON', '{'],
    ['another version', JSON.stringify({ version: 2, name: 'g1', digest: 'a'.repeat(64), extraArgs: [], programs: false })],
    ['another name', JSON.stringify({ version: 1, name: 'g2', digest: 'a'.repeat(64), extraArgs: [], programs: false })],
    ['a short digest', JSON.stringify({ version: 1, name: 'g1', digest: 'a'.repeat(63), extraArgs: [], programs: false })],
    ['a digest that is not hex', JSON.stringify({ version: 1, name: 'g1', digest: 'g'.repeat(64), extraArgs: [], programs: false })],
    ['no digest', JSON.stringify({ version: 1, name: 'g1', extraArgs: [], programs: false })],
    ['no argument list', JSON.stringify({ version: 1, name: 'g1', digest: 'a'.repeat(64), programs: false })],
    ['programs not a boolean', JSON.stringify({ version: 1, name: 'g1', digest: 'a'.repeat(64), extraArgs: [], programs: 'yes' })],
    ['null', 'null'],
  ])('a damaged record (%s) grants nothing', (_why, text) => {
    mkdirSync(join(dir, 'trust'), { recursive: true });
    writeFileSync(trustFile('g1'), text);
    expect(readAllowance('g1')).toBeUndefined();
  });
  it('accepts programs: false', () => {
    writeAllowance('g1', SAFE, false);
    expect(readAllowance('g1')?.programs).toBe(false);
  });
  it('a symlink in its place grants nothing and removal takes the link, not its target', () => {
    const target = join(dir, 'elsewhere.json');
    writeFileSync(target, JSON.stringify({ version: 1, name: 'g1', digest: extraArgsDigest(EXEC), extraArgs: EXEC, programs: true }));
    mkdirSync(join(dir, 'trust'), { recursive: true });
    symlinkSync(target, trustFile('g1'));
    expect(readAllowance('g1')).toBeUndefined();
    removeAllowance('g1');
    expect(existsSync(target)).toBe(true);
    expect(existsSync(trustFile('g1'))).toBe(false);
  });
});

describe('decideExtraArgs', () => {
  it('no extraArgs need nothing', () => {
    expect(decideExtraArgs([], undefined)).toMatchObject({ missing: [], programs: [], fromRecord: false });
  });
  it('without a record or a flag, both flags are missing for programs, one for plain arguments', () => {
    expect(decideExtraArgs(EXEC, undefined).missing).toEqual(['--allow-extra-args', '--allow-programs']);
    expect(decideExtraArgs(SAFE, undefined).missing).toEqual(['--allow-extra-args']);
  });
  it('a matching record allows; programs only if it says so', () => {
    expect(decideExtraArgs(SAFE, writeAllowance('g1', SAFE, false))).toMatchObject({ missing: [], fromRecord: true });
    expect(decideExtraArgs(EXEC, writeAllowance('g1', EXEC, false)).missing).toEqual(['--allow-programs']);
    expect(decideExtraArgs(EXEC, writeAllowance('g1', EXEC, true))).toMatchObject({ missing: [], fromRecord: true });
  });
  it('a record for other arguments allows nothing, even one that allowed programs', () => {
    const a = writeAllowance('g1', ['-incoming', 'exec:true'], true);
    expect(decideExtraArgs(EXEC, a).missing).toEqual(['--allow-extra-args', '--allow-programs']);
    expect(decideExtraArgs(SAFE, a).missing).toEqual(['--allow-extra-args']);
  });
  it('the flags of this command allow without a record', () => {
    expect(decideExtraArgs(SAFE, undefined, { extraArgs: true })).toMatchObject({ missing: [], fromRecord: false });
    expect(decideExtraArgs(EXEC, undefined, { extraArgs: true }).missing).toEqual(['--allow-programs']);
    expect(decideExtraArgs(EXEC, undefined, { programs: true }).missing).toEqual(['--allow-extra-args']);
    expect(decideExtraArgs(EXEC, undefined, { extraArgs: true, programs: true }).missing).toEqual([]);
    expect(decideExtraArgs(SAFE, writeAllowance('g1', SAFE, false), { extraArgs: true }).fromRecord).toBe(false);
  });
});

describe('checkAtStart', () => {
  it('passes a guest without extraArgs silently', () => {
    expect(checkAtStart('g1', [])).toBeUndefined();
  });
  it('refuses unallowed arguments with exit-2 INVALID, naming them and the command to allow them', () => {
    const e = errorOf(() => checkAtStart('g1', EXEC));
    expect(e).toBeInstanceOf(QkvmError);
    expect(e.code).toBe('INVALID');
    expect(e.message).toContain('guest "g1": extraArgs ["-incoming","exec:touch /tmp/x"] are not allowed (--allow-extra-args and --allow-programs needed)');
    expect(e.message).toContain('  -incoming exec:touch /tmp/x: an exec: URI');
    expect(e.hint).toContain(`\n  qkvm trust g1 --allow-extra-args --allow-programs --digest ${extraArgsDigest(EXEC).slice(0, 16)}`);
    const plain = errorOf(() => checkAtStart('g1', SAFE));
    expect(plain.message).toContain('raw QEMU arguments run as root unchecked');
    expect(plain.hint).toMatch(/qkvm trust g1 --allow-extra-args --digest [0-9a-f]{16}$/);
  });
  it('warns about allowed ones', () => {
    writeAllowance('g1', SAFE, false);
    expect(checkAtStart('g1', SAFE)).toBe('warning: guest "g1" runs with raw extraArgs that qkvm does not check: ["-no-reboot"]');
    writeAllowance('g1', EXEC, true);
    expect(checkAtStart('g1', EXEC)).toContain('(allowed to run programs as root: exec:touch /tmp/x)');
  });
});

describe('storeTrust (define, create, edit, trust)', () => {
  it('with --allow-extra-args records exactly the arguments', () => {
    expect(storeTrust('g1', SAFE, { extraArgs: true })).toContain('runs with raw extraArgs');
    expect(readAllowance('g1')).toMatchObject({ digest: extraArgsDigest(SAFE), programs: false });
  });
  it('refuses programs without --allow-programs, and records nothing', () => {
    const e = errorOf(() => storeTrust('g1', EXEC, { extraArgs: true }));
    expect(e.code).toBe('INVALID');
    expect(e.message).toContain('(--allow-programs needed)');
    expect(e.hint).toContain('the same command with --allow-programs');
    expect(readAllowance('g1')).toBeUndefined();
  });
  it('records programs with both flags', () => {
    storeTrust('g1', EXEC, { extraArgs: true, programs: true });
    expect(readAllowance('g1')?.programs).toBe(true);
  });
  it('--allow-programs alone is refused', () => {
    expect(errorOf(() => storeTrust('g1', EXEC, { programs: true })).message).toContain('--allow-programs works only together with --allow-extra-args');
    expect(errorOf(() => storeTrust('g1', [], { programs: true })).code).toBe('INVALID');
  });
  it('without flags: says start will refuse, with the command', () => {
    const w = storeTrust('g1', EXEC);
    expect(w).toContain('`qkvm start` will refuse them until you run:\n  qkvm trust g1 --allow-extra-args --allow-programs --digest');
    expect(readAllowance('g1')).toBeUndefined();
  });
  it('without flags: a record that no longer matches is removed; one that matches stays', () => {
    writeAllowance('g1', SAFE, false);
    expect(storeTrust('g1', SAFE)).toBeUndefined();
    expect(readAllowance('g1')).toBeDefined();
    storeTrust('g1', ['-no-reboot', '-S']);
    expect(existsSync(trustFile('g1'))).toBe(false);
    // Back to the old arguments: the allowance does not come back by itself.
    expect(storeTrust('g1', SAFE)).toContain('will refuse');
  });
  it('no extraArgs: removes a record, writes none', () => {
    writeAllowance('g1', SAFE, false);
    expect(storeTrust('g1', [])).toBeUndefined();
    expect(existsSync(trustFile('g1'))).toBe(false);
    expect(storeTrust('g1', [], { extraArgs: true })).toBeUndefined();
    expect(existsSync(trustFile('g1'))).toBe(false);
  });
  it('plain arguments with --allow-programs too record programs: false', () => {
    storeTrust('g1', SAFE, { extraArgs: true, programs: true });
    expect(readAllowance('g1')?.programs).toBe(false);
  });
});

describe('messages and --digest', () => {
  it('trustCommand asks for --allow-programs only when needed', () => {
    const d = decideExtraArgs(SAFE, undefined);
    expect(trustCommand('g1', d)).toBe(`qkvm trust g1 --allow-extra-args --digest ${extraArgsDigest(SAFE).slice(0, 16)}`);
  });
  it('describeFindings shows the option once', () => {
    expect(describeFindings([{ index: 1, option: '-incoming', value: 'exec:x', reason: 'r' }])).toEqual(['  -incoming exec:x: r']);
    expect(describeFindings([{ index: 0, option: '-plugin', value: '-plugin', reason: 'r' }])).toEqual(['  -plugin: r']);
    expect(describeFindings([{ index: 0, option: '', value: 'exec:x', reason: 'r' }])).toEqual(['  exec:x: r']);
  });
  it('assertAllowed passes when nothing is missing', () => {
    expect(() => assertAllowed(SAFE, decideExtraArgs(SAFE, undefined, { extraArgs: true }), 's', 'h')).not.toThrow();
  });
  it('extraArgsWarning lists the programs', () => {
    expect(extraArgsWarning('g', EXEC, decideExtraArgs(EXEC, undefined))).toBe('warning: guest "g" runs with raw extraArgs that qkvm does not check: ["-incoming","exec:touch /tmp/x"] (allowed to run programs as root: exec:touch /tmp/x)');
  });
  it('checkDigest accepts a prefix of the current digest, refuses anything else', () => {
    const d = extraArgsDigest(SAFE);
    expect(() => checkDigest('g1', SAFE, undefined)).not.toThrow();
    expect(() => checkDigest('g1', SAFE, d.slice(0, 8))).not.toThrow();
    expect(() => checkDigest('g1', SAFE, d)).not.toThrow();
    const e = errorOf(() => checkDigest('g1', ['-S'], d.slice(0, 16)));
    expect(e.code).toBe('INVALID');
    expect(e.message).toContain(`--digest ${d.slice(0, 16)} does not match the extraArgs now stored for "g1"`);
    expect(e.hint).toContain('qkvm dumpconfig g1');
    expect(errorOf(() => checkDigest('g1', SAFE, d.slice(0, 7))).code).toBe('INVALID');
    expect(errorOf(() => checkDigest('g1', SAFE, d.toUpperCase())).code).toBe('INVALID');
    expect(errorOf(() => checkDigest('g1', SAFE, `${d}0`)).code).toBe('INVALID');
    expect(errorOf(() => checkDigest('g1', SAFE, `x${d.slice(0, 15)}`)).code).toBe('INVALID');
  });
});
