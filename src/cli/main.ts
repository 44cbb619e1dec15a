#!/usr/bin/env node
// The qkvm command line: thin commands over the API in src/api.ts.
const argv = process.argv.slice(2);

// `qkvm list` runs often, in scripts and loops: its plain forms skip yargs and
// the other commands' modules, which cost more than the listing itself.
const LIST_FLAGS = new Set(['--all', '--json']);
if (argv[0] === 'list' && argv.slice(1).every((a) => LIST_FLAGS.has(a))) {
  const [{ listCommand }, { action }] = await Promise.all([import('./vm.js'), import('./action.js')]);
  await action(listCommand)({ all: argv.includes('--all'), json: argv.includes('--json') });
} else {
  const { buildParser } = await import('./parser.js');
  await (await buildParser(argv)).parseAsync();
}
