// The terminal report for `qkvm explain`: each option with its status and what it
// does, the warnings, then the modern command, one option per line.
import { shellQuote } from '../format.js';
import type { Explanation } from './types.js';

/** Splits args into option groups: an option word and the words up to the next option. */
export function groupArgs(args: readonly string[]): string[][] {
  const groups: string[][] = [];
  for (const a of args) {
    if (a.startsWith('-') && a.length > 1 || !groups.length) groups.push([a]);
    else groups[groups.length - 1].push(a);
  }
  return groups;
}

/** The modern command as a pasteable shell command, one option per line. */
export function formatModernCommand(expl: Pick<Explanation, 'modern'>): string {
  const lines = [expl.modern.binary, ...groupArgs(expl.modern.args).map((g) => g.map(shellQuote).join(' '))];
  return lines.join(' \\\n    ');
}

function wrap(text: string, width: number, indent: string): string {
  const words = text.split(/\s+/).filter(Boolean);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) { lines.push(line); line = w; } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.map((l) => indent + l).join('\n');
}

/** Names in columns, as QEMU's own lists are long. */
function columns(items: readonly string[], width: number): string[] {
  if (!items.length) return [];
  const w = Math.min(width - 2, Math.max(...items.map((i) => i.length)) + 2);
  const per = Math.max(1, Math.floor((width - 2) / w));
  const lines: string[] = [];
  for (let i = 0; i < items.length; i += per) lines.push('  ' + items.slice(i, i + per).map((x) => x.padEnd(w)).join('').trimEnd());
  return lines;
}

export function formatExplanation(expl: Explanation, opts: { width?: number } = {}): string {
  const width = opts.width ?? 78;
  const out: string[] = [];
  out.push(`${expl.binary ?? 'The command line'}, option by option${expl.checkedAgainst ? ` (checked against this host's QEMU ${expl.checkedAgainst})` : ''}:`, '');
  for (const e of expl.entries) {
    const written = e.raw.map(shellQuote).join(' ');
    out.push(`  ${written}  [${e.status}]`);
    out.push(wrap(e.explain, width - 6, '      '));
    if (e.note) out.push(wrap(e.note, width - 6, '      '));
    const same = e.modern && e.modern.length === e.raw.length && e.modern.every((w, i) => w === e.raw[i]);
    if (e.modern && !same && e.status !== 'help') {
      out.push(e.modern.length ? `      now: ${e.modern.map(shellQuote).join(' ')}` : '      now: (dropped)');
    }
  }
  for (const h of expl.help ?? []) {
    out.push('', `${h.query}: this QEMU's list${h.items.length ? ` (${h.items.length})` : ''}:`);
    out.push(...columns(h.items, width));
  }
  if (expl.warnings.length) {
    out.push('', 'Warnings:');
    for (const w of expl.warnings) out.push(wrap(w, width - 4, '    ').replace(/^ {4}/, '  - '));
  }
  const errors = expl.entries.filter((e) => e.status === 'error');
  if (errors.length) out.push('', `QEMU refuses this line: ${errors.length} option(s) marked [error] above. The modern command below leaves them out.`);
  if (expl.help?.length && expl.entries.every((e) => e.status === 'help')) return out.join('\n') + '\n';
  out.push('', 'The same guest with QEMU 7.2:', '', `  ${formatModernCommand(expl)}`);
  return out.join('\n') + '\n';
}
