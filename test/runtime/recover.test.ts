// Recovery repairs what a crash or an interrupted start left, under the lock;
// it refuses run dirs qkvm did not make and kills only a proven QEMU.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { assertOwnDir, cleanupRunDir, recoverGuest, recoverLocked } from '../../src/runtime/recover.js';
import { guestStatus, qemuProcesses, waitGone } from '../../src/runtime/state.js';
import { acquireLock } from '../../src/config/lock.js';
import { alive, impostor, killHard, startWitness, tree } from './witness.js';

let runDir: string;
const pids: number[] = [];
const kids: ChildProcess[] = [];
beforeEach(() => { runDir = mkdtempSync(join(tmpdir(), 'qkvm-recover-')); process.env.QKVM_RUN = runDir; });
afterEach(() => {
  for (const p of pids.splice(0)) killHard(p);
  for (const k of kids.splice(0)) k.kill('SIGKILL');
  rmSync(runDir, { recursive: true, force: true });
  delete process.env.QKVM_RUN;
});

const vmDir = (n: string) => join(runDir, 'vms', n);
const mkVm = (n: string) => { mkdirSync(vmDir(n), { recursive: true, mode: 0o700 }); return vmDir(n); };
const deadPid = () => spawnSync('true').pid!;
const ls = (d: string) => (existsSync(d) ? readdirSync(d).sort() : []);
const crashLeftovers = (dir: string) => {
  for (const f of ['qemu.pid', 'qmp.sock', 'qmp-state.sock', 'serial.sock', 'qemu.log', 'serial.log']) writeFileSync(join(dir, f), f === 'qemu.pid' ? `${deadPid()}\n` : 'x');
  writeFileSync(join(dir, 'spec.json'), JSON.stringify({ name: 'g', nics: [] }));
};

