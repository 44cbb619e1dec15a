// dnsmasq identity with real processes: a real dnsmasq in an empty network
// namespace of its own (unshare --net: no interface, --port=0: no DNS, no
// DHCP range), and a `sleep` that a forged pid file points at.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { dnsmasqArgv, dnsmasqFiles, dnsmasqPid, parseLeases, findDnsmasq, procFacts, readLeases, stopDnsmasq, wantsDnsmasq } from '../../src/net/dnsmasq.js';
import { parseNetworkSpec } from '../../src/net/schema.js';
import { isAlive } from '../../src/runtime/proc.js';

const root = process.getuid?.() === 0;
if (!root && process.env.CI) throw new Error('dnsmasq identity tests need root (unshare --net) in CI');

let dir: string;
let saved: string | undefined;
const sleepers: ChildProcess[] = [];
const daemons: number[] = [];

function sleeper(): number {
  const c = spawn('sleep', ['300'], { stdio: 'ignore' });
  sleepers.push(c);
  return c.pid!;
}

async function realDnsmasq(network: string, extra: string[] = []): Promise<number> {
  const { pidFile } = dnsmasqFiles(network);
  mkdirSync(path.dirname(pidFile), { recursive: true });
  const r = spawnSync('unshare', ['--net', 'dnsmasq', '--conf-file=/dev/null', '--port=0', `--pid-file=${pidFile}`, ...extra], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`dnsmasq did not start: ${r.stderr}`);
  const pid = Number(readFileSync(pidFile, 'utf8').trim());
  daemons.push(pid);
  return pid;
}

