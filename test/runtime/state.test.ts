// state.ts derives a guest's state and only reads. Identity comes from the
// kernel's witness (QEMU's POSIX lock on its -pidfile) and an exact argv match,
// never from the pidfile's content. Real QEMU processes and real temp dirs.
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  argvHasSocket, devId, guestStatus, isActive, isLegacyGuestDir, isQemuArgv, isQemuFor, legacyDir, pidAlive, posixLockHolders,
  qemuIdentity, qemuPid, qemuProcesses, requireActive, runDirOf, runDirProblem, runFiles, runGuestNames, scanQemuFor, startedSpec,
  readLocks, waitGone, witnessPid, RESERVED_RUN_NAMES,
} from '../../src/runtime/state.js';
import { startTimeOf } from '../../src/config/lock.js';
import { saveVm } from '../../src/config/store.js';
import { alive, impostor, killHard, startWitness, tree } from './witness.js';

let runDir: string;
const pids: number[] = [];
const kids: ChildProcess[] = [];
beforeEach(() => { runDir = mkdtempSync(join(tmpdir(), 'qkvm-state-')); process.env.QKVM_RUN = runDir; });
afterEach(() => {
  for (const p of pids.splice(0)) killHard(p);
  for (const k of kids.splice(0)) k.kill('SIGKILL');
  rmSync(runDir, { recursive: true, force: true });
  delete process.env.QKVM_RUN;
});
afterAll(() => { for (const p of pids) killHard(p); });

const vmDir = (n: string) => join(runDir, 'vms', n);
const mkVm = (n: string) => { mkdirSync(vmDir(n), { recursive: true, mode: 0o700 }); return vmDir(n); };
const witness = (n: string, opts?: { pidfile?: boolean }) => { const p = startWitness(mkVm(n), opts); pids.push(p); return p; };
const deadPid = () => spawnSync('true').pid!;
const fresh = () => qemuProcesses(0);

describe('identity primitives', () => {
  it('argvHasSocket: the socket as a whole unix: or path= field, never a substring', () => {
    const s = '/r/vms/g/qmp.sock';
    expect(argvHasSocket(['-qmp', `unix:${s},server=on,wait=off`], s)).toBe(true);
    expect(argvHasSocket([`unix:${s}`], s)).toBe(true);
    expect(argvHasSocket(['-chardev', `socket,id=m,path=${s},server=on`], s)).toBe(true);
    expect(argvHasSocket(['-qmp', `unix:${s}x,server=on`], s)).toBe(false);
    expect(argvHasSocket(['-qmp', `unix:/x${s},server=on`], s)).toBe(false);
    expect(argvHasSocket(['-name', `guest=${s}`], s)).toBe(false);
    expect(argvHasSocket([s], s)).toBe(false);
    expect(argvHasSocket([`xpath=${s}`], s)).toBe(false);
    expect(argvHasSocket([], s)).toBe(false);
  });

  it('isQemuArgv: argv[0] is a qemu-system binary', () => {
    expect(isQemuArgv(['qemu-system-x86_64', '-S'])).toBe(true);
    expect(isQemuArgv(['/usr/bin/qemu-system-aarch64'])).toBe(true);
    expect(isQemuArgv(['/usr/bin/qemu-img'])).toBe(false);
    expect(isQemuArgv(['/opt/qemu-system-x86_64/sleep'])).toBe(false);
    expect(isQemuArgv([])).toBe(false);
  });

  it('devId: major and minor as /proc/locks prints them', () => {
    expect(devId(0xfe00)).toBe('fe:00');
    expect(devId(0x0803)).toBe('08:03');
    expect(devId(0x2d)).toBe('00:2d');
    // minor 300: its high bits live above the major in the kernel's encoding.
    expect(devId((300 & 0xff) | (1 << 8) | ((300 & ~0xff) << 12))).toBe('01:12c');
    expect(devId(0xfff00)).toBe('fff:00');
  });

  it('posixLockHolders: POSIX write locks on that device and inode only', () => {
    const text = [
      '1: POSIX  ADVISORY  WRITE 11201 fe:00:2146936 0 EOF',
      '1: -> POSIX  ADVISORY  WRITE 999 fe:00:2146936 0 EOF',
      '2: FLOCK  ADVISORY  WRITE 222 fe:00:2146936 0 EOF',
      '3: POSIX  ADVISORY  READ 333 fe:00:2146936 0 EOF',
      '4: POSIX  ADVISORY  WRITE 444 fe:00:21469360 0 EOF',
      '5: POSIX  ADVISORY  WRITE 555 fe:01:2146936 0 EOF',
      '6: OFDLCK ADVISORY  WRITE -1 fe:00:2146936 0 EOF',
      '7: POSIX  ADVISORY  WRITE 777 fe:00:2146936 0 EOF',
      '',
    ].join('\n');
    expect(posixLockHolders(0xfe00, 2146936, text)).toEqual([11201, 777]);
    expect(posixLockHolders(0xfe00, 1, text)).toEqual([]);
  });

  it('pidAlive and waitGone: a dead pid is gone at once; a live one times out', async () => {
    expect(pidAlive(process.pid)).toBe(true);
    expect(pidAlive(deadPid())).toBe(false);
    expect(await waitGone(deadPid(), 1000)).toBe(true);
    expect(await waitGone(undefined, 1000)).toBe(true);
    expect(await waitGone(process.pid, 120)).toBe(false);
  });
});

