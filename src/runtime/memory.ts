// The memory balloon: `balloon` (QMP balloon, answered by BALLOON_CHANGE events as
// the guest's driver gives pages back) and `dommemstat` (the statistics the guest
// reports through the balloon, read with qom-get from the balloon device).
// Past the boot memory, `balloon`/`setmem` plug a DIMM instead (memory hotplug:
// object-add memory-backend-ram + device_add pc-dimm), up to maxMemory.
import { parseSize, formatSize } from '../config/size.js';
import { QkvmError, invalid } from '../errors.js';
import { QmpExecuteError, QmpTimeoutError, type QmpClient } from '../qmp/index.js';
import { requireActive, startedSpec } from './state.js';
import { withQmp } from './qmp.js';

/** The balloon's QOM path: the builder gives the device the id balloon0. */
export const BALLOON_PATH = '/machine/peripheral/balloon0';

const MiB = 1024 ** 2;
/** DIMMs come in whole 128 MiB: Linux on x86-64 onlines hot-plugged memory in blocks of that size. */
export const DIMM_STEP = 128 * MiB;

export interface PluggedDimm { id: string; memdev: string; sizeBytes: number; slot: number; node: number }

/** The pc-dimms in a query-memory-devices answer (pure). */
export function parseDimms(devs: { type: string; data: Record<string, any> }[]): PluggedDimm[] {
  return devs.filter((d) => d.type === 'dimm').map((d) => ({
    id: String(d.data.id ?? ''), memdev: String(d.data.memdev ?? '').replace(/^\/objects\//, ''),
    sizeBytes: Number(d.data.size), slot: Number(d.data.slot), node: Number(d.data.node),
  }));
}

export interface DimmPlan { id: string; memdev: string; sizeBytes: number }

/**
 * The DIMM that grows a guest from `currentBytes` to at least `targetBytes`: one
 * DIMM of the difference rounded up to whole 128 MiB, in a free slot, never past
 * maxMemory. Pure; throws INVALID naming the numbers.
 */
export function planDimm(name: string, targetBytes: number, g: { currentBytes: number; maxBytes: number; slots: number; dimms: PluggedDimm[] }): DimmPlan {
  const fmt = formatSize;
  if (targetBytes > g.maxBytes) {
    throw invalid(`guest "${name}": ${fmt(targetBytes)} is more than its maxMemory (${fmt(g.maxBytes)})`,
      `qkvm setmem ${name} ${fmt(g.currentBytes + Math.floor((g.maxBytes - g.currentBytes) / DIMM_STEP) * DIMM_STEP)}`);
  }
  if (g.dimms.length >= g.slots) {
    throw invalid(`guest "${name}": all ${g.slots} memory slot(s) hold a DIMM already (${g.dimms.map((d) => `${d.id} ${fmt(d.sizeBytes)}`).join(', ')})`,
      'raise memorySlots in the definition; it applies at the next start');
  }
  const sizeBytes = Math.ceil((targetBytes - g.currentBytes) / DIMM_STEP) * DIMM_STEP;
  if (g.currentBytes + sizeBytes > g.maxBytes) {
    const most = g.currentBytes + Math.floor((g.maxBytes - g.currentBytes) / DIMM_STEP) * DIMM_STEP;
    throw invalid(`guest "${name}": ${fmt(targetBytes)} needs a ${fmt(sizeBytes)} DIMM (DIMMs come in whole 128M), which would pass maxMemory (${fmt(g.maxBytes)})`,
      most > g.currentBytes ? `qkvm setmem ${name} ${fmt(most)}` : 'raise maxMemory in the definition; it applies at the next start');
  }
  const used = new Set(g.dimms.map((d) => d.id));
  let n = 0;
  while (used.has(`dimm${n}`)) n++;
  return { id: `dimm${n}`, memdev: `mem-dimm${n}`, sizeBytes };
}

/** Plugs a planned DIMM; on a refusal, the backend made for it is removed again. */
async function plugDimm(qmp: QmpClient, plan: DimmPlan): Promise<void> {
  await qmp.execute('object-add', { 'qom-type': 'memory-backend-ram', id: plan.memdev, size: plan.sizeBytes }, { timeoutMs: 10_000 });
  try {
    await qmp.execute('device_add', { driver: 'pc-dimm', id: plan.id, memdev: plan.memdev }, { timeoutMs: 60_000 });
  } catch (e) {
    await qmp.execute('object-del', { id: plan.memdev }, { timeoutMs: 10_000 }).catch(() => undefined);
    if (e instanceof QmpExecuteError) throw new QkvmError('QEMU', `QEMU refused the DIMM ${plan.id} (${formatSize(plan.sizeBytes)}): ${e.desc}`, { cause: e });
    throw e;
  }
}

export interface BalloonResult {
  /** The DIMM plugged to grow the guest past its memory, if one was. */
  dimm?: DimmPlan;
  /** The guest's RAM: boot memory plus its DIMMs. */
  totalBytes?: number;
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
      'the balloon only gives back memory the guest has; to grow a guest past it, give its definition maxMemory and memorySlots (memory hotplug), then restart it');
  }
  if (bytes < 16 * 1024 ** 2) throw invalid(`balloon size: ${formatSize(bytes)} is too small for a running guest (at least 16M)`);
  return bytes;
}

