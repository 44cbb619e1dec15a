// Every command group registers here: one import and one spread per module.
import type { CommandModule } from 'yargs';
import { netCommands } from './net.js';

export const commandModules: CommandModule<any, any>[] = [
  ...netCommands,
];
