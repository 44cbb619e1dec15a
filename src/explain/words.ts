// Small pure helpers the tool modules share: quoting a qkvm line so it can be
// pasted, and building the three verdicts.
import { normalizeDash } from '../typed.js';
import type { Part, ToolExplanation } from './types.js';

const SAFE = /^[\w@%+=:,./-]+$/;

/** One word as a POSIX shell reads it back: bare when safe, else in single quotes. */
export function shellQuote(word: string): string {
  if (word !== '' && SAFE.test(word)) return word;
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

export const shellLine = (words: string[]) => words.map(shellQuote).join(' ');

export function equivalent(tool: string, says: string, qkvm: string[], parts: Part[] = [], see?: string[]): ToolExplanation {
  return { verdict: 'equivalent', tool, says, parts, qkvm: shellLine(qkvm), ...(see?.length ? { see } : {}) };
}

export function none(tool: string, says: string, why: string, parts: Part[] = [], see?: string[]): ToolExplanation {
  return { verdict: 'none', tool, says, parts, why, ...(see?.length ? { see } : {}) };
}

/** "not a line qkvm knows": the words named, nothing guessed. */
export function unknown(tool: string, what: string[], why?: string): ToolExplanation {
  const words = what.join(' ');
  return { verdict: 'unknown', tool, says: `not a line qkvm knows: ${words}`, parts: [], why: why ?? `qkvm does not know what ${words} does, so it does not guess` };
}

export const part = (words: string | string[], says: string): Part => ({ words: Array.isArray(words) ? words.join(' ') : words, says });

/**
 * Splits argv into options and positionals for tools whose options are listed:
 * `takesValue` names the options that take a value (as `-o V`, `--opt V` or `--opt=V`).
 * Returns the first option not in `known` as `bad`.
 */
export function scanOptions(args: string[], known: Record<string, boolean>): { opts: [string, string | undefined][]; positionals: string[]; bad?: string } {
  const opts: [string, string | undefined][] = [];
  const positionals: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = normalizeDash(args[i]);
    if (a === '--') { positionals.push(...args.slice(i + 1)); break; }
    if (!a.startsWith('-') || a === '-') { positionals.push(args[i]); continue; }
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const name = eq > 0 ? a.slice(0, eq) : a;
    if (!(name in known)) return { opts, positionals, bad: args[i] };
    if (eq > 0) opts.push([name, a.slice(eq + 1)]);
    else if (known[name]) { opts.push([name, args[i + 1]]); i++; }
    else opts.push([name, undefined]);
  }
  return { opts, positionals };
}

/** Web pages turn "--" into an en or em dash; read it as "--" (qkvm's one rule, as its own argv does). */
export { normalizeDash };

/** A shell operator word: a pipe, a redirection, a background `&`. */
export const isOperator = (w: string) => /^(\||\|&|&|&>.*|[0-9]?[<>].*)$/.test(w);

/** Splits words at the first shell operator: the command's argv, and the rest (`> vm1.xml`, `| less`). */
export function splitAtOperator(words: string[]): [argv: string[], tail: string[]] {
  const i = words.findIndex(isOperator);
  return i < 0 ? [words, []] : [words.slice(0, i), words.slice(i)];
}

/** A tail of operators and words, quoted for pasting (operators stay bare). */
export const shellTail = (tail: string[]) => tail.map((w) => (isOperator(w) ? w : shellQuote(w))).join(' ');
