import { describe, expect, it } from 'vitest';
import { parseCidr } from '../../src/net/cidr.js';
import {
  RESERVED, assertNotReserved, assertSubnetShape, describeOverlap, findOverlaps, inSpan, reservedRange, spanOf, spansOverlap,
} from '../../src/net/subnetcheck.js';

describe('spanOf', () => {
  it('reads a CIDR and a bare address', () => {
    expect(spanOf('10.0.0.0/24')).toEqual({ first: 167772160, last: 167772415 });
    expect(spanOf('10.0.0.7/24')).toEqual({ first: 167772160, last: 167772415 });
    expect(spanOf('10.0.0.7')).toEqual({ first: 167772167, last: 167772167 });
    expect(spanOf(' 10.0.0.7/32 ')).toEqual({ first: 167772167, last: 167772167 });
    expect(spanOf('0.0.0.0/0')).toEqual({ first: 0, last: 2 ** 32 - 1 });
    expect(spanOf('255.255.255.255/32')).toEqual({ first: 2 ** 32 - 1, last: 2 ** 32 - 1 });
  });
  it.each(['default', 'fe80::/64', '10.0.0.0/33', '10.0.0/24', '10.0.0.0/', 'x10.0.0.0/8', '10.0.0.0/8x', ''])('is undefined for %j', (t) => {
    expect(spanOf(t)).toBeUndefined();
  });
  it('overlap and membership are inclusive at both ends', () => {
    const a = { first: 10, last: 20 };
    expect(spansOverlap(a, { first: 20, last: 30 })).toBe(true);
    expect(spansOverlap(a, { first: 0, last: 10 })).toBe(true);
    expect(spansOverlap(a, { first: 21, last: 30 })).toBe(false);
    expect(spansOverlap(a, { first: 0, last: 9 })).toBe(false);
    expect(spansOverlap({ first: 0, last: 9 }, a)).toBe(false);
    expect(spansOverlap({ first: 12, last: 13 }, a)).toBe(true);
    expect(inSpan(a, 10)).toBe(true);
    expect(inSpan(a, 20)).toBe(true);
    expect(inSpan(a, 9)).toBe(false);
    expect(inSpan(a, 21)).toBe(false);
  });
});

describe('reserved ranges', () => {
  it.each([
    ['0.1.2.0/24', '0.0.0.0/8'], ['127.0.0.0/24', '127.0.0.0/8'], ['127.255.255.0/24', '127.0.0.0/8'], ['169.254.7.0/24', '169.254.0.0/16'],
    ['224.0.0.0/24', '224.0.0.0/4'], ['239.255.0.0/16', '224.0.0.0/4'], ['240.0.0.0/24', '240.0.0.0/4'], ['255.255.255.0/24', '240.0.0.0/4'],
    ['100.0.0.0/8', undefined], ['126.0.0.0/8', undefined], ['168.0.0.0/8', undefined], ['169.0.0.0/8', '169.254.0.0/16'], ['0.0.0.0/8', '0.0.0.0/8'], ['10.0.0.0/8', undefined],
    ['192.168.122.0/24', undefined], ['172.16.0.0/12', undefined], ['1.0.0.0/24', undefined], ['223.255.255.0/24', undefined],
    ['169.253.0.0/16', undefined], ['169.255.0.0/16', undefined], ['128.0.0.0/24', undefined],
  ])('%s -> %s', (subnet, range) => {
    expect(reservedRange(parseCidr(subnet))?.cidr).toBe(range);
  });
  it('names the subnet, the range and what it is', () => {
    expect(() => assertNotReserved(parseCidr('127.0.0.0/24'))).toThrow(/subnet 127\.0\.0\.0\/24 falls in 127\.0\.0\.0\/8 \(loopback\)/);
    expect(() => assertNotReserved(parseCidr('224.0.0.0/24'))).toThrow(/224\.0\.0\.0\/4 \(multicast\)/);
    expect(() => assertNotReserved(parseCidr('10.0.0.0/24'))).not.toThrow();
    expect(() => assertNotReserved(parseCidr('169.254.1.0/24'))).toThrow(expect.objectContaining({ code: 'INVALID', hint: expect.stringMatching(/private range/) }));
  });
  it('lists the six ranges of the brief', () => {
    expect(RESERVED.map((r) => r.cidr)).toEqual(['0.0.0.0/8', '127.0.0.0/8', '169.254.0.0/16', '224.0.0.0/4', '240.0.0.0/4', '255.255.255.255/32']);
    for (const r of RESERVED) expect(r.what.length).toBeGreaterThan(3);
  });
});