describe('a real QEMU: witness and argv', () => {
  it('the witness is the pid holding the pidfile lock, whatever the file says', () => {
    const pid = witness('g');
    expect(witnessPid(join(vmDir('g'), 'qemu.pid'))).toBe(pid);
    writeFileSync(join(vmDir('g'), 'qemu.pid'), 'garbage\n');
    expect(witnessPid(join(vmDir('g'), 'qemu.pid'))).toBe(pid);
    expect(qemuIdentity('g')).toEqual({ pid, by: 'witness' });
    writeFileSync(join(vmDir('g'), 'qemu.pid'), `${process.pid}\n`);
    expect(qemuPid('g')).toBe(pid);
    expect(witnessPid(join(vmDir('g'), 'nope'))).toBeUndefined();
  });

  it('garbage in qemu.pid on a running guest: still running, and reading changes nothing', async () => {
    const pid = witness('g');
    writeFileSync(join(vmDir('g'), 'qemu.pid'), 'garbage\n');
    const before = tree(runDir);
    expect(await guestStatus('g')).toEqual({ name: 'g', state: 'paused', pid, qemuStatus: 'prelaunch' });
    expect(await guestStatus('g', { query: false })).toEqual({ name: 'g', state: 'running', pid });
    expect(await requireActive('g', { query: false })).toMatchObject({ pid });
    expect(tree(runDir)).toEqual(before);
    expect(alive(pid)).toBe(true);
  });

  it('one /proc/locks read serves many guests (list); a stale one never calls a dead QEMU live', async () => {
    const a = witness('a');
    const b = witness('b');
    const locks = readLocks()!;
    expect(qemuIdentity('a', locks)).toEqual({ pid: a, by: 'witness' });
    expect(qemuIdentity('b', locks)).toEqual({ pid: b, by: 'witness' });
    // b dies after the snapshot: its lock line is still in the text, its process is not.
    killHard(b);
    fresh();
    expect(qemuIdentity('b', locks)).toBeUndefined();
    expect((await guestStatus('b', { query: false, locks })).state).toBe('crashed');
    // A snapshot that predates a QEMU: found anyway, by argv.
    const c = witness('c');
    fresh();
    expect(qemuIdentity('c', locks)).toEqual({ pid: c, by: 'argv' });
  });

  it('a pidfile deleted under a live QEMU: found by exact argv', async () => {
    const pid = witness('g');
    unlinkSync(join(vmDir('g'), 'qemu.pid'));
    fresh();
    expect(qemuIdentity('g')).toEqual({ pid, by: 'argv' });
    expect((await guestStatus('g', { query: false })).state).toBe('running');
  });

  it('a QEMU without a pidfile lock is found by argv too', () => {
    const pid = witness('g', { pidfile: false });
    fresh();
    expect(scanQemuFor(join(vmDir('g'), 'qmp.sock'))).toEqual([pid]);
    expect(isQemuFor(pid, join(vmDir('g'), 'qmp.sock'))).toBe(true);
    expect(isQemuFor(pid, join(vmDir('h'), 'qmp.sock'))).toBe(false);
  });

  it("another guest's QEMU holding a lock on this pidfile's inode is not this guest's", () => {
    const pid = witness('other');
    mkVm('g');
    // This guest's qemu.pid is a hard link to the other's: same inode, other argv.
    spawnSync('ln', [join(vmDir('other'), 'qemu.pid'), join(vmDir('g'), 'qemu.pid')]);
    expect(witnessPid(join(vmDir('g'), 'qemu.pid'))).toBe(pid);
    fresh();
    expect(qemuIdentity('g')).toBeUndefined();
  });

  it('processes whose arguments merely contain the path, or pretend by argv[0], do not count', async () => {
    const dir = mkVm('g');
    const sock = join(dir, 'qmp.sock');
    const fakes = [
      impostor([`unix:${sock}x,server=on`]),
      impostor([sock]),
      impostor([`unix:${sock},server=on,wait=off`]),
      impostor([`unix:${sock},server=on,wait=off`], 'qemu-system-x86_64'),
    ];
    kids.push(...fakes);
    await new Promise((r) => setTimeout(r, 100));
    writeFileSync(join(dir, 'qemu.pid'), `${fakes[3].pid}\n`);
    fresh();
    expect(scanQemuFor(sock)).toEqual([]);
    expect(qemuPid('g')).toBeUndefined();
    const st = await guestStatus('g');
    expect(st.state).toBe('crashed');
    expect(st.pid).toBeUndefined();
    for (const f of fakes) expect(alive(f.pid!)).toBe(true);
  });

  it('a dead QEMU with its files left: crashed, says where, and nothing is touched', async () => {
    const pid = witness('g');
    killHard(pid);
    expect(await waitGone(pid, 10_000)).toBe(true);
    // QEMU had no chance to remove its pidfile.
    writeFileSync(join(vmDir('g'), 'qemu.pid'), `${pid}\n`);
    writeFileSync(join(vmDir('g'), 'spec.json'), '{}');
    const before = tree(runDir);
    fresh();
    const st = await guestStatus('g');
    expect(st.state).toBe('crashed');
    expect(st.reason).toContain(`QEMU died without a clean exit; its files are left in ${vmDir('g')}; \`qkvm recover g\``);
    expect(isActive(st.state)).toBe(false);
    await expect(requireActive('g')).rejects.toMatchObject({ code: 'STATE', message: 'guest "g" is not running (crashed)', hint: 'start it with `qkvm start g`' });
    expect(tree(runDir)).toEqual(before);
  });
});

