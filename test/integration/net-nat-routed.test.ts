// A guest on a nat network gets a DHCP lease from qkvm's dnsmasq, domifaddr
// shows it, and it reaches a TCP service in a second namespace through the NAT
// (the far side sees the host's address). On a routed network the far side
// sees the guest's own address.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FarSide, IN_CI, Lab, missingPrerequisites } from '../net/lab.js';

const why = missingPrerequisites();
if (why && !IN_CI) console.warn(`net-nat-routed: skipped: ${why}`);

describe.skipIf(why !== '' && !IN_CI)('nat and routed networks', () => {
  const lab = new Lab();
  const far = new FarSide();

  beforeAll(async () => {
    if (why) throw new Error(why);
    await lab.setup();
    await far.setup(lab);
  });
  afterAll(async () => { await far.cleanup(); await lab.cleanup(); });

  it('nat: DHCP lease, domifaddr, and the far side sees the NAT address', async () => {
    await lab.qkvm(['net', 'define', 'default', '--mode', 'nat']);
    const info = JSON.parse((await lab.qkvm(['net', 'info', 'default', '--json'])).stdout);
    expect(info.definition.subnet).toBe('192.168.122.0/24');
    await lab.defineGuest('natg', { nics: [{ network: 'default' }] });
    const g = await lab.boot('natg');
    // Up to the line end: a match taken mid-line would cut the address short.
    const [, addr] = await g.waitFor(/QKVM-NET eth0 (192\.168\.122\.\d+)\r?\n/);

    const leases = JSON.parse((await lab.qkvm(['net', 'leases', 'default', '--json'])).stdout);
    expect(leases.map((l: { ip: string }) => l.ip)).toContain(addr);
    const ifaddr = JSON.parse((await lab.qkvm(['domifaddr', 'natg', '--json'])).stdout);
    expect(ifaddr).toEqual([expect.objectContaining({ nic: 'net0', network: 'default', address: addr, source: 'lease' })]);
    expect((await lab.qkvm(['domifaddr', 'natg'])).stdout).toContain(`${addr}/24`);

    // The default route must come from the DHCP lease (dnsmasq's router option), not from the test.
    const route = await g.run('ip route | grep ^default');
    expect(route.out).toMatch(/default via 192\.168\.122\.1/);
    const r = await g.run(`echo | nc -w 10 ${far.address} ${far.port}`);
    expect(r.out).toContain('SEEN-FROM 10.200.0.1');
    expect(await lab.nftTables()).toMatch(/table ip qkvm_default/);

    await lab.qkvm(['destroy', 'natg']);
    await lab.qkvm(['net', 'stop', 'default']);
    expect(await lab.nftTables()).not.toMatch(/qkvm_/);
    expect(await lab.dnsmasqPids()).toEqual([]);
    expect((await lab.links()).filter((l) => l.startsWith('qk') && !l.startsWith('qkv'))).toEqual([]);
  });

  it('routed: the far side sees the guest\'s own address', async () => {
    await lab.qkvm(['net', 'define', 'lab', '--mode', 'routed', '--subnet', '10.123.0.0/24', '--no-dhcp']);
    // The far side routes the guests' subnet back through the lab namespace.
    await far.ns.exec(['ip', 'route', 'add', '10.123.0.0/24', 'via', '10.200.0.1']);
    await lab.defineGuest('rtg', { nics: [{ network: 'lab' }], ip: '10.123.0.50/24,10.123.0.1' });
    const g = await lab.boot('rtg');
    await g.waitFor(/QKVM-NET eth0 10\.123\.0\.50/);
    const r = await g.run(`echo | nc -w 10 ${far.address} ${far.port}`);
    expect(r.out).toContain('SEEN-FROM 10.123.0.50');
    expect(await lab.nftTables()).not.toMatch(/qkvm_/); // routed: no NAT table
    expect(await lab.dnsmasqPids()).toEqual([]);       // --no-dhcp
    // No lease: domifaddr falls back to the neighbour table, which knows the guest after the traffic.
    await lab.sh('busybox ping -c 1 -W 5 10.123.0.50');
    const ifaddr = JSON.parse((await lab.qkvm(['domifaddr', 'rtg', '--json'])).stdout);
    expect(ifaddr).toEqual([expect.objectContaining({ address: '10.123.0.50', source: 'arp' })]);
    await lab.qkvm(['destroy', 'rtg']);
    await lab.qkvm(['net', 'stop', 'lab']);
    expect((await lab.links()).filter((l) => l.startsWith('qk') && !l.startsWith('qkv'))).toEqual([]);
  });
});
