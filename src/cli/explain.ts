// `qkvm explain` for the lines of other tools (virsh, brctl, ip...) and for a
// whole script (-f FILE). QEMU lines still go to the QEMU explainer
// (src/qemu/legacy); this only reads, it never runs a word of the line.
import { readFileSync } from 'node:fs';
import type { Argv, CommandModule } from 'yargs';
import { invalid } from '../errors.js';
import { action } from './action.js';
import { note, printJson } from './output.js';
import { commandGroups, commandNames } from './commands.js';

const legacy = () => import('../qemu/legacy/index.js');
const explainer = () => import('../explain/index.js');

/** qkvm's own command list, from its yargs commands, so explain's "qkvm VERB" hints cannot drift. */
export async function toolContext(): Promise<import('../explain/index.js').ToolContext> {
  const commands = new Map<string, string>();
  for (const group of Object.values(commandGroups)) {
    for (const c of await group()) for (const n of commandNames(c)) commands.set(n, String(c.describe ?? ''));
  }
  for (const n of Object.keys(OWN_PARSERS)) if (!commands.has(n)) commands.set(n, n);
  return { commands };
}

type Command = import('../explain/index.js').CommandExplanation;

class Accepted extends Error {}

/**
 * Commands that runCli (cli.ts) hands to their own parser before yargs sees
 * them: name -> a parse-only check that throws what the parser refuses. Each
 * entry must call the same pure parser the command runs, so the check and the
 * command cannot disagree.
 */
export const OWN_PARSERS: Record<string, (argv: string[]) => Promise<void>> = {
  'qemu-img': async (a) => { (await import('../storage/qemu-img-args.js')).parseQemuImg(a); },
  'virt-install': async (a) => { (await import('../tutorial/virt-install.js')).parseVirtInstall(a, { cwd: process.cwd() }); },
};

/**
 * What runCli (cli.ts) does to argv before any parser sees it (virsh's
 * spellings, an en dash typed for --), in the same order: the parse check
 * applies them too, so it judges the argv the command would really get.
 */
export const ARGV_REWRITES: ((argv: string[]) => string[] | Promise<string[]>)[] = [
  async (a) => (await import('./virsh.js')).rewriteVirsh(a).argv,
];

/**
 * Whether qkvm's own parser takes a qkvm line as printed (commands, options,
 * arity), without running it: a middleware after validation stops it before
 * any handler. Returns the parser's error, or undefined when it is accepted.
 */
export async function parserRefuses(qkvmLine: string): Promise<string | undefined> {
  const { splitCommandLine } = await import('../qemu/legacy/tokenize.js');
  const { buildParser } = await import('./parser.js');
  const { checkNameArgs } = await import('./args.js');
  const { normalizeDash, splitAtOperator } = await import('../explain/words.js');
  const [first, ...words] = splitAtOperator(splitCommandLine(qkvmLine).map(normalizeDash))[0];
  if (first !== 'qkvm') return `not a qkvm line: ${qkvmLine}`;
  let argv = words;
  try {
    for (const rewrite of ARGV_REWRITES) argv = await rewrite(argv);
  } catch (e) { return (e as Error).message; }
  if (argv.includes('--help') || argv.includes('-h')) return undefined;
  const own = OWN_PARSERS[argv[0]];
  if (own) {
    try { await own(argv.slice(1)); return undefined; } catch (e) { return (e as Error).message; }
  }
  const parser = (await buildParser(argv)).exitProcess(false).fail(false)
    .middleware(async (a) => { await checkNameArgs(a); throw new Accepted(); }, false);
  try {
    await parser.parseAsync();
    return 'the parser ran a command';
  } catch (e) {
    return e instanceof Accepted ? undefined : (e as Error).message;
  }
}

/** An equivalent qkvm's parser refuses is not offered: a hint must work as printed. */
async function checked(c: Command): Promise<Command> {
  if (c.kind !== 'tool' || c.verdict !== 'equivalent' || !c.qkvm) return c;
  const error = await parserRefuses(c.qkvm);
  if (!error) return c;
  const { qkvm, ...rest } = c;
  return { ...rest, verdict: 'none', why: `this qkvm does not take the line yet: \`${qkvm}\` fails with "${error}"`, refused: { qkvm, error } };
}