describe('derived states without QEMU', () => {
  it('no run directory: shut off', async () => {
    expect(await guestStatus('g')).toEqual({ name: 'g', state: 'shut off' });
    expect(runGuestNames()).toEqual([]);
  });

  it('an empty run directory, or one with only logs: shut off, and not listed', async () => {
    writeFileSync(join(mkVm('g'), 'qemu.log'), 'x');
    expect(await guestStatus('g')).toEqual({ name: 'g', state: 'shut off' });
    expect(runGuestNames()).toEqual([]);
  });

  it('a crash marker: crashed, with the recorded reason', async () => {
    writeFileSync(join(mkVm('g'), 'crashed'), '2026-01-01T00:00:00.000Z QEMU died without a clean exit\n');
    expect(await guestStatus('g')).toEqual({ name: 'g', state: 'crashed', reason: 'QEMU died without a clean exit' });
    expect(runFiles.crashed('g')).toBe(join(vmDir('g'), 'crashed'));
    expect(runGuestNames()).toEqual(['g']);
  });

  it('a start under way (its qkvm alive): starting; its qkvm dead: needs recovery', async () => {
    const dir = mkVm('g');
    writeFileSync(join(dir, 'starting'), JSON.stringify({ pid: process.pid, start: startTimeOf(process.pid) }));
    expect(await guestStatus('g')).toEqual({ name: 'g', state: 'starting', pid: undefined });
    expect(isActive('starting')).toBe(true);
    for (const junk of [JSON.stringify({ pid: process.pid, start: 1 }), JSON.stringify({ pid: deadPid(), start: 1 }), 'junk', '{"pid":-1}']) {
      writeFileSync(join(dir, 'starting'), junk);
      const st = await guestStatus('g');
      expect(st.state).toBe('needs recovery');
      expect(st.reason).toBe('an interrupted start; `qkvm recover g` (or start/destroy) clears it');
    }
    expect(runFiles.starting('g')).toBe(join(dir, 'starting'));
    expect(isActive('needs recovery')).toBe(false);
    await expect(requireActive('g')).rejects.toMatchObject({ hint: 'an interrupted start; `qkvm recover g` (or start/destroy) clears it' });
  });

  it('an interrupted start whose QEMU runs: needs recovery, naming the pid', async () => {
    const pid = witness('g');
    writeFileSync(join(vmDir('g'), 'starting'), JSON.stringify({ pid: deadPid(), start: 1 }));
    const st = await guestStatus('g');
    expect(st).toMatchObject({ state: 'needs recovery', pid });
    expect(st.reason).toContain(`left QEMU pid ${pid} half set up`);
  });

  it('startedSpec reads spec.json, and nothing through a bad run directory', () => {
    writeFileSync(join(mkVm('g'), 'spec.json'), '{"name":"g","memory":"1G"}');
    expect(startedSpec('g')).toEqual({ name: 'g', memory: '1G' });
    writeFileSync(join(vmDir('g'), 'spec.json'), '{');
    expect(startedSpec('g')).toBeUndefined();
    const target = mkdtempSync(join(tmpdir(), 'qkvm-target-'));
    writeFileSync(join(target, 'spec.json'), '{"name":"g"}');
    rmSync(vmDir('g'), { recursive: true });
    symlinkSync(target, vmDir('g'));
    expect(startedSpec('g')).toBeUndefined();
    rmSync(target, { recursive: true });
  });
});

