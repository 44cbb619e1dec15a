// The qkvm command line: thin commands over the API in src/api.ts.
import { fastPath } from './fast.js';

const argv = process.argv.slice(2);
if (!(await fastPath(argv))) {
  const { buildParser } = await import('./parser.js');
  await (await buildParser(argv)).parseAsync();
}
