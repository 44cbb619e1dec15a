// A tutorial script, line by line: comments and blank lines kept as they are,
// backslash continuations joined into one command, prompts left for the
// dispatcher to strip. Each entry keeps the number of its first line.
import { stripPrompt } from './index.js';

export type ScriptLine =
  | { line: number; kind: 'blank'; text: string }
  | { line: number; kind: 'comment'; text: string }
  | { line: number; kind: 'command'; text: string };

export function splitScript(text: string): ScriptLine[] {
  const raw = text.replace(/\r\n/g, '\n').split('\n');
  if (raw.at(-1) === '') raw.pop();
  const out: ScriptLine[] = [];
  for (let i = 0; i < raw.length; i++) {
    const start = i;
    let cmd = raw[i];
    if (cmd.trim() === '') { out.push({ line: start + 1, kind: 'blank', text: '' }); continue; }
    // A `#` that is not a root prompt before a known command starts a comment.
    if (/^\s*#/.test(cmd) && stripPrompt(cmd) === cmd) { out.push({ line: start + 1, kind: 'comment', text: cmd }); continue; }
    while (/(^|[^\\])(\\\\)*\\\s*$/.test(cmd) && i + 1 < raw.length) {
      cmd = cmd.replace(/\s*\\\s*$/, '') + ' ' + raw[++i].trimStart();
    }
    out.push({ line: start + 1, kind: 'command', text: cmd.trim() });
  }
  return out;
}
