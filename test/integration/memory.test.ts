// The memory balloon with real QEMU under TCG: `qkvm balloon` shrinks the
// guest's memory as the guest itself sees it (MemTotal in /proc/meminfo), and
// `qkvm dommemstat` returns the statistics the guest's driver reports.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_CI, State, whyNot, type Serial } from '../migrate/harness.js';

const why = whyNot();
if (why && !IN_CI) console.warn(`memory: skipped: ${why}`);
const MiB = 2 ** 20;

describe.skipIf(why !== '' && !IN_CI)('memory balloon', () => {
  const st = new State('mem');
  let serial: Serial;
  const memTotal = async () => {
    const r = await serial.run('grep MemTotal /proc/meminfo');
    return Number(/MemTotal:\s+(\d+) kB/.exec(r.out)![1]) * 1024;
  };

  beforeAll(async () => {
    if (why) throw new Error(why);
    await st.define('mem', { memory: '192M' });
    serial = await st.boot('mem');
  });
  afterAll(() => st.cleanup());

  it('shrinks the memory the guest sees, and gives it back', async () => {
    const before = await memTotal();
    const r = JSON.parse((await st.ok('balloon', 'mem', '112M', '--json')).stdout);
    expect(r).toMatchObject({ targetBytes: 112 * MiB, actualBytes: 112 * MiB, reached: true });
    expect(r.events).toBeGreaterThan(0);
    const shrunk = await memTotal();
    // 80 MiB went into the balloon; the guest's MemTotal drops by as much.
    expect(before - shrunk).toBeGreaterThan(75 * MiB);
    expect(before - shrunk).toBeLessThan(85 * MiB);
    const info = JSON.parse((await st.ok('info', 'mem', '--json')).stdout);
    expect(info.balloonBytes).toBe(112 * MiB);
    const text = (await st.ok('info', 'mem')).stdout;
    expect(text).toMatch(/Balloon:\s+112 MiB/);

    await st.ok('balloon', 'mem', '192M');
    expect(await memTotal()).toBe(before);
  });

  it('refuses a size above the guest memory, or zero', async () => {
    const big = await st.qkvm('balloon', 'mem', '1G');
    expect(big.exitCode).toBe(2);
    expect(big.stderr).toMatch(/more than the guest's memory \(192M\)/);
    const zero = await st.qkvm('balloon', 'mem', '0');
    expect(zero.exitCode).toBe(2);
  });

  it('dommemstat returns the guest\'s numbers', async () => {
    await st.ok('balloon', 'mem', '160M');
    const s = JSON.parse((await st.ok('dommemstat', 'mem', '--json')).stdout);
    expect(s.actualBytes).toBe(160 * MiB);
    expect(s.lastUpdate).toBeGreaterThan(0);
    // The guest's MemTotal, as its kernel sees it.
    expect(s.totalBytes).toBe(await memTotal());
    expect(s.freeBytes).toBeGreaterThan(0);
    expect(s.freeBytes).toBeLessThan(s.totalBytes);
    for (const k of ['swapInBytes', 'swapOutBytes', 'majorFaults', 'minorFaults']) expect(typeof s[k], k).toBe('number');
    expect(s.minorFaults).toBeGreaterThan(0);
    const text = (await st.ok('dommemstat', 'mem')).stdout;
    expect(text).toMatch(/^actual:\s+160\.0 MiB$/m);
    expect(text).toMatch(/^minor faults:\s+\d+$/m);
  });
});
