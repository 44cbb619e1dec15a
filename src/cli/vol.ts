// qkvm vol ...: the volumes (image files) of a pool, virsh style.
import type { CommandModule } from 'yargs';
import { formatSize } from '../config/size.js';
import { IMAGE_FORMATS, PREALLOCATIONS, adoptVolume, cloneVolume, createVolume, deleteVolume, listVolumes, volumeInfo, type VolumeInfo } from '../storage/index.js';
import { action } from './action.js';
import { keyValues, print, printJson, progressBar, table } from './output.js';

const size = (n?: number) => (n === undefined ? undefined : formatSize(n));

const create = (c: string): CommandModule<any, any> => ({
  command: c,
  describe: 'create a volume in a pool',
  builder: (y) => y.positional('pool', { type: 'string' }).positional('name', { type: 'string' }).positional('size', { type: 'string', describe: 'capacity, like 10G (optional with --backing)' })
    .option('format', { choices: IMAGE_FORMATS, default: 'qcow2' })
    .option('backing', { alias: 'backing-vol', type: 'string', describe: 'backing volume: NAME in the same pool, POOL/NAME or a path' })
    .option('backing-format', { alias: 'backing-vol-format', choices: IMAGE_FORMATS })
    .option('preallocation', { choices: PREALLOCATIONS }),
  handler: action(async (a: any) => {
    const v = await createVolume(a.pool, a.name, { size: a.size, format: a.format, backing: a.backing, backingFormat: a.backingFormat, preallocation: a.preallocation });
    print(`volume ${a.pool}/${v.name} created: ${v.path}`);
  }),
});

const list = (c: string): CommandModule<any, any> => ({
  command: c,
  describe: 'list the volumes of a pool',
  builder: (y) => y.positional('pool', { type: 'string' }).option('json', { type: 'boolean', default: false }),
  handler: action(async (a: any) => {
    const vols = await listVolumes(a.pool);
    if (a.json) return printJson(vols);
    print(table<VolumeInfo>(vols, [
      { header: 'Name', get: (v) => v.name },
      { header: 'Format', get: (v) => v.format },
      { header: 'Capacity', get: (v) => size(v.capacity), align: 'right' },
      { header: 'Allocation', get: (v) => size(v.allocation), align: 'right' },
      { header: 'Path', get: (v) => v.path },
    ]));
  }),
});

const info = (c: string): CommandModule<any, any> => ({
  command: c,
  describe: 'show a volume and its backing chain',
  builder: (y) => y.positional('pool', { type: 'string' }).positional('name', { type: 'string' }).option('json', { type: 'boolean', default: false }),
  handler: action(async (a: any) => {
    const v = await volumeInfo(a.pool, a.name);
    if (a.json) return printJson(v);
    print(keyValues([
      ['Name', v.name], ['Pool', v.pool], ['Path', v.path], ['Format', v.format],
      ['Capacity', size(v.capacity)], ['Allocation', size(v.allocation)],
      ['Backing', v.chain.length > 1 ? v.chain.slice(1).map((i) => i.filename).join(' <- ') : undefined],
    ]));
  }),
});

const del = (c: string): CommandModule<any, any> => ({
  command: c,
  describe: 'delete a volume qkvm created (refused while a guest, an overlay or a process uses it)',
  builder: (y) => y.positional('pool', { type: 'string' }).positional('name', { type: 'string' }),
  handler: action(async (a: any) => print(`deleted ${await deleteVolume(a.pool, a.name)}`)),
});

const adopt = (c: string): CommandModule<any, any> => ({
  command: c,
  describe: 'record a volume made outside qkvm as qkvm\'s, so vol delete (or undefine --remove-storage of --guest) may remove it',
  builder: (y) => y.positional('pool', { type: 'string' }).positional('name', { type: 'string' })
    .option('guest', { type: 'string', describe: 'the guest whose own disk it is' }),
  handler: action(async (a: any) => {
    const r = await adoptVolume(a.pool, a.name, a.guest);
    print(`recorded ${r.path} as created by qkvm${r.guest ? ` for guest "${r.guest}"` : ''}`);
  }),
});

const clone = (c: string): CommandModule<any, any> => ({
  command: c,
  describe: 'copy a volume within its pool',
  builder: (y) => y.positional('pool', { type: 'string' }).positional('source', { type: 'string' }).positional('name', { type: 'string' }),
  handler: action(async (a: any) => {
    const bar = progressBar(`clone ${a.source}`);
    const v = await cloneVolume(a.pool, a.source, a.name, (f) => bar.update(f));
    bar.done(`wrote ${v.path}`);
  }),
});

export const volCommands: CommandModule<any, any>[] = [
  {
    command: 'vol <command>',
    describe: 'volumes of a storage pool: create, list, info, delete, clone, adopt',
    builder: (y) => y.command(create('create <pool> <name> [size]')).command(list('list <pool>')).command(info('info <pool> <name>'))
      .command(del('delete <pool> <name>')).command(clone('clone <pool> <source> <name>')).command(adopt('adopt <pool> <name>')).demandCommand(1, 'name a vol command'),
    handler: () => undefined,
  },
  create('vol-create-as <pool> <name> [size]'),
  list('vol-list <pool>'),
];
