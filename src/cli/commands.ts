// Every command group registers here: one import and one spread per module.
import type { CommandModule } from 'yargs';
import { vmCommands } from './vm.js';
import { defineCommands } from './define.js';
import { hostCommands } from './host.js';
import { diskCommands } from './disk.js';
import { poolCommands } from './pool.js';
import { volCommands } from './vol.js';
import { snapshotCommands } from './snapshot.js';
import { cloneCommands } from './clone.js';
import { attachDiskCommands } from './attach-disk.js';
import { netCommands } from './net.js';

export const commandModules: CommandModule<any, any>[] = [
  ...vmCommands,
  ...defineCommands,
  ...hostCommands,
  ...diskCommands,
  ...poolCommands,
  ...volCommands,
  ...snapshotCommands,
  ...cloneCommands,
  ...attachDiskCommands,
  ...netCommands,
];
