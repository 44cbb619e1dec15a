// scripts/qemu-ifup and qemu-ifdown run by hand, as a learner would (and as
// QEMU does): a tap joins its bridge with its MTU and VLAN, and leaves it; bad
// input stops them with a message and a non-zero status.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_CI, Netns, REPO, missingPrerequisites } from '../net/lab.js';

const why = missingPrerequisites();
if (why && !IN_CI) console.warn(`net-scripts: skipped: ${why}`);
// Does this kernel's bridge filter VLANs? Asked in a throwaway network
// namespace (unshare --net), so the host sees nothing. Each host then runs the
// VLAN case it can: the tagging where the kernel has it, the script's clear
// refusal where it does not (no skip either way).
const VLAN_FILTERING = spawnSync('unshare', ['--net', 'ip', 'link', 'add', 'name', 'qkvlprobe', 'type', 'bridge', 'vlan_filtering', '1']).status === 0;

describe.skipIf(why !== '' && !IN_CI)('qemu-ifup and qemu-ifdown', () => {
  const ns = new Netns();
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'qkvm-scripts-run-'));
  const ifup = path.join(REPO, 'scripts/qemu-ifup');
  const ifdown = path.join(REPO, 'scripts/qemu-ifdown');
  const script = (file: string, arg: string) => ns.exec([file, arg], { env: { QKVM_RUN: runDir, PATH: process.env.PATH! }, reject: false });
  const tapFile = (tap: string, text: string) => writeFileSync(path.join(runDir, 'taps', `${tap}.env`), text);
  const json = async (argv: string[]) => JSON.parse((await ns.exec(argv)).stdout);

  beforeAll(async () => {
    if (why) throw new Error(why);
    await ns.create();
    mkdirSync(path.join(runDir, 'taps'));
    await ns.exec(['ip', 'link', 'add', 'name', 'qkbr-t', 'type', 'bridge']);
    await ns.exec(['ip', 'link', 'set', 'qkbr-t', 'mtu', '1400']);
    await ns.exec(['ip', 'link', 'set', 'qkbr-t', 'up']);
    for (const t of ['tap0', 'tap1']) await ns.exec(['ip', 'tuntap', 'add', 'dev', t, 'mode', 'tap']);
  });
  afterAll(async () => { await ns.destroy(); rmSync(runDir, { recursive: true, force: true }); });

  it('ifup puts the tap on the bridge, up, with the bridge\'s MTU', async () => {
    tapFile('tap0', '# comment\nTAP=tap0\nBRIDGE=qkbr-t\nNETWORK=t\nGUEST=g\nMAC=52:54:00:00:00:01\n');
    const r = await script(ifup, 'tap0');
    expect(r.code, r.stderr).toBe(0);
    const [link] = await json(['ip', '-j', 'link', 'show', 'dev', 'tap0']);
    expect(link).toMatchObject({ master: 'qkbr-t', mtu: 1400 });
    expect(link.flags).toContain('UP');
  });

  if (VLAN_FILTERING) {
    it('ifup with VLAN makes the tap an untagged member of that VLAN (this kernel filters VLANs)', async () => {
      tapFile('tap1', 'TAP=tap1\nBRIDGE=qkbr-t\nVLAN=10\nMTU=1300\n');
      const r = await script(ifup, 'tap1');
      expect(r.code, r.stderr).toBe(0);
      const vlans = await json(['bridge', '-j', 'vlan', 'show', 'dev', 'tap1']);
      expect(vlans[0].vlans).toEqual([expect.objectContaining({ vlan: 10, flags: expect.arrayContaining(['PVID', 'Egress Untagged']) })]);
      const [link] = await json(['ip', '-j', 'link', 'show', 'dev', 'tap1']);
      expect(link.mtu).toBe(1300);
    });
  } else {
    it('ifup with VLAN fails and names the missing kernel option (this kernel has no bridge VLAN filtering)', async () => {
      tapFile('tap1', 'TAP=tap1\nBRIDGE=qkbr-t\nVLAN=10\n');
      const r = await script(ifup, 'tap1');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/CONFIG_BRIDGE_VLAN_FILTERING/);
    });
  }

  it('ifdown takes the tap down and off the bridge; a missing tap is not an error', async () => {
    expect((await script(ifdown, 'tap0')).code).toBe(0);
    const [link] = await json(['ip', '-j', 'link', 'show', 'dev', 'tap0']);
    expect(link.master).toBeUndefined();
    expect(link.flags).not.toContain('UP');
    expect((await script(ifdown, 'nosuchtap')).code).toBe(0);
  });

  it.each([
    ['a;reboot', /invalid interface name/],
    ['waytoolongname123', /invalid interface name/],
    ['notap', /notap\.env is missing/],
  ])('ifup %s fails with a message', async (arg, msg) => {
    const r = await script(ifup, arg);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(msg);
  });

  it.each([
    ['TAP=tap0\nBRIDGE=br0;x\n', /BRIDGE must be an interface name/],
    ['TAP=tap0\nBRIDGE=qkbr-t\nMTU=9x\n', /MTU must be/],
    ['TAP=tap0\nBRIDGE=qkbr-t\nVLAN=4095\n', /VLAN must be/],
    ['TAP=tap0\nBRIDGE=nosuchbr\nNETWORK=lab\n', /bridge nosuchbr does not exist.*qkvm net start lab/],
  ])('ifup refuses the settings %j', async (text, msg) => {
    tapFile('tap0', text);
    const r = await script(ifup, 'tap0');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(msg);
  });

  it('a settings file cannot run code: it is parsed, not sourced', async () => {
    tapFile('tap0', 'TAP=tap0\nBRIDGE=qkbr-t\n$(touch /tmp/qkvm-pwned)\nGUEST=`touch /tmp/qkvm-pwned`\n');
    const r = await script(ifup, 'tap0');
    expect(r.code, r.stderr).toBe(0);
    expect((await ns.exec(['test', '-e', '/tmp/qkvm-pwned'], { reject: false })).code).not.toBe(0);
  });

  describe('they act only on a tap qkvm recorded, read from a file no one else wrote', () => {
    const envPath = (tap: string) => path.join(runDir, 'taps', `${tap}.env`);
    const master = async (dev: string) => (await json(['ip', '-j', 'link', 'show', 'dev', dev]))[0].master;
    beforeAll(async () => { await ns.exec(['ip', 'link', 'set', 'tap0', 'nomaster']); });

    it('ifup refuses a settings file that is a symlink', async () => {
      const target = path.join(runDir, 'elsewhere.env');
      writeFileSync(target, 'TAP=tap0\nBRIDGE=qkbr-t\n');
      unlinkSync(envPath('tap0'));
      symlinkSync(target, envPath('tap0'));
      const r = await script(ifup, 'tap0');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/tap0\.env is a symlink: refused/);
      expect(await master('tap0')).toBeUndefined();
    });

    it('ifup refuses a settings file others can write, or a taps directory others can write', async () => {
      rmSync(envPath('tap0'), { force: true });
      tapFile('tap0', 'TAP=tap0\nBRIDGE=qkbr-t\n');
      chmodSync(envPath('tap0'), 0o666);
      let r = await script(ifup, 'tap0');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/tap0\.env must belong to root .* not be writable by others/);
      chmodSync(envPath('tap0'), 0o644);
      chmodSync(path.join(runDir, 'taps'), 0o777);
      r = await script(ifup, 'tap0');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/taps must belong to root .* not be writable by others/);
      chmodSync(path.join(runDir, 'taps'), 0o755);
      expect(await master('tap0')).toBeUndefined();
    });

    it('ifup refuses a record of another tap, and an interface that is not a tap', async () => {
      tapFile('tap0', 'TAP=tap1\nBRIDGE=qkbr-t\n');
      let r = await script(ifup, 'tap0');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/records TAP='tap1', not tap0: refused/);
      await ns.exec(['ip', 'link', 'add', 'name', 'dum0', 'type', 'veth', 'peer', 'name', 'dum1']);
      tapFile('dum0', 'TAP=dum0\nBRIDGE=qkbr-t\n');
      r = await script(ifup, 'dum0');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/dum0 is not a tun\/tap device: refused/);
      expect(await master('dum0')).toBeUndefined();
      expect(await master('tap0')).toBeUndefined();
    });

    it('ifdown leaves a tap it has no record of, and an interface that is not a tap', async () => {
      tapFile('tap0', 'TAP=tap0\nBRIDGE=qkbr-t\n');
      expect((await script(ifup, 'tap0')).code).toBe(0);
      unlinkSync(envPath('tap0'));
      let r = await script(ifdown, 'tap0');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/tap0\.env is missing/);
      expect(await master('tap0')).toBe('qkbr-t');
      await ns.exec(['ip', 'link', 'set', 'dum0', 'master', 'qkbr-t']);
      await ns.exec(['ip', 'link', 'set', 'dum0', 'up']);
      r = await script(ifdown, 'dum0');
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/dum0 is not a tun\/tap device: refused/);
      expect(await master('dum0')).toBe('qkbr-t');
    });
  });
});
