// MAC addresses and tap names derived for guest NICs.
import { describe, expect, it } from 'vitest';
import { generateMac, normalizeMac, randomMac, validateMac } from '../../src/net/mac.js';
import { tapName, validateTapName, MAX_NICS } from '../../src/net/tapname.js';
import { QkvmError } from '../../src/errors.js';

const MAC = /^52:54:00(:[0-9a-f]{2}){3}$/;

describe('MAC addresses', () => {
  it('derives a stable 52:54:00 MAC per guest and NIC index', () => {
    expect(generateMac('web', 0)).toMatch(MAC);
    expect(generateMac('web', 0)).toBe(generateMac('web', 0));
    expect(generateMac('web', 1)).not.toBe(generateMac('web', 0));
    expect(generateMac('web2', 0)).not.toBe(generateMac('web', 0));
    // Pinned: a change here would change every guest's MAC (and its DHCP lease).
    expect(generateMac('demo', 0)).toBe('52:54:00:8c:7d:82');
  });

  it('spreads derived MACs (no clash among 2000 NICs of 1000 guests, in this sample)', () => {
    const all = new Set<string>();
    for (let g = 0; g < 1000; g++) for (let i = 0; i < 2; i++) all.add(generateMac(`guest${g}`, i));
    expect(all.size).toBe(2000);
  });

  it('makes random MACs with the prefix', () => {
    expect(randomMac()).toMatch(MAC);
    expect(randomMac()).not.toBe(randomMac());
  });

  it('normalises the usual spellings', () => {
    expect(normalizeMac('52:54:00:AB:CD:EF')).toBe('52:54:00:ab:cd:ef');
    expect(normalizeMac('52-54-00-ab-cd-ef')).toBe('52:54:00:ab:cd:ef');
    expect(normalizeMac('5254.00ab.cdef')).toBe('52:54:00:ab:cd:ef');
    expect(normalizeMac(' 525400abcdef ')).toBe('52:54:00:ab:cd:ef');
  });

  it('rejects non-MACs, multicast, broadcast and zero, naming the value', () => {
    for (const bad of ['52:54:00:ab:cd', '52:54:00:ab:cd:eg', '', '52:54:00-ab:cd:ef:00']) {
      expect(() => validateMac(bad, 'nics[0].mac')).toThrow(QkvmError);
    }
    expect(() => validateMac('zz', 'nics[0].mac')).toThrow(/nics\[0\]\.mac.*"zz"/);
    expect(() => validateMac('01:00:5e:00:00:fb')).toThrow(/multicast/);
    expect(() => validateMac('33:33:00:00:00:01')).toThrow(/multicast/);
    expect(() => validateMac('ff:ff:ff:ff:ff:ff')).toThrow(/broadcast/);
    expect(() => validateMac('00:00:00:00:00:00')).toThrow(/zeros/);
    expect(validateMac('52:54:00:AB:CD:EF')).toBe('52:54:00:ab:cd:ef');
    try {
      validateMac('nope');
    } catch (e) {
      expect((e as QkvmError).code).toBe('INVALID');
    }
  });
});

describe('tap names', () => {
  const LINUX_IFNAME = /^[A-Za-z0-9_.+-]{1,15}$/;

  it('fits Linux interface names for any guest name', () => {
    const names = ['a', 'web', 'Web-Server.prod_01', '.'.padEnd(1, 'x'), 'x'.repeat(63), '___', '9to5', 'UPPER'];
    for (const n of names) {
      for (const i of [0, 9, 10, MAX_NICS - 1]) {
        const t = tapName(n, i);
        expect(t, `${n}/${i}`).toMatch(LINUX_IFNAME);
        expect(t.length).toBeLessThanOrEqual(15);
        expect(validateTapName(t)).toBe(t);
      }
    }
  });

  it('is readable, stable, and differs per guest and per NIC', () => {
    expect(tapName('webserver', 0)).toMatch(/^qkwebs[0-9a-z]{6}-0$/);
    expect(tapName('webserver', 0)).toBe(tapName('webserver', 0));
    expect(tapName('webserver', 1)).not.toBe(tapName('webserver', 0));
    // Same readable prefix, different guests: the hash keeps them apart.
    expect(tapName('web1', 0)).not.toBe(tapName('web2', 0));
    expect(tapName('Web', 0)).not.toBe(tapName('web', 0));
  });

  it('does not clash among 5000 guests that share a prefix (in this sample)', () => {
    const all = new Set<string>();
    for (let g = 0; g < 5000; g++) all.add(tapName(`test-guest-${g}`, 0));
    expect(all.size).toBe(5000);
  });

  it('refuses an index out of range, and bad names', () => {
    expect(() => tapName('a', MAX_NICS)).toThrow(QkvmError);
    expect(() => tapName('a', -1)).toThrow(QkvmError);
    for (const bad of ['', 'a'.repeat(16), 'a b', 'a/b', 'a:b', '.', '..']) {
      expect(() => validateTapName(bad, 'nics[0].tap'), bad).toThrow(/nics\[0\]\.tap/);
    }
  });
});
