// Safety cases of networks (issue 9, class 5): a network touches only what is
// its own. One world in a namespace of its own, with a bystander: network
// "keep" (nat, its bridge, nft table and dnsmasq) and guest "by" on it. Each
// case checks the exit code, that the message names the bad thing, and that
// nothing else changed (files, QEMUs, dnsmasqs, links, nft tables).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tapName } from '../../src/net/tapname.js';
import { World, expectRefused, type RunResult } from './world.js';

let w: World;
let byPid: number;
const sleepers: ChildProcess[] = [];

/** Paths that may change during a case without harm: locks, and the bystander's DHCP leases. */
const IGNORE: (string | RegExp)[] = [/\/run\/locks\//, /dnsmasq\.leases$/];

const ok = (r: RunResult) => expect(r.code, `exit ${r.code}\n${r.stdout}\n${r.stderr}`).toBe(0);

async function links(): Promise<{ ifname: string; ifindex: number; ifalias?: string }[]> {
  return JSON.parse((await w.exec(['ip', '-j', 'link', 'show'])).stdout);
}
const hasLink = async (name: string) => (await links()).some((l) => l.ifname === name);
const alive = (pid: number) => {
  try { return !/^[ZX]$/.test(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0]); } catch { return false; }
};

/** Refused, and nothing changed. */
async function expectHarmless(args: string[], code: number, mentions: (string | RegExp)[]): Promise<RunResult> {
  const before = await w.snapshot();
  const r = await w.qkvm(args);
  expectRefused(r, { code, mentions });
  await w.expectNothingLost(before, { ignore: IGNORE });
  return r;
}

async function bystanderHolds(): Promise<void> {
  expect(alive(byPid), 'bystander QEMU still runs').toBe(true);
  expect(await hasLink('qkbr-keep')).toBe(true);
  expect((await w.exec(['nft', 'list', 'tables'])).stdout).toContain('table ip qkvm_keep');
}

beforeAll(async () => {
  w = await World.create({ netns: true });
  ok(await w.qkvm(['net', 'define', 'keep', '--mode', 'nat', '--subnet', '10.77.0.0/24']));
  ok(await w.qkvm(['net', 'start', 'keep']));
  await w.defineDemo('by', { nics: [{ network: 'keep' }] });
  byPid = await w.startDemo('by');
}, 240_000);

afterAll(async () => {
  for (const s of sleepers) s.kill('SIGKILL');
  await w?.destroy();
});