async function qemuText(words: string[]): Promise<{ json: unknown; text: string }> {
  const l = await legacy();
  // Checked against this host's QEMU, as a single `qkvm explain -- LINE` is.
  const e = await (await import('../host/explain-here.js')).explainHere(words);
  return { json: e, text: l.formatExplanation(e) };
}

async function render(cmds: Command[]): Promise<{ json: unknown[]; text: string; unknown: Command[] }> {
  const { formatToolExplanation } = await import('../explain/format.js');
  const json: unknown[] = [];
  let text = '';
  for (const c0 of cmds) {
    const c = await checked(c0);
    if (c.kind === 'qemu') {
      const q = await qemuText(c.words);
      json.push({ kind: 'qemu', words: c.words, explanation: q.json });
      text += q.text;
    } else {
      json.push(c);
      text += formatToolExplanation(c);
    }
  }
  return { json, text, unknown: cmds.filter((c) => c.kind === 'tool' && c.verdict === 'unknown') };
}

function reportUnknown(unknown: Command[]): void {
  if (!unknown.length) return;
  for (const u of unknown) if (u.kind === 'tool') note(`qkvm: error: ${u.says}`);
  note('hint: qkvm explain knows qemu-kvm, virsh, virt-install, virt-clone, virt-viewer, qemu-img, brctl, tunctl, ip, iptables, nft, ovs-vsctl and the host checks of KVM tutorials (docs/explain.md)');
  process.exitCode = 2;
}

/**
 * Handles `explain -f FILE` and a single line that is not a QEMU line.
 * Returns false for a QEMU line, which the caller explains as before.
 */
export async function explainOther(a: { file?: string; json?: boolean; '--'?: unknown[] }): Promise<boolean> {
  const x = await explainer();
  if (a.file !== undefined) {
    if ((a['--'] ?? []).length) throw invalid('explain: give either -f FILE or a line after --, not both', `qkvm explain -f ${a.file}`);
    await explainScript(a.file, !!a.json);
    return true;
  }
  const raw = (a['--'] ?? []).map(String);
  if (!raw.length) return false;
  // One quoted argument is a whole line; several are its words, as the shell split them.
  const ctx = await toolContext();
  const cmds = raw.length === 1 ? x.explainLine(raw[0], ctx) : x.explainWords(raw, ctx);
  if (!cmds.length || cmds.every((c) => c.kind === 'qemu')) return false;
  const r = await render(cmds);
  if (a.json) printJson(r.json.length === 1 ? r.json[0] : r.json);
  else process.stdout.write(r.text);
  reportUnknown(r.unknown);
  return true;
}

async function explainScript(file: string, json: boolean): Promise<void> {
  let text: string;
  try {
    text = readFileSync(file === '-' ? 0 : file, 'utf8');
  } catch (e) {
    throw invalid(`explain -f: cannot read ${JSON.stringify(file)}: ${(e as Error).message}`, 'give a script file, or -f - to read standard input: qkvm explain -f setup.sh');
  }
  const x = await explainer();
  const { splitScript } = await import('../explain/script.js');
  const ctx = await toolContext();
  const rows: unknown[] = [];
  const unknown: Command[] = [];
  let out = '';
  for (const l of splitScript(text)) {
    if (l.kind !== 'command') {
      rows.push(l);
      out += `${l.text}\n`;
      continue;
    }
    const r = await render(x.explainLine(l.text, ctx));
    unknown.push(...r.unknown);
    rows.push({ ...l, commands: r.json });
    out += `--- line ${l.line}: ${l.text}\n${r.text}\n`;
  }
  if (json) printJson(rows);
  else process.stdout.write(out);
  reportUnknown(unknown);
}

/** Adds -f and the other tools' lines to the explain command (defined in define.ts). */
export function withOtherTools(mod: CommandModule<any, any>): void {
  const builder = mod.builder as (y: Argv) => Argv;
  const handler = mod.handler;
  mod.builder = (y: Argv) => builder(y)
    .option('file', { alias: 'f', type: 'string', describe: 'explain every line of a script (- reads stdin): qemu-kvm, virsh, virt-install, qemu-img, brctl, ip, iptables...' })
    .example('qkvm explain -- brctl addbr br0', "another tool's line: what it does and the qkvm line that does the same")
    .example('qkvm explain -f kvm-setup.sh', "a tutorial's script, line by line");
  mod.handler = action(async (a: any) => {
    if (await explainOther(a)) return;
    await handler(a);
  });
}
