// What storage needs to know about running guests: which QEMU holds which file.
// QEMU's image locks decide whether an image is in use; this only names the guest.
import { NAME_RE } from '../config/name.js';
import { readdirSync, readlinkSync, realpathSync } from 'node:fs';
import { run } from '../config/paths.js';
import { readStat } from '../runtime/proc.js';
import { qemuPid } from '../runtime/state.js';

/** The pid of the guest's QEMU when it is alive and really that guest's QEMU (the runtime decides). */
export function guestPid(name: string): number | undefined {
  return qemuPid(name);
}

export function isGuestRunning(name: string): boolean {
  return guestPid(name) !== undefined;
}

/** Guests with a live QEMU, by their QKVM_RUN directories. */
export function runningGuests(): { name: string; pid: number }[] {
  let dirs: string[];
  try { dirs = readdirSync(run.vmsDir()); } catch { return []; }
  const out: { name: string; pid: number }[] = [];
  for (const name of dirs) {
    if (!NAME_RE.test(name)) continue;
    const pid = guestPid(name);
    if (pid !== undefined) out.push({ name, pid });
  }
  return out;
}

function real(path: string): string {
  try { return realpathSync(path); } catch { return path; }
}

/** Pids of the processes that have `path` open, read from /proc/PID/fd. */
export function processesHolding(path: string): number[] {
  const target = real(path);
  const pids: number[] = [];
  let entries: string[];
  try { entries = readdirSync('/proc'); } catch { return []; }
  for (const e of entries) {
    if (!/^\d+$/.test(e)) continue;
    let fds: string[];
    try { fds = readdirSync(`/proc/${e}/fd`); } catch { continue; }
    for (const fd of fds) {
      let link: string;
      try { link = readlinkSync(`/proc/${e}/fd/${fd}`); } catch { continue; }
      if (link === target) { pids.push(Number(e)); break; }
    }
  }
  return pids;
}

/** Who uses an image, for an IN_USE hint: a qkvm guest's name, or a process. */
export function describeHolders(path: string): { guest?: string; pid?: number; comm?: string } | undefined {
  const pids = processesHolding(path);
  if (!pids.length) return undefined;
  const guests = runningGuests();
  for (const pid of pids) {
    const g = guests.find((x) => x.pid === pid);
    if (g) return { guest: g.name, pid };
  }
  return { pid: pids[0], comm: readStat(pids[0])?.comm };
}

export function inUseHint(path: string): string {
  const h = describeHolders(path);
  if (h?.guest) return `guest "${h.guest}" (QEMU pid ${h.pid}) is using it: stop it first (\`qkvm shutdown ${h.guest}\`)`;
  if (h?.pid) return `process ${h.pid} (${h.comm ?? '?'}) has it open: stop that process first`;
  return 'another process holds QEMU\'s lock on it: stop the guest that uses it first';
}
