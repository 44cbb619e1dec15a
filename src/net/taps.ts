// The per-tap settings file that scripts/qemu-ifup reads (QEMU passes the
// script only the tap's name): QKVM_RUN/taps/TAP.env, lines of KEY=VALUE.
import { constants, closeSync, fstatSync, openSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { run as runPaths } from '../config/paths.js';
import { writeFileAtomic } from '../config/atomic.js';
import { invalid } from '../errors.js';
import type { CommandListener } from './exec.js';
import { deleteLink, isTuntap, linkExists } from './link.js';
import { tapVerdict, type Verdict } from './ownership.js';

export interface TapFacts {
  TAP: string;
  BRIDGE: string;
  NETWORK: string;
  GUEST: string;
  MAC: string;
  MTU?: number;
  VLAN?: number;
  /** The QEMU netdev/device id (net0, net1...). */
  ID?: string;
}

const SAFE_VALUE = /^[A-Za-z0-9_.:+-]*$/;

/** The file text. Every value is checked: the script parses it, and a stray newline must not add a key. */
export function tapFileText(f: TapFacts): string {
  const lines = ['# Written by qkvm for scripts/qemu-ifup; removed when the NIC goes away.'];
  for (const [k, v] of Object.entries(f)) {
    if (v === undefined) continue;
    const s = String(v);
    if (!SAFE_VALUE.test(s)) throw invalid(`tap file: unsafe value for ${k}: "${s}"`);
    lines.push(`${k}=${s}`);
  }
  return lines.join('\n') + '\n';
}

export function parseTapFile(text: string): Partial<TapFacts> {
  const out: Record<string, string | number> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z]+)=(.*)$/.exec(line);
    if (!m) continue;
    out[m[1]] = m[1] === 'MTU' || m[1] === 'VLAN' ? Number(m[2]) : m[2];
  }
  return out as Partial<TapFacts>;
}

export function writeTapFile(f: TapFacts): void {
  // 0644: QEMU may run the script as another user than qkvm.
  writeFileAtomic(runPaths.tapFile(f.TAP), tapFileText(f), 0o644);
}

/** The tap's record, read without following a symlink (O_NOFOLLOW) and only from a regular file. */
export function readTapFile(tap: string): Partial<TapFacts> | undefined {
  let fd: number;
  try { fd = openSync(runPaths.tapFile(tap), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK); } catch { return undefined; }
  try {
    if (!fstatSync(fd).isFile()) return undefined;
    return parseTapFile(readFileSync(fd, 'utf8'));
  } catch { return undefined; } finally { closeSync(fd); }
}

export function removeTapFile(tap: string): void {
  try { unlinkSync(runPaths.tapFile(tap)); } catch { /* gone */ }
}

/**
 * Deletes a guest's tap only if qkvm recorded it for that guest and it is still
 * a tun/tap device; removes the record when it is this guest's. Returns the verdict.
 */
export async function releaseTap(tap: string, guest: string, onCommand?: CommandListener): Promise<Verdict> {
  const rec = readTapFile(tap);
  const v = tapVerdict(tap, guest, rec, { exists: linkExists(tap), isTuntap: isTuntap(tap) });
  if (v.remove) await deleteLink(tap, onCommand);
  if (rec?.GUEST === guest && rec.TAP === tap) removeTapFile(tap);
  return v;
}

/** Every tap file, as [tap, facts]. */
export function listTapFiles(): [string, Partial<TapFacts>][] {
  let names: string[];
  try { names = readdirSync(runPaths.tapsDir()); } catch { return []; }
  return names.filter((n) => n.endsWith('.env') && !n.startsWith('.')).map((n) => n.slice(0, -4))
    .flatMap((tap) => { const f = readTapFile(tap); return f ? [[tap, f] as [string, Partial<TapFacts>]] : []; });
}
