// explain against this host's QEMU: its introspection (cached per binary) and
// the host's facts, so a verdict is what this QEMU and this host really do.
import { introspectQemu } from '../qemu/introspect.js';
import { explainCommandLine } from '../qemu/legacy/translate.js';
import { specFromCommandLine } from '../qemu/legacy/to-spec.js';
import type { VerdictContext } from '../qemu/legacy/verdict.js';
import type { Explanation } from '../qemu/legacy/types.js';
import { readHostFacts } from './line-facts.js';

export async function verdictContext(binary = 'qemu-system-x86_64', cwd = process.cwd()): Promise<VerdictContext> {
  return { qemu: await introspectQemu(binary), host: readHostFacts(cwd) };
}

/** Without a QEMU to ask (not installed), the translator's own knowledge of 7.2 speaks, and a warning says so. */
export async function explainHere(args: readonly string[]): Promise<Explanation> {
  let ctx: VerdictContext;
  try {
    ctx = await verdictContext();
  } catch (e) {
    const expl = explainCommandLine(args);
    expl.warnings.unshift(`not checked against a real QEMU (${(e as Error).message}); the verdicts are the translator's knowledge of QEMU 7.2`);
    return expl;
  }
  return explainCommandLine(args, ctx);
}

export async function specFromCommandLineHere(args: readonly string[], name?: string) {
  return specFromCommandLine(args, name, await verdictContext());
}
