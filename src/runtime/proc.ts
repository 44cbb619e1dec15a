// Facts about host processes, read from /proc. PIDs get reused and PID 1 here
// reaps late, so liveness is "exists, is not a zombie, and is who we think".
import { readFileSync, readlinkSync } from 'node:fs';

export interface ProcStat { pid: number; comm: string; state: string; ppid: number; utime: number; stime: number; starttime: number; processor: number; rssPages: number; threads: number }

export function readStat(pid: number, tid?: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(tid ? `/proc/${pid}/task/${tid}/stat` : `/proc/${pid}/stat`, 'utf8');
  } catch { return undefined; }
  // comm may contain spaces and parentheses: split at the last ')'.
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state) of proc(5).
  return {
    pid, comm, state: f[0], ppid: Number(f[1]),
    utime: Number(f[11]), stime: Number(f[12]), threads: Number(f[17]),
    starttime: Number(f[19]), rssPages: Number(f[21]), processor: Number(f[36]),
  };
}

/** Start time in clock ticks since boot: with the pid, it names a process uniquely. */
export function processStartTime(pid: number): number | undefined {
  const s = readStat(pid);
  if (!s || s.state === 'Z' || s.state === 'X') return undefined;
  return s.starttime;
}

export function isAlive(pid: number): boolean {
  return processStartTime(pid) !== undefined;
}

export function readCmdline(pid: number): string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').filter((x, i, a) => !(i === a.length - 1 && x === ''));
  } catch { return undefined; }
}

export function readExe(pid: number): string | undefined {
  try { return readlinkSync(`/proc/${pid}/exe`); } catch { return undefined; }
}

export const CLK_TCK = 100;
export const PAGE_SIZE = 4096;

export function bootTimeSeconds(): number {
  const stat = readFileSync('/proc/stat', 'utf8');
  const m = /^btime (\d+)$/m.exec(stat);
  return m ? Number(m[1]) : 0;
}
