// The yargs parser, built without running anything, so tests can parse argv.
import yargs, { type CommandModule } from 'yargs';
import { loadCommands } from './commands.js';

export async function buildParser(argv: string[]) {
  let parser = yargs(argv)
    .scriptName('qkvm')
    .usage('qkvm: run QEMU/KVM guests directly, without libvirt\n\nUsage: qkvm <command> [options]')
    .strict()
    .demandCommand(1, 'name a command; `qkvm --help` lists them')
    .recommendCommands()
    .parserConfiguration({ 'populate--': true })
    .wrap(process.stdout.isTTY ? Math.min(120, process.stdout.columns) : null)
    .epilog('Most commands follow virsh: `qkvm list`, `qkvm start NAME`, `qkvm console NAME`. See README.md.')
    .fail((msg, err, y) => {
      if (err) throw err;
      process.stderr.write(`qkvm: error: ${msg}\n(run with --help for usage)\n`);
      process.exit(2);
    });
  for (const mod of await loadCommands(argv)) parser = parser.command(mod as CommandModule);
  return parser.help().alias('help', 'h').version();
}

