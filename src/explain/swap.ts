// The tutorial tools qkvm takes by name (docs/tutorials.md): the qkvm line is
// the same line with the tool's name swapped, when qkvm has that command.
import type { ToolContext } from './types.js';

/** Edit distance, for "did you mean" on a misspelt verb. */
export function distance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

/** The closest qkvm command to a misspelt one (at most 2 edits), if any. */
export function closestCommand(word: string, ctx: ToolContext): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of ctx.commands.keys()) {
    const d = distance(word, c);
    if (d < bestD) { best = c; bestD = d; }
  }
  return best;
}

export const hasCommand = (ctx: ToolContext, verb: string) => ctx.commands.has(verb);
