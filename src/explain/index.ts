// `qkvm explain` for any line of a KVM tutorial: a dispatcher in front of the
// QEMU-line explainer (src/qemu/legacy). It reads the first word after a
// prompt, `sudo` and VAR=value: a QEMU line goes to the QEMU explainer as it
// is; the other tools' lines go to a small table-driven module each. Pure: it
// only reads the words, it never runs anything.
import { splitCommandLine } from '../qemu/legacy/tokenize.js';
import type { ToolContext, ToolExplainer, ToolExplanation } from './types.js';
import { part, shellTail, splitAtOperator, unknown } from './words.js';
import { explainVirsh } from './tools/virsh.js';
import { explainVirtClone, explainVirtInstall } from './tools/virt-install.js';
import { explainQemuImg } from './tools/qemu-img.js';
import { explainVirtManager, explainVirtViewer } from './tools/viewers.js';
import { explainBrctl, explainOvsVsctl, explainTunctl } from './tools/bridge.js';
import { explainIp } from './tools/ip.js';
import { explainIptables, explainNft } from './tools/firewall.js';
import * as host from './tools/host.js';

export type { ToolContext, ToolExplanation, ToolVerdict, Part } from './types.js';

/** First word -> its module. */
export const TOOLS: Record<string, ToolExplainer> = {
  virsh: explainVirsh,
  'virt-install': explainVirtInstall,
  'virt-clone': explainVirtClone,
  'virt-viewer': explainVirtViewer,
  'virt-manager': explainVirtManager,
  'qemu-img': explainQemuImg,
  brctl: explainBrctl,
  tunctl: explainTunctl,
  ip: explainIp,
  iptables: explainIptables,
  nft: explainNft,
  'ovs-vsctl': explainOvsVsctl,
  modprobe: host.explainModprobe,
  lsmod: host.explainLsmod,
  grep: host.explainGrep,
  egrep: host.explainGrep,
  cat: host.explainCat,
  'kvm-ok': host.explainKvmOk,
  'virt-host-validate': host.explainVirtHostValidate,
  systemctl: host.explainSystemctl,
  echo: host.explainEcho,
  sysctl: host.explainSysctl,
  mount: host.explainMount,
  'apt-get': host.explainPackages,
  apt: host.explainPackages,
  yum: host.explainPackages,
  dnf: host.explainPackages,
  usermod: host.explainUsermod,
  adduser: host.explainUsermod,
};

/** The tools qkvm takes by name: their qkvm line is the same argv, so a shell tail is kept apart. */
const SWAP_TOOLS = new Set(['virsh', 'virt-install', 'virt-clone', 'qemu-img']);

/** A QEMU binary as tutorials name it: qemu-kvm, kvm, qemu-system-x86_64, /usr/libexec/qemu-kvm. */
export const isQemuBinary = (word: string) => /^(qemu-kvm|kvm|qemu-system-[\w-]+)$/.test(word.split('/').pop() ?? '');

/** One command of a line: a QEMU line (for the QEMU explainer), or another tool's. */
export type CommandExplanation =
  | { kind: 'qemu'; words: string[] }
  | ({ kind: 'tool'; words: string[] } & ToolExplanation);

/**
 * A shell prompt in front of a pasted line: `$ `, `user@host:~$ `, `[root@c7 ~]# `,
 * and `# ` when a command qkvm knows follows it (else `# ...` is a comment).
 */
export function stripPrompt(line: string): string {
  const m = /^\s*(?:(?:\[[^\]]*\]|[\w.-]+@[\w.-]+(?::[^\s$#]*)?)\s*[$#]|\$)\s+/.exec(line);
  if (m) return line.slice(m[0].length);
  const root = /^\s*#\s+(\S+)/.exec(line);
  if (root && (isQemuBinary(root[1]) || root[1] === 'sudo' || root[1].split('/').pop()! in TOOLS)) return line.slice(line.indexOf('#') + 1).trimStart();
  return line;
}

const SEPARATORS = new Set(['&&', '||', ';']);

/** `sudo [-E|-i|-u USER]` and VAR=value in front of a command, which do not change what it does. */
function stripRunner(words: string[]): string[] {
  let i = 0;
  for (;;) {
    if (words[i] === 'sudo') {
      i++;
      while (words[i]?.startsWith('-')) i += words[i] === '-u' || words[i] === '-g' ? 2 : 1;
    } else if (/^[A-Za-z_]\w*=/.test(words[i] ?? '') && i + 1 < words.length) i++;
    else return words.slice(i);
  }
}

/** Splits a line into its commands (at `&&`, `||`, `;`), words as a shell reads them. */
export function splitCommands(line: string): string[][] {
  return commandsOf(splitCommandLine(stripPrompt(line)));
}

/** Words (as a shell split them) -> the commands, at `&&`, `||`, `;`, without a leading `$`/`#` prompt word. */
export function commandsOf(words: string[]): string[][] {
  if (words[0] === '$' || words[0] === '#') words = words.slice(1);
  const out: string[][] = [[]];
  for (const w of words) {
    if (SEPARATORS.has(w)) out.push([]);
    else out[out.length - 1].push(w);
  }
  return out.map(stripRunner).filter((c) => c.length);
}

/** Explains one command given as words (prompt, sudo already stripped). */
export function explainCommand(words: string[], ctx: ToolContext): CommandExplanation {
  const [first, ...args] = words;
  if (isQemuBinary(first) || first.startsWith('-')) return { kind: 'qemu', words };
  const name = first.split('/').pop()!;
  const tool = Object.prototype.hasOwnProperty.call(TOOLS, name) ? TOOLS[name] : undefined;
  if (tool && SWAP_TOOLS.has(name)) {
    // `virsh dumpxml vm1 > vm1.xml`: the tool sees its argv; the shell's redirection stays on the qkvm line.
    const [argv, tail] = splitAtOperator(args);
    const e = tool(argv, ctx, name);
    if (!tail.length) return { kind: 'tool', words, ...e };
    const t = shellTail(tail);
    const parts = [...e.parts, part(tail, `the shell's part: ${tail[0].startsWith('|') ? 'the output goes on to the next command' : 'the output goes to (or the input comes from) a file'}`)];
    return {
      kind: 'tool', words, ...e, parts,
      ...(e.qkvm ? { qkvm: `${e.qkvm} ${t}` } : {}),
      ...(e.refused ? { refused: { ...e.refused, qkvm: `${e.refused.qkvm} ${t}` } } : {}),
    };
  }
  const e = tool ? tool(args, ctx, name) : unknown(name, [name]);
  return { kind: 'tool', words, ...e };
}

/** Explains every command of one line. An empty result means the line had no command. */
export function explainLine(line: string, ctx: ToolContext): CommandExplanation[] {
  return splitCommands(line).map((w) => explainCommand(w, ctx));
}

/** Explains a line given as argv words (`qkvm explain -- brctl addbr br0`). */
export function explainWords(words: string[], ctx: ToolContext): CommandExplanation[] {
  return commandsOf(words).map((w) => explainCommand(w, ctx));
}
