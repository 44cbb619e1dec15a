// The pure parts of memory hotplug: the schema's maxMemory/memorySlots rules, the
// -m option and its explanation, and planDimm (one DIMM of whole 128M, in a free
// slot, never past maxMemory).
import { describe, expect, it } from 'vitest';
import { parseVmSpec } from '../../src/config/schema.js';
import { buildCommand } from '../../src/qemu/builder.js';
import { DIMM_STEP, parseDimms, planDimm, type PluggedDimm } from '../../src/runtime/memory.js';
import { GOLDEN_CAPS } from '../qemu/golden/load.js';

const MiB = 2 ** 20;
const dimm = (n: number, mib: number): PluggedDimm => ({ id: `dimm${n}`, memdev: `mem-dimm${n}`, sizeBytes: mib * MiB, slot: n, node: 0 });

describe('maxMemory and memorySlots in a definition', () => {
  it('refuses one without the other, a maxMemory not above memory, and microvm', () => {
    expect(() => parseVmSpec({ name: 'a', memory: '512M', maxMemory: '1G' })).toThrow(/maxMemory = "1G": maxMemory needs memorySlots/);
    expect(() => parseVmSpec({ name: 'a', memory: '512M', memorySlots: 2 })).toThrow(/memorySlots = 2: memorySlots needs maxMemory/);
    expect(() => parseVmSpec({ name: 'a', memory: '1G', maxMemory: '1G', memorySlots: 2 })).toThrow(/maxMemory = "1G": must be more than memory \(1G\)/);
    expect(() => parseVmSpec({ name: 'a', memory: '512M', maxMemory: '1G', memorySlots: 0 })).toThrow(/memorySlots = 0/);
    expect(() => parseVmSpec({ name: 'a', machine: 'microvm', kernel: '/k', memory: '512M', maxMemory: '1G', memorySlots: 1 })).toThrow(/microvm machine has no memory hotplug/);
  });

  it('becomes -m SIZE,slots=N,maxmem=MAX, explained', () => {
    const cmd = buildCommand(parseVmSpec({ name: 'a', memory: '512M', maxMemory: '2G', memorySlots: 4 }), { caps: GOLDEN_CAPS });
    const m = cmd.options.find((o) => o.opt === '-m')!;
    expect(m.value).toBe('512M,slots=4,maxmem=2048M');
    expect(m.explain).toMatch(/512 MiB of RAM at boot, and room to hot-plug up to 4 DIMM\(s\).*up to 2048 MiB in all/);
    const plain = buildCommand(parseVmSpec({ name: 'a', memory: '512M' }), { caps: GOLDEN_CAPS });
    expect(plain.options.find((o) => o.opt === '-m')!.value).toBe('512M');
  });
});

describe('planDimm', () => {
  const g = { currentBytes: 192 * MiB, maxBytes: 1024 * MiB, slots: 2, dimms: [] as PluggedDimm[] };
  it('rounds the growth up to whole 128M and takes the first free id', () => {
    expect(DIMM_STEP).toBe(128 * MiB);
    expect(planDimm('v', 448 * MiB, g)).toEqual({ id: 'dimm0', memdev: 'mem-dimm0', sizeBytes: 256 * MiB });
    expect(planDimm('v', 200 * MiB, g).sizeBytes).toBe(128 * MiB);
    expect(planDimm('v', 320 * MiB, { ...g, currentBytes: 192 * MiB, dimms: [dimm(1, 128)] }).id).toBe('dimm0');
    expect(planDimm('v', 960 * MiB, { ...g, dimms: [] }).sizeBytes).toBe(768 * MiB);
  });
  it('refuses past maxMemory, past it by rounding, and with every slot full; hints name what fits', () => {
    expect(() => planDimm('v', 2048 * MiB, g)).toThrow(/2G is more than its maxMemory \(1G\)/);
    const e = (() => { try { planDimm('v', 1000 * MiB, g); return undefined; } catch (err: any) { return err; } })();
    expect(e?.message).toMatch(/1000M needs a 896M DIMM \(DIMMs come in whole 128M\), which would pass maxMemory \(1G\)/);
    expect(e?.hint).toBe('qkvm setmem v 960M');
    expect(e?.code).toBe('INVALID');
    expect(() => planDimm('v', 600 * MiB, { ...g, dimms: [dimm(0, 128), dimm(1, 128)] })).toThrow(/all 2 memory slot\(s\) hold a DIMM already \(dimm0 128M, dimm1 128M\)/);
  });
  it('parseDimms reads query-memory-devices', () => {
    expect(parseDimms([
      { type: 'dimm', data: { memdev: '/objects/mem-dimm0', hotplugged: true, addr: 4294967296, size: 268435456, slot: 0, node: 0, id: 'dimm0' } },
      { type: 'virtio-mem', data: { id: 'vm0', size: 1 } },
    ])).toEqual([dimm(0, 256)]);
  });
});