describe('subnet shape', () => {
  it('refuses the broadcast address as the subnet address', () => {
    expect(() => assertSubnetShape('10.0.0.255/24', parseCidr('10.0.0.255/24'))).toThrow(/10\.0\.0\.255 is the broadcast address of 10\.0\.0\.0\/24/);
    expect(() => assertSubnetShape(' 10.0.0.255/24 ', parseCidr('10.0.0.255/24'))).toThrow(expect.objectContaining({
      message: 'subnet  10.0.0.255/24 : 10.0.0.255 is the broadcast address of 10.0.0.0/24',
      hint: 'write the network address (10.0.0.0/24) or the gateway\'s (10.0.0.1/24)',
    }));
  });
  it('takes the network address or a host address', () => {
    expect(() => assertSubnetShape('10.0.0.0/24', parseCidr('10.0.0.0/24'))).not.toThrow();
    expect(() => assertSubnetShape(' 10.0.0.9/24', parseCidr('10.0.0.9/24'))).not.toThrow();
  });
});

describe('findOverlaps', () => {
  const net = parseCidr('192.168.50.0/24');
  it('finds an address of the namespace inside the subnet', () => {
    const hits = findOverlaps(net, [{ dev: 'eth0', local: '192.168.50.7', prefixlen: 24 }, { dev: 'lo', local: '127.0.0.1', prefixlen: 8 }], []);
    expect(hits).toEqual([{ kind: 'address', what: '192.168.50.7/24', dev: 'eth0' }]);
    expect(describeOverlap(hits[0])).toBe('address 192.168.50.7/24 on eth0');
  });
  it('finds a wider address that contains the subnet, and a /32 inside it', () => {
    expect(findOverlaps(net, [{ dev: 'eth0', local: '192.168.0.1', prefixlen: 16 }], [])).toHaveLength(1);
    expect(findOverlaps(net, [{ dev: 'd0', local: '192.168.50.255', prefixlen: 32 }], [])).toHaveLength(1);
    expect(findOverlaps(net, [{ dev: 'd0', local: '192.168.51.0', prefixlen: 32 }], [])).toHaveLength(0);
  });
  it('finds a route into the subnet, and the gateway of a default route', () => {
    const hits = findOverlaps(net, [], [
      { dst: '192.168.50.128/25', dev: 'wg0' }, { dst: 'default', gateway: '192.168.50.1', dev: 'eth0' }, { dst: '10.0.0.0/8', gateway: '10.1.1.1', dev: 'eth1' },
      { dst: '192.168.50.9', dev: 'tun0' },
    ]);
    expect(hits).toEqual([
      { kind: 'route', what: '192.168.50.128/25', dev: 'wg0' },
      { kind: 'gateway', what: '192.168.50.1', dev: 'eth0' },
      { kind: 'route', what: '192.168.50.9', dev: 'tun0' },
    ]);
    expect(describeOverlap(hits[0])).toBe('route 192.168.50.128/25 on wg0');
    expect(describeOverlap(hits[1])).toBe('the gateway 192.168.50.1 of a route on eth0');
    expect(describeOverlap({ kind: 'route', what: '1.2.3.0/24' })).toBe('route 1.2.3.0/24');
  });
  it('does not count a default route by itself', () => {
    expect(findOverlaps(net, [], [{ dst: 'default', gateway: '10.0.0.1', dev: 'eth0' }, { dst: '0.0.0.0/0', dev: 'eth9' }])).toEqual([]);
  });
  it('skips the network\'s own bridge', () => {
    const addrs = [{ dev: 'qkbr-n', local: '192.168.50.1', prefixlen: 24 }];
    const routes = [{ dst: '192.168.50.0/24', dev: 'qkbr-n' }];
    expect(findOverlaps(net, addrs, routes, ['qkbr-n'])).toEqual([]);
    expect(findOverlaps(net, addrs, routes, ['other'])).toHaveLength(2);
    expect(findOverlaps(net, addrs, routes)).toHaveLength(2);
    expect(findOverlaps(net, [], [{ dst: '192.168.50.0/24' }], ['qkbr-n'])).toHaveLength(1);
  });
  it('ignores what it cannot read and what lies outside', () => {
    expect(findOverlaps(net, [{ dev: 'x', local: 'fe80::1', prefixlen: 64 }], [{ dst: 'fe80::/64', dev: 'x' }, { dst: '192.168.49.0/24', gateway: 'fe80::1' }])).toEqual([]);
  });
});
