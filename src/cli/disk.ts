// qkvm disk ...: qemu-img's commands, with checked options and typed errors.
import type { Argv, CommandModule } from 'yargs';
import { formatSize } from '../config/size.js';
import {
  IMAGE_FORMATS, PREALLOCATIONS, checkImage, commitImage, convertImage, createImage, imageInfo, imageSnapshot,
  listImageSnapshots, rebaseImage, resizeImage, resolveCliDiskPath, newImageFormat,
  type ImageFormat, type ImageInfo, type Preallocation,
} from '../storage/index.js';
import { action } from './action.js';
import { keyValues, note, print, printJson, progressBar, table } from './output.js';

/**
 * A file argument as qemu-img reads it (relative to the current directory), or
 * POOL/VOLUME when no such file exists and POOL is a defined pool: the one rule
 * of storage/resolve.ts, shared with attach-disk and --from-cmdline.
 */
export function diskArg(arg: string): string {
  return resolveCliDiskPath(arg);
}

const forceShare = (y: Argv) => y.option('force-share', { alias: 'U', type: 'boolean', default: false, describe: 'read an image a running guest holds (qemu-img -U; may be inconsistent)' });

function chainText(chain: ImageInfo[]): string {
  return chain.map((i, depth) => {
    const lines = keyValues([
      ['image', i.filename],
      ['format', i.format],
      ['virtual size', `${formatSize(i['virtual-size'])} (${i['virtual-size']} bytes)`],
      ['disk size', i['actual-size'] !== undefined ? formatSize(i['actual-size']) : undefined],
      ['cluster size', i['cluster-size']],
      ['backing file', i['full-backing-filename'] ? `${i['full-backing-filename']}${i['backing-filename-format'] ? ` (${i['backing-filename-format']})` : ''}` : undefined],
      ['snapshots', i.snapshots?.length ? i.snapshots.map((s) => s.name).join(', ') : undefined],
      ['dirty', i['dirty-flag'] ? 'yes' : undefined],
    ]);
    return depth === 0 ? lines : `\nbacking image ${depth}:\n${lines.replace(/^/gm, '  ')}`;
  }).join('\n');
}

const create: CommandModule<any, any> = {
  command: 'create <file> [size]',
  describe: 'create an image (qemu-img create)',
  builder: (y) => y
    .positional('file', { type: 'string', describe: 'the new image: a path, or POOL/VOLUME' })
    .positional('size', { type: 'string', describe: 'virtual size, like 10G (optional with --backing)' })
    .option('format', { alias: 'f', choices: IMAGE_FORMATS, describe: 'image format (default: raw for .img/.raw, as qemu-img; qcow2 otherwise)' })
    .option('backing', { alias: 'b', type: 'string', describe: 'backing file: the new image is an overlay that records only differences' })
    .option('backing-format', { alias: 'F', choices: IMAGE_FORMATS, describe: 'format of the backing file (default: probed)' })
    .option('preallocation', { choices: PREALLOCATIONS, describe: 'allocate space up front: metadata (qcow2), falloc or full' }),
  handler: action(async (a: any) => {
    const file = diskArg(a.file);
    let backingFormat = a.backingFormat as ImageFormat | undefined;
    const backing = a.backing ? diskArg(a.backing) : undefined;
    if (backing && !backingFormat) backingFormat = (await imageInfo(backing, { forceShare: true }))[0].format as ImageFormat;
    await createImage({ file, format: a.format ?? newImageFormat(file), size: a.size, backingFile: backing, backingFormat, preallocation: a.preallocation as Preallocation | undefined });
    print(`created ${file}`);
  }),
};

const info: CommandModule<any, any> = {
  command: 'info <file>',
  describe: 'describe an image and its backing chain (qemu-img info --backing-chain)',
  builder: (y) => forceShare(y.positional('file', { type: 'string' }).option('json', { type: 'boolean', default: false })),
  handler: action(async (a: any) => {
    const chain = await imageInfo(diskArg(a.file), { backingChain: true, forceShare: a.forceShare });
    if (a.json) printJson({ ...chain[0], chain });
    else print(chainText(chain));
  }),
};

