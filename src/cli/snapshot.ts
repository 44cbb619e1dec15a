// qkvm snapshot ...: guest snapshots (live with RAM state, or disk-only when shut off).
import type { CommandModule } from 'yargs';
import { formatSize } from '../config/size.js';
import { createSnapshot, deleteSnapshot, listSnapshots, revertSnapshot } from '../storage/index.js';
import { action } from './action.js';
import { QkvmError } from '../errors.js';
import { print, printJson, progressBar, table } from './output.js';

const create = (c: string): CommandModule<any, any> => ({
  command: c,
  describe: 'take a snapshot (live: disks + RAM through QMP snapshot-save; shut off: disks only)',
  builder: (y) => y.positional('name', { type: 'string', describe: 'guest' }).positional('snap', { type: 'string', describe: 'snapshot name (default: snap-DATE-TIME)' })
    .option('description', { type: 'string' }),
  handler: action(async (a: any) => {
    const bar = progressBar('snapshot');
    const s = await createSnapshot(a.name, a.snap, { description: a.description, onProgress: (f) => bar.update(f) });
    bar.done(`snapshot ${s.name} of ${a.name} created (${s.live ? 'with RAM state' : 'disk-only'}${s.fsfreeze ? `; guest agent froze ${s.fsfreeze.frozen} filesystem(s) around it, thawed ${s.fsfreeze.thawed}` : ''})`);
    print(s.name);
  }),
});

const list = (c: string): CommandModule<any, any> => ({
  command: c,
  describe: 'list a guest\'s snapshots',
  builder: (y) => y.positional('name', { type: 'string' }).option('json', { type: 'boolean', default: false }),
  handler: action(async (a: any) => {
    const snaps = await listSnapshots(a.name);
    if (a.json) return printJson(snaps);
    print(table(snaps, [
      { header: '', get: (s) => (s.current ? '*' : ' ') },
      { header: 'Name', get: (s) => s.name },
      { header: 'Created', get: (s) => s.created?.replace('T', ' ').slice(0, 19) },
      { header: 'VM state', get: (s) => (s.vmState ? 'yes' : 'no') },
      { header: 'Size', get: (s) => (s.vmStateSize ? formatSize(s.vmStateSize) : '-'), align: 'right' },
      { header: 'Parent', get: (s) => s.parent },
      { header: 'Description', get: (s) => s.description },
    ]));
  }),
});

const revert = (c: string): CommandModule<any, any> => ({
  command: c,
  describe: 'go back to a snapshot (live needs one with RAM state)',
  builder: (y) => y.positional('name', { type: 'string' }).positional('snap', { type: 'string' })
    .option('current', { type: 'boolean', default: false, describe: 'revert to the current snapshot' })
    .check((a) => {
      if (!a.snap && !a.current) throw new Error('name a snapshot, or give --current');
      if (a.snap && a.current) throw new Error('give a snapshot name or --current, not both');
      return true;
    }),
  handler: action(async (a: any) => {
    const bar = progressBar('revert');
    const r = await revertSnapshot(a.name, a.current ? undefined : a.snap, { onProgress: (f) => bar.update(f) });
    bar.done(`${a.name} reverted to ${r.name}${r.live ? ' (RAM state loaded)' : ' (disks only)'}${r.thawed !== undefined ? `; guest agent thawed ${r.thawed} filesystem(s) frozen in the snapshot` : ''}`);
  }),
});

const del = (c: string): CommandModule<any, any> => ({
  command: c,
  describe: 'delete a snapshot from every disk',
  builder: (y) => y.positional('name', { type: 'string' }).positional('snap', { type: 'string' })
    .option('current', { type: 'boolean', default: false, describe: 'delete the current snapshot (virsh --current)' })
    .check((a) => {
      if (!a.snap && !a.current) throw new Error('name a snapshot, or give --current');
      if (a.snap && a.current) throw new Error('give a snapshot name or --current, not both');
      return true;
    }),
  handler: action(async (a: any) => {
    const snap = a.current ? await currentSnapshot(a.name) : a.snap;
    await deleteSnapshot(a.name, snap);
    print(`snapshot ${snap} of ${a.name} deleted`);
  }),
});

/** The guest's current snapshot (the one the guest was last taken at or reverted to). */
export async function currentSnapshot(guest: string): Promise<string> {
  const cur = (await listSnapshots(guest)).find((s) => s.current);
  if (!cur) throw new QkvmError('NOT_FOUND', `guest "${guest}" has no current snapshot`, { hint: `see \`qkvm snapshot-list ${guest}\`` });
  return cur.name;
}

export const snapshotCommands: CommandModule<any, any>[] = [
  {
    command: 'snapshot <command>',
    describe: 'guest snapshots: create, list, revert, delete',
    builder: (y) => y.command(create('create <name> [snap]')).command(list('list <name>'))
      .command(revert('revert <name> [snap]')).command(del('delete <name> [snap]')).demandCommand(1, 'name a snapshot command'),
    handler: () => undefined,
  },
  create('snapshot-create-as <name> [snap]'),
  list('snapshot-list <name>'),
  revert('snapshot-revert <name> [snap]'),
  del('snapshot-delete <name> [snap]'),
];
