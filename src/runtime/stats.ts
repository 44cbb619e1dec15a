// `stats`: CPU % and RSS of each guest's QEMU process, measured with pidusage.
// pidusage keeps the previous sample per pid, so a second call gives the CPU %
// over the time between the two calls (the first one covers the process's life).
import pidusage from 'pidusage';
import { knownGuests } from './info.js';
import { guestStatus, isActive, notRunningError } from './state.js';

export interface ProcessStats {
  name: string;
  pid: number;
  /** Percent of one host CPU (200 = two CPUs busy). */
  cpuPercent: number;
  rssBytes: number;
  /** Milliseconds of CPU time (user + system) used so far. */
  cpuTimeMs: number;
  timestamp: number;
}

async function targets(names?: string[]): Promise<{ name: string; pid: number }[]> {
  const out: { name: string; pid: number }[] = [];
  for (const name of names?.length ? names : knownGuests()) {
    const st = await guestStatus(name, { query: false });
    if (isActive(st.state) && st.pid) out.push({ name, pid: st.pid });
    else if (names?.length) throw notRunningError(name, st.state);
  }
  return out;
}

/** One sample of every running guest (or of `names`). */
export async function sampleStats(names?: string[]): Promise<ProcessStats[]> {
  const t = await targets(names);
  if (!t.length) return [];
  const raw = await pidusage(t.map((x) => x.pid)).catch(() => ({} as Record<string, pidusage.Status>));
  return t.flatMap(({ name, pid }) => {
    const s = raw[pid];
    if (!s) return [];
    return [{ name, pid, cpuPercent: Math.round(s.cpu * 10) / 10, rssBytes: s.memory, cpuTimeMs: s.ctime, timestamp: s.timestamp }];
  });
}

/**
 * CPU % over `intervalMs` (two samples), then one row per guest. With `watch`,
 * calls `onSample` every interval until `signal` aborts.
 */
export async function guestStats(names: string[] | undefined, opts: { intervalMs?: number; watch?: boolean; signal?: AbortSignal; onSample?: (rows: ProcessStats[]) => void } = {}): Promise<ProcessStats[]> {
  const interval = opts.intervalMs ?? 1000;
  const sleep = () => new Promise<void>((r) => {
    const t = setTimeout(r, interval);
    opts.signal?.addEventListener('abort', () => { clearTimeout(t); r(); }, { once: true });
  });
  await sampleStats(names);
  await sleep();
  let rows = await sampleStats(names);
  if (!opts.watch) { pidusage.clear(); return rows; }
  while (!opts.signal?.aborted) {
    opts.onSample?.(rows);
    await sleep();
    if (opts.signal?.aborted) break;
    rows = await sampleStats(names);
  }
  pidusage.clear();
  return rows;
}
