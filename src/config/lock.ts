// Per-name locks that survive crashes: a lock file holds the owner's pid and
// start time, and a lock whose owner is gone is taken over, never left to a
// manual unlock (Lima issues #5075, #4929 are the cautionary tale).
import { openSync, writeSync, closeSync, readFileSync, unlinkSync, constants } from 'node:fs';
import { join } from 'node:path';
import { ensureDir } from './atomic.js';
import { run } from './paths.js';
import { QkvmError } from '../errors.js';
import { processStartTime } from '../runtime/proc.js';

export interface LockInfo { pid: number; start: number; reason: string }

function readLock(path: string): LockInfo | undefined {
  try {
    const v = JSON.parse(readFileSync(path, 'utf8'));
    if (typeof v.pid === 'number') return v;
  } catch { /* missing or torn: treated as free */ }
  return undefined;
}

function ownerAlive(info: LockInfo): boolean {
  const start = processStartTime(info.pid);
  return start !== undefined && start === info.start;
}

export interface Lock { release(): void; path: string }

/**
 * Takes the lock `kind/name` (e.g. vm/demo) or throws LOCKED naming the holder.
 * `wait` retries for that many ms before giving up.
 */
export async function acquireLock(kind: string, name: string, reason: string, wait = 0): Promise<Lock> {
  const dir = ensureDir(join(run.locksDir(), kind));
  const path = join(dir, `${name}.lock`);
  const deadline = Date.now() + wait;
  const me: LockInfo = { pid: process.pid, start: processStartTime(process.pid) ?? 0, reason };
  for (;;) {
    try {
      const fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
      writeSync(fd, JSON.stringify(me));
      closeSync(fd);
      let released = false;
      return {
        path,
        release() {
          if (released) return;
          released = true;
          const cur = readLock(path);
          if (cur && cur.pid === me.pid) { try { unlinkSync(path); } catch { /* gone */ } }
        },
      };
    } catch (e: any) {
      if (e.code !== 'EEXIST') throw e;
    }
    const holder = readLock(path);
    if (!holder || !ownerAlive(holder)) {
      // The owner died (kill -9 mid-command): the lock is stale, take it over.
      try { unlinkSync(path); } catch { /* raced with another taker */ }
      continue;
    }
    if (Date.now() >= deadline) {
      throw new QkvmError('LOCKED', `${kind} "${name}" is busy: ${holder.reason} (qkvm pid ${holder.pid})`, {
        hint: 'wait for that command to finish, then try again',
      });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

export async function withLock<T>(kind: string, name: string, reason: string, fn: () => Promise<T>, wait = 0): Promise<T> {
  const lock = await acquireLock(kind, name, reason, wait);
  try { return await fn(); } finally { lock.release(); }
}
