// Every state path comes from paths.ts: names are validated before they become
// paths, kinds live in separate subtrees, and a state directory another user
// could have planted (symlink, foreign owner, loose mode) is refused.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkStateDir, home, projectRoot, qkvmHome, qkvmRun, run, scripts, templatesDir } from '../../src/config/paths.js';

let root: string;
beforeEach(() => { root = mkdtempSync(join(tmpdir(), 'qkvm-paths-')); });
afterEach(() => { rmSync(root, { recursive: true, force: true }); delete process.env.QKVM_RUN; delete process.env.QKVM_HOME; });

describe('layout', () => {
  it('guests, networks, taps, pools and locks each in their own subtree of QKVM_RUN', () => {
    process.env.QKVM_RUN = join(root, 'run');
    const r = join(root, 'run');
    expect(qkvmRun()).toBe(r);
    expect(run.root()).toBe(r);
    expect(run.vmsDir()).toBe(join(r, 'vms'));
    expect(run.vmDir('net')).toBe(join(r, 'vms', 'net'));
    expect(run.qmpSocket('g')).toBe(join(r, 'vms', 'g', 'qmp.sock'));
    expect(run.serialSocket('g')).toBe(join(r, 'vms', 'g', 'serial.sock'));
    expect(run.serialLog('g')).toBe(join(r, 'vms', 'g', 'serial.log'));
    expect(run.pidFile('g')).toBe(join(r, 'vms', 'g', 'qemu.pid'));
    expect(run.qemuLog('g')).toBe(join(r, 'vms', 'g', 'qemu.log'));
    expect(run.startedSpec('g')).toBe(join(r, 'vms', 'g', 'spec.json'));
    expect(run.vncPasswordFile('g')).toBe(join(r, 'vms', 'g', 'vnc.password'));
    expect(run.netDir()).toBe(join(r, 'net'));
    expect(run.netStateDir('vms')).toBe(join(r, 'net', 'vms'));
    expect(run.tapsDir()).toBe(join(r, 'taps'));
    expect(run.tapFile('qk0')).toBe(join(r, 'taps', 'qk0.env'));
    expect(run.poolsDir()).toBe(join(r, 'pools'));
    expect(run.locksDir()).toBe(join(r, 'locks'));
  });

  it('definitions in QKVM_HOME', () => {
    process.env.QKVM_HOME = join(root, 'home');
    const h = join(root, 'home');
    expect(qkvmHome()).toBe(h);
    expect(home.root()).toBe(h);
    expect(home.vmFile('g')).toBe(join(h, 'vms', 'g.yaml'));
    expect(home.snapshotsFile('g')).toBe(join(h, 'vms', 'g.snapshots.json'));
    expect(home.networkFile('n')).toBe(join(h, 'networks', 'n.yaml'));
    expect(home.poolFile('p')).toBe(join(h, 'pools', 'p.yaml'));
    expect(home.vmsDir()).toBe(join(h, 'vms'));
    expect(home.networksDir()).toBe(join(h, 'networks'));
    expect(home.poolsDir()).toBe(join(h, 'pools'));
    expect(home.imagesDir()).toBe(join(h, 'images'));
    expect(home.cacheDir()).toBe(join(h, 'cache'));
    expect(home.demoDir()).toBe(join(h, 'cache', 'demo'));
  });

  it('a relative QKVM_RUN is made absolute', () => {
    process.env.QKVM_RUN = 'rel-run-dir-that-does-not-exist';
    expect(qkvmRun()).toBe(join(process.cwd(), 'rel-run-dir-that-does-not-exist'));
  });

  it('every builder refuses a name that is not a name, before it becomes a path', () => {
    process.env.QKVM_RUN = join(root, 'run');
    process.env.QKVM_HOME = join(root, 'home');
    for (const bad of ['../x', '..', '.x', '-x', 'a/b', '', 'a'.repeat(64)]) {
      expect(() => run.vmDir(bad)).toThrow(/guest name: invalid name/);
      expect(() => run.pidFile(bad)).toThrow(/guest name/);
      expect(() => run.netStateDir(bad)).toThrow(/network name: invalid name/);
      expect(() => home.vmFile(bad)).toThrow(/guest name/);
      expect(() => home.snapshotsFile(bad)).toThrow(/guest name/);
      expect(() => home.networkFile(bad)).toThrow(/network name/);
      expect(() => home.poolFile(bad)).toThrow(/pool name: invalid name/);
    }
  });
});

