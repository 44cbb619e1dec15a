// The relay's shaping engine on a fake clock with a seeded generator: loss
// statistics, delay and jitter bounds, order, serialization timing at a rate,
// and the 1000-frame queue with tail drop.
import { describe, expect, it } from 'vitest';
import { QUEUE_LIMIT, seededRandom, Shaper } from '../../src/lab/shaper.js';
import type { Impairment } from '../../src/lab/topology.js';

const imp = (i: Partial<Impairment>): Impairment => ({ delayMs: 0, jitterMs: 0, lossPct: 0, ...i });

function fake(i: Partial<Impairment>, seed = 1) {
  const clock = { t: 1000 };
  const s = new Shaper(imp(i), { now: () => clock.t, random: seededRandom(seed) });
  return { s, clock };
}

const at = (v: ReturnType<Shaper['admit']>) => {
  if (!('deliverAt' in v)) throw new Error(`dropped: ${v.drop}`);
  return v.deliverAt;
};

describe('Shaper', () => {
  it('passes a frame at once without impairment', () => {
    const { s } = fake({});
    expect(s.admit(60)).toEqual({ deliverAt: 1000 });
  });

  it('delays each frame by the delay', () => {
    const { s, clock } = fake({ delayMs: 80 });
    expect(at(s.admit(60))).toBe(1080);
    clock.t = 1005;
    expect(at(s.admit(1500))).toBe(1085);
  });

  it('loses the given share of frames (seeded: 10% of 20000 within 1 point)', () => {
    for (const seed of [1, 2, 3]) {
      const { s } = fake({ lossPct: 10 }, seed);
      let lost = 0;
      for (let i = 0; i < 20_000; i++) if ('drop' in s.admit(100)) lost++;
      expect(lost / 20_000).toBeGreaterThan(0.09);
      expect(lost / 20_000).toBeLessThan(0.11);
    }
  });

  it('loses everything at 100% and nothing at 0%', () => {
    const all = fake({ lossPct: 100 }).s;
    const none = fake({ lossPct: 0 }).s;
    for (let i = 0; i < 1000; i++) {
      expect(all.admit(60)).toEqual({ drop: 'loss' });
      expect('deliverAt' in none.admit(60)).toBe(true);
    }
  });

  it('spreads jitter uniformly over delay ± jitter, centred on the delay, when frames are far apart', () => {
    const { s, clock } = fake({ delayMs: 50, jitterMs: 10 }, 7);
    const d: number[] = [];
    for (let i = 0; i < 5000; i++) {
      clock.t += 100; // further apart than the jitter: order never forces a delay up
      d.push(at(s.admit(60)) - clock.t);
    }
    expect(Math.min(...d)).toBeGreaterThanOrEqual(40);
    expect(Math.max(...d)).toBeLessThanOrEqual(60);
    const mean = d.reduce((x, y) => x + y, 0) / d.length;
    expect(Math.abs(mean - 50)).toBeLessThan(0.5);
    // Uniform: each fifth of the range holds about a fifth of the frames.
    for (let k = 0; k < 5; k++) {
      const n = d.filter((x) => x >= 40 + 4 * k && x < 44 + 4 * k).length;
      expect(n / d.length).toBeGreaterThan(0.17);
      expect(n / d.length).toBeLessThan(0.23);
    }
  });

  it('never reorders: with jitter larger than the gap between frames, delivery times only grow', () => {
    const { s, clock } = fake({ delayMs: 20, jitterMs: 20 }, 3);
    let last = -Infinity;
    let raised = 0;
    for (let i = 0; i < 2000; i++) {
      clock.t += 1;
      const t = at(s.admit(60));
      expect(t).toBeGreaterThanOrEqual(last);
      if (t === last) raised++;
      last = t;
      expect(t).toBeLessThanOrEqual(clock.t + 40);
    }
    expect(raised).toBeGreaterThan(0); // the order rule did hold some frames back
  });

  it('serializes at the rate: 1500 bytes at 1 Mbit/s take 12 ms, back to back', () => {
    const { s, clock } = fake({ rateBps: 1_000_000 });
    expect(at(s.admit(1500))).toBe(1012);
    expect(at(s.admit(1500))).toBe(1024);
    expect(s.queued()).toBe(2);
    clock.t = 1012;
    expect(s.queued()).toBe(1);
    clock.t = 1100; // the wire has been idle: the next frame starts now
    expect(at(s.admit(125))).toBe(1101);
    expect(s.queued()).toBe(1);
  });

  it('adds the delay after serialization', () => {
    const { s } = fake({ rateBps: 8_000_000, delayMs: 30 });
    expect(at(s.admit(1000))).toBe(1031);
    expect(at(s.admit(1000))).toBe(1032);
  });

  it('tail-drops beyond a queue of 1000 frames, and takes frames again as the wire drains', () => {
    const { s, clock } = fake({ rateBps: 8000 }); // 1 byte per ms
    for (let i = 0; i < QUEUE_LIMIT; i++) expect('deliverAt' in s.admit(10)).toBe(true);
    expect(s.queued()).toBe(QUEUE_LIMIT);
    expect(s.admit(10)).toEqual({ drop: 'queue' });
    expect(s.admit(10)).toEqual({ drop: 'queue' });
    clock.t += 10; // one frame has left the wire
    expect(s.queued()).toBe(QUEUE_LIMIT - 1);
    expect(at(s.admit(10))).toBe(1000 + (QUEUE_LIMIT + 1) * 10);
    expect(s.admit(10)).toEqual({ drop: 'queue' });
  });

  it('measures throughput at the rate over a long run', () => {
    const { s, clock } = fake({ rateBps: 10_000_000 });
    let lastAt = 0;
    let bytes = 0;
    // Offer 20 Mbit/s for a simulated second: half of it fits.
    for (let ms = 0; ms < 1000; ms++) {
      clock.t = 1000 + ms;
      for (let k = 0; k < 2; k++) {
        const v = s.admit(1250);
        if ('deliverAt' in v) { lastAt = v.deliverAt; bytes += 1250; }
      }
    }
    const seconds = (lastAt - 1000) / 1000;
    expect((bytes * 8) / seconds / 1e6).toBeCloseTo(10, 1);
  });

  it('applies a new impairment to new frames only', () => {
    const { s } = fake({ delayMs: 80 });
    expect(at(s.admit(60))).toBe(1080);
    s.setImpairment(imp({ delayMs: 40 }));
    // Not before the frame ahead of it, which left with 80 ms.
    expect(at(s.admit(60))).toBe(1080);
    expect(s.impairment).toEqual(imp({ delayMs: 40 }));
  });

  it('gives the same fates for the same seed', () => {
    const run = (seed: number) => { const { s } = fake({ lossPct: 30, delayMs: 10, jitterMs: 5 }, seed); return Array.from({ length: 50 }, () => s.admit(60)); };
    expect(run(42)).toEqual(run(42));
    expect(run(42)).not.toEqual(run(43));
  });
});
