// Memory hotplug with real QEMU under TCG: a guest defined with maxMemory and
// memorySlots boots with -m SIZE,slots=N,maxmem=MAX; `qkvm setmem` past the boot
// memory plugs a pc-dimm (query-memory-devices shows it, `info` lists it), and
// the demo guest's kernel (Debian's cloud kernel, auto_online_blocks=online)
// onlines it, so its MemTotal grows. Past maxMemory or the slots it is refused.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_CI, State, whyNot, type Serial } from '../migrate/harness.js';

const why = whyNot();
if (why && !IN_CI) console.warn(`memory-hotplug: skipped: ${why}`);
const MiB = 2 ** 20;

describe.skipIf(why !== '' && !IN_CI)('memory hotplug', () => {
  const st = new State('memhot');
  let serial: Serial;
  const memTotal = async () => {
    const r = await serial.run('grep MemTotal /proc/meminfo');
    return Number(/MemTotal:\s+(\d+) kB/.exec(r.out)![1]) * 1024;
  };
  const dimms = async () => JSON.parse((await st.ok('qmp', 'mh', '{"execute":"query-memory-devices"}')).stdout) as { type: string; data: any }[];

  beforeAll(async () => {
    if (why) throw new Error(why);
    await st.define('mh', { memory: '192M', maxMemory: '640M', memorySlots: 2 });
    serial = await st.boot('mh');
  });
  afterAll(() => st.cleanup());

  it('boots with slots and maxmem on QEMU\'s -m, and cmdline --explain says what they do', async () => {
    const argv = readFileSync(`/proc/${st.pid('mh')}/cmdline`, 'utf8').split('\0');
    expect(argv[argv.indexOf('-m') + 1]).toBe('192M,slots=2,maxmem=640M');
    const explain = (await st.ok('cmdline', 'mh', '--explain')).stdout;
    expect(explain).toMatch(/# gives the guest 192 MiB of RAM at boot, and room to hot-plug up to 2 DIMM\(s\) \(pc-dimm, one per slot\) while it runs, up to 640 MiB in all.*\n\s+-m 192M,slots=2,maxmem=640M\n/);
    expect(await dimms()).toEqual([]);
    expect((await st.ok('info', 'mh')).stdout).toMatch(/^DIMMs:\s+none plugged$/m);
  });

  it('setmem past the boot memory plugs one DIMM, and the guest onlines it', async () => {
    const before = await memTotal();
    const r = JSON.parse((await st.ok('setmem', 'mh', '448M', '--json')).stdout);
    expect(r.dimm).toEqual({ id: 'dimm0', memdev: 'mem-dimm0', sizeBytes: 256 * MiB });
    expect(r.totalBytes).toBe(448 * MiB);
    expect(r.actualBytes).toBe(448 * MiB);
    const devs = await dimms();
    expect(devs).toHaveLength(1);
    expect(devs[0]).toMatchObject({ type: 'dimm', data: { id: 'dimm0', memdev: '/objects/mem-dimm0', size: 256 * MiB, slot: 0, hotplugged: true } });
    // The guest's kernel onlines hot-plugged blocks by itself (auto_online_blocks: online).
    expect((await serial.run('cat /sys/devices/system/memory/auto_online_blocks')).out).toMatch(/^online\s*$/m);
    let after = before;
    for (let i = 0; i < 50 && after - before < 200 * MiB; i++) { after = await memTotal(); }
    // 256 MiB more, less the page structures the kernel keeps for it (64 bytes a page).
    expect(after - before).toBeGreaterThan(248 * MiB);
    expect(after - before).toBeLessThanOrEqual(256 * MiB);
    const info = JSON.parse((await st.ok('info', 'mh', '--json')).stdout);
    expect(info.dimms).toEqual([{ id: 'dimm0', memdev: 'mem-dimm0', sizeBytes: 256 * MiB, slot: 0, node: 0 }]);
    expect(info.maxMemoryBytes).toBe(640 * MiB);
    expect((await st.ok('info', 'mh')).stdout).toMatch(/^DIMMs:\s+dimm0 256 MiB \(slot 0\)$/m);
  });

  it('refuses past maxMemory or a size that rounds past it (exit 2, no DIMM added), with a hint that works', async () => {
    const big = await st.qkvm('setmem', 'mh', '1G');
    expect(big.exitCode).toBe(2);
    expect(big.stderr).toMatch(/1G is more than its maxMemory \(640M\)/);
    const round = await st.qkvm('setmem', 'mh', '600M');
    expect(round.exitCode).toBe(2);
    expect(round.stderr).toMatch(/600M needs a 256M DIMM \(DIMMs come in whole 128M\), which would pass maxMemory \(640M\)/);
    expect(round.stderr).toMatch(/hint: qkvm setmem mh 576M/);
    expect(await dimms()).toHaveLength(1);
    const hint = /hint: qkvm (.*)/.exec(round.stderr)![1].split(' ');
    const r = JSON.parse((await st.ok(...hint, '--json')).stdout);
    expect(r.dimm).toMatchObject({ id: 'dimm1', sizeBytes: 128 * MiB });
    expect(r.totalBytes).toBe(576 * MiB);
    expect(await dimms()).toHaveLength(2);
  });

  it('below the RAM it has, setmem uses the balloon; with every slot full it refuses to grow', async () => {
    const r = JSON.parse((await st.ok('setmem', 'mh', '320M', '--json')).stdout);
    expect(r.dimm).toBeUndefined();
    expect(r).toMatchObject({ targetBytes: 320 * MiB, actualBytes: 320 * MiB, reached: true, totalBytes: 576 * MiB });
    const full = await st.qkvm('setmem', 'mh', '640M');
    expect(full.exitCode).toBe(2);
    expect(full.stderr).toMatch(/all 2 memory slot\(s\) hold a DIMM already \(dimm0 256M, dimm1 128M\)/);
    expect(await dimms()).toHaveLength(2);
  });
});
