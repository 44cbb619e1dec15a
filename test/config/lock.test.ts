// The one lock: exclusive while its owner lives, taken over when the owner is
// gone (dead, or its pid reused), never deleted by anyone but its owner, and a
// stale lock's takeover has one winner however many race for it (the hammer).
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { build } from 'esbuild';
import { acquireLock, ownerAlive, readLock, runDirError, startTimeOf, takeOver, withLock } from '../../src/config/lock.js';

let runDir: string;
beforeEach(() => { runDir = mkdtempSync(join(tmpdir(), 'qkvm-lock-')); process.env.QKVM_RUN = runDir; });
afterEach(() => { rmSync(runDir, { recursive: true, force: true }); delete process.env.QKVM_RUN; });

const deadPid = () => spawnSync('true').pid!;
const lockFile = (name: string) => join(runDir, 'locks', 'vm', `${name}.lock`);

describe('acquireLock', () => {
  it('lives in QKVM_RUN/locks/KIND, is exclusive while its owner lives, and names the holder', async () => {
    const l = await acquireLock('vm', 'x', 'testing');
    expect(l.path).toBe(lockFile('x'));
    const info = JSON.parse(readFileSync(l.path, 'utf8'));
    expect(info).toMatchObject({ pid: process.pid, start: startTimeOf(process.pid), reason: 'testing' });
    expect(info.token).toMatch(/^[0-9a-f]{16}$/);
    await expect(acquireLock('vm', 'x', 'again')).rejects.toMatchObject({ code: 'LOCKED', message: `vm "x" is busy: testing (qkvm pid ${process.pid})`, hint: 'wait for that command to finish, then try again' });
    l.release();
    expect(existsSync(l.path)).toBe(false);
    (await acquireLock('vm', 'x', 'again')).release();
  });

  it('leaves no temp file behind, taken or refused', async () => {
    const l = await acquireLock('vm', 't', 'one');
    await expect(acquireLock('vm', 't', 'two')).rejects.toThrow(/busy/);
    expect(readdir(join(runDir, 'locks', 'vm'))).toEqual(['t.lock']);
    l.release();
    expect(readdir(join(runDir, 'locks', 'vm'))).toEqual([]);
  });

  it('is taken over when its owner died (kill -9)', async () => {
    mkdirSync(join(runDir, 'locks', 'vm'), { recursive: true });
    writeFileSync(lockFile('y'), JSON.stringify({ pid: deadPid(), start: 1, token: 'a', reason: 'crashed start' }));
    const again = await acquireLock('vm', 'y', 'recovering');
    expect(JSON.parse(readFileSync(again.path, 'utf8')).reason).toBe('recovering');
    again.release();
  });

  it('is taken over when its pid was reused by another process (start time differs)', async () => {
    mkdirSync(join(runDir, 'locks', 'vm'), { recursive: true });
    writeFileSync(lockFile('r'), JSON.stringify({ pid: process.pid, start: startTimeOf(process.pid)! - 1, token: 'a', reason: 'old' }));
    const l = await acquireLock('vm', 'r', 'new');
    expect(JSON.parse(readFileSync(l.path, 'utf8')).reason).toBe('new');
    l.release();
  });

  it('is taken over when it holds garbage (no owner can be named)', async () => {
    mkdirSync(join(runDir, 'locks', 'vm'), { recursive: true });
    for (const junk of ['', 'garbage', '{"pid":"1"}', '{"pid":0,"start":1}', '{"pid":1.5,"start":1}']) {
      writeFileSync(lockFile('g'), junk);
      const l = await acquireLock('vm', 'g', 'after junk');
      expect(JSON.parse(readFileSync(l.path, 'utf8')).reason).toBe('after junk');
      l.release();
    }
  });

  it('release() never deletes a lock it no longer owns, and is idempotent', async () => {
    const l = await acquireLock('vm', 'z', 'mine');
    const other = JSON.stringify({ pid: 1, start: startTimeOf(1), token: 'b', reason: 'someone else' });
    writeFileSync(l.path, other);
    l.release();
    expect(readFileSync(l.path, 'utf8')).toBe(other);
    rmSync(l.path);
    const m = await acquireLock('vm', 'z', 'mine again');
    l.release();
    expect(existsSync(m.path)).toBe(true);
    m.release();
    m.release();
    expect(existsSync(m.path)).toBe(false);
  });

  it('a second acquisition by the same process is refused, and releasing the first keeps nothing stale', async () => {
    const l = await acquireLock('vm', 's', 'first');
    await expect(acquireLock('vm', 's', 'second')).rejects.toThrow(/busy: first/);
    expect(JSON.parse(readFileSync(l.path, 'utf8')).reason).toBe('first');
    l.release();
  });

  it('waits for a lock when asked to, and gives up after the wait', async () => {
    const l = await acquireLock('vm', 'w', 'short job');
    setTimeout(() => l.release(), 150);
    const t0 = Date.now();
    (await acquireLock('vm', 'w', 'patient', 5000)).release();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
    const k = await acquireLock('vm', 'w', 'long job');
    await expect(acquireLock('vm', 'w', 'impatient', 120)).rejects.toThrow(/busy: long job/);
    k.release();
  });

  it('withLock releases on success and on failure', async () => {
    expect(await withLock('vm', 'q', 'job', async () => 42)).toBe(42);
    expect(existsSync(lockFile('q'))).toBe(false);
    await expect(withLock('vm', 'q', 'job', async () => { throw new Error('boom'); })).rejects.toThrow('boom');
    expect(existsSync(lockFile('q'))).toBe(false);
  });

  it('refuses a name that is not a name before making a path', async () => {
    await expect(acquireLock('vm', '../../etc/x', 'evil')).rejects.toMatchObject({ code: 'INVALID' });
    expect(existsSync(join(runDir, 'locks'))).toBe(false);
  });

  it('refuses a lock path that is a directory instead of looping', async () => {
    mkdirSync(lockFile('d'), { recursive: true });
    await expect(acquireLock('vm', 'd', 'x')).rejects.toMatchObject({ code: 'HOST', message: `${lockFile('d')} is not a lock file`, hint: expect.stringMatching(/remove it by hand/) });
  });

  it('a run directory it cannot write gives an error naming it, not a stack trace', async () => {
    writeFileSync(join(runDir, 'locks'), 'not a directory');
    await expect(acquireLock('vm', 'e', 'x')).rejects.toMatchObject({ code: 'HOST', message: expect.stringContaining(`cannot write in ${join(runDir, 'locks')}: `) });
    rmSync(join(runDir, 'locks'));
    mkdirSync(join(runDir, 'locks'));
    writeFileSync(join(runDir, 'locks', 'vm'), 'a file where the kind directory goes');
    await expect(acquireLock('vm', 'e', 'x')).rejects.toThrow(`cannot write in ${join(runDir, 'locks', 'vm')}: `);
  });
});

