// The tutorial tools qkvm takes by name (docs/tutorials.md): the qkvm line is
// the same line with the tool's name swapped, when qkvm has that command.
import { editDistance } from '../typed.js';
import type { ToolContext } from './types.js';


/** The closest qkvm command to a misspelt one (at most 2 edits), if any. */
export function closestCommand(word: string, ctx: ToolContext): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const c of ctx.commands.keys()) {
    const d = editDistance(word, c);
    if (d < bestD) { best = c; bestD = d; }
  }
  return best;
}

export const hasCommand = (ctx: ToolContext, verb: string) => ctx.commands.has(verb);
