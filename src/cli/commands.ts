// Every command group registers here, loaded lazily: a command imports only its
// own group (and its API), so that `qkvm start` does not pay for every feature.
// `npm run build` writes command-index.json (command name -> group) from these.
import { readFileSync } from 'node:fs';
import type { CommandModule } from 'yargs';

type Commands = CommandModule<any, any>[];

export const commandGroups: Record<string, () => Promise<Commands>> = {
  'vm': async () => (await import('./vm.js')).vmCommands,
  'define': async () => (await import('./define.js')).defineCommands,
  'host': async () => (await import('./host.js')).hostCommands,
  'disk': async () => (await import('./disk.js')).diskCommands,
  'pool': async () => (await import('./pool.js')).poolCommands,
  'vol': async () => (await import('./vol.js')).volCommands,
  'snapshot': async () => (await import('./snapshot.js')).snapshotCommands,
  'clone': async () => (await import('./clone.js')).cloneCommands,
  'attach-disk': async () => (await import('./attach-disk.js')).attachDiskCommands,
  'net': async () => (await import('./net.js')).netCommands,
  'memory': async () => (await import('./memory.js')).memoryCommands,
  'vcpu': async () => (await import('./vcpu.js')).vcpuCommands,
  'migrate': async () => (await import('./migrate.js')).migrateCommands,
  'virt-install': async () => (await import('./virt-install.js')).virtInstallCommands,
  'virsh': async () => (await import('./virsh-commands.js')).virshCommands,
  'remote': async () => (await import('./remote.js')).remoteCommands,
  'web': async () => (await import('./web.js')).webCommands,
  'lab': async () => (await import('./lab.js')).labCommands,
  'agent': async () => (await import('./agent.js')).agentCommands,
  'image': async () => (await import('./image.js')).imageCommands,
  'interop': async () => (await import('./interop.js')).interopCommands,
};

/** The name of every command and alias, as yargs sees it ('start <name>' -> 'start'). */
export function commandNames(c: CommandModule<any, any>): string[] {
  const first = (s: unknown) => String(s).split(/\s+/)[0];
  const cmds = Array.isArray(c.command) ? c.command : [c.command];
  const aliases = c.aliases === undefined ? [] : Array.isArray(c.aliases) ? c.aliases : [c.aliases];
  return [...cmds, ...aliases].map(first);
}

export function readIndex(): Record<string, string> | undefined {
  try {
    return JSON.parse(readFileSync(new URL('./command-index.json', import.meta.url), 'utf8'));
  } catch { return undefined; }
}

/** The command modules to register for this argv: just the first word's group when it is known. */
export async function loadCommands(argv: string[]): Promise<Commands> {
  const group = argv[0] && !argv[0].startsWith('-') ? readIndex()?.[argv[0]] : undefined;
  const keys = group && commandGroups[group] ? [group] : Object.keys(commandGroups);
  return (await Promise.all(keys.map((k) => commandGroups[k]()))).flat();
}