describe('runDirError', () => {
  it('says why in words, per errno, and names the directory', () => {
    const cases: [string, RegExp][] = [
      ['EROFS', /read-only file system/], ['ENOSPC', /is full/], ['EDQUOT', /quota/],
      ['EACCES', /not writable/], ['EPERM', /not writable/], ['EIO', /failed \(EIO\)/],
    ];
    for (const [code, re] of cases) {
      const e = runDirError(Object.assign(new Error('x'), { code }), '/some/dir');
      expect(e.code).toBe('HOST');
      expect(e.message).toMatch(re);
      expect(e.message).toContain('cannot write in /some/dir: it ');
      expect(e.hint).toMatch(/QKVM_RUN/);
    }
  });
});

describe('owner and takeover primitives', () => {
  it('ownerAlive: alive only for a live pid with the same start time', () => {
    expect(ownerAlive({ pid: process.pid, start: startTimeOf(process.pid)!, token: '', reason: '' })).toBe(true);
    expect(ownerAlive({ pid: process.pid, start: startTimeOf(process.pid)! + 1, token: '', reason: '' })).toBe(false);
    expect(ownerAlive({ pid: deadPid(), start: 0, token: '', reason: '' })).toBe(false);
    expect(ownerAlive(undefined)).toBe(false);
  });

  it('startTimeOf: undefined for a dead pid, a number for a live one', () => {
    expect(startTimeOf(deadPid())).toBeUndefined();
    expect(startTimeOf(1)).toBeGreaterThanOrEqual(0);
    expect(startTimeOf(process.pid)).toBeGreaterThan(0);
  });

  it('startTimeOf: a child that exited is dead', async () => {
    const child = spawn('sh', ['-c', 'exit 0']);
    await new Promise((r) => child.on('exit', r));
    expect(startTimeOf(child.pid!)).toBeUndefined();
  });

  it('readLock: the record, or only the raw text for garbage, or nothing', () => {
    const p = join(runDir, 'l');
    expect(readLock(p)).toStrictEqual({});
    writeFileSync(p, 'junk');
    expect(readLock(p)).toEqual({ raw: 'junk' });
    writeFileSync(p, '{"pid":5,"start":7,"token":"t","reason":"r"}');
    expect(readLock(p).info).toEqual({ pid: 5, start: 7, token: 't', reason: 'r' });
    writeFileSync(p, '{"pid":5,"start":"7"}');
    expect(readLock(p).info).toBeUndefined();
  });

  it('takeOver removes the lock only while it holds exactly the content seen', () => {
    const p = join(runDir, 'x.lock');
    writeFileSync(p, 'old "$(touch /tmp/never)" `x`');
    expect(takeOver(runDir, p, 'other')).toBe(false);
    expect(existsSync(p)).toBe(true);
    expect(takeOver(runDir, p, 'old "$(touch /tmp/never)"')).toBe(false);
    writeFileSync(p, 'old\n');
    expect(takeOver(runDir, p, 'old')).toBe(false);
    expect(takeOver(runDir, p, 'old\n')).toBe(true);
    expect(existsSync(p)).toBe(false);
    expect(takeOver(runDir, p, 'old\n')).toBe(false);
    writeFileSync(p, 'old "$(touch /tmp/never)" `x`');
    expect(takeOver(runDir, p, 'old "$(touch /tmp/never)" `x`')).toBe(true);
    expect(existsSync('/tmp/never')).toBe(false);
  });

  it('takeOver says so when flock cannot run', () => {
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      expect(() => takeOver(runDir, join(runDir, 'x.lock'), 'a')).toThrow(/cannot take over the stale lock .*x\.lock/);
    } finally { process.env.PATH = path; }
  });
});