describe('run directories qkvm did not make', () => {
  it('a symlinked run directory: needs recovery, nothing in the target read or changed', async () => {
    const target = mkdtempSync(join(tmpdir(), 'qkvm-target-'));
    writeFileSync(join(target, 'qemu.pid'), 'x');
    writeFileSync(join(target, 'starting'), 'x');
    mkdirSync(join(runDir, 'vms'), { mode: 0o700 });
    symlinkSync(target, vmDir('g'));
    const before = [...tree(runDir), ...tree(target)];
    const st = await guestStatus('g');
    expect(st.state).toBe('needs recovery');
    expect(st.reason).toContain(`its run directory ${vmDir('g')} is a symbolic link; qkvm will not touch it`);
    expect(runGuestNames()).toEqual(['g']);
    expect([...tree(runDir), ...tree(target)]).toEqual(before);
    rmSync(target, { recursive: true });
  });

  it('a symlinked run directory under a live QEMU: still running (found by argv)', async () => {
    const pid = witness('g');
    const moved = join(runDir, 'moved');
    spawnSync('mv', [vmDir('g'), moved]);
    symlinkSync(moved, vmDir('g'));
    fresh();
    const st = await guestStatus('g');
    expect(st).toMatchObject({ state: 'running', pid });
    expect(st.reason).toContain('is a symbolic link');
  });

  it('runDirProblem: owner, mode, type', () => {
    const dir = mkVm('g');
    expect(runDirProblem(dir)).toBeUndefined();
    expect(runDirProblem(join(runDir, 'none'))).toBeUndefined();
    chmodSync(dir, 0o720);
    expect(runDirProblem(dir)).toBe(`its run directory ${dir} is writable by group or others (mode 720)`);
    chmodSync(dir, 0o702);
    expect(runDirProblem(dir)).toContain('writable by group or others (mode 702)');
    chmodSync(dir, 0o755);
    expect(runDirProblem(dir)).toBeUndefined();
    chownSync(dir, 65534, 65534);
    expect(runDirProblem(dir)).toBe(`its run directory ${dir} is owned by uid 65534, not ${process.getuid!()}`);
    rmSync(dir, { recursive: true });
    writeFileSync(dir, 'file');
    expect(runDirProblem(dir)).toBe(`its run directory ${dir} is not a directory`);
  });

  it('a run directory owned by another user: needs recovery', async () => {
    const dir = mkVm('g');
    writeFileSync(join(dir, 'qemu.pid'), '1');
    chownSync(dir, 65534, 65534);
    expect((await guestStatus('g')).state).toBe('needs recovery');
  });
});

