// A NIC hot-plugged into a running guest (netdev_add + device_add over QMP)
// appears in the guest, gets a DHCP lease and carries traffic, then unplugs
// cleanly: DEVICE_DELETED, the tap and its file gone, the guest's interface gone.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_CI, Lab, missingPrerequisites, type Serial } from '../net/lab.js';

const why = missingPrerequisites();
if (why && !IN_CI) console.warn(`net-hotplug: skipped: ${why}`);

describe.skipIf(why !== '' && !IN_CI)('NIC hotplug', () => {
  const lab = new Lab();
  let g: Serial;
  const mac = '52:54:00:6b:00:01';

  beforeAll(async () => {
    if (why) throw new Error(why);
    await lab.setup();
    await lab.qkvm(['net', 'define', 'hpnet', '--mode', 'nat', '--subnet', '10.66.0.0/24']);
    await lab.defineGuest('hpg');
    g = await lab.boot('hpg');
  });
  afterAll(async () => { await lab.cleanup(); });

  it('attach-interface: the NIC appears, gets a lease and carries traffic', async () => {
    const from = g.text.length;
    const r = await lab.qkvm(['attach-interface', 'hpg', '--net', 'hpnet', '--mac', mac]);
    expect(r.stdout).toMatch(/attached net0/);
    expect(r.stderr).toMatch(/qmp: \{"execute":"netdev_add"/); // the QMP commands are shown
    // Up to the line end: a match taken mid-line would read 10.66.0.7 for 10.66.0.74.
    const [, addr] = await g.waitFor(/QKVM-NET eth0 (10\.66\.0\.\d+)\r?\n/, 60_000, from);
    const ping = await g.run('ping -c 2 -W 5 10.66.0.1');
    expect(ping.status, ping.out).toBe(0);
    const ifaddr = JSON.parse((await lab.qkvm(['domifaddr', 'hpg', '--json'])).stdout);
    expect(ifaddr).toEqual([expect.objectContaining({ nic: 'net0', mac, address: addr, source: 'lease' })]);
    const taps = readdirSync(path.join(lab.run, 'taps'));
    expect(taps).toHaveLength(1);
    expect((await lab.sh('ls /sys/class/net/qkbr-hpnet/brif')).stdout.trim()).toBe(taps[0].replace(/\.env$/, ''));
  });

  it('detach-interface: the guest lets go, and the tap and its file are gone', async () => {
    const tap = readdirSync(path.join(lab.run, 'taps'))[0].replace(/\.env$/, '');
    const r = await lab.qkvm(['detach-interface', 'hpg', '--mac', mac]);
    expect(r.stdout).toMatch(/detached net0/);
    expect((await lab.links())).not.toContain(tap);
    expect(existsSync(path.join(lab.run, 'taps', `${tap}.env`))).toBe(false);
    const gone = await g.run('test -e /sys/class/net/eth0');
    expect(gone.status).not.toBe(0);
    expect(JSON.parse((await lab.qkvm(['domifaddr', 'hpg', '--json'])).stdout)).toEqual([]);
  });

  it('attach again with --persist, then destroy leaves no tap', async () => {
    await lab.qkvm(['attach-interface', 'hpg', '--net', 'hpnet', '--persist']);
    expect((await lab.qkvm(['dumpconfig', 'hpg'])).stdout).toMatch(/network: hpnet/);
    expect((await lab.links()).filter((l) => /^qk.*-\d+$/.test(l))).toHaveLength(1);
    await lab.qkvm(['destroy', 'hpg']);
    expect((await lab.links()).filter((l) => /^qk.*-\d+$/.test(l))).toEqual([]);
    expect(readdirSync(path.join(lab.run, 'taps'))).toEqual([]);
  });
});
