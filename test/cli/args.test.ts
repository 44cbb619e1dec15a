// Names from the command line are checked before anything runs, naming the
// argument; values like -1G reach their option instead of being read as flags.
import { describe, expect, it } from 'vitest';
import { checkNameArgs, markNegativeValues, nameArgs, unmarkArgs, unmarkText, NEGATIVE_MARK } from '../../src/cli/args.js';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describeSystemError, exitCodeFor, reportError } from '../../src/cli/action.js';
import { QkvmError } from '../../src/errors.js';

const refusal = async (argv: Record<string, unknown>) => {
  try { await checkNameArgs(argv); } catch (e) { return e as QkvmError; }
  return undefined;
};

describe('name arguments', () => {
  it.each([
    [{ _: ['domstate'], name: '../victim' }, 'guest name: invalid name "../victim"'],
    [{ name: 'a/b' }, 'guest name: invalid name "a/b"'],
    [{ _: ['net', 'info'], name: '../x' }, 'network name: invalid name "../x"'],
    [{ _: ['pool', 'info'], name: '-p' }, 'pool name: invalid name "-p"'],
    [{ _: ['vol', 'create'], pool: '../p', name: 'v' }, 'pool name: invalid name "../p"'],
    [{ _: ['vol', 'create'], pool: 'p', name: 'a b' }, 'volume name: invalid name "a b"'],
    [{ _: ['vol', 'clone'], pool: 'p', source: '..', name: 'v' }, 'source volume name: invalid name ".."'],
    [{ _: ['clone'], source: 'x/y', name: 'n' }, 'source guest name: invalid name "x/y"'],
    [{ _: ['clone'], source: 'x', name: '../n' }, 'new guest name: invalid name "../n"'],
    [{ _: ['stats'], names: ['ok', 'b\nc'] }, 'guest name: invalid name "b\\nc"'],
    [{ _: ['attach-interface'], name: 'g', net: '../n' }, 'network name: invalid name "../n"'],
    [{ _: ['snapshot', 'create'], name: 'g', snap: 'a/b' }, 'snapshot: invalid name "a/b"'],
    [{ _: ['restore'], file: '/x', name: 'x'.repeat(64) }, `guest name: invalid name "${'x'.repeat(64)}"`],
    [{ _: ['start'], name: 7 }, undefined],
    [{ _: ['start'], name: true }, 'guest name: invalid name "true"'],
  ])('%j -> %s', async (argv, msg) => {
    const e = await refusal(argv);
    expect(e?.message).toBe(msg);
    if (msg) expect([e?.code, exitCodeFor(e)]).toEqual(['INVALID', 2]);
  });

  it('accepts good names and leaves files, disks and bridges alone', async () => {
    for (const argv of [
      { _: ['start'], name: 'web-1.prod_2' }, { _: ['stats'] }, { _: ['snapshot', 'create'], name: 'g' },
      { _: ['disk', 'info'], file: '../x.qcow2' }, { _: ['attach-disk'], name: 'g', source: '../img' },
      { _: ['net', 'bridge-setup'], bridge: 'br/0' }, { _: ['doctor'] }, { _: ['demo'] }, { _: ['snapshot', 'create'], name: 'g', snap: 'pre:upgrade@1' },
    ]) expect(await refusal(argv), JSON.stringify(argv)).toBeUndefined();
    expect(nameArgs({ _: ['disk', 'resize'], file: '../x' })).toEqual([]);
  });
});

describe('negative values', () => {
  it('marks -1G-like tokens before --, never plain numbers, flags or what follows --', () => {
    expect(markNegativeValues(['create', 'g', '--memory', '-1G', '-m', '-0.5G', '--vcpus', '-2', '-x', '--', '-1G']))
      .toEqual(['create', 'g', '--memory', `${NEGATIVE_MARK}-1G`, '-m', `${NEGATIVE_MARK}-0.5G`, '--vcpus', '-2', '-x', '--', '-1G']);
    const a: Record<string, unknown> = { memory: `${NEGATIVE_MARK}-1G`, list: [`${NEGATIVE_MARK}-2G`, 'x'], n: 3 };
    unmarkArgs(a);
    expect(a).toEqual({ memory: '-1G', list: ['-2G', 'x'], n: 3 });
    expect(unmarkText(`Unknown argument: ${NEGATIVE_MARK}-1G`)).toBe('Unknown argument: -1G');
  });

  it('yargs hands -1G to --memory and to a positional size (the built CLI)', () => {
    const home = mkdtempSync(join(tmpdir(), 'qkvm-args-'));
    try {
      const qkvm = (...args: string[]) => spawnSync(process.execPath, [resolve(import.meta.dirname, '../../dist/src/cli/main.js'), ...args],
        { encoding: 'utf8', env: { ...process.env, QKVM_HOME: join(home, 'h'), QKVM_RUN: join(home, 'r') } });
      for (const flag of ['--memory', '-m']) {
        const r = qkvm('create', 'g', flag, '-1G', '--dry-run');
        expect([r.status, r.stderr]).toEqual([2, 'qkvm: error: guest "g": invalid definition\n  memory = "-1G": -1G is negative\n']);
      }
      for (const args of [['-1G'], ['--shrink', '-1G']]) {
        const r = qkvm('disk', 'resize', join(home, 'none.qcow2'), ...args);
        expect([r.status, r.stderr]).toEqual([1, `qkvm: error: image ${join(home, 'none.qcow2')} does not exist\n`]);
      }
      const u = qkvm('create', 'g', '-2X');
      expect([u.status, u.stderr]).toEqual([2, 'qkvm: error: Unknown argument: -2X\n(run with --help for usage)\n']);
    } finally { rmSync(home, { recursive: true, force: true }); }
  });
});