describe('the old run layout (QKVM_RUN/NAME)', () => {
  it('an old guest directory is found until it moves; qkvm\'s own subtrees never are', () => {
    for (const n of RESERVED_RUN_NAMES) {
      mkdirSync(join(runDir, n), { recursive: true });
      writeFileSync(join(runDir, n, 'qemu.pid'), '1');
      expect(legacyDir(n)).toBeUndefined();
      expect(isLegacyGuestDir(n)).toBe(false);
    }
    expect(isLegacyGuestDir('old')).toBe(false);
    mkdirSync(join(runDir, 'old'));
    expect(isLegacyGuestDir('old')).toBe(false);
    for (const f of ['qemu.pid', 'qmp.sock', 'spec.json', 'starting', 'crashed']) {
      writeFileSync(join(runDir, 'old', f), '');
      expect(isLegacyGuestDir('old')).toBe(true);
      rmSync(join(runDir, 'old', f));
    }
    writeFileSync(join(runDir, 'old', 'qemu.pid'), '');
    expect(runDirOf('old')).toEqual({ dir: join(runDir, 'old'), legacy: true });
    expect(runGuestNames()).toEqual(['old']);
    mkVm('old');
    expect(runDirOf('old')).toEqual({ dir: vmDir('old'), legacy: false });
  });

  it('a symlink at QKVM_RUN/NAME is not an old guest directory', () => {
    const target = mkdtempSync(join(tmpdir(), 'qkvm-target-'));
    writeFileSync(join(target, 'qemu.pid'), '1');
    symlinkSync(target, join(runDir, 'old'));
    expect(isLegacyGuestDir('old')).toBe(false);
    rmSync(target, { recursive: true });
  });

  it('a live QEMU started in the old layout: running, and says so', async () => {
    const dir = join(runDir, 'old');
    mkdirSync(dir, { mode: 0o700 });
    const pid = startWitness(dir);
    pids.push(pid);
    const st = await guestStatus('old');
    expect(st).toEqual({ name: 'old', state: 'running', pid, reason: `started by an older qkvm: its run files are in ${dir}` });
  });
});

describe('QEMU run states over QMP (a real witness)', () => {
  it('prelaunch -> paused, cont -> running, stop -> paused; a silent QMP still counts as running', async () => {
    const pid = witness('g');
    const { QmpClient } = await import('../../src/qmp/index.js');
    const qmp = await QmpClient.connect(join(vmDir('g'), 'qmp.sock'), { timeoutMs: 5000 });
    try {
      expect(await guestStatus('g')).toEqual({ name: 'g', state: 'paused', pid, qemuStatus: 'prelaunch' });
      await qmp.execute('cont');
      expect(await guestStatus('g')).toEqual({ name: 'g', state: 'running', pid, qemuStatus: 'running' });
      expect(await requireActive('g')).toEqual({ name: 'g', state: 'running', pid, qemuStatus: 'running' });
      await qmp.execute('stop');
      expect(await guestStatus('g')).toEqual({ name: 'g', state: 'paused', pid, qemuStatus: 'paused' });
    } finally { await qmp.close(); }
    // The state socket's path gone: the QEMU still lives (witness), but QMP cannot answer.
    unlinkSync(join(vmDir('g'), 'qmp-state.sock'));
    expect(await guestStatus('g')).toEqual({ name: 'g', state: 'running', pid, reason: 'QMP did not answer' });
  });

  it('requireActive: needs recovery gives its reason as the hint; otherwise the caller\'s hint', async () => {
    const dir = mkVm('g');
    writeFileSync(join(dir, 'starting'), 'junk');
    const st = await guestStatus('g');
    expect(st.state).toBe('needs recovery');
    await expect(requireActive('g', { hint: 'not this' })).rejects.toMatchObject({ code: 'STATE', message: 'guest "g" is not running (needs recovery)', hint: st.reason });
    // A defined guest that is shut off gets the caller's hint; a name that is not
    // defined is told so, not "shut off".
    const home = mkdtempSync(join(tmpdir(), 'qkvm-state-home-'));
    const before = process.env.QKVM_HOME;
    process.env.QKVM_HOME = home;
    try {
      saveVm({ name: 'h', disks: [] });
      await expect(requireActive('h', { hint: 'do that' })).rejects.toMatchObject({ code: 'STATE', message: 'guest "h" is not running (shut off)', hint: 'do that' });
      await expect(requireActive('nope', { hint: 'do that' })).rejects.toMatchObject({ code: 'NOT_FOUND', message: 'guest "nope" is not defined' });
    } finally {
      if (before === undefined) delete process.env.QKVM_HOME; else process.env.QKVM_HOME = before;
      rmSync(home, { recursive: true, force: true });
    }
    for (const s of ['running', 'paused', 'starting', 'incoming', 'shutting down'] as const) expect(isActive(s)).toBe(true);
    for (const s of ['shut off', 'crashed', 'needs recovery'] as const) expect(isActive(s)).toBe(false);
  });
});