beforeAll(() => { saved = process.env.QKVM_RUN; });
afterAll(() => { if (saved === undefined) delete process.env.QKVM_RUN; else process.env.QKVM_RUN = saved; });
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'qkvm-dnsid-'));
  process.env.QKVM_RUN = dir;
});
afterEach(() => {
  for (const c of sleepers.splice(0)) c.kill('SIGKILL');
  for (const p of daemons.splice(0)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
  rmSync(dir, { recursive: true, force: true });
});

describe.runIf(root || process.env.CI)('dnsmasq identity', () => {
  it('finds a network\'s dnsmasq by its pid file, and only that network\'s', async () => {
    const pid = await realDnsmasq('n1');
    expect(findDnsmasq('n1')).toEqual([pid]);
    expect(dnsmasqPid('n1')).toBe(pid);
    expect(findDnsmasq('n2')).toEqual([]);
    expect(dnsmasqPid('n2')).toBeUndefined();
  });

  it('still finds it when its pid file was rewritten, and never takes the process named there', async () => {
    const pid = await realDnsmasq('n1');
    const other = sleeper();
    writeFileSync(dnsmasqFiles('n1').pidFile, `${other}\n`);
    expect(findDnsmasq('n1')).toEqual([pid]);
    writeFileSync(dnsmasqFiles('n1').pidFile, 'garbage\n');
    expect(findDnsmasq('n1')).toEqual([pid]);
  });

  it('net stop kills its dnsmasq and removes the pid file', async () => {
    const pid = await realDnsmasq('n1');
    const seen: string[][] = [];
    expect(await stopDnsmasq('n1', (argv) => seen.push(argv))).toEqual([]);
    expect(isAlive(pid)).toBe(false);
    expect(seen).toEqual([['kill', String(pid)]]);
    expect(existsSync(dnsmasqFiles('n1').pidFile)).toBe(false);
  });

  it('a pid file naming another process: that process lives on', async () => {
    const other = sleeper();
    const { pidFile } = dnsmasqFiles('n1');
    mkdirSync(path.dirname(pidFile), { recursive: true });
    writeFileSync(pidFile, `${other}\n`);
    const seen: string[][] = [];
    expect(await stopDnsmasq('n1', (argv) => seen.push(argv))).toEqual([]);
    expect(isAlive(other)).toBe(true);
    expect(seen).toEqual([]);
    expect(findDnsmasq('n1')).toEqual([]);
  });

  it('another network\'s dnsmasq lives on', async () => {
    const theirs = await realDnsmasq('n2');
    const mine = await realDnsmasq('n1');
    writeFileSync(dnsmasqFiles('n1').pidFile, `${theirs}\n`);
    await stopDnsmasq('n1');
    expect(isAlive(theirs)).toBe(true);
    expect(isAlive(mine)).toBe(false);
    expect(findDnsmasq('n2')).toEqual([theirs]);
  });

  it('a dnsmasq that ignores SIGTERM is killed, and the pid file goes only after', async () => {
    const pid = await realDnsmasq('n1');
    // SIGSTOP: the TERM stays pending, so the 5 s grace passes and SIGKILL follows.
    process.kill(pid, 'SIGSTOP');
    expect(await stopDnsmasq('n1')).toEqual([]);
    expect(isAlive(pid)).toBe(false);
    expect(existsSync(dnsmasqFiles('n1').pidFile)).toBe(false);
  }, 20_000);

  it('procFacts reads the binary and the arguments, and nothing for a dead or bad pid', () => {
    const other = sleeper();
    const f = procFacts(other);
    expect(f?.exe).toMatch(/\/sleep$/);
    expect(f?.argv).toEqual(['sleep', '300']);
    expect(procFacts(0)).toBeUndefined();
    expect(procFacts(-1)).toBeUndefined();
    expect(procFacts(1.5)).toBeUndefined();
    expect(procFacts(2 ** 22 + 1)).toBeUndefined();
  });
});

describe('dnsmasq files and wants', () => {
  it('keeps the pid and leases files in the network\'s run directory', () => {
    expect(dnsmasqFiles('n1')).toEqual({ pidFile: path.join(dir, 'net', 'n1', 'dnsmasq.pid'), leaseFile: path.join(dir, 'net', 'n1', 'dnsmasq.leases') });
  });
  it('reads the leases file, and nothing when it is missing', () => {
    expect(readLeases('n1')).toEqual([]);
    mkdirSync(path.join(dir, 'net', 'n1'), { recursive: true });
    writeFileSync(dnsmasqFiles('n1').leaseFile, '1700000000 52:54:00:AA:BB:CC 10.0.0.5 web *\n');
    expect(readLeases('n1')).toEqual([{ expiry: 1700000000, mac: '52:54:00:aa:bb:cc', ip: '10.0.0.5', hostname: 'web', clientId: undefined }]);
  });
  it.each([
    [{ mode: 'nat', subnet: '10.0.0.0/24' }, true],
    [{ mode: 'routed', subnet: '10.0.0.0/24' }, true],
    [{ mode: 'isolated', subnet: '10.0.0.0/24' }, true],
    [{ mode: 'isolated' }, false],
    [{ mode: 'nat', subnet: '10.0.0.0/24', dhcp: false }, false],
    [{ mode: 'bridge', bridge: 'br0', subnet: '10.0.0.0/24' }, false],
    [{ mode: 'user' }, false],
  ])('wants dnsmasq for %j: %s', (extra, want) => {
    expect(wantsDnsmasq(parseNetworkSpec({ name: 'n', ...extra }))).toBe(want);
  });
});

describe('dnsmasq argv and leases, at the edges', () => {
  it('counts the leases of a range that spans octets', () => {
    const spec = parseNetworkSpec({ name: 'w', mode: 'nat', subnet: '10.0.0.0/23', dhcpRange: '10.0.0.2-10.0.1.254' });
    expect(dnsmasqArgv(spec)).toContain('--dhcp-lease-max=509');
  });
  it('skips what is not a lease line', () => {
    const text = [
      '  1718000000   52:54:00:00:00:02   10.0.0.9  ',
      '12a 52:54:00:00:00:03 10.0.0.10',
      'x1718 52:54:00:00:00:04 10.0.0.11',
      '1718000000 52:54:00:00:00:05',
      '1718000000 duid 00:01:00:01',
      '1718000001 52:54:00:00:00:06 10.0.0.12 * 01:02',
    ].join('\n');
    expect(parseLeases(text)).toEqual([
      { expiry: 1718000000, mac: '52:54:00:00:00:02', ip: '10.0.0.9', hostname: undefined, clientId: undefined },
      { expiry: 1718000001, mac: '52:54:00:00:00:06', ip: '10.0.0.12', hostname: undefined, clientId: '01:02' },
    ]);
  });
});
