// qemu-img's own command line, read as qemu-img 7.2 reads it (getopt_long:
// clustered short options, attached values, options after file names, `--`),
// so a tutorial's `qemu-img ...` line means the same after `qkvm `. Pure: no
// file is touched here; paths stay as written (the caller resolves them).
import { normalizeDash } from '../typed.js';
import { invalid } from '../errors.js';

export const QEMU_IMG_FORMATS = ['qcow2', 'raw', 'vmdk', 'vdi', 'vhdx', 'vpc', 'qed'] as const;
export type QemuImgFormat = (typeof QEMU_IMG_FORMATS)[number];
const CACHE_MODES = ['none', 'writeback', 'writethrough', 'directsync', 'unsafe'];
const PREALLOC = ['off', 'metadata', 'falloc', 'full'];

/** One command's options: getopt's short string ("f:b:q": ':' takes a value) and its long options. */
interface Spec { short: string; long: Record<string, boolean> }

const COMMON_LONG = { help: false, object: true, 'image-opts': false };
const SPECS: Record<string, Spec> = {
  create: { short: 'F:b:f:ho:qu', long: { ...COMMON_LONG } },
  check: { short: 'hf:r:T:qU', long: { ...COMMON_LONG, format: true, repair: true, output: true, 'force-share': false } },
  commit: { short: 'f:ht:b:dpqr:', long: { ...COMMON_LONG } },
  compare: { short: 'hf:F:T:pqsU', long: { ...COMMON_LONG, 'force-share': false } },
  convert: { short: 'hf:O:B:Cco:l:S:pt:T:qnm:WUr:', long: { ...COMMON_LONG, 'target-image-opts': false, 'target-is-zero': false, salvage: false, bitmaps: false, 'skip-broken-bitmaps': false } },
  info: { short: 'f:hU', long: { ...COMMON_LONG, format: true, output: true, 'backing-chain': false, 'force-share': false } },
  map: { short: 'f:s:l:hU', long: { ...COMMON_LONG, format: true, output: true, 'force-share': false, 'start-offset': true, 'max-length': true } },
  measure: { short: 'hf:O:o:l:U', long: { ...COMMON_LONG, output: true, size: true, 'force-share': false } },
  snapshot: { short: 'la:c:d:f:hqU', long: { ...COMMON_LONG, 'force-share': false } },
  rebase: { short: 'hf:F:b:upt:T:qU', long: { ...COMMON_LONG, 'force-share': false } },
  resize: { short: 'f:hq', long: { ...COMMON_LONG, preallocation: true, shrink: false } },
  amend: { short: 'ho:f:t:pq', long: { ...COMMON_LONG, force: false } },
  dd: { short: 'hf:O:U', long: { ...COMMON_LONG, 'force-share': false } },
};

/** qemu-img commands qkvm does not run, and why. */
export const NOT_SUPPORTED: Record<string, string> = {
  bench: 'qemu-img bench measures the host\'s block layer rather than doing anything to an image, and with -w it writes into the image past qkvm\'s guards; run qemu-img bench itself on an image no guest uses',
  bitmap: 'qemu-img bitmap edits the dirty bitmaps of incremental backups, which qkvm does not manage; run qemu-img bitmap itself on an image no guest uses',
};

export interface ParsedOpts { opts: [name: string, value: string | true][]; positionals: string[] }

/** getopt_long as glibc does it, with argument permutation: options may follow file names. */
export function getopt(cmd: string, args: string[], spec: Spec): ParsedOpts {
  const opts: ParsedOpts['opts'] = [];
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') { positionals.push(...args.slice(i + 1)); break; }
    if (a.startsWith('--')) {
      const [name, inline] = a.slice(2).split(/=(.*)/s, 2);
      // getopt_long takes a unique prefix of a long option, as in `--back` for --backing-chain.
      const names = Object.keys(spec.long);
      const exact = names.includes(name) ? name : undefined;
      const matches = exact ? [exact] : names.filter((n) => n.startsWith(name));
      if (matches.length !== 1) {
        throw invalid(`qemu-img ${cmd}: ${matches.length ? 'ambiguous' : 'unrecognized'} option '--${name}'`, `\`qkvm qemu-img ${cmd} --help\` lists the options qkvm reads`);
      }
      const full = matches[0];
      if (spec.long[full]) {
        const v = inline ?? args[++i];
        if (v === undefined) throw invalid(`qemu-img ${cmd}: option '--${full}' requires an argument`);
        opts.push([full, v]);
      } else {
        if (inline !== undefined) throw invalid(`qemu-img ${cmd}: option '--${full}' doesn't allow an argument`);
        opts.push([full, true]);
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      for (let j = 1; j < a.length; j++) {
        const c = a[j];
        const at = spec.short.indexOf(c);
        if (c === ':' || at < 0) throw invalid(`qemu-img ${cmd}: invalid option -- '${c}'`, `\`qkvm qemu-img ${cmd} --help\` lists the options qkvm reads`);
        if (spec.short[at + 1] === ':') {
          const v = j + 1 < a.length ? a.slice(j + 1) : args[++i];
          if (v === undefined) throw invalid(`qemu-img ${cmd}: option requires an argument -- '${c}'`);
          opts.push([c, v]);
          break;
        }
        opts.push([c, true]);
      }
      continue;
    }
    positionals.push(a);
  }
  return { opts, positionals };
}