describe('system errors', () => {
  const sys = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(`${code}: boom`), { code, syscall: 'open', ...extra });
  it.each([
    ['ENOSPC', 'no space left on the device', /free some space/],
    ['EROFS', 'the file system is read-only', /remount/],
    ['EACCES', 'permission denied', /root/],
    ['ENOENT', 'no such file or directory', /check the path/],
    ['EEXIST', 'already exists', /move it away/],
    ['ELOOP', 'is a symbolic link', /replace the link/],
  ])('%s names the path and what to do', (code, what, hint) => {
    const d = describeSystemError(sys(code, { path: '/var/lib/qkvm/vms/x.yaml' }));
    expect(d?.message).toBe(`/var/lib/qkvm/vms/x.yaml: ${d?.message.slice('/var/lib/qkvm/vms/x.yaml: '.length)}`);
    expect(d?.message).toContain(what);
    expect(d?.message).toContain(`(open, ${code})`);
    expect(d?.hint).toMatch(hint);
  });

  it('names both paths of a rename, and leaves other errors alone', () => {
    expect(describeSystemError(sys('EXDEV', { path: '/a' }))).toBeUndefined();
    expect(describeSystemError(sys('EEXIST', { path: '/a', dest: '/b', syscall: 'rename' }))?.message).toBe('/a -> /b: already exists (rename, EEXIST)');
    expect(describeSystemError(Object.assign(new Error('x'), { code: 'ENOSPC' }))?.message).toBe('no space left on the device (ENOSPC)');
    expect(describeSystemError('ENOSPC')).toBeUndefined();
    expect(describeSystemError(new QkvmError('INVALID', 'x'))).toBeUndefined();
    expect(exitCodeFor(sys('ENOSPC'))).toBe(1);
    expect(exitCodeFor(new QkvmError('STATE', 'x'))).toBe(1);
  });
});

describe('reportError', () => {
  const capture = (e: unknown, debug = false): string => {
    let out = '';
    const write = process.stderr.write;
    const saved = process.env.QKVM_DEBUG;
    if (debug) process.env.QKVM_DEBUG = '1'; else delete process.env.QKVM_DEBUG;
    process.stderr.write = ((s: string) => { out += s; return true; }) as typeof process.stderr.write;
    try { reportError(e); } finally {
      process.stderr.write = write;
      if (saved === undefined) delete process.env.QKVM_DEBUG; else process.env.QKVM_DEBUG = saved;
    }
    return out;
  };

  it('prints a typed error and its hint, a system error with its meaning, and a bug in one line', () => {
    expect(capture(new QkvmError('INVALID', 'size: -1G is negative', { hint: 'write 1G' }))).toBe('qkvm: error: size: -1G is negative\nhint: write 1G\n');
    expect(capture(Object.assign(new Error('x'), { code: 'EROFS', syscall: 'mkdir', path: '/run/q' })))
      .toBe('qkvm: error: /run/q: the file system is read-only (mkdir, EROFS)\nhint: remount it read-write, or point QKVM_HOME / QKVM_RUN at a writable directory\n');
    const bug = capture(new TypeError('cannot read properties of undefined\nsecond line'));
    expect(bug).toBe('qkvm: unexpected error: cannot read properties of undefined\nhint: this is a bug in qkvm; please report it with the command you ran (QKVM_DEBUG=1 shows where it happened)\n');
    expect(capture('a string')).toMatch(/^qkvm: unexpected error: a string\n/);
    expect(capture(Object.assign(new Error('socket closed'), { name: 'QmpConnectError', code: 'ECONNRESET_X' }))).toBe('qkvm: QMP error: socket closed\n');
  });

  it('adds the stack only with QKVM_DEBUG=1', () => {
    const e = new Error('boom');
    expect(capture(e)).not.toContain('    at ');
    expect(capture(e, true)).toContain('    at ');
  });
});
