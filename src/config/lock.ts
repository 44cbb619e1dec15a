// Per-name locks that survive crashes (Lima issues #5075, #4929 are the
// cautionary tale: a stale lock must never need a manual unlock).
//
// Design:
// - Taking a free lock is one link(2): the owner's record ({pid, start, token,
//   reason}) is written to a private temp file first, then linked to NAME.lock.
//   link fails with EEXIST if the lock exists, so a lock file is never seen empty
//   or half written (an O_EXCL create + write would be, for a moment).
// - A lock whose owner is gone (pid dead, or reused: the start time differs) is
//   stale. Taking it over is a compare-and-remove serialized by a kernel lock:
//   util-linux `flock -x` on a guard file, around a shell that removes the lock
//   only if its content is still the stale record we read. Two takers cannot both
//   remove it: the second one sees new content and leaves it. The guard is an
//   open file description lock, which works across network namespaces (an
//   abstract UNIX socket would not) and is dropped by the kernel if a taker dies.
// - release() removes the lock only if it still holds this acquisition's token.
// Locks live in QKVM_RUN/locks, so stopping a guest never needs a byte of QKVM_HOME.
import { closeSync, linkSync, lstatSync, type Stats, mkdirSync, openSync, readFileSync, unlinkSync, writeSync, constants } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { run } from './paths.js';
import { validateName } from './name.js';
import { QkvmError } from '../errors.js';

export interface LockInfo { pid: number; start: number; token: string; reason: string }

/** Field 22 of /proc/PID/stat (start time, ticks since boot); undefined for a dead or zombie pid. */
export function startTimeOf(pid: number): number | undefined {
  let text: string;
  try { text = readFileSync(`/proc/${pid}/stat`, 'utf8'); } catch { return undefined; }
  // comm may contain spaces and parentheses: the fields start after the last ')'.
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  if (f[0] === 'Z' || f[0] === 'X') return undefined;
  return Number(f[19]);
}

/** The lock's record, or undefined if it is missing or not one of ours. */
export function readLock(path: string): { info?: LockInfo; raw?: string } {
  let raw: string;
  try { raw = readFileSync(path, 'utf8'); } catch { return {}; }
  try {
    const v = JSON.parse(raw);
    if (Number.isInteger(v.pid) && v.pid > 0 && typeof v.start === 'number') return { info: v, raw };
  } catch { /* garbage: no owner can be named, so it is stale */ }
  return { raw };
}

export function ownerAlive(info: LockInfo | undefined): boolean {
  if (!info) return false;
  const start = startTimeOf(info.pid);
  return start !== undefined && start === info.start;
}

function lstatOrUndefined(p: string): Stats | undefined {
  try { return lstatSync(p); } catch { return undefined; }
}

export interface Lock { release(): void; path: string }

/** A clear error for a run directory that cannot be written (read-only, full, not ours). */
export function runDirError(e: any, dir: string): QkvmError {
  const why: Record<string, string> = {
    EROFS: 'is on a read-only file system', ENOSPC: 'is full (no space left on its file system)',
    EDQUOT: 'is over its disk quota', EACCES: 'is not writable by this user', EPERM: 'is not writable by this user',
  };
  return new QkvmError('HOST', `cannot write in ${dir}: it ${why[e?.code] ?? `failed (${e?.code ?? e?.message})`}`, {
    hint: 'qkvm keeps its locks and sockets there (QKVM_RUN); free some space or point QKVM_RUN at a writable directory',
    cause: e,
  });
}

/** mkdir level by level: a recursive mkdir reports a read-only file system as ENOENT. */
function makeDirs(root: string, ...dirs: string[]): void {
  for (const [i, d] of [root, ...dirs].entries()) {
    try { mkdirSync(d, { recursive: i === 0, mode: 0o700 }); } catch (e: any) {
      if (e.code !== 'EEXIST') throw runDirError(e, i === 0 ? d : [root, ...dirs][i - 1]);
    }
  }
}

/** Creates the lock from a temp file with link(2): true if taken, false if it exists. */
function tryLink(dir: string, path: string, content: string): boolean {
  const tmp = join(dir, `.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const fd = openSync(tmp, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY | constants.O_NOFOLLOW, 0o600);
    try { writeSync(fd, content); } finally { closeSync(fd); }
    try {
      linkSync(tmp, path);
      return true;
    } catch (e: any) {
      if (e.code === 'EEXIST') return false;
      throw e;
    }
  } catch (e: any) {
    throw runDirError(e, dir);
  } finally {
    try { unlinkSync(tmp); } catch { /* never made */ }
  }
}

// The compare-and-remove runs under the guard. Values come through the environment, never the script text.
const TAKEOVER_SH = 'if [ -f "$QKVM_LOCK" ] && [ "$(cat -- "$QKVM_LOCK"; echo .)" = "$QKVM_EXPECT." ]; then rm -f -- "$QKVM_LOCK" && echo removed; fi';

/** Removes the lock at path if, under the guard, it still holds exactly `expected`. True if it did. */
export function takeOver(dir: string, path: string, expected: string): boolean {
  const r = spawnSync('flock', ['-x', join(dir, '.takeover.guard'), 'sh', '-c', TAKEOVER_SH], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', QKVM_LOCK: path, QKVM_EXPECT: expected },
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (r.error || r.status !== 0) {
    throw new QkvmError('HOST', `cannot take over the stale lock ${path}: ${r.error?.message ?? r.stderr.trim()}`, {
      hint: 'qkvm needs util-linux `flock`; install util-linux',
    });
  }
  return r.stdout.trim() === 'removed';
}

/**
 * Takes the lock `kind/name` (e.g. vm/demo) or throws LOCKED naming the holder.
 * `wait` retries for that many ms before giving up.
 */
export async function acquireLock(kind: string, name: string, reason: string, wait = 0): Promise<Lock> {
  const dir = join(run.locksDir(), kind);
  const path = join(dir, `${validateName(name)}.lock`);
  makeDirs(run.root(), run.locksDir(), dir);
  const deadline = Date.now() + wait;
  const me: LockInfo = { pid: process.pid, start: startTimeOf(process.pid) ?? 0, token: randomBytes(8).toString('hex'), reason };
  const content = JSON.stringify(me);
  for (;;) {
    if (tryLink(dir, path, content)) {
      let released = false;
      return {
        path,
        release() {
          if (released) return;
          released = true;
          // Only our own acquisition: a lock taken over by someone else is theirs now.
          if (readLock(path).raw === content) { try { unlinkSync(path); } catch { /* gone */ } }
        },
      };
    }
    const { info, raw } = readLock(path);
    if (raw === undefined) {
      // Released between our link and our read; anything but a file there is not a lock of ours.
      if (lstatOrUndefined(path)?.isFile() === false) throw new QkvmError('HOST', `${path} is not a lock file`, { hint: 'remove it by hand if qkvm did not make it' });
      continue;
    }
    if (!ownerAlive(info)) {
      // The owner died (kill -9 mid-command): the lock is stale; remove it only as we saw it.
      takeOver(dir, path, raw);
      continue;
    }
    if (Date.now() >= deadline) {
      throw new QkvmError('LOCKED', `${kind} "${name}" is busy: ${info!.reason} (qkvm pid ${info!.pid})`, {
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