const check: CommandModule<any, any> = {
  command: 'check <file>',
  describe: 'check a qcow2 image for errors (qemu-img check)',
  builder: (y) => forceShare(y.positional('file', { type: 'string' })
    .option('repair', { alias: 'r', choices: ['leaks', 'all'], describe: 'repair leaked clusters, or all errors (the guest must be shut off)' })
    .option('json', { type: 'boolean', default: false })),
  handler: action(async (a: any) => {
    const r = await checkImage(diskArg(a.file), { repair: a.repair, forceShare: a.forceShare });
    if (a.json) printJson(r);
    else if (r.status === 'unsupported') print(`${r.filename}: the ${r.format} format has no metadata to check`);
    else {
      print(keyValues([
        ['image', r.filename], ['status', r.status],
        ['errors', r.corruptions ?? r['check-errors'] ?? 0], ['leaked clusters', r.leaks ?? 0],
        ['fixed', r['corruptions-fixed'] || r['leaks-fixed'] ? `${r['corruptions-fixed'] ?? 0} errors, ${r['leaks-fixed'] ?? 0} leaks` : undefined],
        ['allocated', r['allocated-clusters'] !== undefined && r['total-clusters'] ? `${r['allocated-clusters']}/${r['total-clusters']} clusters` : undefined],
      ]));
    }
    if (r.status === 'corrupt') process.exitCode = 1;
  }),
};

const convert: CommandModule<any, any> = {
  command: 'convert <source> <target>',
  describe: 'copy an image, converting its format (qemu-img convert -p)',
  builder: (y) => forceShare(y.positional('source', { type: 'string' }).positional('target', { type: 'string' })
    .option('format', { alias: 'O', choices: IMAGE_FORMATS, default: 'qcow2', describe: 'output format' })
    .option('source-format', { alias: 'f', choices: IMAGE_FORMATS, describe: 'source format (default: probed)' })
    .option('compress', { alias: 'c', type: 'boolean', default: false, describe: 'compress the qcow2 output' })),
  handler: action(async (a: any) => {
    const bar = progressBar('convert');
    const target = diskArg(a.target);
    await convertImage({ source: diskArg(a.source), target, format: a.format, sourceFormat: a.sourceFormat, compress: a.compress, forceShare: a.forceShare, onProgress: (f) => bar.update(f) });
    bar.done(`wrote ${target}`);
  }),
};

const resize: CommandModule<any, any> = {
  command: 'resize <file> [size]',
  describe: 'grow an image to SIZE, or by +SIZE (shrinking, to SIZE or by -SIZE, needs --shrink)',
  builder: (y) => y.positional('file', { type: 'string' }).positional('size', { type: 'string', describe: '10G, +1G, or -1G with --shrink' })
    .option('shrink', { type: 'boolean', default: false, describe: 'allow making the image smaller: data past the new end is lost' })
    .check((a) => {
      if (a.size === undefined && !(a['--'] as string[] | undefined)?.length) throw new Error('give the new size, like 20G or +1G');
      return true;
    }),
  handler: action(async (a: any) => {
    // "-1G" reaches `size` (see cli/args.ts); the older `-- -1G` form still works.
    const size = String(a.size ?? a['--'][0]);
    const plan = await resizeImage(diskArg(a.file), size, { shrink: a.shrink, onWarning: (m) => note(`warning: ${m}`) });
    if (plan.target === plan.current) print(`${plan.file} is already ${formatSize(plan.target)}`);
    else print(`${plan.file}: ${formatSize(plan.current)} -> ${formatSize(plan.target)}${plan.shrink ? '' : '; grow the partition and file system inside the guest to use it'}`);
  }),
};

