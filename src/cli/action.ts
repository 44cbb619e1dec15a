import { QkvmError } from '../errors.js';
import { checkNameArgs } from './args.js';

/** Exit codes: 0 ok, 1 the command failed, 2 bad input or usage. */
export function exitCodeFor(e: unknown): number {
  if (e instanceof QkvmError && e.code === 'INVALID') return 2;
  return 1;
}

/** What a system error means and what to do about it, by its errno code. */
const SYSTEM_ERRORS: Record<string, [string, string]> = {
  ENOSPC: ['no space left on the device', 'free some space on that file system, then run the command again'],
  EDQUOT: ['disk quota exceeded', 'free some space or raise the quota, then run the command again'],
  EROFS: ['the file system is read-only', 'remount it read-write, or point QKVM_HOME / QKVM_RUN at a writable directory'],
  EACCES: ['permission denied', 'run qkvm as root, or check the owner and mode of that path'],
  EPERM: ['operation not permitted', 'run qkvm as root, or check the owner and mode of that path'],
  ENOENT: ['no such file or directory', 'check the path'],
  EEXIST: ['already exists', 'qkvm does not replace it: move it away or pick another name'],
  ELOOP: ['is a symbolic link (or a loop of them), which qkvm does not follow', 'replace the link with the real file or directory'],
  ENOTDIR: ['a part of the path is not a directory', 'check the path'],
  EISDIR: ['is a directory', 'give a file'],
  EMFILE: ['too many open files', 'raise the open file limit (ulimit -n)'],
};

/** A Node system error (has an errno code such as ENOSPC), as one line that names the path. */
export function describeSystemError(e: unknown): { message: string; hint: string } | undefined {
  const err = e as NodeJS.ErrnoException & { dest?: string };
  if (!(e instanceof Error) || typeof err.code !== 'string' || !SYSTEM_ERRORS[err.code]) return undefined;
  const [what, hint] = SYSTEM_ERRORS[err.code];
  const where = err.path ? `${err.path}${err.dest ? ` -> ${err.dest}` : ''}: ` : '';
  const op = err.syscall ? ` (${err.syscall}, ${err.code})` : ` (${err.code})`;
  return { message: `${where}${what}${op}`, hint };
}

const debug = () => process.env.QKVM_DEBUG === '1';

export function reportError(e: unknown): void {
  const sys = describeSystemError(e);
  if (e instanceof QkvmError) {
    process.stderr.write(`qkvm: error: ${e.message}\n`);
    if (e.hint) process.stderr.write(`hint: ${e.hint}\n`);
  } else if (sys) {
    process.stderr.write(`qkvm: error: ${sys.message}\nhint: ${sys.hint}\n`);
  } else if (e instanceof Error && typeof (e as any).code === 'string' && e.name.startsWith('Qmp')) {
    process.stderr.write(`qkvm: QMP error: ${e.message}\n`);
  } else {
    // A bug: one line, not a trace (QKVM_DEBUG=1 shows the stack).
    const msg = e instanceof Error ? e.message.split('\n')[0] : String(e);
    process.stderr.write(`qkvm: unexpected error: ${msg}\nhint: this is a bug in qkvm; please report it with the command you ran (QKVM_DEBUG=1 shows where it happened)\n`);
  }
  if (debug() && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
}

/** Wraps a command handler: names are checked first; typed errors become a message and a non-zero exit. */
export function action<A>(fn: (argv: A) => Promise<void> | void): (argv: A) => Promise<void> {
  return async (argv: A) => {
    try {
      await checkNameArgs(argv as Record<string, unknown>);
      await fn(argv);
    } catch (e) {
      reportError(e);
      process.exitCode = exitCodeFor(e);
    }
  };
}
