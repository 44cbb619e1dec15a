// `qkvm --connect URI|NAME COMMAND...` (or QKVM_CONNECT): the command runs on that
// host's qkvm over ssh. The console gets a terminal there when this one is one.
import { qkvmVersion } from '../config/paths.js';
import { invalid } from '../errors.js';
import { freePort } from '../migrate/live.js';
import { formatTarget, type SshTarget } from './target.js';
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
  if (argv[0] === 'web' && !argv.includes('--allow-remote')) return tunnelWeb(target, argv);
  const tty = !!(process.stdin.isTTY && process.stdout.isTTY);
  return runRemote(target, argv, { tty });
}

/**
 * `--connect HOST web`: the far console listens on the far loopback, and ssh
 * forwards the same port here (the page checks that its origin is the one it
 * serves, so both sides use one port number). A terminal there (-tt) makes the
 * far `qkvm web` end with this ssh.
 */
async function tunnelWeb(target: SshTarget, argv: string[]): Promise<number> {
  const i = argv.findIndex((a) => a === '--listen' || a.startsWith('--listen='));
  const given = i < 0 ? '127.0.0.1:8080' : argv[i].includes('=') ? argv[i].slice(argv[i].indexOf('=') + 1) : argv[i + 1] ?? '';
  const m = /^(127\.0\.0\.1|localhost):(\d{1,5})$/.exec(given);
  if (!m) throw invalid(`--connect web: --listen ${given}: through ssh the console listens on loopback at both ends`, 'give --listen 127.0.0.1:PORT (or 127.0.0.1:0), or --allow-remote to serve on the far host\'s network instead');
  const port = Number(m[2]) === 0 ? await freePort() : Number(m[2]);
  const rest = i < 0 ? argv.slice(1) : argv.slice(1).filter((_a, j) => j !== i - 1 && !(j === i && !argv[i].includes('=')));
  const far = ['web', ...rest, '--listen', `127.0.0.1:${port}`];
  return runRemote(target, far, { tty: true, forceTty: true, forward: [port, port] });
}
