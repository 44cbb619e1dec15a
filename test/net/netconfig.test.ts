// Pure parts of networking: definitions, derived names, dnsmasq argv, nft text,
// leases, tap files, command display.
import { describe, expect, it } from 'vitest';
import { parseNetworkSpec } from '../../src/net/schema.js';
import { bridgeOf, derivedBridgeName, nftTableName } from '../../src/net/derive.js';
import { dnsmasqArgv, parseLeases } from '../../src/net/dnsmasq.js';
import { nftRuleset } from '../../src/net/nft.js';
import { parseTapFile, tapFileText } from '../../src/net/taps.js';
import { formatCommand, shellQuote } from '../../src/net/exec.js';
import { pickLease } from '../../src/net/addr.js';

const files = { pidFile: '/run/qkvm/net/default/dnsmasq.pid', leaseFile: '/run/qkvm/net/default/dnsmasq.leases' };

describe('network definitions', () => {
  it('fills defaults', () => {
    const s = parseNetworkSpec({ name: 'default', mode: 'nat', subnet: '192.168.122.0/24' });
    expect(s).toMatchObject({ dhcp: true, hostfwd: [], autostart: false });
  });
  it.each([
    [{ name: 'x', mode: 'nat' }, /subnet.*needs a subnet/],
    [{ name: 'x', mode: 'bridge' }, /bridge.*existing bridge/],
    [{ name: 'x', mode: 'isolated', bridge: 'this-name-is-too-long' }, /bridge.*interface name/],
    [{ name: 'x', mode: 'isolated', bridge: 'br0;reboot' }, /interface name/],
    [{ name: 'x', mode: 'nat', subnet: '10.0.0.0/24', dhcpRange: '10.0.1.2-10.0.1.9' }, /dhcpRange/],
    [{ name: 'x', mode: 'routed', subnet: '10.0.0.0/24', uplink: 'eth0' }, /uplink/],
    [{ name: 'x', mode: 'isolated', hostfwd: ['tcp::2222-:22'] }, /hostfwd/],
    [{ name: '../etc', mode: 'isolated' }, /name/],
    [{ name: 'x', mode: 'nat', subnet: '10.0.0.0/24', vlan: 5000 }, /vlan/],
  ])('refuses %j', (input, msg) => {
    expect(() => parseNetworkSpec(input)).toThrow(msg);
  });
});

describe('derived names', () => {
  it('bridge names fit in 15 characters and stay apart', () => {
    expect(derivedBridgeName('default')).toBe('qkbr-default');
    const a = derivedBridgeName('a-very-long-network-name');
    const b = derivedBridgeName('a-very-long-network-nam3');
    expect(a.length).toBeLessThanOrEqual(15);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^qkbr-a-ve[0-9a-f]{6}$/);
    expect(bridgeOf({ name: 'lan', bridge: 'br0' })).toBe('br0');
  });
  it('nft table names are nft identifiers', () => {
    expect(nftTableName('default')).toBe('qkvm_default');
    expect(nftTableName('lab-1')).toMatch(/^qkvm_lab_1_[0-9a-f]{6}$/);
    expect(nftTableName('lab-1')).not.toBe(nftTableName('lab_1'));
  });
});

describe('dnsmasq argv', () => {
  it('serves DHCP on the bridge only', () => {
    const spec = parseNetworkSpec({ name: 'default', mode: 'nat', subnet: '192.168.122.0/24' });
    expect(dnsmasqArgv(spec, files)).toEqual([
      'dnsmasq', '--conf-file=/dev/null', '--strict-order', '--bind-interfaces', '--interface=qkbr-default', '--except-interface=lo',
      '--listen-address=192.168.122.1', '--dhcp-range=192.168.122.2,192.168.122.254,255.255.255.0', '--dhcp-no-override',
      '--dhcp-authoritative', '--no-ping', '--dhcp-lease-max=253', `--dhcp-leasefile=${files.leaseFile}`, `--pid-file=${files.pidFile}`,
    ]);
  });
  it('takes the range given, and tells isolated guests there is no router', () => {
    const spec = parseNetworkSpec({ name: 'lab', mode: 'isolated', subnet: '10.5.0.0/24', dhcpRange: '10.5.0.100-10.5.0.109', bridge: 'labbr' });
    const argv = dnsmasqArgv(spec, files);
    expect(argv).toContain('--dhcp-range=10.5.0.100,10.5.0.109,255.255.255.0');
    expect(argv).toContain('--dhcp-lease-max=10');
    expect(argv).toContain('--interface=labbr');
    expect(argv).toContain('--dhcp-option=option:router');
  });
});