describe('state directories are checked before use', () => {
  it('a missing directory is fine (made later, 0700)', () => {
    expect(checkStateDir(join(root, 'none'), 'QKVM_RUN')).toBe(join(root, 'none'));
    expect(() => lstatSync(join(root, 'none'))).toThrow();
  });

  it('with create, a missing directory is made by its user, mode 0700', () => {
    const d = join(root, 'qkvm-1000');
    expect(checkStateDir(d, 'QKVM_RUN', { create: true, private: true })).toBe(d);
    const st = lstatSync(d);
    expect(st.isDirectory()).toBe(true);
    expect(st.mode & 0o777).toBe(0o700);
    expect(st.uid).toBe(process.getuid!());
    expect(checkStateDir(d, 'QKVM_RUN', { create: true, private: true })).toBe(d);
  });

  it('a symlink is refused, naming the directory', () => {
    const target = join(root, 'target');
    mkdirSync(target, { mode: 0o700 });
    symlinkSync(target, join(root, 'link'));
    expect(() => checkStateDir(join(root, 'link'), 'QKVM_RUN')).toThrow(`QKVM_RUN ${join(root, 'link')} is a symbolic link; qkvm refuses to use it`);
    expect(() => checkStateDir(join(root, 'link'), 'QKVM_RUN', { create: true, private: true })).toThrow(/symbolic link/);
  });

  it('a directory owned by another user is refused', () => {
    const d = join(root, 'theirs');
    mkdirSync(d, { mode: 0o700 });
    chownSync(d, 65534, 65534);
    expect(() => checkStateDir(d, 'QKVM_HOME')).toThrow(`QKVM_HOME ${d} is owned by uid 65534, not by this user (uid ${process.getuid!()}); qkvm refuses to use it`);
  });

  it('group- or world-writable is refused; the private /tmp fallback allows no group/other access at all', () => {
    const d = join(root, 'loose');
    mkdirSync(d);
    chmodSync(d, 0o777);
    expect(() => checkStateDir(d, 'QKVM_RUN')).toThrow(`QKVM_RUN ${d} has mode 0777: it must not be writable by group or others`);
    chmodSync(d, 0o720);
    expect(() => checkStateDir(d, 'QKVM_RUN')).toThrow(/mode 0720/);
    chmodSync(d, 0o702);
    expect(() => checkStateDir(d, 'QKVM_RUN')).toThrow(/mode 0702/);
    chmodSync(d, 0o755);
    expect(checkStateDir(d, 'QKVM_RUN')).toBe(d);
    expect(() => checkStateDir(d, 'QKVM_RUN', { private: true })).toThrow(`QKVM_RUN ${d} has mode 0755: it must not be accessible by group or others`);
    chmodSync(d, 0o710);
    expect(() => checkStateDir(d, 'QKVM_RUN', { private: true })).toThrow(/mode 0710/);
    chmodSync(d, 0o701);
    expect(() => checkStateDir(d, 'QKVM_RUN', { private: true })).toThrow(/mode 0701/);
    chmodSync(d, 0o700);
    expect(checkStateDir(d, 'QKVM_RUN', { private: true })).toBe(d);
  });

  it('a file is not a directory', () => {
    writeFileSync(join(root, 'f'), 'x');
    expect(() => checkStateDir(join(root, 'f'), 'QKVM_RUN')).toThrow(/is not a directory/);
    expect(() => checkStateDir(join(root, 'f', 'sub'), 'QKVM_RUN')).toThrow(/cannot be read \(ENOTDIR\)/);
    expect(() => checkStateDir(join(root, 'none', 'sub'), 'QKVM_RUN', { create: true })).toThrow(/cannot be created \(ENOENT\)/);
  });

  it('the error is a HOST error that says what to do', () => {
    symlinkSync('/tmp', join(root, 'l'));
    const caught = (() => { try { checkStateDir(join(root, 'l'), 'QKVM_RUN'); return undefined; } catch (e) { return e; } })();
    expect(caught).toMatchObject({ code: 'HOST', hint: expect.stringMatching(/mode 0700/) });
  });

  it('QKVM_RUN and QKVM_HOME from the environment are checked on use', () => {
    const target = join(root, 't');
    mkdirSync(target, { mode: 0o700 });
    symlinkSync(target, join(root, 'runlink'));
    symlinkSync(target, join(root, 'homelink'));
    process.env.QKVM_RUN = join(root, 'runlink');
    process.env.QKVM_HOME = join(root, 'homelink');
    expect(() => run.vmDir('g')).toThrow(/QKVM_RUN .*runlink is a symbolic link/);
    expect(() => home.vmFile('g')).toThrow(/QKVM_HOME .*homelink is a symbolic link/);
  });

  it('a directory that appears after a first look is checked when it exists', () => {
    const d = join(root, 'later');
    process.env.QKVM_RUN = d;
    expect(qkvmRun()).toBe(d);
    mkdirSync(d);
    chmodSync(d, 0o777);
    expect(() => qkvmRun()).toThrow(/mode 0777/);
  });
});

