// Memory commands: balloon and dommemstat.
import type { Argv, CommandModule } from 'yargs';
import { action } from './action.js';
import { keyValues, note, print, printJson } from './output.js';

const api = () => import('../api.js');
const name = (y: Argv) => y.positional('name', { type: 'string', demandOption: true, describe: 'guest name' });
const mib = (n?: number) => (n === undefined ? undefined : `${(n / 1024 ** 2).toFixed(1)} MiB`);

export const memoryCommands: CommandModule<any, any>[] = [
  {
    command: 'balloon <name> <size>',
    aliases: ['setmem'],
    describe: "Set the guest's memory balloon target (QMP balloon); waits for the guest's driver to reach it",
    builder: (y) => name(y)
      .positional('size', { type: 'string', demandOption: true, describe: 'target memory, e.g. 128M (a bare number is MiB); past the boot memory of a guest with maxMemory, a DIMM (whole 128M) is plugged' })
      .option('timeout', { type: 'number', default: 30, describe: 'seconds to wait for the guest' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' })
      .example('qkvm balloon demo 128M', 'take 64 MiB back from a 192 MiB guest')
      .example('qkvm setmem demo 448M', 'grow a 192 MiB guest with maxMemory by a 256 MiB DIMM'),
    handler: action(async (a) => {
      const r = await (await api()).setBalloon(a.name, a.size, { timeoutMs: a.timeout * 1000 });
      if (a.json) return printJson(r);
      if (r.dimm) print(`guest "${a.name}": plugged DIMM ${r.dimm.id} of ${mib(r.dimm.sizeBytes)} (pc-dimm on ${r.dimm.memdev}); RAM now ${mib(r.totalBytes)}`);
      if (r.reached) print(`guest "${a.name}": balloon at ${mib(r.actualBytes)} (target ${mib(r.targetBytes)})`);
      else {
        print(`guest "${a.name}": balloon at ${mib(r.actualBytes)}, target ${mib(r.targetBytes)} not reached yet`);
        note(r.events ? 'the guest is still adjusting; `qkvm info` shows the balloon later' : 'no BALLOON_CHANGE from the guest: does it load virtio_balloon?');
      }
    }),
  },
  {
    command: 'dommemstat <name>',
    aliases: ['memstat'],
    describe: "Memory statistics reported by the guest's balloon driver (turns polling on)",
    builder: (y) => name(y).option('json', { type: 'boolean', default: false, describe: 'print JSON' })
      .option('interval', { type: 'number', default: 2, describe: 'seconds between the guest\'s reports (stays set)' }),
    handler: action(async (a) => {
      const s = await (await api()).memoryStats(a.name, { intervalS: a.interval });
      if (a.json) return printJson(s);
      print(keyValues([
        ['actual', mib(s.actualBytes)], ['total', mib(s.totalBytes)], ['free', mib(s.freeBytes)],
        ['available', mib(s.availableBytes)], ['disk caches', mib(s.diskCachesBytes)],
        ['swap in', mib(s.swapInBytes)], ['swap out', mib(s.swapOutBytes)],
        ['major faults', s.majorFaults], ['minor faults', s.minorFaults],
        ['last update', new Date(s.lastUpdate * 1000).toISOString()],
      ]));
    }),
  },
];
