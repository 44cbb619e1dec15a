// `qkvm --connect URI|NAME COMMAND...` (or QKVM_CONNECT): the command runs on that
// host's qkvm over ssh. The console gets a terminal there when this one is one.
import { qkvmVersion } from '../config/paths.js';
import { invalid } from '../errors.js';
import { formatTarget } from './target.js';
import { remoteVersion, runRemote } from './run.js';
import { resolveTarget } from './store.js';


/** Commands that only make sense on this host, whatever --connect says. */
const LOCAL_ONLY = new Set(['remote']);

export async function connectMain(ref: string, argv: string[], o: { explicit: boolean }): Promise<number> {
  const target = resolveTarget(ref);
  if (!argv.length) throw invalid(`--connect ${ref}: no command to run there`, `qkvm --connect ${ref} list`);
  if (LOCAL_ONLY.has(argv[0]) && o.explicit) throw invalid(`--connect: \`${argv[0]}\` manages this host's list of remotes; run it without --connect`, `qkvm ${argv.join(' ')}`);
  if (argv[0] === 'doctor') {
    // First what only this side can tell: is the host reachable, and which qkvm answers there.
    const there = await remoteVersion(target);
    const here = qkvmVersion();
    process.stdout.write(`remote: ${formatTarget(target)} answers over ssh; its qkvm is ${there} (here: ${here})${there === here ? '' : ' - versions differ: migration and --json output may not match'}\n`);
  }
  const tty = !!(process.stdin.isTTY && process.stdout.isTTY);
  return runRemote(target, argv, { tty });
}