/**
 * One -o list as QEMU's option parser reads it: key=value pairs split on
 * commas, a doubled comma being a comma inside a value. `help` and `?` alone
 * ask for the format's option list.
 */
export function parseOptionList(text: string): [string, string][] {
  const out: [string, string][] = [];
  let cur = '';
  const items: string[] = [];
  for (let i = 0; i < text.length; i++) {
    if (text[i] === ',') {
      if (text[i + 1] === ',') { cur += ','; i++; continue; }
      items.push(cur); cur = '';
      continue;
    }
    cur += text[i];
  }
  items.push(cur);
  for (const item of items) {
    if (item === '') continue;
    const eq = item.indexOf('=');
    if (eq < 0) out.push([item, item === 'help' || item === '?' ? '' : 'on']);
    else out.push([item.slice(0, eq), item.slice(eq + 1)]);
  }
  return out;
}

/** The -o list back in QEMU's syntax (commas in values doubled). */
export function formatOptionList(opts: [string, string][]): string {
  return opts.map(([k, v]) => `${k}=${v.replace(/,/g, ',,')}`).join(',');
}

const SIZE_RE = /^(\d+(?:\.\d+)?)([kKmMgGtTpPeEbB]?)$/;

/**
 * A size as qemu-img reads one (qemu_strtosz): bytes, or k/M/G/T/P/E (powers of
 * 1024, either case), a fraction allowed. "1GB" and "1GiB" are not sizes to qemu-img.
 */
export function qemuImgSize(text: string, what = 'size'): bigint {
  const m = SIZE_RE.exec(text.trim());
  if (!m) {
    throw invalid(`${what}: "${text}" is not a size qemu-img reads`, 'write bytes, or a number with k, M, G, T, P or E (powers of 1024), like 20G or 1024');
  }
  const shift = { '': 0n, B: 0n, K: 10n, M: 20n, G: 30n, T: 40n, P: 50n, E: 60n }[m[2].toUpperCase() as 'K'];
  const [whole, frac = ''] = m[1].split('.');
  const scale = 10n ** BigInt(frac.length);
  // qemu_strtosz rounds a fractional size down to a byte.
  return ((BigInt(whole) * scale + BigInt(frac || '0')) << shift) / scale;
}

function format(v: string, what: string): QemuImgFormat {
  if (!(QEMU_IMG_FORMATS as readonly string[]).includes(v)) {
    throw invalid(`${what}: unknown format "${v}"`, `qkvm runs qemu-img with the formats ${QEMU_IMG_FORMATS.join(', ')}`);
  }
  return v as QemuImgFormat;
}

interface Common { quiet: boolean; notes: string[] }

