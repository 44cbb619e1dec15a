// Two demo guests on an isolated network ping each other; nothing of the
// network is left after the guests are destroyed and the network is stopped.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_CI, Lab, missingPrerequisites, type Serial } from '../net/lab.js';

const why = missingPrerequisites();
if (why && !IN_CI) console.warn(`net-isolated: skipped: ${why}`);

describe.skipIf(why !== '' && !IN_CI)('isolated network', () => {
  const lab = new Lab();
  let g1: Serial;
  let g2: Serial;

  beforeAll(async () => {
    if (why) throw new Error(why);
    await lab.setup();
    await lab.qkvm(['net', 'define', 'iso', '--mode', 'isolated']);
    await lab.defineGuest('iso1', { nics: [{ network: 'iso' }], ip: '10.77.0.11/24' });
    await lab.defineGuest('iso2', { nics: [{ network: 'iso' }], ip: '10.77.0.12/24' });
  });
  afterAll(async () => { await lab.cleanup(); });

  it('starts the network on demand and the two guests ping each other', async () => {
    g1 = await lab.boot('iso1');
    expect((await lab.qkvm(['net', 'list', '--json'])).stdout).toContain('"active": true');
    g2 = await lab.boot('iso2');
    await g2.waitFor(/QKVM-NET eth0 10\.77\.0\.12/);
    const r = await g1.run('ping -c 3 -W 5 10.77.0.12');
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/3 packets received/);
    const back = await g2.run('ping -c 2 -W 5 10.77.0.11');
    expect(back.status, back.out).toBe(0);
  });

  it('has the taps on the bridge, and the host has no address on it', async () => {
    const ports = (await lab.sh('ls /sys/class/net/qkbr-iso/brif')).stdout.trim().split('\n');
    expect(ports).toHaveLength(2);
    const addrs = (await lab.sh('ip -4 -br addr show dev qkbr-iso')).stdout;
    expect(addrs).not.toMatch(/\d+\.\d+\.\d+\.\d+/);
  });

  it('starting a running network again is harmless', async () => {
    const before = await lab.links();
    const r = await lab.qkvm(['net', 'start', 'iso']);
    expect(r.code, r.stderr).toBe(0);
    expect(await lab.links()).toEqual(before);
    const ports = (await lab.sh('ls /sys/class/net/qkbr-iso/brif')).stdout.trim().split('\n');
    expect(ports).toHaveLength(2);
  });

  it('refuses net stop while guests are attached', async () => {
    const r = await lab.qkvm(['net', 'stop', 'iso'], { reject: false });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/still has guests attached/);
  });

  it('leaves no tap after destroy and no bridge after net stop', async () => {
    await lab.qkvm(['destroy', 'iso1']);
    await lab.qkvm(['destroy', 'iso2']);
    expect((await lab.links()).filter((l) => l.startsWith('qk') && l !== 'qkbr-iso')).toEqual([]);
    await lab.qkvm(['net', 'stop', 'iso']);
    expect((await lab.links()).filter((l) => l.startsWith('qk'))).toEqual([]);
    expect(await lab.nftTables()).not.toMatch(/qkvm_/);
  });

  it('marks a network for autostart, then undefines it', async () => {
    expect((await lab.qkvm(['net', 'autostart', 'iso'])).code).toBe(0);
    const listed = JSON.parse((await lab.qkvm(['net', 'list', '--json'])).stdout);
    expect(listed.find((n: { name: string }) => n.name === 'iso')).toMatchObject({ autostart: true, active: false });
    expect((await lab.qkvm(['net', 'autostart', 'iso', '--disable'])).code).toBe(0);
    expect(JSON.parse((await lab.qkvm(['net', 'list', '--json'])).stdout).find((n: { name: string }) => n.name === 'iso').autostart).toBe(false);
    expect((await lab.qkvm(['net', 'undefine', 'iso'])).code).toBe(0);
    expect(JSON.parse((await lab.qkvm(['net', 'list', '--json'])).stdout).map((n: { name: string }) => n.name)).not.toContain('iso');
    const again = await lab.qkvm(['net', 'start', 'iso'], { reject: false });
    expect(again.code).not.toBe(0);
    expect(again.stderr).toMatch(/iso/);
  });
});
