// qkvm pool ...: directory storage pools, virsh style (plus virsh's pool-* names).
import type { CommandModule } from 'yargs';
import { formatSize } from '../config/size.js';
import {
  buildPool, definePool, listPools, poolStatus, setPoolAutostart, startPool, stopPool, undefinePool, type PoolStatus,
} from '../storage/index.js';
import { action } from './action.js';
import { keyValues, print, printJson, table } from './output.js';

const size = (n?: number) => (n === undefined ? undefined : formatSize(n));

function showPool(p: PoolStatus): string {
  return keyValues([
    ['Name', p.name], ['Type', p.type], ['Target', p.target], ['State', p.state],
    ['Built', p.built ? 'yes' : 'no (run `qkvm pool build`)'], ['Autostart', p.autostart ? 'yes' : 'no'],
    ['Capacity', size(p.capacity)], ['Allocation', size(p.allocation)], ['Available', size(p.available)],
  ]);
}

const nameArg = { type: 'string' as const, describe: 'pool name' };

const define = (command: string): CommandModule<any, any> => ({
  command,
  describe: 'define a directory pool (it is not created on disk until `pool build`)',
  builder: (y) => y.positional('name', nameArg).positional('type', { type: 'string', describe: 'pool type (virsh style positional): dir' })
    .option('type', { type: 'string', default: 'dir', describe: 'only dir is supported' })
    .option('target', { type: 'string', demandOption: true, describe: 'the directory that holds the volumes' }),
  handler: action((a: any) => {
    const p = definePool({ name: a.name, type: Array.isArray(a.type) ? a.type[a.type.length - 1] : a.type, target: a.target });
    print(`pool ${p.name} defined (target ${p.target})`);
  }),
});

const simple = (command: string, describe: string, fn: (name: string, a: any) => string): CommandModule<any, any> => ({
  command, describe,
  builder: (y) => y.positional('name', nameArg),
  handler: action((a: any) => print(fn(a.name, a))),
});

const build = (c: string) => simple(c, 'create the pool\'s target directory', (n) => `pool ${n} built: ${buildPool(n).target}`);
const start = (c: string) => simple(c, 'activate the pool (its target must exist)', (n) => { startPool(n); return `pool ${n} started`; });
const stop = (c: string) => simple(c, 'deactivate the pool (its volumes stay on disk)', (n) => { stopPool(n); return `pool ${n} stopped`; });
const autostart = (c: string): CommandModule<any, any> => ({
  command: c,
  describe: 'make the pool active whenever it is first used after boot',
  builder: (y) => y.positional('name', nameArg).option('disable', { type: 'boolean', default: false }),
  handler: action((a: any) => {
    setPoolAutostart(a.name, !a.disable);
    print(`pool ${a.name} autostart ${a.disable ? 'disabled' : 'enabled'}`);
  }),
});
const list = (c: string): CommandModule<any, any> => ({
  command: c,
  describe: 'list pools (all of them, with their state)',
  builder: (y) => y.option('json', { type: 'boolean', default: false }).option('all', { type: 'boolean', default: true, describe: 'accepted for virsh compatibility: every pool is listed' }),
  handler: action((a: any) => {
    const pools = listPools();
    if (a.json) return printJson(pools);
    print(table(pools, [
      { header: 'Name', get: (p) => p.name },
      { header: 'State', get: (p) => p.state },
      { header: 'Autostart', get: (p) => (p.autostart ? 'yes' : 'no') },
      { header: 'Target', get: (p) => p.target },
    ]));
  }),
});
const info = (c: string): CommandModule<any, any> => ({
  command: c,
  describe: 'show a pool',
  builder: (y) => y.positional('name', nameArg).option('json', { type: 'boolean', default: false }),
  handler: action((a: any) => { const p = poolStatus(a.name); if (a.json) printJson(p); else print(showPool(p)); }),
});
const undefine = (c: string) => simple(c, 'forget the pool (the directory and its volumes stay)', (n) => { undefinePool(n); return `pool ${n} undefined; its directory was left as it is`; });

export const poolCommands: CommandModule<any, any>[] = [
  {
    command: 'pool <command>',
    describe: 'storage pools: define, build, start, stop, autostart, list, info, undefine',
    builder: (y) => y.command(define('define <name> [type]')).command(build('build <name>')).command(start('start <name>'))
      .command(stop('stop <name>')).command(autostart('autostart <name>')).command(list('list')).command(info('info <name>'))
      .command(undefine('undefine <name>')).demandCommand(1, 'name a pool command'),
    handler: () => undefined,
  },
  // virsh's names.
  define('pool-define-as <name> [type]'),
  build('pool-build <name>'),
  start('pool-start <name>'),
  { ...stop('pool-destroy <name>'), describe: 'deactivate the pool, as virsh pool-destroy (nothing is deleted)' },
  autostart('pool-autostart <name>'),
  list('pool-list'),
  info('pool-info <name>'),
  undefine('pool-undefine <name>'),
];
