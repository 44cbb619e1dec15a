// `qkvm list` and `qkvm start` run often, in scripts and loops, and yargs plus
// every command group costs more than the listing itself. Their plain forms are
// parsed here; anything else (--help, a typo, an unknown flag) goes to yargs,
// which defines them in full (src/cli/vm.ts) and reports errors.
import { action } from './action.js';

interface FastCommand {
  positionals: number;
  flags: string[];
  options: string[];
  run: (a: Record<string, unknown>) => Promise<void>;
}

const FAST: Record<string, FastCommand> = {
  list: { positionals: 0, flags: ['all', 'json', 'inactive'], options: [], run: async (a) => (await import('./list.js')).listCommand(a) },
  start: { positionals: 1, flags: ['paused', 'console', 'force'], options: ['incoming'], run: async (a) => (await import('./vm.js')).startCommand(a as any) },
};

/** Parses argv for a fast command; undefined when yargs must handle it. */
export function parseFast(argv: string[]): { cmd: FastCommand; args: Record<string, unknown> } | undefined {
  const cmd = FAST[argv[0]];
  if (!cmd) return undefined;
  const args: Record<string, unknown> = {};
  const positionals: string[] = [];
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith('-')) { positionals.push(a); continue; }
    const [flag, inline] = a.slice(2).split(/=(.*)/s, 2);
    if (!a.startsWith('--')) return undefined;
    if (cmd.flags.includes(flag) && inline === undefined) { args[flag] = true; continue; }
    if (cmd.options.includes(flag)) {
      const v = inline ?? argv[++i];
      if (v === undefined || v.startsWith('-')) return undefined;
      args[flag] = v;
      continue;
    }
    return undefined;
  }
  if (positionals.length !== cmd.positionals) return undefined;
  if (cmd.positionals) args.name = positionals[0];
  return { cmd, args };
}

export async function fastPath(argv: string[]): Promise<boolean> {
  const p = parseFast(argv);
  if (!p) return false;
  await action(p.cmd.run)(p.args);
  return true;
}
