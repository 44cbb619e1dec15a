// Guest RAM: -m, and where NUMA, hugepages or KSM merging are asked for, the
// memory backends (-object memory-backend-ram|file) that hold it.
import { parseSize, toMiB } from '../../config/size.js';
import { invalidField, props, type Device, type MachineType, type Option } from './option.js';

export const DEFAULT_HUGEPAGES_PATH = '/dev/hugepages';

export interface MemoryInit {
  size: string;
  numa: { cpus: string; memory: string }[];
  hugepages: boolean;
  memMerge?: boolean;
  machine: MachineType;
  /** Highest vCPU index + 1, to check the NUMA cpu lists. */
  maxcpus: number;
  hugepagesPath?: string;
  /** Memory hotplug: the most the guest may grow to, and how many DIMMs. */
  maxMemory?: string;
  slots?: number;
}

const mib = (size: string, field: string): number => toMiB(parseSize(size, field, 'M'));

/** "0-1,4" -> the indexes it names. */
export function expandCpuList(list: string): number[] {
  return list.split(',').flatMap((part) => {
    const [a, b] = part.split('-').map(Number);
    const out: number[] = [];
    for (let i = a; i <= (b ?? a); i++) out.push(i);
    return out;
  });
}

export class Memory implements Device {
  constructor(readonly m: MemoryInit) {}

  private get hugepagesPath(): string {
    return this.m.hugepagesPath ?? DEFAULT_HUGEPAGES_PATH;
  }

  /** The memory backend of the whole guest when there is no NUMA but a backend is needed. */
  private get wholeBackend(): string | undefined {
    return !this.m.numa.length && this.m.hugepages ? 'ram0' : undefined;
  }

  /** What -machine must carry: a memory-backend= for hugepages, or mem-merge= when no backend can. */
  machineProps(): { memMerge?: boolean; memoryBackend?: string } {
    if (this.m.numa.length) return {};
    if (this.wholeBackend) return { memoryBackend: this.wholeBackend };
    return { memMerge: this.m.memMerge };
  }

  validate(): void {
    const total = mib(this.m.size, 'memory');
    if (this.m.maxMemory !== undefined) {
      if (this.m.machine === 'microvm') throw invalidField('maxMemory', this.m.maxMemory, 'the microvm machine has no memory hotplug');
      if (!this.m.slots) throw invalidField('maxMemory', this.m.maxMemory, 'needs memorySlots');
      if (mib(this.m.maxMemory, 'maxMemory') <= total) throw invalidField('maxMemory', this.m.maxMemory, `must be more than memory (${this.m.size})`);
    }
    if (this.m.hugepages && total % 2 !== 0) {
      throw invalidField('memory', this.m.size, 'hugepages need a memory size that is a multiple of 2M (the huge page size)');
    }
    if (!this.m.numa.length) return;
    if (this.m.machine === 'microvm') throw invalidField('numa', this.m.numa, 'the microvm machine has no NUMA support');
    let sum = 0;
    const seen = new Set<number>();
    this.m.numa.forEach((n, i) => {
      const size = mib(n.memory, `numa[${i}].memory`);
      if (this.m.hugepages && size % 2 !== 0) throw invalidField(`numa[${i}].memory`, n.memory, 'hugepages need a multiple of 2M');
      sum += size;
      if (!/^\d+(-\d+)?(,\d+(-\d+)?)*$/.test(n.cpus)) throw invalidField(`numa[${i}].cpus`, n.cpus, 'must be a CPU list like 0-1 or 0,2');
      for (const c of expandCpuList(n.cpus)) {
        if (c >= this.m.maxcpus) throw invalidField(`numa[${i}].cpus`, n.cpus, `vCPU ${c} does not exist (the guest has ${this.m.maxcpus})`);
        if (seen.has(c)) throw invalidField(`numa[${i}].cpus`, n.cpus, `vCPU ${c} is already in another node`);
        seen.add(c);
      }
    });
    if (sum !== total) throw invalidField('numa', this.m.numa.map((n) => n.memory), `the nodes' memory must add up to memory (${this.m.size})`);
  }

  private backend(id: string, sizeMiB: number, what: string): Option {
    const file = this.m.hugepages;
    const value = props([
      ['', file ? 'memory-backend-file' : 'memory-backend-ram'],
      ['id', id],
      ['size', `${sizeMiB}M`],
      ['mem-path', file ? this.hugepagesPath : undefined],
      ['merge', this.m.memMerge],
    ]);
    let explain = file
      ? `creates ${sizeMiB} MiB of ${what} backed by huge pages (a file in the hugetlbfs at ${this.hugepagesPath}): fewer TLB misses, memory that is not swapped`
      : `creates ${sizeMiB} MiB of ${what} as ordinary anonymous host memory`;
    if (this.m.memMerge !== undefined) {
      explain += `; merge=${this.m.memMerge ? 'on lets KSM merge' : 'off keeps KSM from merging'} identical pages`;
    }
    return { opt: '-object', value, explain };
  }

  toArgs(): Option[] {
    const total = mib(this.m.size, 'memory');
    const max = this.m.maxMemory === undefined ? undefined : mib(this.m.maxMemory, 'maxMemory');
    const out: Option[] = [max === undefined
      ? { opt: '-m', value: `${total}M`, explain: `gives the guest ${total} MiB of RAM` }
      : {
        opt: '-m', value: `${total}M,slots=${this.m.slots},maxmem=${max}M`,
        explain: `gives the guest ${total} MiB of RAM at boot, and room to hot-plug up to ${this.m.slots} DIMM(s) (pc-dimm, one per slot) while it runs, up to ${max} MiB in all (\`qkvm setmem\` plugs them)`,
      }];
    if (this.wholeBackend) out.push(this.backend(this.wholeBackend, total, 'guest RAM'));
    this.m.numa.forEach((n, i) => {
      out.push(this.backend(`ram-node${i}`, mib(n.memory, `numa[${i}].memory`), `RAM for NUMA node ${i}`));
      out.push({
        opt: '-numa',
        // A list such as 0,2-3 is written as repeated cpus= keys.
        value: ['node', `nodeid=${i}`, ...n.cpus.split(',').map((c) => `cpus=${c}`), `memdev=ram-node${i}`].join(','),
        explain: `defines NUMA node ${i} with vCPUs ${n.cpus} and the memory of ram-node${i}, so the guest sees which memory is near which CPU`,
      });
    });
    return out;
  }
}