/**
 * Sets the guest's memory. Up to its current RAM, the balloon target, waiting (up
 * to timeoutMs) until the guest's driver has reached it. Past it, on a guest with
 * maxMemory, one DIMM is plugged first (see planDimm), then the balloon is set to
 * the target if the DIMM's rounding overshot it or the balloon was inflated.
 */
export async function setBalloon(name: string, size: string | number, opts: { timeoutMs?: number; onChange?: (actualBytes: number) => void } = {}): Promise<BalloonResult> {
  // The size's syntax is checked before anything else; its range needs the guest's memory.
  const asked = parseSize(size, 'balloon size', 'M');
  if (asked < 16 * MiB) throw invalid(`balloon size: ${formatSize(asked)} is too small for a running guest (at least 16M)`);
  await requireActive(name, { query: false });
  const spec = startedSpec(name);
  if (!spec) throw new QkvmError('STATE', `guest "${name}": its started definition (spec.json) is missing`);
  const boot = parseSize(spec.memory, 'memory', 'M');
  if (!spec.maxMemory) {
    parseBalloonTarget(size, boot);
    await runningSpec(name);
  }
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return withQmp(name, async (qmp) => {
    let total = boot;
    let dimm: DimmPlan | undefined;
    if (spec.maxMemory) {
      const dimms = parseDimms(await qmp.execute('query-memory-devices', {}, { timeoutMs: 5000 }));
      total += dimms.reduce((a, d) => a + d.sizeBytes, 0);
      if (asked > total) {
        dimm = planDimm(name, asked, { currentBytes: total, maxBytes: parseSize(spec.maxMemory, 'maxMemory', 'M'), slots: spec.memorySlots ?? 0, dimms });
        await plugDimm(qmp, dimm);
        total += dimm.sizeBytes;
      }
    }
    if (!spec.balloon) {
      if (dimm) return { dimm, totalBytes: total, targetBytes: total, actualBytes: total, reached: true, events: 0 };
      await runningSpec(name);
    }
    const target = parseBalloonTarget(size, total);
    const r = await balloonTo(qmp, target, timeoutMs, opts.onChange);
    return { ...r, dimm, totalBytes: total };
  });
}

async function balloonTo(qmp: QmpClient, target: number, timeoutMs: number, onChange?: (actualBytes: number) => void): Promise<BalloonResult> {
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
      onChange?.(actual);
      if (close(actual)) { clearTimeout(timer); off(); resolve(true); }
    });
  });
  await qmp.execute('balloon', { value: target }, { timeoutMs: 5000 });
  const ok = await reached;
  const after = await qmp.execute<{ actual: number }>('query-balloon', {}, { timeoutMs: 5000 }).catch(() => undefined);
  if (after) actual = after.actual;
  return { targetBytes: target, actualBytes: actual, reached: ok || close(actual), events };
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
