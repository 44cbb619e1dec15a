// The link relay's shaping engine: what happens to one frame on one direction
// of a link (delay ± jitter, loss, rate with a tail-drop queue). Pure: the clock
// and the random numbers come in from outside, so tests run it on a fake clock
// with a seeded generator. The relay process (relay-main.ts) does the I/O.
import type { Impairment } from './topology.js';

/** Frames that may wait for the wire at once (tc's default qdisc limit); one more is tail-dropped. */
export const QUEUE_LIMIT = 1000;

export type Verdict =
  | { deliverAt: number }
  | { drop: 'loss' | 'queue' };

export interface ShaperDeps {
  /** Milliseconds on a monotonic clock (performance.now in the relay). */
  now: () => number;
  /** Uniform in [0, 1) (Math.random in the relay, a seeded generator in tests). */
  random: () => number;
}

/**
 * One direction of a link. Frames leave in the order they came: jitter varies
 * each frame's delay, but a frame never overtakes the one before it (a real
 * cable or WAN circuit does not reorder, and reordering would make TCP over a
 * jittery link collapse into retransmissions; netem reorders with jitter unless
 * told otherwise, and that is a common surprise). So with jitter the delays are
 * uniform in [delay - jitter, delay + jitter], then raised where needed to keep
 * the order.
 */
export class Shaper {
  private impair: Impairment;
  /** When the wire is free again (rate: the end of the last frame's serialization). */
  private wireFreeAt = -Infinity;
  /** Serialization end times of the frames on or waiting for the wire (rate only). */
  private readonly onWire: number[] = [];
  private wireHead = 0;
  /** The latest delivery time handed out: no frame is delivered before it. */
  private lastDeliverAt = -Infinity;

  constructor(impair: Impairment, private readonly deps: ShaperDeps) {
    this.impair = { ...impair };
  }

  get impairment(): Impairment {
    return { ...this.impair };
  }

  /** A new impairment applies to frames that arrive from now on; frames already in flight keep theirs. */
  setImpairment(impair: Impairment): void {
    this.impair = { ...impair };
    if (!impair.rateBps) { this.onWire.length = 0; this.wireHead = 0; this.wireFreeAt = -Infinity; }
  }

  /** Frames waiting for or on the wire now (0 without a rate). */
  queued(now = this.deps.now()): number {
    while (this.wireHead < this.onWire.length && this.onWire[this.wireHead] <= now) this.wireHead++;
    if (this.wireHead > 1024 && this.wireHead * 2 > this.onWire.length) { this.onWire.splice(0, this.wireHead); this.wireHead = 0; }
    return this.onWire.length - this.wireHead;
  }

  /** Decides the fate of a frame of `bytes` bytes arriving now: when it leaves, or why it is dropped. */
  admit(bytes: number): Verdict {
    const now = this.deps.now();
    const { delayMs, jitterMs, lossPct, rateBps } = this.impair;
    // Loss first, like netem: a lost frame takes no place in the queue.
    if (lossPct > 0 && this.deps.random() * 100 < lossPct) return { drop: 'loss' };
    let sent = now;
    if (rateBps) {
      if (this.queued(now) >= QUEUE_LIMIT) return { drop: 'queue' };
      const start = Math.max(now, this.wireFreeAt);
      sent = start + (bytes * 8 * 1000) / rateBps;
      this.wireFreeAt = sent;
      this.onWire.push(sent);
    }
    const jitter = jitterMs > 0 ? (this.deps.random() * 2 - 1) * jitterMs : 0;
    const at = Math.max(sent + Math.max(0, delayMs + jitter), this.lastDeliverAt);
    this.lastDeliverAt = at;
    return { deliverAt: at };
  }
}

/** A small seeded generator (mulberry32) for tests and reproducible runs. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
