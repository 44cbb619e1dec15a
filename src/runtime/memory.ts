// The memory balloon: `balloon` (QMP balloon, answered by BALLOON_CHANGE events as
// the guest's driver gives pages back) and `dommemstat` (the statistics the guest
// reports through the balloon, read with qom-get from the balloon device).
import { parseSize, formatSize } from '../config/size.js';
import { QkvmError, invalid } from '../errors.js';
import { QmpExecuteError, QmpTimeoutError, type QmpClient } from '../qmp/index.js';
import { requireActive, startedSpec } from './state.js';
import { withQmp } from './qmp.js';

/** The balloon's QOM path: the builder gives the device the id balloon0. */
export const BALLOON_PATH = '/machine/peripheral/balloon0';

export interface BalloonResult {
  targetBytes: number;
  /** The guest's memory as the balloon last reported it. */
  actualBytes: number;
  /** The guest reached the target (within 1 MiB) before the timeout. */
  reached: boolean;
  /** How many BALLOON_CHANGE events arrived. */
  events: number;
}

export interface MemStats {
  /** Memory the guest has now (the balloon's "actual"). */
  actualBytes: number;
  /** Memory the guest's kernel manages (MemTotal), free, and available. */
  totalBytes?: number;
  freeBytes?: number;
  availableBytes?: number;
  diskCachesBytes?: number;
  swapInBytes?: number;
  swapOutBytes?: number;
  majorFaults?: number;
  minorFaults?: number;
  /** When the guest last reported (seconds since the epoch, guest's clock). */
  lastUpdate: number;
}

async function runningSpec(name: string) {
  await requireActive(name, { query: false });
  const spec = startedSpec(name);
  if (!spec) throw new QkvmError('STATE', `guest "${name}": its started definition (spec.json) is missing`);
  if (!spec.balloon) {
    throw new QkvmError('STATE', `guest "${name}" has no balloon device (balloon: false in its definition)`, {
      hint: 'set `balloon: true` in the definition and restart the guest',
    });
  }
  return spec;
}

/** Parses a balloon target: a size (bare numbers are MiB, as in QEMU's `balloon`), at most the guest's memory. */
export function parseBalloonTarget(size: string | number, memoryBytes: number): number {
  const bytes = parseSize(size, 'balloon size', 'M');
  if (bytes > memoryBytes) {
    throw invalid(`balloon size: ${formatSize(bytes)} is more than the guest's memory (${formatSize(memoryBytes)})`,
      'the balloon can only give back memory the guest was started with');
  }
  if (bytes < 16 * 1024 ** 2) throw invalid(`balloon size: ${formatSize(bytes)} is too small for a running guest (at least 16M)`);
  return bytes;
}

/** Sets the balloon target and waits (up to timeoutMs) until the guest's driver has reached it. */
export async function setBalloon(name: string, size: string | number, opts: { timeoutMs?: number; onChange?: (actualBytes: number) => void } = {}): Promise<BalloonResult> {
  // The size's syntax is checked before anything else; its range needs the guest's memory.
  parseSize(size, 'balloon size', 'M');
  const spec = await runningSpec(name);
  const target = parseBalloonTarget(size, parseSize(spec.memory, 'memory', 'M'));
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return withQmp(name, async (qmp) => {
    const before = await qmp.execute<{ actual: number }>('query-balloon', {}, { timeoutMs: 5000 });
    let actual = before.actual;
    let events = 0;
    const close = (n: number) => Math.abs(n - target) < 1024 ** 2;
    if (close(actual)) return { targetBytes: target, actualBytes: actual, reached: true, events };
    const reached = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => { off(); resolve(false); }, timeoutMs);
      const off = qmp.on('BALLOON_CHANGE', (ev) => {
        events++;
        actual = Number(ev.data.actual);
        opts.onChange?.(actual);
        if (close(actual)) { clearTimeout(timer); off(); resolve(true); }
      });
    });
    await qmp.execute('balloon', { value: target }, { timeoutMs: 5000 });
    const ok = await reached;
    const after = await qmp.execute<{ actual: number }>('query-balloon', {}, { timeoutMs: 5000 }).catch(() => undefined);
    if (after) actual = after.actual;
    return { targetBytes: target, actualBytes: actual, reached: ok || close(actual), events };
  });
}

/** Maps QEMU's guest-stats names to ours; -1 (or absence) means the guest did not report it. */
export function memStatsFrom(actual: number, raw: { stats: Record<string, number>; 'last-update': number }): MemStats {
  const v = (k: string) => (typeof raw.stats[k] === 'number' && raw.stats[k] >= 0 ? raw.stats[k] : undefined);
  return {
    actualBytes: actual,
    totalBytes: v('stat-total-memory'),
    freeBytes: v('stat-free-memory'),
    availableBytes: v('stat-available-memory'),
    diskCachesBytes: v('stat-disk-caches'),
    swapInBytes: v('stat-swap-in'),
    swapOutBytes: v('stat-swap-out'),
    majorFaults: v('stat-major-faults'),
    minorFaults: v('stat-minor-faults'),
    lastUpdate: raw['last-update'],
  };
}

async function readStats(qmp: QmpClient) {
  return qmp.execute<{ stats: Record<string, number>; 'last-update': number }>('qom-get', { path: BALLOON_PATH, property: 'guest-stats' }, { timeoutMs: 5000 });
}

/**
 * Turns on the guest's statistics polling (every `intervalS` seconds; it stays on)
 * and returns the first report the guest sends after this call.
 */
export async function memoryStats(name: string, opts: { intervalS?: number; timeoutMs?: number } = {}): Promise<MemStats> {
  await runningSpec(name);
  const timeoutMs = opts.timeoutMs ?? 15_000;
  const since = Math.floor(Date.now() / 1000);
  return withQmp(name, async (qmp) => {
    try {
      await qmp.execute('qom-set', { path: BALLOON_PATH, property: 'guest-stats-polling-interval', value: opts.intervalS ?? 2 }, { timeoutMs: 5000 });
    } catch (e) {
      if (e instanceof QmpExecuteError) throw new QkvmError('QEMU', `guest "${name}": cannot enable balloon statistics: ${e.desc}`, { cause: e });
      throw e;
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const raw = await readStats(qmp);
      // last-update is 0 until the guest's driver has answered once, and QEMU stamps it
      // with the host's clock: a report from before this call would be stale.
      if (raw['last-update'] !== 0 && raw['last-update'] >= since) {
        const b = await qmp.execute<{ actual: number }>('query-balloon', {}, { timeoutMs: 5000 });
        return memStatsFrom(b.actual, raw);
      }
      if (Date.now() >= deadline) {
        throw new QkvmError('TIMEOUT', `guest "${name}" reported no memory statistics within ${timeoutMs / 1000} s`, {
          hint: 'the guest needs a virtio_balloon driver (it may still be booting, or it is paused)', cause: new QmpTimeoutError('guest-stats', timeoutMs),
        });
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  });
}
