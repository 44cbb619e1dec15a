// Command-line arguments checked before anything runs: every name that can
// become a path (guest, network, pool, volume, snapshot) is validated up front
// with the same rule as definitions, and names the argument it came from.
// Kept free of yargs and zod: the fast `list`/`start` path loads it.
import { normalizeDash } from '../typed.js';
import { validateName } from '../config/name.js';

/** Which argv keys hold names, and what each is, for the command in argv._. */
export function nameArgs(argv: Record<string, unknown>): [key: string, label: string][] {
  const words = Array.isArray(argv._) ? argv._.map(String) : [];
  const [group, sub] = words;
  switch (group) {
    case 'net': return [['name', 'network name']];
    case 'pool': return [['name', 'pool name']];
    case 'vol': return [['pool', 'pool name'], ['name', 'volume name'], ...(sub === 'clone' ? [['source', 'source volume name'] as [string, string]] : [])];
    case 'snapshot': return [['name', 'guest name'], ['snap', 'snapshot name']];
    case 'clone': return [['source', 'source guest name'], ['name', 'new guest name']];
    case 'stats': return [['names', 'guest name']];
    case 'attach-interface': return [['name', 'guest name'], ['net', 'network name']];
    // The disk and host groups take files and flags, not names.
    // list --name (virsh) is a flag.
    case 'list': return [];
    case 'virt-clone': return [['original', 'source guest name'], ['name', 'new guest name']];
    case 'disk': case 'doctor': case 'demo': case 'bridge-setup': return [];
    default: return [['name', 'guest name']];
  }
}

/** Throws INVALID naming the argument when a name argument breaks the name rule. */
export async function checkNameArgs(argv: Record<string, unknown>): Promise<void> {
  for (const [key, label] of nameArgs(argv)) {
    const v = argv[key];
    if (v === undefined) continue;
    for (const x of Array.isArray(v) ? v : [v]) {
      if (key === 'snap') {
        // Snapshot names are qcow2 tags with their own rule (storage/qemu-img.ts); load it only when needed.
        (await import('../storage/qemu-img.js')).validateSnapshotTag(String(x));
      } else {
        validateName(typeof x === 'number' ? String(x) : x, label);
      }
    }
  }
}

/**
 * yargs reads "-1G" as the short options -1 and -G, so `--memory -1G` and
 * `disk resize F -1G` never reach qkvm. Before parsing, a token that starts
 * with "-" and a digit (and is not a plain number, which yargs handles) is
 * marked with a NUL, which no real argument can hold; unmarkArgs removes the
 * mark after parsing, so the option or positional gets the text as written.
 */
export const NEGATIVE_MARK = '\u0000';
const NEGATIVE_VALUE = /^-\d/;
const PLAIN_NUMBER = /^-(\d+(\.\d+)?|\.\d+)$/;

export function markNegativeValues(argv: string[]): string[] {
  const end = argv.indexOf('--');
  return argv.map((t, i) => ((end === -1 || i < end) && NEGATIVE_VALUE.test(t) && !PLAIN_NUMBER.test(t) ? NEGATIVE_MARK + t : t));
}

const unmark = (v: unknown): unknown =>
  typeof v === 'string' && v.startsWith(NEGATIVE_MARK) ? v.slice(1)
    : Array.isArray(v) ? v.map(unmark) : v;

/** yargs middleware: every marked value back to the text the user wrote. */
export function unmarkArgs(argv: Record<string, unknown>): void {
  for (const [k, v] of Object.entries(argv)) argv[k] = unmark(v);
}

/** A yargs message without the marks. */
export const unmarkText = (s: string): string => s.replaceAll(NEGATIVE_MARK, '');

/**
 * Web pages turn "--" into an en dash (–) or an em dash (—): a pasted
 * "–name" or "—name" is read as "--name". Only a dash that starts an argument
 * and is followed by a letter (or a hyphen), so values keep their dashes.
 */
export function normalizeDashes(argv: string[]): string[] {
  return argv.map(normalizeDash);
}