export type QemuImgCommand = Common & (
  | { cmd: 'help'; topic?: string }
  | { cmd: 'version' }
  | { cmd: 'create'; file: string; format: QemuImgFormat; formatGiven: boolean; size?: bigint; sizeText?: string; backing?: string; backingFormat?: QemuImgFormat; unsafe: boolean; options: [string, string][]; optionHelp: boolean }
  | { cmd: 'convert'; sources: string[]; target: string; sourceFormat?: QemuImgFormat; format: QemuImgFormat; options: [string, string][]; compress: boolean; progress: boolean; noCreate: boolean; forceShare: boolean; extra: string[] }
  | { cmd: 'info'; file: string; json: boolean; backingChain: boolean; format?: QemuImgFormat; forceShare: boolean }
  | { cmd: 'check'; file: string; repair?: 'leaks' | 'all'; json: boolean; format?: QemuImgFormat; forceShare: boolean; extra: string[] }
  | { cmd: 'resize'; file: string; size: string; shrink: boolean; format?: QemuImgFormat; preallocation?: string }
  | { cmd: 'snapshot'; file: string; op: 'list' | 'create' | 'apply' | 'delete'; tag?: string; format?: QemuImgFormat; forceShare: boolean }
  | { cmd: 'commit'; file: string; base?: string; keep: boolean; progress: boolean; format?: QemuImgFormat }
  | { cmd: 'rebase'; file: string; backing: string; backingFormat?: QemuImgFormat; unsafe: boolean; progress: boolean; format?: QemuImgFormat }
  | { cmd: 'amend'; file: string; options: [string, string][]; format?: QemuImgFormat; progress: boolean; force: boolean }
  /** Read-only commands run as written: qemu-img's argv with `files` (indexes into args) to resolve. */
  | { cmd: 'measure' | 'map' | 'compare'; args: string[]; files: number[]; okCodes: number[] }
  | { cmd: 'dd'; args: string[]; input: string; output: string; outputFormat: QemuImgFormat }
);

const USAGE: Record<string, string> = {
  create: 'create [-f FMT] [-o OPTIONS] [-b BACKING [-F FMT]] [-u] [-q] FILE [SIZE]',
  convert: 'convert [-p] [-c] [-f FMT] [-O FMT] [-o OPTIONS] [-n] [-t CACHE] [-T CACHE] [-S SIZE] [-W] [-m N] [-U] SRC... DST',
  info: 'info [--output=human|json] [--backing-chain] [-f FMT] [-U] FILE',
  check: 'check [-r leaks|all] [--output=human|json] [-f FMT] [-U] FILE',
  resize: 'resize [--shrink] [-f FMT] [--preallocation=MODE] FILE [+|-]SIZE',
  snapshot: 'snapshot -l|-c NAME|-a NAME|-d NAME [-U] FILE',
  commit: 'commit [-b BASE] [-d] [-p] FILE',
  rebase: 'rebase [-u] [-p] -b BACKING [-F FMT] FILE   (-b "" makes FILE standalone)',
  amend: 'amend -o OPTIONS [-f FMT] [-p] FILE',
  measure: 'measure [--output=human|json] [-O FMT] [-o OPTIONS] (--size SIZE | [-f FMT] FILE)',
  map: 'map [--output=human|json] [-f FMT] [-U] FILE',
  compare: 'compare [-f FMT] [-F FMT] [-p] [-s] [-U] FILE1 FILE2',
  dd: 'dd [-f FMT] [-O FMT] [bs=N] [count=N] [skip=N] if=INPUT of=OUTPUT',
};

export function qemuImgUsage(cmd?: string): string {
  const cmds = cmd && USAGE[cmd] ? [cmd] : Object.keys(USAGE);
  return [
    'qkvm qemu-img: qemu-img\'s own command line, run through qkvm\'s checks (same as `qkvm disk`, in qemu-img\'s spelling)',
    '',
    ...cmds.map((c) => `  qkvm qemu-img ${USAGE[c]}`),
    '',
    'Example: qkvm qemu-img create -f qcow2 -o size=20G vm1.qcow2',
    ...(cmd ? [] : ['Not run: ' + Object.keys(NOT_SUPPORTED).join(', ') + ' (qkvm qemu-img bench says why).']),
  ].join('\n');
}

function positionals(cmd: string, p: string[], min: number, max: number): void {
  if (p.length < min) throw invalid(`qemu-img ${cmd}: expecting ${min === 1 ? 'a filename' : `${min} file names`}`, `usage: qkvm qemu-img ${USAGE[cmd]}`);
  if (p.length > max) throw invalid(`qemu-img ${cmd}: too many arguments: ${p.slice(max).map((x) => JSON.stringify(x)).join(' ')}`, `usage: qkvm qemu-img ${USAGE[cmd]}`);
}

function output(v: string | true, cmd: string): boolean {
  if (v === 'json') return true;
  if (v === 'human') return false;
  throw invalid(`qemu-img ${cmd}: --output must be "human" or "json", not "${v}"`);
}