describe('default state directories when QKVM_HOME / QKVM_RUN are not set', () => {
  const saved: Record<string, string | undefined> = {};
  const keys = ['QKVM_HOME', 'QKVM_RUN', 'XDG_DATA_HOME', 'XDG_RUNTIME_DIR', 'HOME'];
  const fakeUid = 4242;
  const tmpRun = `/tmp/qkvm-${fakeUid}`;
  beforeEach(() => { for (const k of keys) { saved[k] = process.env[k]; delete process.env[k]; } rmSync(tmpRun, { recursive: true, force: true }); });
  afterEach(() => {
    vi.restoreAllMocks();
    for (const k of keys) { if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k]; }
    rmSync(tmpRun, { recursive: true, force: true });
  });

  it('root: /var/lib/qkvm and /run/qkvm', () => {
    vi.spyOn(process, 'getuid').mockReturnValue(0);
    process.env.XDG_DATA_HOME = join(root, 'data');
    process.env.XDG_RUNTIME_DIR = join(root, 'xdg');
    expect(qkvmHome()).toBe('/var/lib/qkvm');
    expect(qkvmRun()).toBe('/run/qkvm');
  });

  it('another user: XDG_DATA_HOME, else HOME/.local/share, else /tmp/.local/share; XDG_RUNTIME_DIR for the run tree', () => {
    vi.spyOn(process, 'getuid').mockReturnValue(fakeUid);
    process.env.XDG_DATA_HOME = join(root, 'data');
    expect(qkvmHome()).toBe(join(root, 'data', 'qkvm'));
    delete process.env.XDG_DATA_HOME;
    process.env.HOME = join(root, 'h');
    expect(qkvmHome()).toBe(join(root, 'h', '.local/share', 'qkvm'));
    delete process.env.HOME;
    expect(qkvmHome()).toBe('/tmp/.local/share/qkvm');
    process.env.XDG_RUNTIME_DIR = join(root, 'xdg');
    expect(qkvmRun()).toBe(join(root, 'xdg', 'qkvm'));
  });

  it('another user without XDG_RUNTIME_DIR: /tmp/qkvm-UID, made now, refused unless it is theirs and private', () => {
    vi.spyOn(process, 'getuid').mockReturnValue(fakeUid);
    // Made by this process (really root): not owned by the user qkvm runs for, so refused.
    expect(() => qkvmRun()).toThrow(`QKVM_RUN ${tmpRun} is owned by uid 0, not by this user (uid ${fakeUid}); qkvm refuses to use it`);
    expect(lstatSync(tmpRun).isDirectory()).toBe(true);
    expect(lstatSync(tmpRun).mode & 0o777).toBe(0o700);
    chownSync(tmpRun, fakeUid, fakeUid);
    chmodSync(tmpRun, 0o750);
    expect(() => qkvmRun()).toThrow(/mode 0750: it must not be accessible by group or others/);
    chmodSync(tmpRun, 0o700);
    expect(qkvmRun()).toBe(tmpRun);
    expect(run.vmDir('g')).toBe(join(tmpRun, 'vms', 'g'));
  });
});

describe('bundled files', () => {
  it('scripts and templates are found in the package root, and exist', () => {
    expect(JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')).name).toBe('qkvm');
    const want: [string, string][] = [
      [scripts.ifup(), join(projectRoot, 'scripts', 'qemu-ifup')],
      [scripts.ifdown(), join(projectRoot, 'scripts', 'qemu-ifdown')],
      [scripts.setupHost(), join(projectRoot, 'scripts', 'setup-host.sh')],
      [scripts.buildDemoGuest(), join(projectRoot, 'scripts', 'build-demo-guest.sh')],
      [templatesDir(), join(projectRoot, 'templates')],
    ];
    for (const [got, path] of want) { expect(got).toBe(path); expect(existsSync(path), path).toBe(true); }
    expect(lstatSync(templatesDir()).isDirectory()).toBe(true);
  });
});

describe('refusals name the variable the directory came from', () => {
  const keys = ['QKVM_HOME', 'QKVM_RUN', 'XDG_DATA_HOME', 'XDG_RUNTIME_DIR'];
  const saved: Record<string, string | undefined> = {};
  beforeEach(() => { for (const k of keys) { saved[k] = process.env[k]; delete process.env[k]; } });
  afterEach(() => { vi.restoreAllMocks(); for (const k of keys) { if (saved[k] === undefined) delete process.env[k]; else process.env[k] = saved[k]; } });

  it('XDG_DATA_HOME/qkvm and XDG_RUNTIME_DIR/qkvm are checked as QKVM_HOME and QKVM_RUN', () => {
    vi.spyOn(process, 'getuid').mockReturnValue(4242);
    mkdirSync(join(root, 'data'));
    mkdirSync(join(root, 'xdg'));
    symlinkSync('/tmp', join(root, 'data', 'qkvm'));
    symlinkSync('/tmp', join(root, 'xdg', 'qkvm'));
    process.env.XDG_DATA_HOME = join(root, 'data');
    process.env.XDG_RUNTIME_DIR = join(root, 'xdg');
    expect(() => qkvmHome()).toThrow(`QKVM_HOME ${join(root, 'data', 'qkvm')} is a symbolic link`);
    expect(() => qkvmRun()).toThrow(`QKVM_RUN ${join(root, 'xdg', 'qkvm')} is a symbolic link`);
  });
});
