// qkvm attach-disk / detach-disk: hotplug on a running guest, definition edit on a shut off one.
import type { CommandModule } from 'yargs';
import { attachDisk, detachDisk, IMAGE_FORMATS, resolveCliDisk } from '../storage/index.js';
import { insidePool } from '../storage/placement.js';
import { action } from './action.js';
import { print } from './output.js';

export const attachDiskCommands: CommandModule<any, any>[] = [
  {
    command: 'attach-disk <name> <source>',
    describe: 'add a disk: hot-plugged into a running guest, written into a shut off guest\'s definition',
    builder: (y) => y.positional('name', { type: 'string', describe: 'guest' }).positional('source', { type: 'string', describe: 'image: a path, POOL/VOLUME or a default-pool volume' })
      .option('target', { type: 'string', describe: 'device name the guest sees, like vdb (default: the next free one)' })
      .option('bus', { choices: ['virtio', 'scsi'], default: 'virtio' })
      .option('format', { choices: IMAGE_FORMATS, describe: 'image format (default: probed)' })
      .option('readonly', { type: 'boolean', describe: 'attach read-only (the default for --external and --host-device; --no-readonly to write)' })
      .option('external', { type: 'boolean', default: false, describe: 'the file is outside every storage pool: attach it on purpose (qkvm never removes it)' })
      .option('host-device', { type: 'boolean', default: false, describe: 'the source is a host block device: attach it on purpose' })
      .option('persist', { alias: 'config', type: 'boolean', default: false, describe: 'also keep it in the definition for the next start' })
      .option('live', { type: 'boolean', default: true, describe: 'hot-plug into a running guest (--no-live with --persist: the definition only)' })
      .example('qkvm attach-disk vm1 ./data.qcow2 vdb --persistent', 'virsh\'s spelling: hot-plug as vdb and keep it in the definition'),
    handler: action(async (a: any) => {
      // The source is a path relative to the current directory (storage/resolve.ts), recorded absolute.
      // A file of the user's own directory outside the pools is theirs: external, writable unless --readonly.
      const src = resolveCliDisk(String(a.source), process.cwd(), { existing: true });
      const own = src.relative && !a.external && !a.hostDevice && !insidePool(src.path);
      // A pool volume keeps its pool spelling (POOL/VOLUME or NAME), as a definition writes it.
      const r = await attachDisk(a.name, src.pool ? String(a.source) : src.path, {
        target: a.target, bus: a.bus, format: a.format, hostDevice: a.hostDevice,
        external: a.external || own, readonly: a.readonly ?? (own ? false : undefined),
        persist: a.persist || !a.live, live: a.live,
      });
      print(`${r.path} attached to ${a.name} as ${r.target} (${r.format})${r.live ? ', live' : ''}${r.persisted ? (r.live ? ' and in the definition' : ' in the definition') : ''}`);
    }),
  },
  {
    command: 'detach-disk <name> <target>',
    describe: 'remove a disk: hot-unplugged from a running guest, or from a shut off guest\'s definition',
    builder: (y) => y.positional('name', { type: 'string' }).positional('target', { type: 'string', describe: 'the disk\'s target, like vdb' })
      .option('persist', { alias: 'config', type: 'boolean', default: false, describe: 'also remove it from the definition' })
      .option('live', { type: 'boolean', default: true, describe: 'unplug from a running guest (--no-live: the definition only)' }),
    handler: action(async (a: any) => {
      const r = await detachDisk(a.name, a.target, { persist: a.persist || !a.live, live: a.live });
      print(`${a.target} detached from ${a.name}${r.live ? ', live' : ''}${r.persisted ? (r.live ? ' and from the definition' : ' (definition)') : ''}; the image file is kept`);
    }),
  },
];
