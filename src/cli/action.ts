import { QkvmError } from '../errors.js';

/** Exit codes: 0 ok, 1 the command failed, 2 bad input or usage. */
export function exitCodeFor(e: unknown): number {
  if (e instanceof QkvmError && e.code === 'INVALID') return 2;
  return 1;
}

export function reportError(e: unknown): void {
  if (e instanceof QkvmError) {
    process.stderr.write(`qkvm: error: ${e.message}\n`);
    if (e.hint) process.stderr.write(`hint: ${e.hint}\n`);
  } else if (e instanceof Error && (e as any).code && typeof (e as any).code === 'string' && e.name.startsWith('Qmp')) {
    process.stderr.write(`qkvm: QMP error: ${e.message}\n`);
  } else {
    process.stderr.write(`qkvm: unexpected error: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  }
}

/** Wraps a command handler: typed errors become a message and a non-zero exit. */
export function action<A>(fn: (argv: A) => Promise<void> | void): (argv: A) => Promise<void> {
  return async (argv: A) => {
    try {
      await fn(argv);
    } catch (e) {
      reportError(e);
      process.exitCode = exitCodeFor(e);
    }
  };
}
