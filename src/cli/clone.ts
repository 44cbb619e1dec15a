// qkvm clone SRC NEW [--linked]
import type { CommandModule } from 'yargs';
import { cloneGuest } from '../storage/index.js';
import { action } from './action.js';
import { print, progressBar } from './output.js';

export const cloneCommands: CommandModule<any, any>[] = [{
  command: 'clone <source> <name>',
  describe: 'copy a guest: full copies of its disks, or --linked qcow2 overlays on them',
  builder: (y) => y.positional('source', { type: 'string' }).positional('name', { type: 'string', describe: 'the new guest' })
    .option('linked', { type: 'boolean', default: false, describe: 'overlays on the source disks: fast and small, but the source must stay shut off' }),
  handler: action(async (a: any) => {
    const bars = new Map<string, ReturnType<typeof progressBar>>();
    const r = await cloneGuest(a.source, a.name, {
      linked: a.linked,
      onProgress: (disk, f) => {
        if (!bars.has(disk)) bars.set(disk, progressBar(`copy ${disk}`));
        bars.get(disk)!.update(f);
      },
    });
    for (const b of bars.values()) b.done();
    for (const d of r.disks) print(d.shared ? `shared ${d.from}` : `${r.linked ? 'overlay' : 'copy'} ${d.to}${r.linked ? ` (on ${d.from})` : ''}`);
    print(`guest ${r.name} defined as a ${r.linked ? 'linked' : 'full'} clone of ${r.source}; it gets new MAC addresses`);
    if (r.linked) print(`${r.source} now refuses to start while ${r.name} exists (its disks are ${r.name}'s base), unless --force`);
  }),
}];