function cache(v: string, what: string): string {
  if (!CACHE_MODES.includes(v)) throw invalid(`${what}: invalid cache mode "${v}"`, `use one of ${CACHE_MODES.join(', ')}`);
  return v;
}


/** Parses `qkvm qemu-img ARGS...` (the words after "qemu-img") into one checked command. */
export function parseQemuImg(argv: string[]): QemuImgCommand {
  const [cmd, ...rest] = argv.map(normalizeDash);
  const notes: string[] = [];
  if (cmd === undefined || cmd === '-h' || cmd === '--help' || cmd === 'help') return { cmd: 'help', quiet: false, notes };
  if (cmd === '-V' || cmd === '--version') return { cmd: 'version', quiet: false, notes };
  if (NOT_SUPPORTED[cmd]) throw invalid(`qemu-img ${cmd} is not supported by qkvm: ${NOT_SUPPORTED[cmd]}`);
  const spec = SPECS[cmd];
  if (!spec) throw invalid(`qemu-img: unknown command "${cmd}"`, `qkvm qemu-img runs ${Object.keys(SPECS).join(', ')}; \`qkvm qemu-img --help\` shows each`);

  // qemu-img resize takes the size off the end first, so "-1G" is never read as options.
  let sizeArg: string | undefined;
  if (cmd === 'resize' && rest.length && !['-h', '--help'].includes(rest[rest.length - 1])) sizeArg = rest.pop();
  const { opts, positionals: pos } = getopt(cmd, rest, spec);
  const has = (...names: string[]) => opts.some(([n]) => names.includes(n));
  const last = (...names: string[]) => opts.filter(([n]) => names.includes(n)).map(([, v]) => v).pop();
  const all = (...names: string[]) => opts.filter(([n]) => names.includes(n)).map(([, v]) => String(v));
  if (has('h', 'help')) return { cmd: 'help', topic: cmd, quiet: false, notes };
  if (has('object')) throw invalid(`qemu-img ${cmd}: --object is not supported by qkvm`, 'it defines secrets and other QEMU objects on the command line; run qemu-img itself for encrypted images');
  if (has('image-opts', 'target-image-opts')) throw invalid(`qemu-img ${cmd}: --image-opts is not supported by qkvm`, 'name the image by its file path instead (qkvm checks what a path holds before it writes)');
  const quiet = has('q');
  const fmt = (n: string, what: string) => { const v = last(n); return v === undefined ? undefined : format(String(v), what); };
  const forceShare = has('U', 'force-share');

  switch (cmd) {
    case 'create': {
      const options = all('o').flatMap(parseOptionList);
      const optionHelp = options.some(([k]) => k === 'help' || k === '?');
      // `create -f qcow2 -o help` lists the format's options and needs no file, as in qemu-img.
      positionals(cmd, pos, optionHelp ? 0 : 1, 2);
      const formatGiven = has('f');
      const f = fmt('f', 'format') ?? 'raw';
      let backing = last('b') as string | undefined;
      let backingFormat = fmt('F', 'backing format');
      const rest: [string, string][] = [];
      let sizeText: string | undefined;
      for (const [k, v] of options) {
        if (k === 'size') sizeText = v;
        else if (k === 'backing_file') backing = v;
        else if (k === 'backing_fmt') backingFormat = format(v, 'backing_fmt');
        else if (k === 'help' || k === '?') continue;
        else {
          if (k === 'preallocation' && !PREALLOC.includes(v)) throw invalid(`preallocation: invalid mode "${v}"`, `use one of ${PREALLOC.join(', ')}`);
          rest.push([k, v]);
        }
      }
      if (pos[1] !== undefined) {
        if (sizeText !== undefined) throw invalid(`qemu-img create: ${pos[0]}: the image size must be specified only once (-o size=${sizeText} and ${pos[1]})`, 'give the size once: either -o size=... or the SIZE after the file name');
        sizeText = pos[1];
      }
      const size = sizeText !== undefined ? qemuImgSize(sizeText) : undefined;
      if (size === undefined && !backing && !optionHelp) throw invalid(`qemu-img create: ${pos[0]}: no size given`, 'add the size after the file name, like 20G, or -o size=20G (or give a backing file with -b)');
      if (has('u') && backing && size === undefined) throw invalid('qemu-img create: -u needs a size', 'with -u the backing file is not opened, so give the size (or drop -u)');
      if (backing === '') backing = undefined;
      return { cmd, file: pos[0] ?? '', format: f, formatGiven, size, sizeText, backing, backingFormat, unsafe: has('u'), options: rest, optionHelp, quiet, notes };
    }
    case 'convert': {
      if (pos.length < 2) positionals(cmd, pos, 2, Infinity);
      const extra: string[] = [];
      for (const [n, v] of opts) {
        if (n === 't' || n === 'T') extra.push(`-${n}`, cache(String(v), n === 't' ? 'target cache (-t)' : 'source cache (-T)'));
        else if (n === 'S') { qemuImgSize(String(v), 'sparse size (-S)'); extra.push('-S', String(v)); }
        else if (n === 'm') {
          if (!/^([1-9]|1[0-6])$/.test(String(v))) throw invalid(`-m: invalid number of coroutines "${v}"`, 'use 1 to 16');
          extra.push('-m', String(v));
        } else if (n === 'W' || n === 'C' || n === 'target-is-zero' || n === 'salvage' || n === 'bitmaps' || n === 'skip-broken-bitmaps') extra.push(n.length === 1 ? `-${n}` : `--${n}`);
        else if (n === 'l') extra.push('-l', String(v));
        else if (n === 'B') extra.push('-B', String(v));
        else if (n === 'r') notes.push(`note: -r ${v} (rate limit) is ignored: qkvm copies at full speed`);
      }
      const options = all('o').flatMap(parseOptionList);
      const f = fmt('O', 'output format (-O)') ?? 'raw';
      return { cmd, sources: pos.slice(0, -1), target: pos[pos.length - 1], sourceFormat: fmt('f', 'source format (-f)'), format: f, options, compress: has('c'), progress: has('p'), noCreate: has('n'), forceShare, extra, quiet, notes };
    }
    case 'info': {
      positionals(cmd, pos, 1, 1);
      const o = last('output');
      return { cmd, file: pos[0], json: o !== undefined && output(o, cmd), backingChain: has('backing-chain'), format: fmt('f', 'format') ?? fmt('format', 'format'), forceShare, quiet, notes };
    }
    case 'check': {
      positionals(cmd, pos, 1, 1);
      const r = last('r', 'repair');
      if (r !== undefined && r !== 'leaks' && r !== 'all') throw invalid(`qemu-img check: -r must be "leaks" or "all", not "${r}"`);
      if (r !== undefined && forceShare) throw invalid('qemu-img check: -r repairs the image, which -U (read while another process writes) cannot allow', 'shut the guest that uses the image off, then run the check without -U');
      const o = last('output');
      const extra = opts.filter(([n]) => n === 'T').flatMap(([, v]) => ['-T', cache(String(v), 'source cache (-T)')]);
      return { cmd, file: pos[0], repair: r as 'leaks' | 'all' | undefined, json: o !== undefined && output(o, cmd), format: fmt('f', 'format') ?? fmt('format', 'format'), forceShare, extra, quiet, notes };
    }
    case 'resize': {
      positionals(cmd, pos, 1, 1);
      if (sizeArg === undefined) throw invalid('qemu-img resize: expecting a size', `usage: qkvm qemu-img ${USAGE.resize}`);
      qemuImgSize(sizeArg.replace(/^[+-]/, ''), 'size');
      const p = last('preallocation') as string | undefined;
      if (p !== undefined && !PREALLOC.includes(p)) throw invalid(`--preallocation: invalid mode "${p}"`, `use one of ${PREALLOC.join(', ')}`);
      return { cmd, file: pos[0], size: sizeArg, shrink: has('shrink'), format: fmt('f', 'format'), preallocation: p, quiet, notes };
    }
    case 'snapshot': {
      positionals(cmd, pos, 1, 1);
      const ops = opts.filter(([n]) => ['l', 'c', 'a', 'd'].includes(n));
      if (ops.length !== 1) throw invalid(`qemu-img snapshot: give exactly one of -l, -c NAME, -a NAME, -d NAME${ops.length ? ` (got ${ops.map(([n]) => `-${n}`).join(', ')})` : ''}`, `usage: qkvm qemu-img ${USAGE.snapshot}`);
      const [n, v] = ops[0];
      const op = ({ l: 'list', c: 'create', a: 'apply', d: 'delete' } as const)[n as 'l'];
      if (op !== 'list' && forceShare) throw invalid(`qemu-img snapshot -${n}: -U cannot be used to change an image`, 'shut the guest that uses the image off first, then run it without -U');
      return { cmd, file: pos[0], op, tag: op === 'list' ? undefined : String(v), format: fmt('f', 'format'), forceShare, quiet, notes };
    }
    case 'commit': {
      positionals(cmd, pos, 1, 1);
      for (const [n, v] of opts) {
        if (n === 't') notes.push(`note: -t ${cache(String(v), 'cache (-t)')} is ignored: qkvm commits with qemu-img's default cache`);
        if (n === 'r') notes.push(`note: -r ${v} (rate limit) is ignored: qkvm commits at full speed`);
      }
      return { cmd, file: pos[0], base: last('b') as string | undefined, keep: has('d'), progress: has('p'), format: fmt('f', 'format'), quiet, notes };
    }
    case 'rebase': {
      positionals(cmd, pos, 1, 1);
      const b = last('b');
      if (b === undefined) throw invalid('qemu-img rebase: -b BACKING is required', 'name the new backing file with -b, or write -b "" to make the image standalone');
      if (forceShare) throw invalid('qemu-img rebase: -U cannot be used to change an image', 'shut the guest that uses the image off first, then run it without -U');
      for (const [n, v] of opts) if (n === 't' || n === 'T') notes.push(`note: -${n} ${cache(String(v), `cache (-${n})`)} is ignored: qkvm rebases with qemu-img's default cache`);
      return { cmd, file: pos[0], backing: String(b), backingFormat: fmt('F', 'backing format (-F)'), unsafe: has('u'), progress: has('p'), format: fmt('f', 'format'), quiet, notes };
    }
    case 'amend': {
      positionals(cmd, pos, 1, 1);
      const options = all('o').flatMap(parseOptionList);
      if (!options.length) throw invalid('qemu-img amend: -o OPTIONS is required', 'for example: qkvm qemu-img amend -o compat=1.1 FILE');
      if (has('t')) notes.push(`note: -t ${cache(String(last('t')), 'cache (-t)')} is ignored: qkvm amends with qemu-img's default cache`);
      return { cmd, file: pos[0], options, format: fmt('f', 'format'), progress: has('p'), force: has('force'), quiet, notes };
    }
    case 'measure': case 'map': case 'compare': {
      const files = cmd === 'compare' ? 2 : cmd === 'measure' && has('size') ? 0 : 1;
      positionals(cmd, pos, files, files);
      for (const [n, v] of opts) {
        if (['f', 'F', 'O'].includes(n) || n === 'format') format(String(v), `format (-${n})`);
        if (n === 'output') output(v, cmd);
        if (n === 'T') cache(String(v), 'source cache (-T)');
      }
      const args = [cmd, ...opts.flatMap(([n, v]) => {
        const flag = n.length === 1 ? `-${n}` : `--${n}`;
        return v === true ? [flag] : n.length === 1 ? [flag, v] : [`${flag}=${v}`];
      })];
      const at = args.length;
      return { cmd, args: [...args, ...pos], files: pos.map((_, i) => at + i), okCodes: cmd === 'compare' ? [0, 1] : [0], quiet, notes };
    }
    case 'dd': {
      const ops: Record<string, string> = {};
      for (const p of pos) {
        const eq = p.indexOf('=');
        const k = p.slice(0, eq);
        if (eq < 0 || !['bs', 'count', 'skip', 'if', 'of'].includes(k)) throw invalid(`qemu-img dd: unrecognized operand "${p}"`, `usage: qkvm qemu-img ${USAGE.dd}`);
        ops[k] = p.slice(eq + 1);
      }
      if (!ops.if || !ops.of) throw invalid('qemu-img dd: both if=INPUT and of=OUTPUT are required', `usage: qkvm qemu-img ${USAGE.dd}`);
      for (const k of ['bs', 'count', 'skip']) if (ops[k] !== undefined) qemuImgSize(ops[k], k);
      const args = ['dd', ...opts.flatMap(([n, v]) => (v === true ? [n.length === 1 ? `-${n}` : `--${n}`] : [`-${n}`, String(format(String(v), `format (-${n})`))]))];
      for (const k of ['bs', 'count', 'skip']) if (ops[k] !== undefined) args.push(`${k}=${ops[k]}`);
      return { cmd, args, input: ops.if, output: ops.of, outputFormat: fmt('O', 'output format (-O)') ?? 'raw', quiet, notes };
    }
  }
  throw new Error(`unreachable: ${cmd}`);
}
