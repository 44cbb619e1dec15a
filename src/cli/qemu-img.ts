// qkvm qemu-img ...: qemu-img's own command line (the same commands as
// `qkvm disk`, spelled as qemu-img spells them), run through qkvm's checks:
// never over an existing image, never into a base that overlays are built on,
// never with -U for a write, and every image it creates recorded as qkvm's.
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { formatSize } from '../config/size.js';
import { QkvmError, invalid } from '../errors.js';
import { parseQemuImg, qemuImgUsage, type QemuImgCommand } from '../storage/qemu-img-args.js';
import {
  QEMU_IMG, checkImage, commitImage, convertImage, createImage, imageInfo, imageSnapshot, planResize, rebaseImage,
  recordCreated, resizeImage, runQemuImg, type ImageFormat, type Preallocation,
} from '../storage/qemu-img.js';
import { assertNoOverlays } from '../storage/guard.js';
import { action } from './action.js';
import { note, print, progressBar } from './output.js';

/** A path as qemu-img reads it: relative to the current directory. */
const file = (p: string) => resolve(process.cwd(), p);
/** A path quoted for a hint the user can paste into a shell. */
const sh = (s: string) => (/^[\w./+:@%=-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);

function refuseOverwrite(path: string, how: string): QkvmError {
  return new QkvmError('EXISTS', `${path} already exists: qemu-img ${how} would replace it, and its data would be lost; qkvm never overwrites an image`, {
    hint: `pick another name, or, if you mean to throw that image away, remove it first: rm ${sh(path)}`,
  });
}

/** A new image's directory must exist (qemu-img would only say the image does not exist). */
function parentExists(path: string): void {
  const dir = dirname(path);
  if (!existsSync(dir)) throw new QkvmError('NOT_FOUND', `cannot create ${path}: the directory ${dir} does not exist`, { hint: `create it first: mkdir -p ${sh(dir)}` });
}

async function create(c: Extract<QemuImgCommand, { cmd: 'create' }>): Promise<void> {
  if (c.optionHelp) {
    print((await runQemuImg('create', ['create', '-f', c.format, '-o', 'help'], c.format)).stdout.trimEnd());
    return;
  }
  const target = file(c.file);
  if (existsSync(target)) throw refuseOverwrite(target, 'create');
  parentExists(target);
  let backingFormat = c.backingFormat as ImageFormat | undefined;
  if (c.backing && !backingFormat) {
    // qemu-img 7.2 refuses a backing file without -F; the probe below is the one qemu-img would have made.
    const b = resolve(target, '..', c.backing);
    if (!existsSync(b)) throw invalid(`backing file ${c.backing} does not exist (read relative to the new image, as qemu-img does: ${b})`);
    backingFormat = (await imageInfo(b, { forceShare: true }))[0].format as ImageFormat;
    note(`note: qemu-img 7.2 needs the backing file's format (-F); ${c.backing} is ${backingFormat}, so qkvm used -F ${backingFormat}`);
  }
  const prealloc = c.options.find(([k]) => k === 'preallocation')?.[1] as Preallocation | undefined;
  await createImage({
    file: target, format: c.format as ImageFormat, size: c.size !== undefined ? String(c.size) : undefined,
    backingFile: c.backing, backingFormat, preallocation: prealloc, unsafe: c.unsafe, anyFormat: true,
    options: c.options.filter(([k]) => k !== 'preallocation'), owner: { by: 'qemu-img create' },
  });
  if (!c.quiet) {
    const [i] = await imageInfo(target, { format: c.format as ImageFormat });
    print(`Formatting '${c.file}', fmt=${c.format} size=${i['virtual-size']} (${formatSize(i['virtual-size'])})${c.backing ? ` backing_file=${c.backing} backing_fmt=${backingFormat}` : ''}${c.formatGiven ? '' : '  [no -f: raw, as qemu-img]'}`);
  }
}

async function convert(c: Extract<QemuImgCommand, { cmd: 'convert' }>): Promise<void> {
  const target = file(c.target);
  if (!c.noCreate && existsSync(target)) {
    const e = refuseOverwrite(target, 'convert');
    throw new QkvmError('EXISTS', e.message, { hint: `${e.hint}; or add -n to write into the existing image (it must be as large as the source)` });
  }
  if (!c.noCreate) parentExists(target);
  const bar = c.progress ? progressBar('convert') : undefined;
  const [source, ...more] = c.sources.map(file);
  await convertImage({
    source, moreSources: more, target, format: c.format as ImageFormat, sourceFormat: c.sourceFormat as ImageFormat | undefined,
    compress: c.compress, forceShare: c.forceShare, anyFormat: true, options: c.options, extra: c.extra, noCreate: c.noCreate,
    onProgress: bar ? (f) => bar.update(f) : undefined, owner: { by: 'qemu-img convert' },
  });
  bar?.done(`wrote ${target} (${c.format})`);
}

async function info(c: Extract<QemuImgCommand, { cmd: 'info' }>): Promise<void> {
  const f = file(c.file);
  if (!existsSync(f)) throw new QkvmError('NOT_FOUND', `image ${f} does not exist`);
  const args = ['info'];
  if (c.json) args.push('--output=json');
  if (c.backingChain) args.push('--backing-chain');
  if (c.format) args.push('-f', c.format);
  if (c.forceShare) args.push('-U');
  args.push(f);
  print((await runQemuImg('info', args, f)).stdout.trimEnd());
}

async function check(c: Extract<QemuImgCommand, { cmd: 'check' }>): Promise<void> {
  const f = file(c.file);
  if (c.repair) {
    // The repair path: checkImage turns a lock into IN_USE, naming the guest that holds it.
    const r = await checkImage(f, { repair: c.repair, format: c.format as ImageFormat | undefined });
    if (c.json) print(JSON.stringify(r, null, 4));
    else print(`${f}: ${r.status === 'unsupported' ? `the ${r.format} format has no metadata to check` : r.status === 'ok' ? 'No errors were found on the image.' : r.status}${r['leaks-fixed'] || r['corruptions-fixed'] ? ` (repaired: ${r['leaks-fixed'] ?? 0} leaks, ${r['corruptions-fixed'] ?? 0} errors)` : ''}`);
    process.exitCode = r.status === 'corrupt' ? 2 : r.status === 'leaks' ? 3 : r.status === 'unsupported' ? 63 : 0;
    return;
  }
  const args = ['check', ...(c.json ? ['--output=json'] : []), ...(c.format ? ['-f', c.format] : []), ...(c.forceShare ? ['-U'] : []), ...c.extra, f];
  if (!existsSync(f)) throw new QkvmError('NOT_FOUND', `image ${f} does not exist`);
  // qemu-img check's exit codes are its answer: 2 corrupt, 3 leaks, 63 no checks for this format.
  const r = await runQemuImg('check', args, f, [0, 2, 3, 63]);
  if (r.exitCode === 63) print(`${c.file}: ${r.stderr.replace(/^qemu-img: /, '').trim() || 'this image format does not support checks'}`);
  else print(r.stdout.trimEnd());
  process.exitCode = r.exitCode;
}

async function resize(c: Extract<QemuImgCommand, { cmd: 'resize' }>): Promise<void> {
  const f = file(c.file);
  const plan = await planResize(f, c.size, c.format as ImageFormat | undefined);
  if (plan.shrink && !c.shrink) {
    throw invalid(`qemu-img resize: ${c.size} would shrink ${c.file} from ${formatSize(plan.current)} to ${formatSize(plan.target)}; use the --shrink option to perform a shrink operation (as qemu-img says)`,
      `shrinking deletes all data beyond the new end: shrink the file system and partitions inside the guest first, then: qkvm qemu-img resize --shrink ${sh(c.file)} ${sh(c.size)}`);
  }
  const done = await resizeImage(f, c.size, { shrink: c.shrink, format: c.format as ImageFormat | undefined, preallocation: c.preallocation as Preallocation | undefined, onWarning: (m) => note(`warning: ${m}`) });
  if (!c.quiet) print(done.target === done.current ? `${c.file} is already ${formatSize(done.target)}` : `Image resized: ${c.file} ${formatSize(done.current)} -> ${formatSize(done.target)} (${done.target} bytes)`);
}

async function snapshot(c: Extract<QemuImgCommand, { cmd: 'snapshot' }>): Promise<void> {
  const f = file(c.file);
  if (c.op === 'list') {
    if (!existsSync(f)) throw new QkvmError('NOT_FOUND', `image ${f} does not exist`);
    print((await runQemuImg('snapshot -l', ['snapshot', '-l', ...(c.format ? ['-f', c.format] : []), ...(c.forceShare ? ['-U'] : []), f], f)).stdout.trimEnd());
    return;
  }
  await imageSnapshot(c.op, f, c.tag!);
  if (!c.quiet) print(`${c.op === 'create' ? 'created' : c.op === 'apply' ? 'applied' : 'deleted'} snapshot ${c.tag} of ${c.file}`);
}

async function commit(c: Extract<QemuImgCommand, { cmd: 'commit' }>): Promise<void> {
  const bar = c.progress ? progressBar('commit') : undefined;
  await commitImage(file(c.file), { base: c.base !== undefined ? file(c.base) : undefined, keepOverlay: c.keep, onProgress: bar ? (f) => bar.update(f) : undefined });
  bar?.done();
  if (!c.quiet) print(`Image committed${c.keep ? '' : `; ${c.file} is now empty`}.`);
}

async function rebase(c: Extract<QemuImgCommand, { cmd: 'rebase' }>): Promise<void> {
  // -u swaps the backing file without copying anything: the image's content may change, so not under other overlays.
  if (c.unsafe) assertNoOverlays(file(c.file), 'rebase -u');
  const bar = c.progress ? progressBar('rebase') : undefined;
  await rebaseImage(file(c.file), c.backing, { backingFormat: c.backingFormat as ImageFormat | undefined, unsafe: c.unsafe, onProgress: bar ? (f) => bar.update(f) : undefined });
  bar?.done();
  if (!c.quiet) print(c.backing ? `${c.file} is now backed by ${c.backing}` : `${c.file} is now standalone (no backing file)`);
}

async function amend(c: Extract<QemuImgCommand, { cmd: 'amend' }>): Promise<void> {
  const f = file(c.file);
  if (!existsSync(f)) throw new QkvmError('NOT_FOUND', `image ${f} does not exist`);
  const opts = c.options.map(([k, v]) => `${k}=${v.replace(/,/g, ',,')}`).join(',');
  await runQemuImg('amend', ['amend', ...(c.format ? ['-f', c.format] : []), ...(c.force ? ['--force'] : []), '-o', opts, f], f);
  if (!c.quiet) print(`amended ${c.file}: ${opts}`);
}

async function readOnly(c: Extract<QemuImgCommand, { cmd: 'measure' | 'map' | 'compare' }>): Promise<void> {
  const args = c.args.map((a, i) => (c.files.includes(i) ? file(a) : a));
  for (const i of c.files) if (!existsSync(args[i])) throw new QkvmError('NOT_FOUND', `image ${args[i]} does not exist`);
  const r = await runQemuImg(c.cmd, args, c.files.length ? args[c.files[0]] : '-', c.okCodes);
  print(r.stdout.trimEnd());
  process.exitCode = r.exitCode;
}

async function dd(c: Extract<QemuImgCommand, { cmd: 'dd' }>): Promise<void> {
  const input = file(c.input);
  const output = file(c.output);
  if (!existsSync(input)) throw new QkvmError('NOT_FOUND', `image ${input} does not exist`);
  if (existsSync(output)) throw refuseOverwrite(output, 'dd');
  parentExists(output);
  await runQemuImg('dd', [...c.args, `if=${input}`, `of=${output}`], input);
  await recordCreated(output, { by: 'qemu-img dd' });
}

/** `qkvm qemu-img ARGS...`: parsed here, not by yargs, because qemu-img's grammar is getopt's. */
export const runQemuImgCli = action(async ({ args }: { args: string[] }) => {
  const c = parseQemuImg(args);
  for (const n of c.notes) note(n);
  switch (c.cmd) {
    case 'help': return print(qemuImgUsage(c.topic));
    case 'version': return print(`${(await runQemuImg('--version', ['--version'], QEMU_IMG)).stdout.split('\n')[0]} (run by qkvm qemu-img)`);
    case 'create': return create(c);
    case 'convert': return convert(c);
    case 'info': return info(c);
    case 'check': return check(c);
    case 'resize': return resize(c);
    case 'snapshot': return snapshot(c);
    case 'commit': return commit(c);
    case 'rebase': return rebase(c);
    case 'amend': return amend(c);
    case 'measure': case 'map': case 'compare': return readOnly(c);
    case 'dd': return dd(c);
  }
});
