// Safety cases of the state area (issue 9, classes 1, 2 and 6): reading state
// never changes the host; names cannot reach qkvm's own subtrees; faults of the
// state directories give clear errors; identity is never a substring or a
// pidfile's word. Each case: exit code, the message names the bad thing, and
// nothing lost (the bystander runs with the same pid; no file outside changed).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { World, expectRefused, type Snapshot } from './world.js';

const READERS = [['list', '--all'], ['list', '--all', '--json'], ['info', 'NAME'], ['info', 'NAME', '--json'], ['domstate', 'NAME'], ['domstate', 'NAME', '--json']];

/** The purity proof: every reader exits 0 and the run directory is byte-identical, no process killed. */
async function expectPure(w: World, name: string, before: Snapshot, state: RegExp, opts: { guestWrites?: boolean } = {}): Promise<void> {
  for (const args of READERS) {
    const r = await w.qkvm(args.map((a) => (a === 'NAME' ? name : a)));
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    expect(r.stderr, 'no stack trace').not.toMatch(/^\s+at /m);
    if (args[0] === 'domstate' && !args.includes('--json')) expect(r.stdout).toMatch(state);
  }
  const after = await w.snapshot();
  // A running guest appends to its own serial.log: only then are its logs' contents left out.
  const tree = (x: Snapshot) => w.runTree(x).filter(([p]) => !(opts.guestWrites && p.endsWith('.log')));
  expect(tree(after), 'run directory byte-identical').toEqual(tree(before));
  expect(after.qemu, 'no QEMU killed or started').toEqual(before.qemu);
  await w.expectNothingLost(before);
}