describe('recover', () => {
  it('nothing to do: says so and changes nothing', async () => {
    expect(await recoverGuest('g')).toEqual({ name: 'g', actions: [], status: { name: 'g', state: 'shut off' } });
    mkVm('g');
    writeFileSync(join(vmDir('g'), 'qemu.log'), 'x');
    const before = tree(runDir);
    expect((await recoverGuest('g')).actions).toEqual([]);
    expect(tree(runDir)).toEqual(before);
  });

  it('a dead QEMU\'s leftovers: run files removed, logs kept, crash recorded', async () => {
    crashLeftovers(mkVm('g'));
    const r = await recoverGuest('g');
    expect(r.actions).toEqual([`removed the run files in ${vmDir('g')}`]);
    expect(r.status).toMatchObject({ state: 'crashed', reason: 'QEMU died without a clean exit' });
    expect(ls(vmDir('g'))).toEqual(['crashed', 'qemu.log', 'serial.log']);
    expect(readFileSync(join(vmDir('g'), 'crashed'), 'utf8')).toMatch(/^\d{4}-\d\d-\d\dT\S+ QEMU died without a clean exit\n$/);
    // Idempotent: a second recover finds nothing left.
    expect((await recoverGuest('g')).actions).toEqual([]);
  });

  it('a clean exit nobody saw (guest powered itself off): its sockets and spec go, logs stay, no crash', async () => {
    const dir = mkVm('g');
    for (const f of ['qmp.sock', 'qmp-state.sock', 'qemu.log']) writeFileSync(join(dir, f), '');
    const r = await recoverGuest('g');
    expect(r.actions).toEqual([`removed the run files in ${dir}`]);
    expect(r.status.state).toBe('shut off');
    expect(ls(dir)).toEqual(['qemu.log']);
    writeFileSync(join(dir, 'spec.json'), JSON.stringify({ name: 'g', nics: [] }));
    expect((await recoverGuest('g')).actions).toEqual([`removed the run files in ${dir}`]);
    expect(ls(dir)).toEqual(['qemu.log']);
  });

  it('an interrupted start: its half set-up QEMU (proven ours) is killed and the dir cleared', async () => {
    const dir = mkVm('g');
    const pid = startWitness(dir);
    pids.push(pid);
    writeFileSync(join(dir, 'starting'), JSON.stringify({ pid: deadPid(), start: 1 }));
    const r = await recoverGuest('g');
    expect(r.actions[0]).toBe(`killed QEMU pid ${pid}, left half set up by an interrupted start`);
    expect(r.actions[1]).toBe(`removed the run files in ${dir}`);
    expect(await waitGone(pid, 5000)).toBe(true);
    expect(existsSync(dir)).toBe(false);
    expect(r.status.state).toBe('shut off');
  });

  it('an interrupted start without QEMU: cleared, nothing killed', async () => {
    const dir = mkVm('g');
    writeFileSync(join(dir, 'starting'), 'junk');
    const r = await recoverGuest('g');
    expect(r.actions).toEqual([`removed the run files in ${dir}`]);
    expect(existsSync(dir)).toBe(false);
  });

  it('a running guest is left alone, even with garbage in its pidfile', async () => {
    const dir = mkVm('g');
    const pid = startWitness(dir);
    pids.push(pid);
    writeFileSync(join(dir, 'qemu.pid'), 'garbage');
    const before = tree(dir);
    const r = await recoverGuest('g');
    expect(r.actions).toEqual([]);
    expect(r.status).toMatchObject({ state: 'running', pid });
    expect(alive(pid)).toBe(true);
    expect(tree(dir)).toEqual(before);
  });

  it('never kills a process that only names the socket; its pid in qemu.pid makes it a crash', async () => {
    const dir = mkVm('g');
    const fake = impostor([`unix:${join(dir, 'qmp.sock')},server=on,wait=off`], 'qemu-system-x86_64');
    kids.push(fake);
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(join(dir, 'qemu.pid'), `${fake.pid}\n`);
    writeFileSync(join(dir, 'starting'), JSON.stringify({ pid: deadPid(), start: 1 }));
    qemuProcesses(0);
    const r = await recoverGuest('g');
    expect(r.actions).toEqual([`removed the run files in ${dir}`]);
    expect(alive(fake.pid!)).toBe(true);
  });

  it('a symlinked run dir: refused with a clear error; the target is untouched', async () => {
    const target = mkdtempSync(join(tmpdir(), 'qkvm-target-'));
    crashLeftovers(target);
    mkdirSync(join(runDir, 'vms'), { mode: 0o700 });
    symlinkSync(target, vmDir('g'));
    const before = tree(target);
    await expect(recoverGuest('g')).rejects.toMatchObject({ code: 'STATE', message: `guest "g": its run directory ${vmDir('g')} is a symbolic link: qkvm will not touch it` });
    await expect(cleanupRunDir('g', { all: true })).rejects.toThrow(/symbolic link/);
    expect(tree(target)).toEqual(before);
    rmSync(target, { recursive: true });
  });

  it('a symlinked vms/ directory: refused', async () => {
    const target = mkdtempSync(join(tmpdir(), 'qkvm-target-'));
    mkdirSync(join(target, 'g'), { mode: 0o700 });
    crashLeftovers(join(target, 'g'));
    symlinkSync(target, join(runDir, 'vms'));
    const before = tree(target);
    await expect(recoverGuest('g')).rejects.toThrow(`its run directory ${join(runDir, 'vms')} is a symbolic link`);
    expect(tree(target)).toEqual(before);
    rmSync(target, { recursive: true });
  });

  it('a run dir writable by others: refused', async () => {
    const dir = mkVm('g');
    crashLeftovers(dir);
    chmodSync(dir, 0o777);
    await expect(recoverGuest('g')).rejects.toThrow('writable by group or others');
    expect(ls(dir)).toContain('qemu.pid');
  });

  it('links inside the run dir are unlinked, never followed; subdirectories are left', async () => {
    const dir = mkVm('g');
    const target = mkdtempSync(join(tmpdir(), 'qkvm-target-'));
    writeFileSync(join(target, 'precious'), 'p');
    writeFileSync(join(dir, 'qemu.pid'), `${deadPid()}`);
    symlinkSync(join(target, 'precious'), join(dir, 'qmp.sock'));
    symlinkSync(target, join(dir, 'serial.sock'));
    mkdirSync(join(dir, 'sub'));
    writeFileSync(join(dir, 'sub', 'x'), 'x');
    await recoverGuest('g');
    expect(readFileSync(join(target, 'precious'), 'utf8')).toBe('p');
    expect(ls(dir)).toEqual(['crashed', 'sub']);
    expect(ls(join(dir, 'sub'))).toEqual(['x']);
    await cleanupRunDir('g', { all: true });
    expect(ls(dir)).toEqual(['sub']);
    rmSync(target, { recursive: true });
  });

  it('waits for no one: a held lock makes recover refuse (LOCKED)', async () => {
    const l = await acquireLock('vm', 'g', 'starting the guest');
    await expect(recoverGuest('g')).rejects.toMatchObject({ code: 'LOCKED' });
    l.release();
  });

  it('assertOwnDir: absent is fine; names the guest when given', () => {
    expect(() => assertOwnDir(join(runDir, 'none'))).not.toThrow();
    const dir = mkVm('g');
    chmodSync(dir, 0o770);
    expect(() => assertOwnDir(dir)).toThrow(new RegExp(`^its run directory ${dir} is writable`));
    expect(() => assertOwnDir(dir, 'g')).toThrow(/^guest "g": its run directory/);
  });
});

