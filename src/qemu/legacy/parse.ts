// Groups QEMU's argv into options and their arguments, using the table to know
// which options take one.
import { takesArgument } from './options.js';
import type { RawOption } from './types.js';

export function parseOptions(args: readonly string[]): RawOption[] {
  const out: RawOption[] = [];
  for (let i = 0; i < args.length; i++) {
    const word = args[i];
    const index = out.length;
    if (!word.startsWith('-') || word === '-') {
      // A bare word: QEMU takes it as the first hard disk image.
      out.push({ option: 'FILE', value: word, raw: [word], positional: true, index });
      continue;
    }
    // QEMU accepts --opt for -opt.
    const option = word.startsWith('--') && word.length > 2 ? word.slice(1) : word;
    const next = args[i + 1];
    let takes = takesArgument(option);
    // An option the table does not know takes the next word unless it is an option.
    if (takes === undefined) takes = next !== undefined && !next.startsWith('-');
    if (!takes) {
      out.push({ option, raw: [word], index });
    } else if (next === undefined) {
      out.push({ option, raw: [word], missingArg: true, index });
    } else {
      out.push({ option, value: next, raw: [word, next], index });
      i++;
    }
  }
  return out;
}
