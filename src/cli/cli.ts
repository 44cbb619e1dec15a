// The whole command line: the fast paths, then yargs with the command groups.
// `npm run build` bundles this file (and all it imports) into cli.bundle.js.
import { fastPath } from './fast.js';

export async function runCli(argv: string[]): Promise<void> {
  // qemu-img's grammar is getopt's (-o lists, -b "", a trailing -1G): read by its own parser, not yargs.
  if (argv[0] === 'qemu-img') return (await import('./qemu-img.js')).runQemuImgCli({ args: argv.slice(1) });
  // A pasted qemu-kvm line: QEMU's options verbatim, not yargs'.
  if (argv[0] === 'qemu-kvm' || argv[0] === 'qemu-system-x86_64') return (await import('./qemu-kvm.js')).qemuKvmMain(argv[0], argv.slice(1));
  // virt-install's grammar is its own (short options, optional values, option lists): read by its own parser.
  if (argv[0] === 'virt-install') return (await import('./virt-install.js')).virtInstallCommand(argv.slice(1));
  try {
    argv = await virshSpelling(argv);
  } catch (e) {
    // Reported here: main.ts's own copy of the error class is not the bundle's.
    const { reportError, exitCodeFor } = await import('./action.js');
    reportError(e);
    process.exitCode = exitCodeFor(e);
    return;
  }
  if (await fastPath(argv)) return;
  const { buildParser } = await import('./parser.js');
  await (await buildParser(argv)).parseAsync();
}

/** virsh's spellings rewritten (virsh.ts), its notes said; an unknown command gets a "did you mean". */
async function virshSpelling(argv: string[]): Promise<string[]> {
  const { rewriteVirsh, VirshRefusal, didYouMean, knownCommands } = await import('./virsh.js');
  const { invalid } = await import('../errors.js');
  const { readIndex } = await import('./commands.js');
  let r;
  try {
    r = rewriteVirsh(argv);
  } catch (e) {
    if (e instanceof VirshRefusal) throw invalid(e.message, e.hint);
    throw e;
  }
  const word = r.argv[0];
  const index = readIndex();
  if (word && !word.startsWith('-') && index) {
    const known = knownCommands(index);
    if (!known.has(word)) {
      const guess = didYouMean(word, known);
      throw invalid(`unknown command ${word}${guess ? `; did you mean ${guess}?` : ''}`, guess ? `qkvm ${guess} --help` : 'qkvm --help lists the commands');
    }
  }
  for (const n of r.notes) process.stderr.write(`${n}\n`);
  return r.argv;
}
