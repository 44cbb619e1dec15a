#!/usr/bin/env node
// The qkvm command line: thin commands over the API in src/api.ts.
//
// Two ways in, both for start-up time on Node 20, where loading ~150 ES modules
// costs more than most commands' own work: a plain `qkvm list` runs from a
// handful of small modules; everything else runs from one bundled file
// (cli.bundle.js, made by scripts/bundle-cli.mjs), or from the modules
// themselves when there is no bundle (a tsc-only build).
import { existsSync } from 'node:fs';
import { action, exitCodeFor, reportError } from './action.js';
import { parseFast } from './fast.js';
import { normalizeDashes } from './args.js';

// A reader that went away (`qkvm list | head -1`) is not an error: stop writing
// to it and let the command finish what it started, quietly.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    stream.write = (() => true) as typeof stream.write;
  });
}
// Whatever escapes a handler is still one line, never a stack trace.
const fatal = (e: unknown) => { reportError(e); process.exit(exitCodeFor(e)); };
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

// An en dash a web page typed for "--" (–name) is read as "--" before any parsing.
const argv = normalizeDashes(process.argv.slice(2));
// --connect URI (or QKVM_CONNECT): the whole command runs on that host's qkvm, over ssh.
// Checked cheaply first, so that a plain `qkvm list` loads nothing for it.
const remote = process.env.QKVM_CONNECT || /^(-c|--connect)(=|$)/.test(argv[0] ?? '')
  ? (await import('../remote/target.js')).takeConnect(argv) : undefined;
const explicit = remote !== undefined && remote.rest !== argv;
// `remote add|list|rm` manage this host's list: QKVM_CONNECT does not send them away.
const goRemote = remote?.connect !== undefined && !(await import('../remote/target.js')).isLocalUri(remote.connect)
  && (explicit || remote.rest[0] !== 'remote');
const fast = goRemote ? undefined : parseFast(argv);
if (goRemote) {
  const { connectMain } = await import('../remote/connect.js');
  process.exitCode = await connectMain(remote!.connect!, remote!.rest, { explicit });
} else if (fast && argv[0] === 'list') {
  await action(fast.cmd.run)(fast.args);
} else {
  const bundle = new URL('./cli.bundle.js', import.meta.url);
  const cli: typeof import('./cli.js') = await import(existsSync(bundle) ? bundle.href : './cli.js');
  await cli.runCli(argv);
}