describe('recover: details the mutants found', () => {
  it('the crash marker is private (dir 0700, file 0600) and made where the guest now lives', async () => {
    mkdirSync(join(runDir, 'h'), { mode: 0o700 });
    writeFileSync(join(runDir, 'h', 'qmp.sock'), '');
    expect(await cleanupRunDir('h', { crashed: 'gone' })).toEqual([`removed the run files in ${join(runDir, 'h')}`]);
    expect(statSync(vmDir('h')).mode & 0o777).toBe(0o700);
    expect(statSync(join(vmDir('h'), 'crashed')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(vmDir('h'), 'crashed'), 'utf8')).toMatch(/^\S+ gone\n$/);
  });

  it('a started spec with taps says it released them; without taps it does not', async () => {
    const dir = mkVm('g');
    writeFileSync(join(dir, 'qemu.pid'), `${deadPid()}`);
    writeFileSync(join(dir, 'spec.json'), JSON.stringify({ name: 'g', nics: [], _nics: [{ mac: '52:54:00:00:00:02' }, { tap: 'qkvm-none0', mac: '52:54:00:00:00:01' }] }));
    expect((await recoverGuest('g')).actions).toEqual(['released its taps', `removed the run files in ${dir}`]);
    writeFileSync(join(dir, 'qemu.pid'), `${deadPid()}`);
    writeFileSync(join(dir, 'spec.json'), JSON.stringify({ name: 'g', nics: [], _nics: [{ mac: '52:54:00:00:00:01' }] }));
    expect((await recoverGuest('g')).actions).toEqual([`removed the run files in ${dir}`]);
  });

  it('a refused run dir: a STATE error whose hint says how to remove it by hand', () => {
    const dir = mkVm('g');
    chmodSync(dir, 0o777);
    let err: any;
    try { assertOwnDir(dir, 'g'); } catch (e) { err = e; }
    expect(err).toMatchObject({ code: 'STATE', message: `guest "g": its run directory ${dir} is writable by group or others (mode 777): qkvm will not touch it`, hint: `qkvm made none of that; look at it, and remove it by hand (\`rm ${dir}\`) if it is not needed` });
  });

  it('a shut-off dir with only logs or a crash marker is left as it is', async () => {
    const dir = mkVm('g');
    writeFileSync(join(dir, 'serial.log'), 's');
    writeFileSync(join(dir, 'other'), 'o');
    const before = tree(dir);
    expect((await recoverGuest('g')).actions).toEqual([]);
    expect(tree(dir)).toEqual(before);
  });

  it('cleanup keeps the logs and a crash marker for a post-mortem', async () => {
    const dir = mkVm('g');
    for (const f of ['crashed', 'qemu.log', 'serial.log', 'qmp.sock', 'spec.json']) writeFileSync(join(dir, f), '{}');
    await cleanupRunDir('g');
    expect(ls(dir)).toEqual(['crashed', 'qemu.log', 'serial.log']);
  });

  it('all: logs go too, and the emptied dir is removed', async () => {
    const dir = mkVm('g');
    crashLeftovers(dir);
    await cleanupRunDir('g', { all: true });
    expect(existsSync(dir)).toBe(false);
  });
});

