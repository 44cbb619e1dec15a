// The text `qkvm explain` prints for a non-QEMU command.
import type { ToolExplanation } from './types.js';
import { shellLine } from './words.js';

const TAG = { equivalent: 'qkvm equivalent', none: 'no qkvm equivalent', unknown: 'unknown' } as const;

function wrap(text: string, indent: string, width = 78): string {
  const out: string[] = [];
  let line = '';
  for (const w of text.split(/\s+/)) {
    if (line && indent.length + line.length + 1 + w.length > width) { out.push(indent + line); line = w; } else line = line ? `${line} ${w}` : w;
  }
  if (line) out.push(indent + line);
  return out.join('\n');
}

export function formatToolExplanation(e: ToolExplanation & { words: string[] }): string {
  const lines = [`${shellLine(e.words)}  [${TAG[e.verdict]}]`];
  if (e.verdict === 'unknown') {
    lines.push(wrap(e.says, '    '));
    if (e.why) lines.push(wrap(e.why, '    '));
    return lines.join('\n') + '\n';
  }
  lines.push(wrap(`${e.tool}: ${e.says}.`, '    '));
  for (const p of e.parts) if (p.says !== e.says) lines.push(`    ${p.words}`, wrap(p.says, '        '));
  if (e.qkvm) lines.push(`  qkvm: ${e.qkvm}`);
  if (e.why) lines.push(wrap(`no equivalent: ${e.why}.`, '  '));
  if (e.see?.length) lines.push(`  see: ${e.see.join('  |  ')}`);
  return lines.join('\n') + '\n';
}
