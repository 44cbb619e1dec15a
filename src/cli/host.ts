// Host commands: doctor, the demo, and the host features tutorials teach
// (huge pages, KSM) as commands with checks.
import type { Argv, CommandModule } from 'yargs';
import { action } from './action.js';
import { print, printJson } from './output.js';
import { hugepagesCommand, ksmCommand } from './hostfeat.js';

export const hostCommands: CommandModule<any, any>[] = [
  {
    command: 'host <command>',
    describe: 'host features for guests: hugepages (status, reserve, mount, unmount), ksm (on, off, status)',
    builder: (y: Argv) => y.command([hugepagesCommand, ksmCommand]).demandCommand(1),
    handler: () => undefined,
  },
  {
    command: 'doctor',
    describe: 'Check the host: KVM (with a boot probe), QEMU, networking tools, hugepages, KSM',
    builder: (y) => y.option('json', { type: 'boolean', default: false }).option('probe', { type: 'boolean', default: false, describe: 'run the KVM boot probe again instead of using its cached verdict' }),
    handler: action(async (a) => {
      const { runDoctor } = await import('../host/doctor.js');
      const checks = await runDoctor({ freshProbe: a.probe });
      if (a.json) printJson(checks);
      else {
        for (const c of checks) {
          print(`[${c.verdict.padEnd(4)}] ${c.name.padEnd(11)} ${c.detail}`);
          if (c.fix) print(`${' '.repeat(19)}-> ${c.fix}`);
        }
      }
      if (checks.some((c) => c.verdict === 'fail')) process.exitCode = 1;
    }),
  },
  {
    command: 'demo',
    describe: 'Build (if needed), define, start and shut down the bundled demo guest, timing each step',
    builder: (y) => y.option('keep', { type: 'boolean', default: false, describe: 'leave the demo guest running' }),
    handler: action(async (a) => {
      const { runDemo } = await import('./demo.js');
      await runDemo({ keep: a.keep });
    }),
  },
];