describe('safety: networks touch only what is theirs', () => {
  describe('reserved ranges are refused, always', () => {
    it.each([
      ['S-N01', '0.1.0.0/24', '0.0.0.0/8'],
      ['S-N02', '127.0.0.0/24', '127.0.0.0/8'],
      ['S-N03', '169.254.3.0/24', '169.254.0.0/16'],
      ['S-N04', '224.0.0.0/24', '224.0.0.0/4'],
      ['S-N05', '240.0.0.0/24', '240.0.0.0/4'],
      ['S-N06', '255.255.255.0/24', '240.0.0.0/4'],
    ])('%s net: subnet %s in a reserved range is refused', async (_id, subnet, range) => {
      await expectHarmless(['net', 'define', 'r1', '--mode', 'nat', '--subnet', subnet], 2, [subnet, range]);
      await expectHarmless(['net', 'define', 'r1', '--mode', 'nat', '--subnet', subnet, '--force'], 2, [subnet, range]);
      await bystanderHolds();
    });

    it('S-N07 net: a /31, a /32 and the broadcast address as subnet are refused (no room for DHCP, or unclear)', async () => {
      await expectHarmless(['net', 'define', 'r2', '--mode', 'nat', '--subnet', '10.9.0.0/31'], 2, ['10.9.0.0/31', '/31']);
      await expectHarmless(['net', 'define', 'r2', '--mode', 'nat', '--subnet', '255.255.255.255/32'], 2, ['255.255.255.255/32']);
      await expectHarmless(['net', 'define', 'r2', '--mode', 'nat', '--subnet', '10.9.0.255/24'], 2, ['10.9.0.255', 'broadcast']);
      await bystanderHolds();
    });
  });

  describe('a subnet the namespace already uses is refused unless forced', () => {
    beforeAll(async () => {
      await w.exec(['ip', 'link', 'add', 'up9', 'type', 'veth', 'peer', 'name', 'up9p']);
      await w.exec(['ip', 'addr', 'add', '10.50.0.5/24', 'dev', 'up9']);
      await w.exec(['ip', 'link', 'set', 'up9', 'up']);
      await w.exec(['ip', 'link', 'set', 'up9p', 'up']);
      await w.exec(['ip', 'route', 'add', '10.60.0.0/16', 'via', '10.50.0.1', 'dev', 'up9']);
      await w.exec(['ip', 'route', 'add', 'default', 'via', '10.50.0.1', 'dev', 'up9']);
    });

    it('S-N08 net: a subnet overlapping an address of the namespace is refused, naming address and interface', async () => {
      await expectHarmless(['net', 'define', 'o1', '--mode', 'nat', '--subnet', '10.50.0.0/16'], 2, ['10.50.0.0/16', '10.50.0.5/24', 'up9', '--force']);
      await bystanderHolds();
    });

    it('S-N09 net: the uplink\'s own subnet (which holds the default gateway) is refused', async () => {
      await expectHarmless(['net', 'define', 'o2', '--mode', 'nat', '--subnet', '10.50.0.0/24'], 2, ['10.50.0.0/24', 'the gateway 10.50.0.1', 'up9']);
      await bystanderHolds();
    });

    it('S-N10 net: a subnet inside a route of the namespace is refused, naming the route', async () => {
      await expectHarmless(['net', 'define', 'o3', '--mode', 'routed', '--subnet', '10.60.1.0/24'], 2, ['10.60.1.0/24', 'route 10.60.0.0/16 on up9']);
      await bystanderHolds();
    });

    it('S-N11 net: --force defines it anyway, with a warning naming the overlap', async () => {
      const r = await w.qkvm(['net', 'define', 'o4', '--mode', 'isolated', '--subnet', '10.60.2.0/24', '--force']);
      ok(r);
      expect(r.stderr).toMatch(/warning: subnet 10\.60\.2\.0\/24 .*overlaps route 10\.60\.0\.0\/16 on up9/);
      ok(await w.qkvm(['net', 'undefine', 'o4']));
      await bystanderHolds();
    });

    it('S-N12 net: an address that appeared after define makes `net start` refuse, and nothing is created', async () => {
      ok(await w.qkvm(['net', 'define', 'o5', '--mode', 'nat', '--subnet', '10.55.0.0/24']));
      await w.exec(['ip', 'addr', 'add', '10.55.0.9/24', 'dev', 'up9p']);
      await expectHarmless(['net', 'start', 'o5'], 2, ['10.55.0.0/24', '10.55.0.9/24', 'up9p']);
      expect(await hasLink('qkbr-o5')).toBe(false);
      ok(await w.qkvm(['net', 'undefine', 'o5']));
      await bystanderHolds();
    });
  });

  describe('bridges: only the one qkvm made and marked', () => {
    it('S-N13 net: `net stop` leaves a bridge the admin made after `net start` refused', async () => {
      ok(await w.qkvm(['net', 'define', 'b1', '--mode', 'nat', '--subnet', '10.31.0.0/24']));
      await w.exec(['ip', 'link', 'add', 'qkbr-b1', 'type', 'bridge']);
      await expectHarmless(['net', 'start', 'b1'], 1, ['qkbr-b1', 'not made by qkvm']);
      const before = await w.snapshot();
      const r = await w.qkvm(['net', 'stop', 'b1']);
      ok(r);
      expect(r.stderr).toMatch(/bridge qkbr-b1 was not created by qkvm for this network: left in place/);
      await w.expectNothingLost(before, { ignore: IGNORE });
      expect(await hasLink('qkbr-b1')).toBe(true);
      ok(await w.qkvm(['net', 'undefine', 'b1']));
      expect(await hasLink('qkbr-b1')).toBe(true);
      await bystanderHolds();
    });

    it('S-N14 net: a bridge deleted and made again under the same name (marker copied) is left alone', async () => {
      ok(await w.qkvm(['net', 'define', 'b2', '--mode', 'nat', '--subnet', '10.32.0.0/24']));
      const before = await w.snapshot();
      ok(await w.qkvm(['net', 'start', 'b2']));
      const mine = (await links()).find((l) => l.ifname === 'qkbr-b2')!;
      expect(mine.ifalias).toMatch(/^qkvm:net:b2:[0-9a-f]+$/);
      await w.exec(['ip', 'link', 'del', 'qkbr-b2']);
      await w.exec(['ip', 'link', 'add', 'qkbr-b2', 'type', 'bridge']);
      await w.exec(['ip', 'link', 'set', 'dev', 'qkbr-b2', 'alias', mine.ifalias!]);
      const r = await w.qkvm(['net', 'stop', 'b2']);
      ok(r);
      expect(r.stderr).toMatch(/bridge qkbr-b2 was replaced since qkvm created it \(ifindex \d+, recorded \d+\): left in place/);
      // What qkvm made (dnsmasq, nft table) is gone; the admin's bridge stays.
      expect(w.diff(before, await w.snapshot(), { ignore: [...IGNORE, join(w.run, 'net', 'b2')] })).toEqual(['link new: qkbr-b2 DOWN']);
      ok(await w.qkvm(['net', 'undefine', 'b2']));
      await w.exec(['ip', 'link', 'del', 'qkbr-b2']);
      await bystanderHolds();
    });

    it('S-N15 net: a network of mode bridge never removes the host bridge it joins', async () => {
      await w.exec(['ip', 'link', 'add', 'adm0', 'type', 'bridge']);
      ok(await w.qkvm(['net', 'define', 'b3', '--mode', 'bridge', '--bridge', 'adm0']));
      const before = await w.snapshot();
      ok(await w.qkvm(['net', 'start', 'b3']));
      const r = await w.qkvm(['net', 'stop', 'b3']);
      ok(r);
      expect(r.stderr).toMatch(/adm0, which belongs to the host: qkvm never removes it/);
      ok(await w.qkvm(['net', 'undefine', 'b3']));
      await w.expectNothingLost(before, { ignore: [...IGNORE, join(w.home, 'networks', 'b3.yaml')] });
      expect(await hasLink('adm0')).toBe(true);
      await bystanderHolds();
    });

    it('S-N16 net: define refuses a bridge name that an interface of the host already has', async () => {
      await expectHarmless(['net', 'define', 'b4', '--mode', 'nat', '--subnet', '10.34.0.0/24', '--bridge', 'up9p'], 2, ['up9p', 'already exists']);
      await bystanderHolds();
    });

    it('S-N17 net: `net stop` of a network with guests attached is refused (holds)', async () => {
      await expectHarmless(['net', 'stop', 'keep'], 1, ['keep', tapName('by', 0)]);
      await bystanderHolds();
    });
  });

  describe('nft tables: only the one qkvm made and commented', () => {
    it('S-N18 net: a table of the same name made by someone else makes `net start` refuse; stop leaves it', async () => {
      await w.exec(['nft', 'add', 'table', 'ip', 'qkvm_t1']);
      await w.exec(['nft', 'add', 'chain', 'ip', 'qkvm_t1', 'theirs']);
      ok(await w.qkvm(['net', 'define', 't1', '--mode', 'nat', '--subnet', '10.41.0.0/24']));
      await expectHarmless(['net', 'start', 't1'], 1, ['qkvm_t1', 'not made by qkvm']);
      const before = await w.snapshot();
      ok(await w.qkvm(['net', 'stop', 't1']));
      await w.expectNothingLost(before, { ignore: IGNORE });
      expect((await w.exec(['nft', 'list', 'table', 'ip', 'qkvm_t1'])).stdout).toContain('chain theirs');
      ok(await w.qkvm(['net', 'undefine', 't1']));
      await w.exec(['nft', 'delete', 'table', 'ip', 'qkvm_t1']);
      await bystanderHolds();
    });

    it('S-N19 net: a table replaced under the same name while the network ran is left alone', async () => {
      ok(await w.qkvm(['net', 'define', 't2', '--mode', 'nat', '--subnet', '10.42.0.0/24']));
      const before = await w.snapshot();
      ok(await w.qkvm(['net', 'start', 't2']));
      expect((await w.exec(['nft', 'list', 'table', 'ip', 'qkvm_t2'])).stdout).toMatch(/comment "qkvm:net:t2:[0-9a-f]+"/);
      await w.exec(['nft', 'delete', 'table', 'ip', 'qkvm_t2']);
      await w.exec(['nft', 'add', 'table', 'ip', 'qkvm_t2']);
      await w.exec(['nft', 'add', 'chain', 'ip', 'qkvm_t2', 'theirs']);
      const r = await w.qkvm(['net', 'stop', 't2']);
      ok(r);
      expect(r.stderr).toMatch(/nft table ip qkvm_t2 .*left in place/);
      expect(w.diff(before, await w.snapshot(), { ignore: [...IGNORE, join(w.run, 'net', 't2')] })).toEqual(['nft table new: table ip qkvm_t2']);
      expect((await w.exec(['nft', 'list', 'table', 'ip', 'qkvm_t2'])).stdout).toContain('chain theirs');
      ok(await w.qkvm(['net', 'undefine', 't2']));
      await w.exec(['nft', 'delete', 'table', 'ip', 'qkvm_t2']);
      await bystanderHolds();
    });
  });

  describe('dnsmasq: only the process proven to be this network\'s', () => {
    it('S-N20 net: a dnsmasq pid file naming another process: `net stop` does not kill it', async () => {
      const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
      sleepers.push(sleeper);
      ok(await w.qkvm(['net', 'define', 'd1', '--mode', 'nat', '--subnet', '10.51.0.0/24']));
      const before = await w.snapshot();
      ok(await w.qkvm(['net', 'start', 'd1']));
      const pidFile = join(w.run, 'net', 'd1', 'dnsmasq.pid');
      const real = Number(readFileSync(pidFile, 'utf8'));
      writeFileSync(pidFile, `${sleeper.pid}\n`);
      ok(await w.qkvm(['net', 'stop', 'd1']));
      expect(alive(sleeper.pid!), 'the sleep named in the pid file still runs').toBe(true);
      expect(alive(real), 'the network\'s own dnsmasq is gone').toBe(false);
      await w.expectNothingLost(before, { ignore: [...IGNORE, join(w.run, 'net', 'd1')] });
      ok(await w.qkvm(['net', 'undefine', 'd1']));
      await bystanderHolds();
    });

    it('S-N21 net: `net undefine` of a running network is refused, and its pid file stays', async () => {
      ok(await w.qkvm(['net', 'define', 'd2', '--mode', 'nat', '--subnet', '10.52.0.0/24']));
      ok(await w.qkvm(['net', 'start', 'd2']));
      const pidFile = join(w.run, 'net', 'd2', 'dnsmasq.pid');
      const pid = Number(readFileSync(pidFile, 'utf8'));
      await expectHarmless(['net', 'undefine', 'd2'], 1, ['"d2"', 'dnsmasq', `pid ${pid}`, 'net stop d2']);
      expect(alive(pid)).toBe(true);
      expect(existsSync(pidFile)).toBe(true);
      ok(await w.qkvm(['net', 'stop', 'd2']));
      ok(await w.qkvm(['net', 'undefine', 'd2']));
      expect(alive(pid)).toBe(false);
      await bystanderHolds();
    });

    it('S-N22 net: `net undefine` refuses while the network\'s dnsmasq runs even with a garbage pid file', async () => {
      ok(await w.qkvm(['net', 'define', 'd3', '--mode', 'isolated', '--subnet', '10.53.0.0/24']));
      ok(await w.qkvm(['net', 'start', 'd3']));
      const pidFile = join(w.run, 'net', 'd3', 'dnsmasq.pid');
      const pid = Number(readFileSync(pidFile, 'utf8'));
      writeFileSync(pidFile, 'garbage\n');
      await expectHarmless(['net', 'undefine', 'd3'], 1, ['"d3"', `pid ${pid}`]);
      expect(alive(pid)).toBe(true);
      ok(await w.qkvm(['net', 'stop', 'd3']));
      expect(alive(pid)).toBe(false);
      ok(await w.qkvm(['net', 'undefine', 'd3']));
      await bystanderHolds();
    });

    it('S-N26 net: `net undefine` with the bridge deleted by hand but dnsmasq still running is refused', async () => {
      ok(await w.qkvm(['net', 'define', 'd4', '--mode', 'nat', '--subnet', '10.54.0.0/24']));
      ok(await w.qkvm(['net', 'start', 'd4']));
      const pidFile = join(w.run, 'net', 'd4', 'dnsmasq.pid');
      const pid = Number(readFileSync(pidFile, 'utf8'));
      await w.exec(['ip', 'link', 'del', 'qkbr-d4']);
      await expectHarmless(['net', 'undefine', 'd4'], 1, ['"d4"', 'dnsmasq', `pid ${pid}`]);
      expect(alive(pid)).toBe(true);
      expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(pid));
      ok(await w.qkvm(['net', 'stop', 'd4']));
      expect(alive(pid)).toBe(false);
      ok(await w.qkvm(['net', 'undefine', 'd4']));
      await bystanderHolds();
    });
  });

  describe('taps: only those recorded for the guest', () => {
    it('S-N23 net: a tap the admin made under a guest\'s tap name stops `start`, and stays', async () => {
      await w.defineDemo('g23', { nics: [{ network: 'keep' }] });
      const tap = tapName('g23', 0);
      await w.exec(['ip', 'tuntap', 'add', 'dev', tap, 'mode', 'tap']);
      await expectHarmless(['start', 'g23'], 1, [tap, 'did not record it']);
      expect(await hasLink(tap)).toBe(true);
      await w.exec(['ip', 'link', 'del', tap]);
      ok(await w.qkvm(['undefine', 'g23']));
      await bystanderHolds();
    });

    it('S-N24 net: an interface that is not a tap, under a guest\'s tap name, stays too', async () => {
      await w.defineDemo('g24', { nics: [{ network: 'keep' }] });
      const tap = tapName('g24', 0);
      await w.exec(['ip', 'link', 'add', tap, 'type', 'veth', 'peer', 'name', 'g24peer']);
      // Even a forged record does not make a veth a tap of qkvm's.
      mkdirSync(join(w.run, 'taps'), { recursive: true });
      writeFileSync(join(w.run, 'taps', `${tap}.env`), `TAP=${tap}\nGUEST=g24\nBRIDGE=qkbr-keep\n`);
      await expectHarmless(['start', 'g24'], 1, [tap, 'not a tap device']);
      expect(await hasLink(tap)).toBe(true);
      await w.exec(['ip', 'link', 'del', tap]);
      ok(await w.qkvm(['undefine', 'g24']));
      await bystanderHolds();
    });
  });

  it('S-N25 net: IPv4 forwarding stays on while another network of qkvm\'s needs it (holds)', async () => {
    const fwd = async () => (await w.exec(['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout.trim();
    expect(await fwd()).toBe('1');
    ok(await w.qkvm(['net', 'define', 'f1', '--mode', 'routed', '--subnet', '10.61.0.0/24']));
    ok(await w.qkvm(['net', 'start', 'f1']));
    ok(await w.qkvm(['net', 'stop', 'f1']));
    expect(await fwd()).toBe('1');
    ok(await w.qkvm(['net', 'undefine', 'f1']));
    await bystanderHolds();
  });
});
