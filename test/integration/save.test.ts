// Save and restore with real QEMU under TCG: a counter the guest prints keeps
// counting after restore (it does not start over), the file holds the
// definition, and a truncated or corrupt file gets a clear error with nothing
// left running.
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUNTER, IN_CI, lastCount, qemuPids, State, whyNot } from '../migrate/harness.js';

const why = whyNot();
if (why && !IN_CI) console.warn(`save: skipped: ${why}`);

describe.skipIf(why !== '' && !IN_CI)('save and restore', () => {
  const st = new State('save');
  const file = () => join(st.home, 'sv.qkvmsave');
  let countAtSave = 0;

  beforeAll(async () => {
    if (why) throw new Error(why);
    await st.define('sv');
  });
  afterAll(() => st.cleanup());

  it('saves a running guest to a file that holds its definition; its QEMU ends', async () => {
    const serial = await st.boot('sv');
    await serial.run(COUNTER);
    await serial.waitFor(/COUNT=3\b/);
    countAtSave = lastCount(serial.text);
    const r = await st.ok('save', 'sv', file(), '--json');
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.some((l) => l.type === 'progress')).toBe(true);
    const result = lines.at(-1);
    expect(result).toMatchObject({ type: 'result', status: 'completed', file: file() });
    expect(result.totalTimeMs).toBeGreaterThan(0);
    expect(result.bytes).toBe(statSync(file()).size);
    expect(readFileSync(file()).subarray(0, 10).toString()).toBe('QKVMSAVE1\n');
    expect(readFileSync(file()).subarray(0, 4096).toString()).toContain('"memory":"192M"');
    expect(readdirSync(st.home).filter((f) => f.endsWith('.part'))).toEqual([]);
    expect(qemuPids(st.run)).toEqual([]);
    expect((await st.ok('domstate', 'sv')).stdout.trim()).toBe('shut off');
    // Whatever the guest printed up to the stop counts as before the save.
    countAtSave = Math.max(countAtSave, lastCount(readFileSync(join(st.run, 'vms', 'sv', 'serial.log'), 'utf8')));
  });

  it('restores it: the counter continues instead of starting over', async () => {
    const r = await st.ok('restore', file());
    expect(r.stdout).toMatch(/guest "sv" restored .*: running/);
    const serial = await st.console('sv');
    const m = await serial.waitFor(/COUNT=(\d+)\r?\n/);
    expect(Number(m[1])).toBeGreaterThan(countAtSave);
    await serial.waitFor(new RegExp(`COUNT=${Number(m[1]) + 1}\\r?\\n`));
    expect(serial.text).not.toMatch(/COUNT=1\r?\n/);
    expect(serial.text).not.toMatch(/QKVM-DEMO-READY/);
    // Its shell still answers.
    expect((await serial.run('echo alive-$((40+2))')).out).toContain('alive-42');
    expect((await st.ok('domstate', 'sv')).stdout.trim()).toBe('running');
  });

  it('restores under another name while the first copy runs', async () => {
    // No definition is stored under the new name: start from the file's (docs/safety.md).
    await st.ok('restore', file(), '--name', 'sv-copy', '--use-file-definition');
    expect((await st.ok('domstate', 'sv-copy')).stdout.trim()).toBe('running');
    const serial = await st.console('sv-copy');
    const m = await serial.waitFor(/COUNT=(\d+)\r?\n/);
    expect(Number(m[1])).toBeGreaterThan(countAtSave);
    await st.ok('destroy', 'sv-copy');
  });

  it('save --force replaces an earlier save file (only that), through a temporary file and a rename', async () => {
    const other = join(st.home, 'not-a-save');
    writeFileSync(other, 'keep me\n');
    const refused = await st.qkvm('save', 'sv', other, '--force');
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(`${other} is not a qkvm save file`);
    expect(readFileSync(other, 'utf8')).toBe('keep me\n');
    expect((await st.ok('domstate', 'sv')).stdout.trim()).toBe('running');
    const copy = join(st.home, 'again.qkvmsave');
    writeFileSync(copy, readFileSync(file()));
    const ino = statSync(copy).ino;
    await st.ok('save', 'sv', copy, '--force');
    expect(statSync(copy).ino).not.toBe(ino);
    expect(readFileSync(copy).subarray(0, 10).toString()).toBe('QKVMSAVE1\n');
    expect(readdirSync(st.home).filter((f) => f.endsWith('.part'))).toEqual([]);
    await st.ok('restore', copy);
    expect((await st.ok('domstate', 'sv')).stdout.trim()).toBe('running');
    await st.ok('destroy', 'sv');
  });

  it('a truncated file fails clearly and leaves nothing running', async () => {
    const cut = join(st.home, 'cut.qkvmsave');
    const data = readFileSync(file());
    writeFileSync(cut, data.subarray(0, Math.floor(data.length / 2)));
    const r = await st.qkvm('restore', cut, '--name', 'cut', '--use-file-definition');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/restore of .*cut\.qkvmsave failed: QEMU exited while loading the state/);
    expect(r.stderr).toMatch(/nothing was left running/);
    expect(qemuPids(join(st.run, 'cut'))).toEqual([]);
    expect(existsSync(join(st.run, 'cut'))).toBe(false);
    expect((await st.ok('domstate', 'cut')).stdout.trim()).toBe('shut off');
  });

  it('a corrupt or cut header is refused before anything starts', async () => {
    const bad = join(st.home, 'bad.qkvmsave');
    const data = Buffer.from(readFileSync(file()).subarray(0, 8192));
    data[30] = 0x00;
    writeFileSync(bad, data);
    const r = await st.qkvm('restore', bad, '--name', 'bad');
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/not a usable qkvm save file/);
    writeFileSync(bad, readFileSync(file()).subarray(0, 100));
    const r2 = await st.qkvm('restore', bad, '--name', 'bad');
    expect(r2.stderr).toMatch(/truncated/);
    writeFileSync(bad, 'just some text\n');
    expect((await st.qkvm('restore', bad, '--name', 'bad')).stderr).toMatch(/does not start with "QKVMSAVE1"/);
    expect(existsSync(join(st.run, 'bad'))).toBe(false);
  });
});
