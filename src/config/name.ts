// The one rule for a name that becomes part of a path (guest, network, pool,
// volume, snapshot), whether it was typed on the command line or read from a
// file. Kept free of zod so that the small `qkvm list` path can load it.
import { invalid } from '../errors.js';

/** 1-63 characters of A-Z a-z 0-9 _ . -, starting with a letter, digit or _ (so never "-x", ".." or ".x"). */
export const NAME_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,62}$/;

export const NAME_RULE = 'a name is 1-63 characters of A-Z a-z 0-9 _ . - and starts with a letter, a digit or _';

export function validateName(name: unknown, what = 'name'): string {
  if (typeof name !== 'string' || !NAME_RE.test(name)) {
    throw invalid(`${what}: invalid name ${JSON.stringify(String(name))}`, NAME_RULE);
  }
  return name;
}