function readdir(d: string): string[] {
  return existsSync(d) ? require('node:fs').readdirSync(d).sort() : [];
}

describe('the takeover hammer', () => {
  let worker: string;
  let buildDir: string;
  beforeAll(async () => {
    // The worker runs the real src/config/lock.ts, bundled (under Stryker: the mutant).
    // Inside the package: paths.ts finds the package root from its own location.
    buildDir = mkdtempSync(join(__dirname, '.hammer-'));
    worker = join(buildDir, 'worker.mjs');
    writeFileSync(join(buildDir, 'worker.ts'), `
      import { appendFileSync } from 'node:fs';
      import { acquireLock } from ${JSON.stringify(join(__dirname, '../../src/config/lock.ts'))};
      const [marks, die] = process.argv.slice(2);
      const l = await acquireLock('vm', 'hammer', 'hammering', 60000);
      appendFileSync(marks, 'enter ' + process.pid + '\\n');
      const until = Date.now() + 3; while (Date.now() < until) { /* hold it a moment */ }
      appendFileSync(marks, 'exit ' + process.pid + '\\n');
      // Some die holding it (kill -9 mid-command): the next takers race for a stale lock again.
      if (die === '1') process.exit(0);
      l.release();
    `);
    await build({ entryPoints: [join(buildDir, 'worker.ts')], bundle: true, platform: 'node', format: 'esm', outfile: worker, logLevel: 'silent' });
  });
  afterAll(() => rmSync(buildDir, { recursive: true, force: true }));

  it('many processes racing to take over stale locks: at most one holds it at any moment', async () => {
    mkdirSync(join(runDir, 'locks', 'vm'), { recursive: true });
    writeFileSync(lockFile('hammer'), JSON.stringify({ pid: deadPid(), start: 1, token: 'dead', reason: 'crashed' }));
    const marks = join(runDir, 'marks');
    writeFileSync(marks, '');
    const n = 10;
    const codes = await Promise.all(Array.from({ length: n }, (_, i) => new Promise<number>((res) => {
      const c = spawn(process.execPath, [worker, marks, i % 2 === 0 ? '1' : '0'], { env: { ...process.env, QKVM_RUN: runDir }, stdio: 'inherit' });
      c.on('exit', (code) => res(code ?? -1));
    })));
    expect(codes).toEqual(Array(n).fill(0));
    const lines = readFileSync(marks, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(2 * n);
    let holder: string | undefined;
    for (const line of lines) {
      const [what, pid] = line.split(' ');
      if (what === 'enter') { expect(holder, `${pid} entered while ${holder} held the lock`).toBeUndefined(); holder = pid; } else { expect(pid).toBe(holder); holder = undefined; }
    }
  }, 120_000);
});

describe('edges the mutants found', () => {
  it('startTimeOf: a zombie (exited, not yet reaped by its parent) is dead', async () => {
    // sh forks a short sleep and execs a long one, which never reaps it: the child stays a zombie while the parent lives.
    const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      const zombie = Number(await new Promise<string>((r) => parent.stdout!.once('data', (d) => r(String(d).trim()))));
      let state = '';
      for (let i = 0; i < 100 && state !== 'Z'; i++) {
        const stat = readFileSync(`/proc/${zombie}/stat`, 'utf8');
        state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
        if (state !== 'Z') await new Promise((r) => setTimeout(r, 20));
      }
      expect(state).toBe('Z');
      expect(startTimeOf(zombie)).toBeUndefined();
      expect(ownerAlive({ pid: zombie, start: 0, token: '', reason: '' })).toBe(false);
      // Its parent (sleep) is alive: the same reading gives a number.
      expect(startTimeOf(parent.pid!)).toBeGreaterThan(0);
    } finally { parent.kill('SIGKILL'); }
  });

  it('readLock: pid must be a positive integer and start a number', () => {
    const p = join(runDir, 'l');
    for (const bad of ['{"pid":0,"start":1}', '{"pid":-3,"start":1}', '{"pid":1.5,"start":1}', '{"pid":"1","start":1}', '{"pid":1}', '{"pid":1,"start":null}']) {
      writeFileSync(p, bad);
      expect(readLock(p), bad).toStrictEqual({ raw: bad });
    }
    writeFileSync(p, '{"pid":1,"start":0}');
    expect(readLock(p).info).toEqual({ pid: 1, start: 0 });
  });

  it('ownerAlive: a record without a start time is never alive, even for a dead pid', () => {
    expect(ownerAlive({ pid: deadPid(), start: undefined as unknown as number, token: '', reason: '' })).toBe(false);
  });

  it('runDirError copes with anything thrown (no code, no message, not an Error)', () => {
    expect(runDirError(null, '/d').message).toBe('cannot write in /d: it failed (undefined)');
    expect(runDirError(new Error('odd'), '/d').message).toBe('cannot write in /d: it failed (odd)');
  });

  it('makes a missing nested run root, with the lock dirs private (0700)', async () => {
    process.env.QKVM_RUN = join(runDir, 'a', 'b');
    const l = await acquireLock('vm', 'n', 'nested');
    expect(l.path).toBe(join(runDir, 'a', 'b', 'locks', 'vm', 'n.lock'));
    for (const d of [join(runDir, 'a', 'b', 'locks'), join(runDir, 'a', 'b', 'locks', 'vm')]) expect(statSync(d).mode & 0o777).toBe(0o700);
    l.release();
  });

  it('leaks no file descriptor, taken, refused or released', async () => {
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let i = 0; i < 5; i++) {
      const l = await acquireLock('vm', 'fd', 'x');
      await expect(acquireLock('vm', 'fd', 'y')).rejects.toThrow(/busy/);
      l.release();
    }
    expect(fds()).toBe(before);
  });

  it('takeOver waits for the guard: a change made under it is seen, and the lock kept', async () => {
    const dir = runDir;
    const p = join(dir, 'x.lock');
    writeFileSync(p, 'stale');
    // Another taker holds the guard, then replaces the lock with a fresh one before letting go.
    const other = spawn('flock', ['-x', join(dir, '.takeover.guard'), 'sh', '-c', 'echo held; sleep 0.5; printf fresh > "$0"', p], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((r) => other.stdout!.once('data', () => r()));
    expect(takeOver(dir, p, 'stale')).toBe(false);
    expect(readFileSync(p, 'utf8')).toBe('fresh');
    await new Promise((r) => other.on('exit', r));
  });

  it('takeOver fails loudly when flock fails (guard cannot be opened), with a hint', () => {
    const missing = join(runDir, 'no', 'such');
    let err: any;
    try { takeOver(missing, join(missing, 'x.lock'), 'a'); } catch (e) { err = e; }
    expect(err).toMatchObject({ code: 'HOST', message: expect.stringMatching(/^cannot take over the stale lock .*x\.lock: .+/), hint: expect.stringMatching(/util-linux/) });
  });

  it('takeOver works without PATH in the environment (falls back to /usr/bin:/bin)', () => {
    const path = process.env.PATH;
    delete process.env.PATH;
    try {
      const p = join(runDir, 'x.lock');
      writeFileSync(p, 'old');
      expect(takeOver(runDir, p, 'old')).toBe(true);
      expect(existsSync(p)).toBe(false);
    } finally { process.env.PATH = path; }
  });
});
