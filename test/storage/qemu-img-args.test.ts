// The pure qemu-img command-line parser: qemu-img's getopt grammar, sizes and -o lists.
import { describe, expect, it } from 'vitest';
import { normalizeDash as dashes } from '../../src/typed.js';
import { formatOptionList, parseOptionList, parseQemuImg, qemuImgSize } from '../../src/storage/qemu-img-args.js';

const p = (line: string) => parseQemuImg(line.split(' '));
const G = 1024n ** 3n;

describe('qemu-img sizes', () => {
  it('reads bytes and k/M/G/T/P/E as qemu-img does', () => {
    expect(qemuImgSize('1024')).toBe(1024n);
    expect(qemuImgSize('20G')).toBe(20n * G);
    expect(qemuImgSize('20g')).toBe(20n * G);
    expect(qemuImgSize('512k')).toBe(512n * 1024n);
    expect(qemuImgSize('1.5G')).toBe(G + G / 2n);
    expect(qemuImgSize('2T')).toBe(2n * 1024n * G);
    expect(qemuImgSize('100b')).toBe(100n);
  });
  it('refuses what qemu-img refuses, naming the value', () => {
    for (const bad of ['1GB', '1GiB', '-1G', 'ten', '']) expect(() => qemuImgSize(bad)).toThrow(/is not a size qemu-img reads/);
  });
});

describe('-o option lists', () => {
  it('splits on commas, a doubled comma being part of the value', () => {
    expect(parseOptionList('size=20G,backing_file=a,,b.qcow2,lazy_refcounts')).toEqual([['size', '20G'], ['backing_file', 'a,b.qcow2'], ['lazy_refcounts', 'on']]);
    expect(formatOptionList([['backing_file', 'a,b']])).toBe('backing_file=a,,b');
  });
});

