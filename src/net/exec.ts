// Runs the host commands of networking (ip, nft, dnsmasq, bridge) as argv
// arrays, never through a shell, and reports each one so the user can see and
// repeat exactly what qkvm did.
import { loadExeca } from '../config/lazy.js';
import { QkvmError } from '../errors.js';

/** Called with each command just before it runs (or instead of running it, in a dry run). */
export type CommandListener = (argv: string[], stdin?: string) => void;

export interface RunOpts {
  onCommand?: CommandListener;
  /** Text for the command's stdin (nft -f -). */
  input?: string;
  /** Don't throw on a non-zero exit; the caller checks. */
  allowFail?: boolean;
}

export interface RunResult { exitCode: number; stdout: string; stderr: string }

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes one word the way a POSIX shell reads it back. */
export function shellQuote(word: string): string {
  if (word !== '' && SAFE_WORD.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/** One command as a person would type it; stdin text becomes a here-document. */
export function formatCommand(argv: string[], stdin?: string): string {
  const line = argv.map(shellQuote).join(' ');
  return stdin === undefined ? line : `${line} <<'EOF'\n${stdin.endsWith('\n') ? stdin : stdin + '\n'}EOF`;
}

export async function run(argv: string[], opts: RunOpts = {}): Promise<RunResult> {
  opts.onCommand?.(argv, opts.input);
  const [file, ...args] = argv;
  let r;
  try {
    r = await (await loadExeca()).execa(file, args, { reject: false, input: opts.input, stdin: opts.input === undefined ? 'ignore' : undefined, timeout: 30_000 });
  } catch (e) {
    throw new QkvmError('HOST', `cannot run ${file}`, { cause: e });
  }
  if ((r as any).code === 'ENOENT' || (r.failed && r.exitCode === undefined && /ENOENT/.test(String(r.message)))) {
    throw new QkvmError('HOST', `${file} is not installed`, { hint: 'run scripts/setup-host.sh (it installs iproute2, nftables and dnsmasq-base)' });
  }
  const result = { exitCode: r.exitCode ?? 1, stdout: String(r.stdout ?? ''), stderr: String(r.stderr ?? '') };
  if (result.exitCode !== 0 && !opts.allowFail) {
    const why = result.stderr.trim() || result.stdout.trim() || `exit status ${result.exitCode}`;
    throw new QkvmError('HOST', `\`${formatCommand(argv)}\` failed: ${why}`);
  }
  return result;
}

/** Runs a command for its JSON output (ip -j ...). */
export async function runJson<T>(argv: string[]): Promise<T> {
  const r = await run(argv);
  return JSON.parse(r.stdout || '[]') as T;
}
