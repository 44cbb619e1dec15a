// MAC addresses for guest NICs. 52:54:00 is the prefix QEMU and libvirt use for
// locally administered guest addresses.
import { createHash, randomBytes } from 'node:crypto';
import { invalid } from '../errors.js';

export const MAC_PREFIX = '52:54:00';

const hex = (bytes: Uint8Array) => Array.from(bytes, (b) => b.toString(16).padStart(2, '0'));

/**
 * A MAC that stays the same for a guest's NIC across restarts (the guest's DHCP
 * lease and udev names depend on it): 52:54:00 + 3 bytes of sha256("guest/index").
 * Two NICs collide with probability about n^2 / 2^25 among n NICs on one bridge.
 */
export function generateMac(guest: string, index: number): string {
  const digest = createHash('sha256').update(`${guest}/${index}`).digest();
  return [MAC_PREFIX, ...hex(digest.subarray(0, 3))].join(':');
}

export function randomMac(): string {
  return [MAC_PREFIX, ...hex(randomBytes(3))].join(':');
}

/** Lower case, colon separated: accepts 52-54-00-AB-CD-EF and 5254.00ab.cdef too. Throws INVALID if it is not a MAC. */
export function normalizeMac(mac: string, what = 'mac'): string {
  const digits = String(mac).trim().toLowerCase().replace(/[:.-]/g, '');
  const shapes = [/^([0-9a-f]{2}[:-]){5}[0-9a-f]{2}$/i, /^([0-9a-f]{4}\.){2}[0-9a-f]{4}$/i, /^[0-9a-f]{12}$/i];
  if (!shapes.some((re) => re.test(String(mac).trim())) || digits.length !== 12) {
    throw invalid(`${what}: invalid MAC address "${mac}"`, 'write six hex pairs like 52:54:00:12:34:56');
  }
  return digits.match(/../g)!.join(':');
}

/** Normalises and checks that a NIC may use it: not multicast or broadcast, not all zero. */
export function validateMac(mac: string, what = 'mac'): string {
  const norm = normalizeMac(mac, what);
  const first = parseInt(norm.slice(0, 2), 16);
  if (norm === 'ff:ff:ff:ff:ff:ff') throw invalid(`${what}: "${mac}" is the broadcast address, not a NIC's address`);
  if (first & 1) throw invalid(`${what}: "${mac}" is a multicast address (the first byte is odd)`, 'guest MACs usually start with 52:54:00');
  if (norm === '00:00:00:00:00:00') throw invalid(`${what}: "${mac}" is all zeros`);
  return norm;
}
