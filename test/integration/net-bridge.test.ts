// Bridge mode: `net bridge-setup` moves an uplink's address and default route
// onto a new bridge (shown first with --dry-run), and a guest on a network of
// mode bridge sits on the uplink's LAN: the far side sees it directly.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FarSide, IN_CI, Lab, missingPrerequisites } from '../net/lab.js';

const why = missingPrerequisites();
if (why && !IN_CI) console.warn(`net-bridge: skipped: ${why}`);

describe.skipIf(why !== '' && !IN_CI)('bridge mode', () => {
  const lab = new Lab();
  const far = new FarSide();
  let uplink = '';

  beforeAll(async () => {
    if (why) throw new Error(why);
    await lab.setup();
    await far.setup(lab);
    // The lab end of the veth pair plays the host's uplink (eth0) here.
    uplink = (await lab.links()).find((l) => l.startsWith('qkv'))!;
    await lab.ns.exec(['ip', 'route', 'add', 'default', 'via', far.address, 'dev', uplink]);
  });
  afterAll(async () => { await far.cleanup(); await lab.cleanup(); });

  it('--dry-run prints the classic steps and changes nothing', async () => {
    const r = await lab.qkvm(['net', 'bridge-setup', 'br0', '--uplink', uplink, '--dry-run']);
    expect(r.stdout.split('\n')).toEqual(expect.arrayContaining([
      'ip link add name br0 type bridge stp_state 0 forward_delay 0',
      `ip link set dev ${uplink} master br0`,
      `ip addr del 10.200.0.1/24 dev ${uplink}`,
      'ip addr add 10.200.0.1/24 dev br0',
      `ip -4 route replace default via ${far.address} dev br0`,
    ]));
    expect(await lab.links()).not.toContain('br0');
  });

  it('moves the address and default route to the bridge', async () => {
    await lab.qkvm(['net', 'bridge-setup', 'br0', '--uplink', uplink]);
    expect((await lab.sh('ip -4 -br addr show dev br0')).stdout).toContain('10.200.0.1/24');
    expect((await lab.sh(`ip -4 -br addr show dev ${uplink}`)).stdout).not.toContain('10.200.0.1');
    expect((await lab.sh('ip route show default')).stdout).toContain('dev br0');
    expect((await lab.sh('busybox ping -c 1 -W 5 10.200.0.2')).code).toBe(0);
    // Running it again is harmless.
    expect((await lab.qkvm(['net', 'bridge-setup', 'br0', '--uplink', uplink])).stdout).toMatch(/nothing to do/);
  });

  it('a guest on a bridge-mode network reaches the far side with its own address', async () => {
    await lab.qkvm(['net', 'define', 'lan', '--mode', 'bridge', '--bridge', 'br0']);
    await lab.defineGuest('brg', { nics: [{ network: 'lan' }], ip: '10.200.0.50/24' });
    const g = await lab.boot('brg');
    await g.waitFor(/QKVM-NET eth0 10\.200\.0\.50/);
    const r = await g.run(`echo | nc -w 10 ${far.address} ${far.port}`);
    expect(r.out).toContain('SEEN-FROM 10.200.0.50');
    await lab.qkvm(['destroy', 'brg']);
    // Stopping a bridge-mode network leaves the host's bridge alone.
    await lab.qkvm(['net', 'stop', 'lan']);
    expect(await lab.links()).toContain('br0');
    expect((await lab.sh('ls /sys/class/net/br0/brif')).stdout.trim()).toBe(uplink);
  });
});