describe('parseQemuImg', () => {
  it('create: -o size= or the positional, raw without -f, backing from -b/-F or -o', () => {
    expect(p('create -f qcow2 -o size=20G x.qcow2')).toMatchObject({ cmd: 'create', file: 'x.qcow2', format: 'qcow2', size: 20n * G, formatGiven: true });
    expect(p('create x.img 1024')).toMatchObject({ format: 'raw', size: 1024n, formatGiven: false });
    expect(p('create -f qcow2 -b base.qcow2 -F qcow2 o.qcow2')).toMatchObject({ backing: 'base.qcow2', backingFormat: 'qcow2', size: undefined });
    expect(p('create -f qcow2 -o backing_file=b.qcow2,backing_fmt=raw,cluster_size=2M o.qcow2')).toMatchObject({ backing: 'b.qcow2', backingFormat: 'raw', options: [['cluster_size', '2M']] });
    expect(p('create -qf qcow2 x.qcow2 1G')).toMatchObject({ quiet: true, format: 'qcow2' });
    expect(p('create -fqcow2 x.qcow2 1G')).toMatchObject({ format: 'qcow2' });
    // Options after the file names, as getopt permutes them.
    expect(p('create x.qcow2 1G -f qcow2')).toMatchObject({ format: 'qcow2', size: G });
  });
  it('create: refuses a size given twice, no size, a bad preallocation and an unknown format', () => {
    expect(() => p('create -f qcow2 -o size=1G x.qcow2 2G')).toThrow(/specified only once/);
    expect(() => p('create -f qcow2 x.qcow2')).toThrow(/no size given/);
    expect(p('create -f qcow2 -o help')).toMatchObject({ optionHelp: true });
    expect(() => p('create -f qcow2 -o preallocation=lots x.qcow2 1G')).toThrow(/preallocation: invalid mode "lots"/);
    expect(() => p('create -f qcow3 x 1G')).toThrow(/unknown format "qcow3"/);
  });
  it('convert: the formats qemu-img has, several sources, checked cache modes, and a note for -r', () => {
    expect(p('convert -p -c -f raw -O qcow2 a.img b.qcow2')).toMatchObject({ cmd: 'convert', sources: ['a.img'], target: 'b.qcow2', sourceFormat: 'raw', format: 'qcow2', compress: true, progress: true });
    for (const f of ['vmdk', 'vdi', 'vhdx', 'vpc', 'qed']) expect(p(`convert -O ${f} a b`)).toMatchObject({ format: f });
    expect(p('convert a b')).toMatchObject({ format: 'raw' });
    expect(p('convert -O raw a1 a2 out')).toMatchObject({ sources: ['a1', 'a2'], target: 'out' });
    expect(p('convert -t none -T writeback -S 4k -m 8 -W -O raw a b')).toMatchObject({ extra: ['-t', 'none', '-T', 'writeback', '-S', '4k', '-m', '8', '-W'] });
    expect(() => p('convert -t fast -O raw a b')).toThrow(/invalid cache mode "fast"/);
    expect(() => p('convert -m 64 -O raw a b')).toThrow(/coroutines "64"/);
    expect(p('convert -r 10M -O raw a b').notes).toEqual(['note: -r 10M (rate limit) is ignored: qkvm copies at full speed']);
  });
  it('info and check: --output, --backing-chain, -U; -r with -U is refused', () => {
    expect(p('info --output=json --backing-chain -U x')).toMatchObject({ cmd: 'info', json: true, backingChain: true, forceShare: true });
    expect(p('info --output json x')).toMatchObject({ json: true });
    expect(p('info --back x')).toMatchObject({ backingChain: true });
    expect(() => p('info --output=xml x')).toThrow(/"human" or "json"/);
    expect(p('check -r all x')).toMatchObject({ cmd: 'check', repair: 'all' });
    expect(() => p('check -r some x')).toThrow(/"leaks" or "all"/);
    expect(() => p('check -r all -U x')).toThrow(/-U/);
  });
  it('resize: the size is taken off the end first, so -1G is a size', () => {
    expect(p('resize --shrink x.raw -1G')).toMatchObject({ cmd: 'resize', file: 'x.raw', size: '-1G', shrink: true });
    expect(p('resize x.qcow2 +10G')).toMatchObject({ size: '+10G', shrink: false });
    expect(p('resize -f raw --preallocation=falloc x 2G')).toMatchObject({ format: 'raw', preallocation: 'falloc' });
    expect(() => p('resize x 10GB')).toThrow(/"10GB" is not a size/);
  });
  it('snapshot: exactly one of -l -c -a -d; -U only to list', () => {
    expect(p('snapshot -c snap1 x')).toMatchObject({ op: 'create', tag: 'snap1' });
    expect(p('snapshot -l x')).toMatchObject({ op: 'list' });
    expect(p('snapshot -l -U x')).toMatchObject({ op: 'list', forceShare: true });
    expect(() => p('snapshot -c a -d b x')).toThrow(/exactly one/);
    expect(() => p('snapshot x')).toThrow(/exactly one/);
    expect(() => p('snapshot -U -a s x')).toThrow(/-U cannot be used to change an image/);
  });
  it('rebase: -b "" is an empty backing (standalone); -b is required', () => {
    expect(parseQemuImg(['rebase', '-b', '', 'o.qcow2'])).toMatchObject({ cmd: 'rebase', backing: '', file: 'o.qcow2' });
    expect(p('rebase -u -b n.qcow2 -F qcow2 o.qcow2')).toMatchObject({ backing: 'n.qcow2', backingFormat: 'qcow2', unsafe: true });
    expect(() => p('rebase o.qcow2')).toThrow(/-b BACKING is required/);
    expect(() => p('rebase -U -u -b n.qcow2 o.qcow2')).toThrow(/-U cannot be used to change an image/);
  });
  it('commit, amend, measure, map, compare, dd', () => {
    expect(p('commit -d -b base o')).toMatchObject({ cmd: 'commit', base: 'base', keep: true });
    expect(p('amend -o compat=1.1 x')).toMatchObject({ cmd: 'amend', options: [['compat', '1.1']] });
    expect(() => p('amend x')).toThrow(/-o OPTIONS is required/);
    expect(p('map --output=json x')).toMatchObject({ cmd: 'map', args: ['map', '--output=json', 'x'], files: [2] });
    expect(p('compare -f raw a b')).toMatchObject({ args: ['compare', '-f', 'raw', 'a', 'b'], files: [3, 4], okCodes: [0, 1] });
    expect(p('measure --size 10G -O qcow2')).toMatchObject({ args: ['measure', '--size=10G', '-O', 'qcow2'], files: [] });
    expect(p('dd -O raw bs=1M count=4 if=a of=b')).toMatchObject({ cmd: 'dd', input: 'a', output: 'b', args: ['dd', '-O', 'raw', 'bs=1M', 'count=4'] });
    expect(() => p('dd if=a')).toThrow(/if=INPUT and of=OUTPUT/);
    expect(() => p('dd conv=notrunc if=a of=b')).toThrow(/unrecognized operand "conv=notrunc"/);
  });
  it('unknown commands and options name themselves (exit 2); bench and --object say why not', () => {
    const code = (f: () => unknown) => { try { f(); } catch (e) { return (e as { code: string }).code; } return 'none'; };
    expect(() => p('frob x')).toThrow(/unknown command "frob"/);
    expect(() => p('info --zzz x')).toThrow(/unrecognized option '--zzz'/);
    expect(() => p('create -Z x 1G')).toThrow(/invalid option -- 'Z'/);
    expect(() => p('create -f')).toThrow(/requires an argument -- 'f'/);
    expect(code(() => p('create -Z x 1G'))).toBe('INVALID');
    expect(() => p('bench x')).toThrow(/bench is not supported by qkvm: .*block layer/);
    expect(() => p('info --object secret,id=s0,data=x x')).toThrow(/--object is not supported/);
    expect(p('create --help')).toMatchObject({ cmd: 'help', topic: 'create' });
  });
  it('reads an en dash (a web page\'s "--") as --', () => {
    expect(dashes('\u2013output=json')).toBe('--output=json');
    expect(dashes('\u2013-shrink')).toBe('--shrink');
    expect(dashes('x.qcow2')).toBe('x.qcow2');
    expect(parseQemuImg(['info', '\u2013output=json', 'x'])).toMatchObject({ json: true });
  });
});
