// Host tap device names for guest NICs. Linux limits an interface name to 15
// characters (IFNAMSIZ - 1), so the guest's name cannot simply be used.
import { createHash } from 'node:crypto';
import { invalid } from '../errors.js';

/** The most NICs one guest can have with this naming (the index takes two digits). */
export const MAX_NICS = 100;

/**
 * qk + up to 4 lower-case letters/digits of the guest name (to be readable in
 * `ip link`) + 6 base-36 characters of sha256(name) + "-" + NIC index, e.g.
 * "qkwebs0k3mzq-0". At most 2+4+6+1+2 = 15 characters. Two guests get the same
 * taps only if their names share the readable prefix AND the hash (36^6, about
 * 31 bits): among n guests named alike the chance of any clash is about
 * n^2 / (2 * 36^6): 1 in 430,000 for 100 guests, 1 in 175 for 5,000.
 */
export function tapName(guest: string, index: number): string {
  if (!Number.isInteger(index) || index < 0 || index >= MAX_NICS) {
    throw invalid(`NIC index ${index} is out of range`, `a guest has at most ${MAX_NICS} NICs`);
  }
  const readable = guest.toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 4);
  const digest = createHash('sha256').update(guest).digest();
  const hash = (digest.readUIntBE(0, 6) % 36 ** 6).toString(36).padStart(6, '0');
  return `qk${readable}${hash}-${index}`;
}

/** A name Linux accepts for an interface: 1-15 bytes, no '/', ':' or whitespace, not "." or "..". */
export function validateTapName(name: string | undefined, what = 'tap'): string {
  if (typeof name !== 'string' || !/^[A-Za-z0-9_.+-]{1,15}$/.test(name) || name === '.' || name === '..') {
    throw invalid(`${what}: invalid interface name "${String(name)}"`, 'an interface name is 1-15 characters of A-Z a-z 0-9 _ . + -');
  }
  return name;
}
