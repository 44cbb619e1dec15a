// Kernel samepage merging (/sys/kernel/mm/ksm): the kernel scans memory that
// programs marked MADV_MERGEABLE and shares identical pages copy-on-write. QEMU
// marks guest RAM mergeable when mem-merge is on (the default on x86 machines;
// `memMerge: false` in a definition turns it off).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { QkvmError, invalid } from '../errors.js';

export const KSM_DIR = '/sys/kernel/mm/ksm';

/** run: 0 stopped (merged pages stay merged), 1 merging, 2 stopped after unmerging every page. */
export type KsmRun = 0 | 1 | 2;

export interface KsmStatus {
  run: KsmRun;
  state: 'on' | 'off' | 'unmerged';
  /** Shared pages in use (one copy each). */
  pagesShared: number;
  /** How many more places use those pages: the pages saved. */
  pagesSharing: number;
  /** Pages checked but unique so far. */
  pagesUnshared: number;
  fullScans: number;
  pageBytes: number;
  /** pages_sharing x the page size. */
  savedBytes: number;
}

function ksmDir(dir: string): string {
  if (!existsSync(`${dir}/run`)) {
    throw new QkvmError('HOST', `this kernel has no KSM (${dir} is missing)`, {
      hint: 'KSM needs a kernel built with CONFIG_KSM=y; nothing to turn on here',
    });
  }
  return dir;
}

/** The base page size: KSM merges base pages. */
function pageSize(): number {
  // The kernel page size of this process's stack, as /proc/self/smaps states it.
  const m = /^KernelPageSize:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/smaps', 'utf8'));
  return m ? Number(m[1]) * 1024 : 4096;
}

/** Reads only. */
export function ksmStatus(dir = KSM_DIR): KsmStatus {
  const d = ksmDir(dir);
  const n = (f: string) => Number(readFileSync(`${d}/${f}`, 'utf8').trim());
  const run = n('run') as KsmRun;
  const pageBytes = pageSize();
  const pagesSharing = n('pages_sharing');
  return {
    run, state: run === 1 ? 'on' : run === 2 ? 'unmerged' : 'off',
    pagesShared: n('pages_shared'), pagesSharing, pagesUnshared: n('pages_unshared'), fullScans: n('full_scans'),
    pageBytes, savedBytes: pagesSharing * pageBytes,
  };
}

/**
 * Turns KSM on (run=1) or off. Off is run=0: scanning stops and pages already
 * merged stay merged. With unmerge it is run=2: every merged page is copied back
 * out, which needs that memory free again.
 */
export function setKsm(state: string, opts: { unmerge?: boolean; dir?: string } = {}): { previous: KsmRun; status: KsmStatus } {
  if (state !== 'on' && state !== 'off') throw invalid(`ksm: "${state}" is not on, off or status`, 'qkvm host ksm on');
  if (opts.unmerge && state === 'on') throw unmergeNeedsOff();
  const d = ksmDir(opts.dir ?? KSM_DIR);
  const previous = ksmStatus(d).run;
  const value = state === 'on' ? 1 : opts.unmerge ? 2 : 0;
  try {
    writeFileSync(`${d}/run`, `${value}\n`);
  } catch (e: any) {
    throw new QkvmError('HOST', `cannot write ${d}/run: ${e.code ?? e.message}`, { hint: 'run qkvm as root', cause: e });
  }
  return { previous, status: ksmStatus(d) };
}

export const unmergeNeedsOff = () => invalid('ksm: --unmerge goes with off', 'qkvm host ksm off --unmerge');
