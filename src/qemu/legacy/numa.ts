// -numa node,mem= (and nodes without memory) to memory backends: since QEMU 5.1
// a node's RAM comes from a memory-backend object named by memdev=.
import { MiB, parseSize } from '../../config/size.js';
import { formatKeyVal, getKey, hasKey, parseKeyVal, withoutKeys } from './keyval.js';
import type { RawOption, Rewrite } from './types.js';

export interface NumaPlan {
  rewrites: Map<RawOption, Rewrite>;
  warnings: string[];
}

/** A -numa mem= or -m size in MiB (a bare number is MiB). */
function mib(size: string): number | undefined {
  try {
    return parseSize(size, 'size', 'M') / MiB;
  } catch {
    return undefined;
  }
}

/** A size for memory-backend-*: there a bare number means bytes, so MiB get a suffix. */
const backendSize = (size: string) => (/^\d+$/.test(size) ? `${size}M` : size);

export interface NumaContext {
  /** Guest RAM from -m, in MiB (QEMU's default is 128). */
  memoryMiB: number;
  memPath?: string;
  prealloc: boolean;
}

export function planNuma(opts: readonly RawOption[], ctx: NumaContext): NumaPlan {
  const rewrites = new Map<RawOption, Rewrite>();
  const warnings: string[] = [];
  const nodes = opts.filter((o) => o.option === '-numa' && o.value !== undefined && (getKey(parseKeyVal(o.value, 'type'), 'type') ?? 'node') === 'node');
  if (!nodes.length) return { rewrites, warnings };
  const kvs = nodes.map((o) => parseKeyVal(o.value!, 'type'));
  const withMem = kvs.filter((kv) => hasKey(kv, 'mem')).length;
  const withMemdev = kvs.filter((kv) => hasKey(kv, 'memdev')).length;
  if (withMemdev) {
    if (withMem) warnings.push('-numa: mem= and memdev= are mixed; QEMU takes one style for all nodes');
    return { rewrites, warnings };
  }

  // Old QEMU split RAM evenly when no node had mem=: 8 MiB aligned, the last node taking the rest.
  const sizes: string[] = kvs.map((kv) => getKey(kv, 'mem') ?? '');
  let split = false;
  if (!withMem) {
    split = true;
    const each = Math.floor(ctx.memoryMiB / nodes.length / 8) * 8;
    sizes.forEach((_, i) => { sizes[i] = String(i === nodes.length - 1 ? ctx.memoryMiB - each * (nodes.length - 1) : each); });
  }
  const total = sizes.reduce((a, s) => a + (mib(s) ?? 0), 0);
  if (total !== ctx.memoryMiB) warnings.push(`-numa: the nodes' memory adds up to ${total} MiB but -m gives ${ctx.memoryMiB} MiB; QEMU refuses that`);

  nodes.forEach((o, i) => {
    const kv = kvs[i];
    const id = `ram-node${getKey(kv, 'nodeid') ?? i}`;
    const backend = formatKeyVal([
      { key: 'qom-type', value: ctx.memPath ? 'memory-backend-file' : 'memory-backend-ram', implied: true },
      { key: 'id', value: id },
      { key: 'size', value: backendSize(sizes[i]) },
      ...(ctx.memPath ? [{ key: 'mem-path', value: ctx.memPath }] : []),
      ...(ctx.prealloc ? [{ key: 'prealloc', value: 'on' }] : []),
    ]);
    const node = formatKeyVal([...withoutKeys(kv, 'mem'), { key: 'memdev', value: id }]);
    rewrites.set(o, split
      ? { status: 'changed', note: `A node without memory is refused since QEMU 5.2; old QEMU gave each node an even share of RAM, spelled out here as a ${sizes[i]} MiB memory backend.`, modern: ['-object', backend, '-numa', node] }
      : { status: 'removed', note: '-numa node,mem= was removed in QEMU 5.1 (only machine types up to 5.0 still take it): a node\'s memory now comes from a memory backend object, named with memdev=.', modern: ['-object', backend, '-numa', node] });
  });
  return { rewrites, warnings };
}
