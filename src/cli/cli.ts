// The whole command line: the fast paths, then yargs with the command groups.
// `npm run build` bundles this file (and all it imports) into cli.bundle.js.
import { fastPath } from './fast.js';

export async function runCli(argv: string[]): Promise<void> {
  if (await fastPath(argv)) return;
  const { buildParser } = await import('./parser.js');
  await (await buildParser(argv)).parseAsync();
}