describe('nft rulesets', () => {
  it('nat masquerades the subnet leaving it, in a table of its own', () => {
    const spec = parseNetworkSpec({ name: 'default', mode: 'nat', subnet: '192.168.122.0/24', uplink: 'eth0' });
    expect(nftRuleset(spec)).toBe([
      'table ip qkvm_default {',
      '  chain postrouting {',
      '    type nat hook postrouting priority srcnat; policy accept;',
      '    ip saddr 192.168.122.0/24 ip daddr 224.0.0.0/24 return',
      '    ip saddr 192.168.122.0/24 ip daddr 255.255.255.255 return',
      '    oifname "eth0" ip saddr 192.168.122.0/24 ip daddr != 192.168.122.0/24 masquerade',
      '  }',
      '}',
      '',
    ].join('\n'));
  });
  it('isolated fences off forwarding; routed needs no rules', () => {
    expect(nftRuleset(parseNetworkSpec({ name: 'iso', mode: 'isolated' }))).toContain('iifname "qkbr-iso" oifname != "qkbr-iso" drop');
    expect(nftRuleset(parseNetworkSpec({ name: 'r', mode: 'routed', subnet: '10.0.0.0/24' }))).toBeUndefined();
  });
});

describe('leases', () => {
  const text = [
    '1718000000 52:54:00:aa:bb:cc 192.168.122.50 demo 01:52:54:00:aa:bb:cc',
    '1718000100 52:54:00:AA:BB:CC 192.168.122.51 * *',
    'duid 00:01:00:01:2c:ff',
    'garbage',
    '',
  ].join('\n');
  it('parses dnsmasq lines', () => {
    const leases = parseLeases(text);
    expect(leases).toHaveLength(2);
    expect(leases[0]).toEqual({ expiry: 1718000000, mac: '52:54:00:aa:bb:cc', ip: '192.168.122.50', hostname: 'demo', clientId: '01:52:54:00:aa:bb:cc' });
    expect(leases[1].hostname).toBeUndefined();
  });
  it('picks the newest lease of a MAC', () => {
    expect(pickLease(parseLeases(text), '52:54:00:AA:BB:CC')?.ip).toBe('192.168.122.51');
    expect(pickLease(parseLeases(text), '52:54:00:00:00:01')).toBeUndefined();
  });
});

describe('tap files', () => {
  it('round-trips and refuses values that could add a line', () => {
    const f = { TAP: 'qkweb0', BRIDGE: 'qkbr-default', NETWORK: 'default', GUEST: 'web', MAC: '52:54:00:01:02:03', MTU: 1400 };
    expect(parseTapFile(tapFileText(f))).toEqual(f);
    expect(() => tapFileText({ ...f, BRIDGE: 'br0\nVLAN=5' })).toThrow(/unsafe/);
  });
});

describe('command display', () => {
  it('quotes like a shell', () => {
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(formatCommand(['ip', 'addr', 'add', '10.0.0.1/24', 'dev', 'br0'])).toBe('ip addr add 10.0.0.1/24 dev br0');
    expect(formatCommand(['nft', '-f', '-'], 'table ip t {}')).toBe("nft -f - <<'EOF'\ntable ip t {}\nEOF");
  });
});
