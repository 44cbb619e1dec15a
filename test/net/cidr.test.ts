import { describe, expect, it } from 'vitest';
import { contains, defaultDhcpRange, overlaps, parseCidr, parseDhcpRange } from '../../src/net/cidr.js';

describe('parseCidr', () => {
  it('derives network, gateway, netmask and broadcast', () => {
    expect(parseCidr('192.168.122.0/24')).toEqual({
      network: '192.168.122.0', prefix: 24, gateway: '192.168.122.1', netmask: '255.255.255.0', broadcast: '192.168.122.255', cidr: '192.168.122.0/24',
    });
  });
  it('takes a host address as the gateway', () => {
    const n = parseCidr('10.1.2.9/16');
    expect(n.cidr).toBe('10.1.0.0/16');
    expect(n.gateway).toBe('10.1.2.9');
    expect(n.netmask).toBe('255.255.0.0');
  });
  it.each(['10.0.0.0', '10.0.0.0/33', '256.1.1.1/24', '10.0.0/24', '10.0.0.0/7', '10.0.0.0/31', ' ; rm -rf /'])('refuses %s', (bad) => {
    expect(() => parseCidr(bad)).toThrow(/subnet/);
  });
  it('contains and overlaps', () => {
    const a = parseCidr('10.0.0.0/24');
    expect(contains(a, '10.0.0.255')).toBe(true);
    expect(contains(a, '10.0.1.0')).toBe(false);
    expect(overlaps(a, parseCidr('10.0.0.0/16'))).toBe(true);
    expect(overlaps(a, parseCidr('10.0.1.0/24'))).toBe(false);
  });
});

describe('DHCP ranges', () => {
  const net = parseCidr('192.168.122.0/24');
  it('defaults to every host after the gateway', () => {
    expect(defaultDhcpRange(net)).toEqual({ start: '192.168.122.2', end: '192.168.122.254' });
    expect(defaultDhcpRange(parseCidr('10.0.0.0/30'))).toEqual({ start: '10.0.0.2', end: '10.0.0.2' });
  });
  it('accepts a range inside the subnet', () => {
    expect(parseDhcpRange('192.168.122.100-192.168.122.200', net)).toEqual({ start: '192.168.122.100', end: '192.168.122.200' });
  });
  it.each([
    ['192.168.123.2-192.168.123.9', /not a host address/],
    ['192.168.122.50-192.168.122.10', /comes after/],
    ['192.168.122.1-192.168.122.10', /gateway/],
    ['192.168.122.2-192.168.122.255', /not a host address/],
    ['192.168.122.2', /invalid range/],
  ])('refuses %s', (range, msg) => {
    expect(() => parseDhcpRange(range, net)).toThrow(msg);
  });
});