describe('starting records and listing: edges the mutants found', () => {
  it('a starter that is a zombie (exited, not reaped) is not starting: needs recovery', async () => {
    const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] });
    kids.push(parent);
    const zombie = Number(await new Promise<string>((r) => parent.stdout!.once('data', (d) => r(String(d).trim()))));
    const fields = () => { const t = readFileSync(`/proc/${zombie}/stat`, 'utf8'); return t.slice(t.lastIndexOf(')') + 2).split(' '); };
    const start = Number(fields()[19]);
    for (let i = 0; i < 100 && fields()[0] !== 'Z'; i++) await new Promise((r) => setTimeout(r, 20));
    expect(fields()[0]).toBe('Z');
    const dir = mkVm('g');
    writeFileSync(join(dir, 'starting'), JSON.stringify({ pid: zombie, start }));
    expect((await guestStatus('g')).state).toBe('needs recovery');
    // The same record for a live starter (its parent) is a start under way.
    writeFileSync(join(dir, 'starting'), JSON.stringify({ pid: parent.pid, start: startTimeOf(parent.pid!) }));
    expect((await guestStatus('g')).state).toBe('starting');
  });

  it('a starting record needs a positive integer pid', async () => {
    const dir = mkVm('g');
    for (const bad of [{ pid: 0, start: startTimeOf(process.pid) }, { pid: 1.5, start: 1 }, { pid: '1', start: startTimeOf(1) }]) {
      writeFileSync(join(dir, 'starting'), JSON.stringify(bad));
      expect((await guestStatus('g')).state, JSON.stringify(bad)).toBe('needs recovery');
    }
  });

  it('runGuestNames: marked dirs, symlinks (to be seen) and old-layout dirs; not bad names or unmarked dirs', () => {
    mkdirSync(join(runDir, 'vms'), { mode: 0o700 });
    for (const [n, f] of [['a', 'qemu.pid'], ['b', 'spec.json'], ['c', 'starting'], ['d', 'crashed'], ['e', 'qmp.sock'], ['.hidden', 'qemu.pid'], ['f', 'qemu.log']]) {
      mkdirSync(join(runDir, 'vms', n), { mode: 0o700 });
      writeFileSync(join(runDir, 'vms', n, f), '');
    }
    symlinkSync('/nonexistent', join(runDir, 'vms', 'l'));
    writeFileSync(join(runDir, 'vms', 'plainfile'), '');
    mkdirSync(join(runDir, 'old'), { mode: 0o700 });
    writeFileSync(join(runDir, 'old', 'qemu.pid'), '');
    mkdirSync(join(runDir, '-x'), { mode: 0o700 });
    writeFileSync(join(runDir, '-x', 'qemu.pid'), '');
    expect(runGuestNames().sort()).toEqual(['a', 'b', 'c', 'd', 'e', 'l', 'old']);
  });
});
