// Pure parts of `qkvm console NAME --exec CMD` and `--until TEXT`: what is
// typed on the guest's shell, and how its answer is found in what the console
// prints. The console echoes what is typed, so a marker is matched only where
// the echo cannot produce it: at a line start, followed by the digits the
// shell expanded from `$?` (the echo shows the literal `%d`).
import { randomBytes } from 'node:crypto';
import { invalid } from '../errors.js';

export interface ExecLine { tag: string; line: string }

/** The line typed for CMD: its output, then its status on a line of its own (a newline first, in case CMD ended without one). */
export function execLine(cmd: string, tag: string = randomBytes(4).toString('hex')): ExecLine {
  if (!cmd.trim()) throw invalid('console --exec: empty command', "qkvm console NAME --exec 'uname -r'");
  if (/[\r\n]/.test(cmd)) throw invalid(`console --exec: ${JSON.stringify(cmd)} spans lines; give one command line`, "join the commands with ';' or '&&', like --exec 'cd /tmp && ls'");
  return { tag, line: `${cmd}; printf '\\n__QKVM_RC_${tag}=%d\\n' $?\n` };
}

export interface ExecResult { output: string; status: number }

/** The command's output and status once the console has printed the marker, else undefined. */
export function parseExec(seen: string, tag: string): ExecResult | undefined {
  const text = seen.replace(/\r/g, '');
  const m = new RegExp(`(^|\\n)__QKVM_RC_${tag}=(\\d+)\\n`).exec(text);
  if (!m) return undefined;
  // m.index is the newline the printf wrote first: what comes before it is the command's own output.
  let output = text.slice(0, m.index);
  // The echo of the typed line ends with the printf's literal `$?`: the output starts after it.
  const echoEnd = `__QKVM_RC_${tag}=%d\\n' $?\n`;
  const echo = output.lastIndexOf(echoEnd);
  if (echo >= 0) output = output.slice(echo + echoEnd.length);
  return { output, status: Number(m[2]) };
}

/** Whether `text` is printed at the start of a line of `seen` (so --until '#' is not met by a '#' inside the kernel version). */
export function untilMet(seen: string, text: string, typed = ''): boolean {
  const s = seen.replace(/\r/g, '');
  let from = 0;
  for (;;) {
    const i = s.indexOf(text, from);
    if (i < 0) return false;
    const lineStart = s.lastIndexOf('\n', i - 1) + 1;
    const line = s.slice(lineStart, s.indexOf('\n', i) < 0 ? undefined : s.indexOf('\n', i));
    // At a line start, and not on the echo of what was typed (the prompt, then the typed text).
    const atStart = i === lineStart;
    const isEcho = typed !== '' && typed.split('\n').some((t) => t.trim() && line.endsWith(t.trim()));
    if (atStart && !isEcho) return true;
    from = i + 1;
  }
}