/** A real QEMU with a guest's run paths, as an interrupted start or an old qkvm would have left it. */
function qemuIn(dir: string, opts: { pidfile?: boolean } = {}): number {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const r = spawnSync('qemu-system-x86_64', ['-S', '-display', 'none', '-machine', 'none', '-nodefaults',
    '-qmp', `unix:${join(dir, 'qmp.sock')},server=on,wait=off`, '-qmp', `unix:${join(dir, 'qmp-state.sock')},server=on,wait=off`,
    ...(opts.pidfile === false ? [] : ['-pidfile', join(dir, 'qemu.pid')]), '-daemonize'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return Number(readFileSync(join(dir, 'qemu.pid'), 'utf8'));
}

const alive = (pid: number) => {
  try { const s = readFileSync(`/proc/${pid}/stat`, 'utf8'); return !/^\S+ \(.*\) [ZX]/.test(s); } catch { return false; }
};
const deadPid = () => spawnSync('true').pid!;

describe('safety: state (reading is pure, recovery is explicit, faults are clear)', () => {
  let w: World;
  let bystander: number;
  const kids: ChildProcess[] = [];
  beforeAll(async () => {
    w = await World.create();
    await w.defineDemo('by');
    bystander = await w.startDemo('by');
  });
  afterAll(async () => {
    for (const k of kids) k.kill('SIGKILL');
    await w?.destroy();
  });
  const bystanderRuns = () => expect(w.snapshot().then((s) => s.qemu), 'bystander runs').resolves.toContain(bystander);

  it('S-SA01 state: garbage in qemu.pid of a running guest: still running, reading is pure, start refuses a second QEMU', async () => {
    await w.defineDemo('g1');
    const pid = await w.startDemo('g1');
    writeFileSync(join(w.run, 'vms', 'g1', 'qemu.pid'), 'garbage\n');
    const before = await w.snapshot();
    await expectPure(w, 'g1', before, /^running/, { guestWrites: true });
    const r = await w.qkvm(['start', 'g1']);
    expectRefused(r, { code: 1, mentions: ['"g1" is already running', `pid ${pid}`] });
    await w.expectNothingLost(before, { ignore: [join(w.run, 'locks')] });
    const d = await w.qkvm(['destroy', 'g1']);
    expect(d.code, d.stderr).toBe(0);
    expect(alive(pid)).toBe(false);
    await bystanderRuns();
  });

  it('S-SA02 state: a symlinked run dir: list, info, domstate are pure and nothing in the target is touched', async () => {
    await w.defineDemo('g2');
    mkdirSync(join(w.run, 'vms'), { recursive: true });
    writeFileSync(join(w.outside, 'qemu.pid'), '1\n');
    writeFileSync(join(w.outside, 'starting'), '{"pid":1}');
    symlinkSync(w.outside, join(w.run, 'vms', 'g2'));
    const before = await w.snapshot();
    await expectPure(w, 'g2', before, /^needs recovery \(its run directory .*vms\/g2 is a symbolic link/);
  });

  it('S-SA03 state: a symlinked run dir: start, destroy and recover refuse, naming it; the target keeps its files', async () => {
    const before = await w.snapshot();
    for (const cmd of ['start', 'destroy', 'recover', 'shutdown']) {
      const r = await w.qkvm([cmd, 'g2']);
      expectRefused(r, { code: 1, mentions: [`${join(w.run, 'vms', 'g2')} is a symbolic link`, 'qkvm will not touch it'] });
    }
    await w.expectNothingLost(before, { ignore: [join(w.run, 'locks')] });
    expect(existsSync(join(w.outside, 'qemu.pid'))).toBe(true);
    rmSync(join(w.run, 'vms', 'g2'));
    rmSync(join(w.outside, 'qemu.pid'));
    rmSync(join(w.outside, 'starting'));
  });

  it("S-SA04 state: a dead QEMU's leftovers (kill -9): crashed, and list/info/domstate leave every file", async () => {
    await w.defineDemo('g4');
    const pid = await w.startDemo('g4');
    process.kill(pid, 'SIGKILL');
    await expect.poll(() => alive(pid), { timeout: 10_000 }).toBe(false);
    const before = await w.snapshot();
    await expectPure(w, 'g4', before, /^crashed \(QEMU died without a clean exit; its files are left in/);
    expect(existsSync(join(w.run, 'vms', 'g4', 'qemu.pid'))).toBe(true);
  });

  it('S-SA05 state: explicit recover clears a crash\'s files (logs kept) and start works again', async () => {
    const r = await w.qkvm(['recover', 'g4']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr + r.stdout).toContain(`removed the run files in ${join(w.run, 'vms', 'g4')}`);
    expect(existsSync(join(w.run, 'vms', 'g4', 'qemu.pid'))).toBe(false);
    expect(existsSync(join(w.run, 'vms', 'g4', 'qemu.log'))).toBe(true);
    expect((await w.qkvm(['domstate', 'g4'])).stdout).toMatch(/^crashed/);
    await w.startDemo('g4');
    expect((await w.qkvm(['destroy', 'g4'])).code).toBe(0);
    await bystanderRuns();
  });

  it('S-SA06 state: an interrupted start with a half set-up QEMU: readers leave it; recover kills only that QEMU', async () => {
    await w.defineDemo('g6');
    const dir = join(w.run, 'vms', 'g6');
    const pid = qemuIn(dir);
    writeFileSync(join(dir, 'starting'), JSON.stringify({ pid: deadPid(), start: 1 }));
    const before = await w.snapshot();
    await expectPure(w, 'g6', before, /^needs recovery \(an interrupted start left QEMU pid \d+ half set up/);
    const r = await w.qkvm(['recover', 'g6']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`killed QEMU pid ${pid}, left half set up by an interrupted start`);
    expect(alive(pid)).toBe(false);
    await bystanderRuns();
  });

  it('S-SA07 state: a process whose arguments merely contain the socket path is not the guest\'s QEMU and is never killed', async () => {
    await w.defineDemo('g7');
    const dir = join(w.run, 'vms', 'g7');
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const sock = join(dir, 'qmp.sock');
    const fake = spawn('sh', ['-c', 'sleep 1000; :', `unix:${sock}.evil,server=on`, `unix:${sock},server=on`], { argv0: 'qemu-system-x86_64', stdio: 'ignore' });
    kids.push(fake);
    await new Promise((res) => setTimeout(res, 200));
    writeFileSync(join(dir, 'qemu.pid'), `${fake.pid}\n`);
    const before = await w.snapshot();
    await expectPure(w, 'g7', before, /^crashed/);
    for (const cmd of ['destroy', 'start', 'destroy']) {
      const r = await w.qkvm([cmd, 'g7']);
      expect(r.code, `${cmd}: ${r.stderr}`).toBe(0);
    }
    expect(alive(fake.pid!)).toBe(true);
    await bystanderRuns();
  });

  it('S-SA08 state: a run dir writable by others or owned by another user: readers are pure, start refuses naming it', async () => {
    await w.defineDemo('g8');
    const dir = join(w.run, 'vms', 'g8');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'qemu.pid'), '1\n');
    chmodSync(dir, 0o777);
    let before = await w.snapshot();
    await expectPure(w, 'g8', before, /^needs recovery \(its run directory .* is writable by group or others \(mode 777\)/);
    expectRefused(await w.qkvm(['start', 'g8']), { code: 1, mentions: [dir, 'writable by group or others'] });
    chmodSync(dir, 0o700);
    chownSync(dir, 65534, 65534);
    before = await w.snapshot();
    await expectPure(w, 'g8', before, /^needs recovery \(its run directory .* is owned by uid 65534/);
    expectRefused(await w.qkvm(['destroy', 'g8']), { code: 1, mentions: [dir, 'owned by uid 65534'] });
    await w.expectNothingLost(before, { ignore: [join(w.run, 'locks')] });
    rmSync(dir, { recursive: true });
  });

  it('S-SA09 state: a live QEMU of the old layout (run/NAME): shown running, and start refuses a second QEMU', async () => {
    await w.defineDemo('g9');
    const pid = qemuIn(join(w.run, 'g9'));
    const before = await w.snapshot();
    await expectPure(w, 'g9', before, /^running \(started by an older qkvm/);
    expectRefused(await w.qkvm(['start', 'g9']), { code: 1, mentions: ['"g9" is already running', `pid ${pid}`] });
    await w.expectNothingLost(before, { ignore: [join(w.run, 'locks')] });
    const d = await w.qkvm(['destroy', 'g9']);
    expect(d.code, d.stderr).toBe(0);
    expect(alive(pid)).toBe(false);
  });

  it('S-SA10 state: a dead old-layout dir (run/NAME) moves to run/vms/NAME on the next start; qkvm\'s own subtrees stay', async () => {
    expect(existsSync(join(w.run, 'g9')), 'destroy retired the old dir of S-SA09').toBe(false);
    await w.defineDemo('g10');
    const old = join(w.run, 'g10');
    mkdirSync(old, { mode: 0o700 });
    writeFileSync(join(old, 'qemu.pid'), `${deadPid()}\n`);
    writeFileSync(join(old, 'qmp.sock'), '');
    writeFileSync(join(old, 'qemu.log'), 'an old log\n');
    const before = await w.snapshot();
    await expectPure(w, 'g10', before, /^crashed \(QEMU died without a clean exit; its files are left in .*\/g10;/);
    await w.startDemo('g10');
    expect(existsSync(old)).toBe(false);
    expect(existsSync(join(w.run, 'vms', 'g10', 'qmp.sock'))).toBe(true);
    expect((await w.qkvm(['destroy', 'g10'])).code).toBe(0);
    await w.expectNothingLost(before, { ignore: [old, join(w.run, 'vms', 'g10'), join(w.run, 'locks')] });
    await bystanderRuns();
  });

  for (const [i, name] of ['net', 'taps', 'pools', 'locks', 'vms'].entries()) {
    it(`S-SA${11 + i} state: a guest named "${name}" starts and stops without touching run/${name} or anything else`, async () => {
      // Sentinels where the old layout put networks, taps, pools and locks.
      for (const sub of ['net/n1', 'taps', 'pools', 'locks/net']) mkdirSync(join(w.run, sub), { recursive: true, mode: 0o700 });
      writeFileSync(join(w.run, 'net', 'n1', 'dnsmasq.pid'), '1\n');
      writeFileSync(join(w.run, 'taps', 'qk-x.env'), 'TAP=qk-x\nGUEST=other\n');
      writeFileSync(join(w.run, 'pools', 'p.json'), '{}');
      writeFileSync(join(w.run, 'net', 'qemu.pid'), '1\n');
      await w.defineDemo(name);
      const before = await w.snapshot();
      const pid = await w.startDemo(name);
      for (const args of [['list', '--all'], ['info', name], ['domstate', name]]) expect((await w.qkvm(args)).code).toBe(0);
      const d = await w.qkvm(['destroy', name]);
      expect(d.code, d.stderr).toBe(0);
      expect(alive(pid)).toBe(false);
      await w.expectNothingLost(before, { ignore: [join(w.run, 'vms', name), join(w.run, 'vms'), join(w.run, 'locks', 'vm')] });
      await bystanderRuns();
    });
  }

  it('S-SA16 state: QKVM_RUN owned by another user is refused by every command, naming it', async () => {
    const other = join(w.root, 'other-run');
    mkdirSync(other, { mode: 0o700 });
    chownSync(other, 65534, 65534);
    const before = await w.snapshot();
    for (const args of [['list'], ['start', 'by'], ['destroy', 'by']]) {
      expectRefused(await w.qkvm(args, { env: { QKVM_RUN: other } }), { code: 1, mentions: [`QKVM_RUN ${other} is owned by uid 65534`] });
    }
    await w.expectNothingLost(before);
    await bystanderRuns();
  });

  it('S-SA17 state: QKVM_RUN or QKVM_HOME that is a symlink is refused, naming it', async () => {
    symlinkSync(w.run, join(w.root, 'run-link'));
    symlinkSync(w.home, join(w.root, 'home-link'));
    const before = await w.snapshot();
    expectRefused(await w.qkvm(['destroy', 'by'], { env: { QKVM_RUN: join(w.root, 'run-link') } }), { code: 1, mentions: [`QKVM_RUN ${join(w.root, 'run-link')} is a symbolic link`] });
    expectRefused(await w.qkvm(['list', '--all'], { env: { QKVM_HOME: join(w.root, 'home-link') } }), { code: 1, mentions: [`QKVM_HOME ${join(w.root, 'home-link')} is a symbolic link`] });
    await w.expectNothingLost(before);
    await bystanderRuns();
  });

  it('S-SA18 state: the /tmp fallback run dir of a non-root user, planted by someone else, is refused', async () => {
    const uid = 64917;
    const planted = `/tmp/qkvm-${uid}`;
    const cleanups: string[] = [];
    if (existsSync(planted)) throw new Error(`${planted} exists already: remove it to run this case`);
    mkdirSync(planted, { mode: 0o777 });
    chmodSync(planted, 0o777);
    try {
      // Outside the world's root (0700, root's): the user must reach its own home.
      const home = mkdtempSync('/tmp/qkvm-safety-user-');
      chmodSync(home, 0o700);
      cleanups.push(home);
      chownSync(home, uid, uid);
      const run = (args: string[]) => spawnSync('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, join(process.cwd(), 'dist/src/cli/main.js'), ...args],
        { encoding: 'utf8', env: { PATH: process.env.PATH, QKVM_HOME: home, HOME: home } });
      const r1 = run(['list', '--all']);
      expectRefused({ code: r1.status ?? -1, stdout: r1.stdout, stderr: r1.stderr }, { code: 1, mentions: [`QKVM_RUN ${planted} is owned by uid 0`] });
      rmSync(planted, { recursive: true });
      // Made by its user, 0700, when missing.
      const r2 = run(['list', '--all']);
      expect(r2.status, r2.stderr).toBe(0);
      const st = spawnSync('stat', ['-c', '%u %a', planted], { encoding: 'utf8' }).stdout.trim();
      expect(st).toBe(`${uid} 700`);
      chmodSync(planted, 0o755);
      const r3 = run(['list', '--all']);
      expectRefused({ code: r3.status ?? -1, stdout: r3.stdout, stderr: r3.stderr }, { code: 1, mentions: [`QKVM_RUN ${planted} has mode 0755`] });
    } finally {
      rmSync(planted, { recursive: true, force: true });
      for (const c of cleanups.splice(0)) rmSync(c, { recursive: true, force: true });
    }
  });
});

describe('safety: state faults (full QKVM_HOME, read-only and full QKVM_RUN)', () => {
  let w: World;
  beforeAll(async () => { w = await World.create(); });
  afterAll(async () => { await w?.destroy(); });

  const mountTmpfs = (dir: string, size: string) => {
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'qkvm-safety', dir], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mount tmpfs on ${dir}: ${r.stderr}`);
  };
  const fill = (dir: string) => { spawnSync('dd', ['if=/dev/zero', `of=${join(dir, 'filler')}`, 'bs=64k'], { encoding: 'utf8' }); };
  const umount = (dir: string) => { spawnSync('umount', [dir]); };

  it('S-SA19 state: destroy and shutdown --force work with QKVM_HOME full (ENOSPC): stopping needs no free byte', async () => {
    // QKVM_HOME on a tmpfs of its own, filled to the last byte after the guests start.
    renameSync(w.home, `${w.home}.orig`);
    mkdirSync(w.home, { mode: 0o700 });
    mountTmpfs(w.home, '4M');
    try {
      await w.defineDemo('f1');
      await w.defineDemo('f2');
      const p1 = await w.startDemo('f1');
      const p2 = await w.startDemo('f2');
      fill(w.home);
      expect(spawnSync('sh', ['-c', `echo x > ${join(w.home, 'probe')}`]).status, 'home is full').not.toBe(0);
      const before = await w.snapshot();
      const d = await w.qkvm(['destroy', 'f1']);
      expect(d.code, d.stderr).toBe(0);
      expect(d.stderr).toContain('guest "f1" destroyed');
      const s = await w.qkvm(['shutdown', 'f2', '--force', '--timeout', '1']);
      expect(s.code, s.stderr).toBe(0);
      expect(s.stderr).toMatch(/guest "f2" is shut off/);
      expect(alive(p1)).toBe(false);
      expect(alive(p2)).toBe(false);
      const after = await w.snapshot();
      expect([...after.files].filter(([p]) => p.startsWith(w.home + '/')), 'home unchanged').toEqual([...before.files].filter(([p]) => p.startsWith(w.home + '/')));
    } finally {
      umount(w.home);
      rmSync(w.home, { recursive: true, force: true });
      renameSync(`${w.home}.orig`, w.home);
    }
  });

  it('S-SA20 state: a read-only QKVM_RUN: start fails with an error naming the directory, no stack trace, nothing left', async () => {
    await w.defineDemo('f3');
    const ro = join(w.root, 'ro-run');
    mkdirSync(ro, { mode: 0o700 });
    mountTmpfs(ro, '1M');
    spawnSync('mount', ['-o', 'remount,ro', ro]);
    try {
      const before = await w.snapshot();
      const r = await w.qkvm(['start', 'f3'], { env: { QKVM_RUN: ro } });
      expectRefused(r, { code: 1, mentions: [`cannot write in ${ro}: it is on a read-only file system`] });
      const d = await w.qkvm(['destroy', 'f3'], { env: { QKVM_RUN: ro } });
      expectRefused(d, { code: 1, mentions: [ro, 'read-only file system'] });
      await w.expectNothingLost(before);
    } finally { umount(ro); }
  });

  it('S-SA21 state: a full QKVM_RUN: start fails with an error naming the directory, no QEMU left behind', async () => {
    const full = join(w.root, 'full-run');
    mkdirSync(full, { mode: 0o700 });
    mountTmpfs(full, '256k');
    fill(full);
    try {
      const before = await w.snapshot();
      const r = await w.qkvm(['start', 'f3'], { env: { QKVM_RUN: full } });
      expectRefused(r, { code: 1, mentions: [full, 'is full'] });
      // Only qkvm's own lock directories may appear in its run tree.
      await w.expectNothingLost(before, { ignore: [join(full, 'locks')] });
    } finally { umount(full); }
  });
});