const snapshot: CommandModule<any, any> = {
  command: 'snapshot <file>',
  describe: 'internal snapshots of one image: -l list, -c create, -a apply, -d delete',
  builder: (y) => y.positional('file', { type: 'string' })
    .option('list', { alias: 'l', type: 'boolean' })
    .option('create', { alias: 'c', type: 'string', describe: 'take snapshot TAG' })
    .option('apply', { alias: 'a', type: 'string', describe: 'revert the image to TAG' })
    .option('delete', { alias: 'd', type: 'string', describe: 'delete TAG' })
    .option('json', { type: 'boolean', default: false })
    .check((a) => {
      const n = ['list', 'create', 'apply', 'delete'].filter((k) => a[k] !== undefined && a[k] !== false).length;
      if (n > 1) throw new Error('give one of --list, --create, --apply, --delete');
      return true;
    }),
  handler: action(async (a: any) => {
    const file = diskArg(a.file);
    for (const op of ['create', 'apply', 'delete'] as const) {
      if (a[op] !== undefined) {
        await imageSnapshot(op, file, String(a[op]));
        print(`${op === 'create' ? 'created' : op === 'apply' ? 'applied' : 'deleted'} snapshot ${a[op]} of ${file}`);
        return;
      }
    }
    const snaps = await listImageSnapshots(file);
    if (a.json) return printJson(snaps);
    print(table(snaps, [
      { header: 'ID', get: (s) => s.id },
      { header: 'TAG', get: (s) => s.name },
      { header: 'VM SIZE', get: (s) => (s['vm-state-size'] ? formatSize(s['vm-state-size']) : '0'), align: 'right' },
      { header: 'DATE', get: (s) => new Date(s['date-sec'] * 1000).toISOString().replace('T', ' ').slice(0, 19) },
    ]));
  }),
};

const commit: CommandModule<any, any> = {
  command: 'commit <file>',
  describe: 'write an overlay\'s changes into its backing file (qemu-img commit)',
  builder: (y) => y.positional('file', { type: 'string' })
    .option('base', { alias: 'b', type: 'string', describe: 'commit into this image further down the chain' })
    .option('keep', { type: 'boolean', default: false, describe: 'leave the overlay\'s data in place (qemu-img commit -d); by default it is emptied' }),
  handler: action(async (a: any) => {
    const bar = progressBar('commit');
    await commitImage(diskArg(a.file), { base: a.base ? diskArg(a.base) : undefined, keepOverlay: a.keep, onProgress: (f) => bar.update(f) });
    bar.done();
  }),
};

const rebase: CommandModule<any, any> = {
  command: 'rebase <file> <backing>',
  describe: 'put an overlay on another backing file ("" makes it standalone) (qemu-img rebase)',
  builder: (y) => y.positional('file', { type: 'string' }).positional('backing', { type: 'string' })
    .option('backing-format', { alias: 'F', choices: IMAGE_FORMATS })
    .option('unsafe', { alias: 'u', type: 'boolean', default: false, describe: 'only rewrite the name; the new backing file must hold the same data' }),
  handler: action(async (a: any) => {
    const bar = progressBar('rebase');
    const backing = a.backing ? diskArg(String(a.backing)) : '';
    await rebaseImage(diskArg(a.file), backing, { backingFormat: a.backingFormat, unsafe: a.unsafe, onProgress: (f) => bar.update(f) });
    bar.done(backing ? `now backed by ${backing}` : 'now standalone');
  }),
};

/** Listed for --help; cli.ts runs `qkvm qemu-img ...` itself, with qemu-img's own parser (cli/qemu-img.ts). */
const qemuImg: CommandModule<any, any> = {
  command: 'qemu-img <command>',
  describe: 'qemu-img\'s own spelling of the disk commands: qkvm qemu-img create -f qcow2 -o size=20G vm1.qcow2',
  builder: (y) => y.strict(false),
  handler: action(async (a: any) => (await import('./qemu-img.js')).runQemuImgCli({ args: process.argv.slice(process.argv.indexOf('qemu-img') + 1) })),
};

export const diskCommands: CommandModule<any, any>[] = [qemuImg, {
  command: 'disk <command>',
  describe: 'image files: create, info, check, convert, resize, snapshot, commit, rebase (qemu-img)',
  builder: (y) => y.command(create).command(info).command(check).command(convert).command(resize)
    .command(snapshot).command(commit).command(rebase).demandCommand(1, 'name a disk command'),
  handler: () => undefined,
}];
