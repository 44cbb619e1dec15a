// The whole command line: the fast paths, then yargs with the command groups.
// `npm run build` bundles this file (and all it imports) into cli.bundle.js.
import { fastPath } from './fast.js';

export async function runCli(argv: string[]): Promise<void> {
  // qemu-img's grammar is getopt's (-o lists, -b "", a trailing -1G): read by its own parser, not yargs.
  if (argv[0] === 'qemu-img') return (await import('./qemu-img.js')).runQemuImgCli({ args: argv.slice(1) });
  // A pasted qemu-kvm line: QEMU's options verbatim, not yargs'.
  if (argv[0] === 'qemu-kvm' || argv[0] === 'qemu-system-x86_64') return (await import('./qemu-kvm.js')).qemuKvmMain(argv[0], argv.slice(1));
  if (await fastPath(argv)) return;
  // virt-install's grammar is its own (short options, optional values, option lists): read by its own parser.
  if (argv[0] === 'virt-install') return (await import('./virt-install.js')).virtInstallCommand(argv.slice(1));
  const { buildParser } = await import('./parser.js');
  await (await buildParser(argv)).parseAsync();
}