describe('the old layout migration', () => {
  it('a dead old-layout dir moves to vms/NAME and is then recovered', async () => {
    const old = join(runDir, 'g');
    mkdirSync(old, { mode: 0o700 });
    crashLeftovers(old);
    const r = await recoverLocked('g');
    expect(r.actions).toEqual([`moved ${old} to ${vmDir('g')} (the new run layout)`, `removed the run files in ${vmDir('g')}`]);
    expect(existsSync(old)).toBe(false);
    expect(ls(vmDir('g'))).toEqual(['crashed', 'qemu.log', 'serial.log']);
  });

  it('a live old-layout QEMU keeps its dir (its sockets are in its argv)', async () => {
    const old = join(runDir, 'g');
    mkdirSync(old, { mode: 0o700 });
    const pid = startWitness(old);
    pids.push(pid);
    const r = await recoverGuest('g');
    expect(r.actions).toEqual([]);
    expect(r.status).toMatchObject({ state: 'running', pid });
    expect(existsSync(join(old, 'qmp.sock'))).toBe(true);
    expect(existsSync(vmDir('g'))).toBe(false);
  });

  it('once its QEMU is gone, the old dir\'s logs move to vms/NAME; an emptied one is removed', async () => {
    const old = join(runDir, 'g');
    mkdirSync(old, { mode: 0o700 });
    const pid = startWitness(old);
    writeFileSync(join(old, 'qemu.log'), 'log');
    killHard(pid);
    expect(await waitGone(pid, 5000)).toBe(true);
    qemuProcesses(0);
    const done = await cleanupRunDir('g');
    expect(done).toEqual([`removed the run files in ${old}`, `moved ${old} to ${vmDir('g')} (the new run layout)`]);
    expect(existsSync(old)).toBe(false);
    expect(ls(vmDir('g'))).toEqual(['qemu.log']);
    mkdirSync(join(runDir, 'h'), { mode: 0o700 });
    writeFileSync(join(runDir, 'h', 'qmp.sock'), '');
    await cleanupRunDir('h', { crashed: 'gone' });
    expect(existsSync(join(runDir, 'h'))).toBe(false);
    expect(ls(vmDir('h'))).toEqual(['crashed']);
  });

  it('an old-layout dir that is not ours is refused, not moved', async () => {
    const old = join(runDir, 'g');
    mkdirSync(old, { mode: 0o777 });
    chmodSync(old, 0o777);
    crashLeftovers(old);
    await expect(recoverGuest('g')).rejects.toThrow(`its run directory ${old} is writable`);
    expect(ls(old)).toContain('qemu.pid');
  });

  it('qkvm\'s own subtrees are never taken for a guest (net, taps, pools, locks, vms)', async () => {
    for (const n of ['net', 'taps', 'pools']) {
      mkdirSync(join(runDir, n), { mode: 0o700 });
      crashLeftovers(join(runDir, n));
    }
    const before = tree(runDir);
    for (const n of ['net', 'taps', 'pools', 'locks', 'vms']) {
      const r = await recoverGuest(n);
      expect(r.actions).toEqual([]);
      expect((await guestStatus(n)).state).toBe('shut off');
    }
    expect(tree(runDir).filter((l) => !/locks/.test(l))).toEqual(before.filter((l) => !/locks/.test(l)));
  });
});
