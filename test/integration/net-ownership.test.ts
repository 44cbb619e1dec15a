// Network ownership in a namespace: `net start` records what it makes (bridge
// with its ifindex and alias marker, nft table with its handle and comment),
// `net stop` removes exactly that and nothing else, `net undefine` refuses
// while the network's dnsmasq runs, and a subnet the namespace already uses is
// refused unless forced.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_CI, Lab, missingPrerequisites } from '../net/lab.js';

const why = missingPrerequisites();
if (why && !IN_CI) console.warn(`net-ownership: skipped: ${why}`);

describe.skipIf(why !== '' && !IN_CI)('network ownership', () => {
  const lab = new Lab();
  const state = (n: string) => JSON.parse(readFileSync(path.join(lab.run, 'net', n, 'state.json'), 'utf8'));
  const link = async (n: string) => JSON.parse((await lab.ns.exec(['ip', '-j', 'link', 'show', 'dev', n])).stdout)[0];

  beforeAll(async () => {
    if (why) throw new Error(why);
    await lab.ns.create();
  });
  afterAll(async () => { await lab.cleanup(); });

  it('start records and marks its bridge and table; stop removes exactly those', async () => {
    await lab.qkvm(['net', 'define', 'own', '--mode', 'nat', '--subnet', '10.90.0.0/24']);
    await lab.qkvm(['net', 'start', 'own']);
    const st = state('own');
    const br = await link('qkbr-own');
    expect(st.bridge).toEqual({ name: 'qkbr-own', ifindex: br.ifindex, marker: br.ifalias });
    expect(br.ifalias).toBe(`qkvm:net:own:${st.token}`);
    const table = (await lab.ns.exec(['nft', '-a', 'list', 'table', 'ip', 'qkvm_own'])).stdout;
    expect(table).toContain(`# handle ${st.nft.handle}`);
    expect(table).toContain(`comment "${st.bridge.marker}"`);
    expect(await lab.dnsmasqPids()).toHaveLength(1);
    const r = await lab.qkvm(['net', 'stop', 'own']);
    expect(r.stderr).not.toMatch(/left in place/);
    expect(await lab.links()).not.toContain('qkbr-own');
    expect(await lab.nftTables()).not.toContain('qkvm_own');
    expect(await lab.dnsmasqPids()).toEqual([]);
    await lab.qkvm(['net', 'undefine', 'own']);
  });

  it('net stop leaves a bridge the administrator made after a refused start', async () => {
    await lab.qkvm(['net', 'define', 'adm', '--mode', 'isolated', '--subnet', '10.91.0.0/24']);
    await lab.ns.exec(['ip', 'link', 'add', 'qkbr-adm', 'type', 'bridge']);
    const refused = await lab.qkvm(['net', 'start', 'adm'], { reject: false });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/interface qkbr-adm exists but was not made by qkvm/);
    const stop = await lab.qkvm(['net', 'stop', 'adm'], { reject: false });
    expect(stop.code).toBe(0);
    expect(stop.stderr).toMatch(/bridge qkbr-adm was not created by qkvm for this network: left in place/);
    expect(await lab.links()).toContain('qkbr-adm');
    await lab.qkvm(['net', 'undefine', 'adm']);
    expect(await lab.links()).toContain('qkbr-adm');
    await lab.ns.exec(['ip', 'link', 'del', 'qkbr-adm']);
  });

  it('net undefine refuses while the network\'s dnsmasq runs, and keeps its pid file', async () => {
    await lab.qkvm(['net', 'define', 'run1', '--mode', 'nat', '--subnet', '10.92.0.0/24']);
    await lab.qkvm(['net', 'start', 'run1']);
    const pidFile = path.join(lab.run, 'net', 'run1', 'dnsmasq.pid');
    const pid = Number(readFileSync(pidFile, 'utf8'));
    const r = await lab.qkvm(['net', 'undefine', 'run1'], { reject: false });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`network "run1" is running: its dnsmasq (pid ${pid}) still runs`);
    expect(readFileSync(pidFile, 'utf8').trim()).toBe(String(pid));
    expect(await lab.dnsmasqPids()).toEqual([pid]);
    await lab.qkvm(['net', 'stop', 'run1']);
    await lab.qkvm(['net', 'undefine', 'run1']);
    expect(await lab.dnsmasqPids()).toEqual([]);
  });

  it('a subnet overlapping the namespace\'s own address is refused without --force', async () => {
    await lab.ns.exec(['ip', 'link', 'add', 'upl0', 'type', 'veth', 'peer', 'name', 'upl1']);
    await lab.ns.exec(['ip', 'addr', 'add', '10.93.0.7/24', 'dev', 'upl0']);
    const r = await lab.qkvm(['net', 'define', 'ov', '--mode', 'nat', '--subnet', '10.93.0.0/24'], { reject: false });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/subnet 10\.93\.0\.0\/24 of network "ov" overlaps address 10\.93\.0\.7\/24 on upl0/);
    const forced = await lab.qkvm(['net', 'define', 'ov', '--mode', 'nat', '--subnet', '10.93.0.0/24', '--force'], { reject: false });
    expect(forced.code).toBe(0);
    expect(forced.stderr).toMatch(/warning: subnet 10\.93\.0\.0\/24 .* overlaps address 10\.93\.0\.7\/24 on upl0/);
    const start = await lab.qkvm(['net', 'start', 'ov'], { reject: false });
    expect(start.code).toBe(2);
    expect(start.stderr).toContain('10.93.0.7/24');
    expect(await lab.links()).not.toContain('qkbr-ov');
    const fstart = await lab.qkvm(['net', 'start', 'ov', '--force'], { reject: false });
    expect(fstart.code, fstart.stderr).toBe(0);
    // Running, its own bridge's address no longer counts as an overlap; the uplink's still does.
    expect((await lab.ns.exec(['ip', '-j', 'addr', 'show', 'dev', 'upl0'])).stdout).toContain('10.93.0.7');
    await lab.qkvm(['net', 'stop', 'ov']);
    await lab.qkvm(['net', 'undefine', 'ov']);
  });
});
