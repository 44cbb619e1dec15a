// qemu-img lines: qkvm takes them by name (`qkvm qemu-img`, an alias of
// `qkvm disk`) for the subcommands qkvm has; the rest are qemu-img's alone.
import { hasCommand } from '../swap.js';
import { swapped } from './virt-install.js';
import type { ToolExplainer } from '../types.js';
import { none, normalizeDash, part, unknown } from '../words.js';

const positionals = (a: string[]) => {
  const out: string[] = [];
  for (let i = 0; i < a.length; i++) {
    const w = normalizeDash(a[i]);
    if (/^-[fFOobBltTSsoacd]$/.test(w) || w === '--output' || w === '--object') { i++; continue; }
    if (!w.startsWith('-') || /^[-+]\d/.test(w)) out.push(a[i]);
  }
  return out;
};
const opt = (a: string[], flag: string) => { const i = a.indexOf(flag); return i >= 0 ? a[i + 1] : undefined; };

/** The subcommands qkvm has (as `qkvm qemu-img SUB` / `qkvm disk SUB`), in plain words. */
const SUBS: Record<string, (a: string[]) => string> = {
  create: (a) => {
    const [file, size] = positionals(a);
    const fmt = opt(a, '-f');
    const backing = opt(a, '-b') ?? /backing_file=([^,]+)/.exec(opt(a, '-o') ?? '')?.[1];
    const sz = size ?? /size=([^,]+)/.exec(opt(a, '-o') ?? '')?.[1];
    return `creates the ${fmt ?? 'raw'} image ${file ?? '?'}${sz ? ` of ${sz} (k/M/G/T suffixes; a bare number is bytes)` : ''}${backing ? `, an overlay on ${backing} (writes go to the new file, the backing file stays as it is)` : ''}${fmt === 'qcow2' ? '; qcow2 grows as the guest writes' : ''}`;
  },
  info: (a) => `describes the image ${positionals(a)[0] ?? '?'}: format, virtual size, size on disk, backing file, snapshots`,
  check: (a) => `checks the image ${positionals(a)[0] ?? '?'} for errors${a.includes('-r') ? ' and repairs them (-r)' : ''}`,
  convert: (a) => {
    const [src, dst] = positionals(a);
    return `copies ${src ?? '?'} to ${dst ?? '?'}${opt(a, '-O') ? ` converting it to ${opt(a, '-O')}` : ''}${a.includes('-c') ? ', compressed' : ''}${a.includes('-p') ? ', showing progress' : ''}`;
  },
  resize: (a) => { const [f, s] = positionals(a); return `changes the virtual size of ${f ?? '?'} to ${s ?? '?'} (+N grows, -N shrinks and needs --shrink); the guest's partitions do not change`; },
  snapshot: (a) => {
    const f = positionals(a).at(-1) ?? '?';
    if (a.includes('-l')) return `lists the internal snapshots in ${f}`;
    if (opt(a, '-c')) return `takes the internal snapshot ${opt(a, '-c')} of ${f}`;
    if (opt(a, '-a')) return `reverts ${f} to its snapshot ${opt(a, '-a')}`;
    if (opt(a, '-d')) return `deletes the snapshot ${opt(a, '-d')} from ${f}`;
    return `works on the internal snapshots of ${f}`;
  },
  commit: (a) => `writes the overlay ${positionals(a)[0] ?? '?'}'s changes into its backing file`,
  rebase: (a) => `puts the overlay ${positionals(a)[0] ?? '?'} on another backing file${opt(a, '-b') !== undefined ? ` (${opt(a, '-b') || 'none: standalone'})` : ''}`,
};

/** qemu-img subcommands qkvm does not wrap. */
const OTHERS: Record<string, string> = {
  amend: "changes a qcow2 image's options in place",
  map: "prints where an image's data lives",
  measure: 'computes how much space a converted image would need',
  compare: 'compares two images',
  bench: 'benchmarks an image',
  dd: 'copies part of an image, dd style',
  bitmap: "edits an image's dirty bitmaps",
};

export const explainQemuImg: ToolExplainer = (args, ctx, tool) => {
  const [sub, ...rest] = args;
  if (sub === undefined) return unknown(tool, [tool], 'qemu-img needs a subcommand (create, info, convert...)');
  const say = SUBS[sub];
  if (say) {
    const says = say(rest);
    const parts = [part(args, says)];
    return swapped(tool, 'qemu-img', says, ['qkvm', 'qemu-img', ...args], parts, ctx, [`qkvm disk ${sub} --help`]);
  }
  // Where qkvm takes qemu-img by name, its parser decides (explain checks every line it offers).
  if (OTHERS[sub] && hasCommand(ctx, 'qemu-img')) return swapped(tool, 'qemu-img', OTHERS[sub], ['qkvm', 'qemu-img', ...args], [part(args, OTHERS[sub])], ctx, []);
  if (OTHERS[sub]) return none(tool, OTHERS[sub], `qkvm does not wrap qemu-img ${sub}: run qemu-img itself (it changes only the files you name)`, [part(args, OTHERS[sub])]);
  return unknown(tool, [tool, sub], `qemu-img has no subcommand ${sub} that qkvm knows (create, info, check, convert, resize, snapshot, commit, rebase)`);
};
