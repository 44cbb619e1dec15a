// The yargs parser, built without running anything, so tests can parse argv.
import yargs, { type CommandModule } from 'yargs';
import { loadCommands } from './commands.js';
import { exitCodeFor, reportError } from './action.js';
import { markNegativeValues, unmarkArgs, unmarkText } from './args.js';
import { didYouMean, VIRSH } from './virsh.js';

/** "Unknown argument: nmae" -> "; did you mean --name?", over the command's own flags and its virsh spellings. */
function unknownFlagGuess(msg: string | undefined, argv: string[], y: unknown): string {
  const m = /^Unknown arguments?: (.+)$/.exec(msg ?? '');
  if (!m) return '';
  let keys: string[] = [];
  try { keys = Object.keys((y as { getOptions(): { key: Record<string, unknown> } }).getOptions().key); } catch { /* no options */ }
  keys.push(...Object.keys(VIRSH[argv[0]]?.flags ?? {}), ...(VIRSH[argv[0]]?.args ?? []).map((a) => (typeof a === 'string' ? a : a.name)));
  const flags = keys.filter((k) => k.length > 1 && !k.includes('$') && k !== '_');
  const guesses = m[1].split(', ').map((w) => [w, didYouMean(w, flags)]).filter(([, g]) => g);
  return guesses.length ? `; did you mean ${guesses.map(([, g]) => `--${g}`).join(', ')}?` : '';
}

export async function buildParser(argv: string[]) {
  let parser = yargs(markNegativeValues(argv))
    .scriptName('qkvm')
    .usage('qkvm: run QEMU/KVM guests directly, without libvirt\n\nUsage: qkvm <command> [options]')
    .strict()
    .demandCommand(1, 'name a command; `qkvm --help` lists them')
    .recommendCommands()
    .parserConfiguration({ 'populate--': true })
    .wrap(process.stdout.isTTY ? Math.min(120, process.stdout.columns) : null)
    .epilog('Most commands follow virsh: `qkvm list`, `qkvm start NAME`, `qkvm console NAME`. See README.md.')
    .middleware((a) => unmarkArgs(a), true)
    .fail((msg, err) => {
      // An error thrown outside a handler (a builder, a check): reported like any other.
      if (err && !msg) { reportError(err); process.exit(exitCodeFor(err)); }
      const guess = unknownFlagGuess(msg, argv, parser);
      process.stderr.write(`qkvm: error: ${unmarkText(msg ?? String(err?.message))}${guess}\n(run with --help for usage)\n`);
      process.exit(2);
    });
  for (const mod of await loadCommands(argv)) parser = parser.command(mod as CommandModule);
  return parser.help().alias('help', 'h').version((await import('../config/paths.js')).qkvmVersion());
}

