// `qkvm qemu-kvm ARGS...` (alias qemu-system-x86_64): a pasted qemu-kvm line,
// run as a learner expects: translated into a definition, defined, started.
// QEMU's own options are taken verbatim (yargs would read -m as its own), so
// this command has its own small argv reader: only --name NAME, --dry-run and
// --help belong to qkvm; everything else is QEMU's.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { action } from './action.js';
import { note, print, warn } from './output.js';
import { invalid, QkvmError } from '../errors.js';

const USAGE = `qkvm qemu-kvm [--name NAME] [--dry-run] QEMU-OPTIONS...

Runs a qemu-kvm (or qemu-system-x86_64) line from a tutorial: qkvm translates it
into a guest definition (named by -name, else after the first disk file, else
"vm"; --name overrides), defines it and starts it. Disk paths are relative to
the current directory. --dry-run prints the definition and QEMU's line only.
A line that QEMU would refuse is refused, with the reason (see qkvm explain).

Examples:
  qkvm qemu-kvm -m 512 -hda disk.img -cdrom install.iso -boot d
  qkvm qemu-kvm --dry-run -enable-kvm -m 1024 -drive file=x.qcow2,if=virtio -net nic,model=virtio -net user
  qkvm qemu-kvm -M ?            (this QEMU's machine types)
`;

export interface QemuKvmArgs { name?: string; dryRun: boolean; help: boolean; qemu: string[] }

/** Splits qkvm's own flags from QEMU's words. */
export function parseQemuKvmArgs(argv: readonly string[]): QemuKvmArgs {
  const out: QemuKvmArgs = { dryRun: false, help: false, qemu: [] };
  for (let i = 0; i < argv.length; i++) {
    const w = argv[i];
    if (w === '--dry-run') out.dryRun = true;
    else if (w === '--help' && !out.qemu.length) out.help = true;
    else if (w === '--name' || w.startsWith('--name=')) {
      const v = w === '--name' ? argv[++i] : w.slice(7);
      if (!v) throw invalid('qemu-kvm --name: give a guest name', 'qkvm qemu-kvm --name lab -m 512 -hda disk.img');
      out.name = v;
    } else out.qemu.push(w);
  }
  return out;
}

/** The format of an image as qemu-img sees it, read once when the disk is recorded. */
function probeFormat(file: string): 'qcow2' | 'raw' | string {
  const out = execFileSync(process.env.QKVM_QEMU_IMG ?? 'qemu-img', ['info', '--output=json', file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out).format;
}

export async function runQemuKvm(tool: string, argv: readonly string[]): Promise<void> {
  const a = parseQemuKvmArgs(argv);
  if (a.help) return print(USAGE.trimEnd());
  if (!a.qemu.length) throw invalid(`${tool}: give QEMU's options`, 'qkvm qemu-kvm -m 512 -hda disk.img -cdrom install.iso -boot d');
  if (a.name !== undefined) {
    const { validateName } = await import('../config/name.js');
    validateName(a.name, 'guest name');
  }
  const { specFromCommandLineHere, verdictContext } = await import('../host/explain-here.js');
  const line = [tool, ...a.qemu];
  const r = await specFromCommandLineHere(line, a.name);
  if (r.help.length) {
    // A help query: answer it like QEMU, define nothing.
    const l = await import('../qemu/legacy/index.js');
    const e = l.explainCommandLine(line, await verdictContext());
    for (const h of e.help ?? []) print(`${h.query}: this QEMU's list (${h.items.length}):\n${h.items.map((x) => `  ${x}`).join('\n')}`);
    return;
  }
  if (r.errors.length) {
    throw invalid(`${tool}: QEMU refuses this line:\n${r.errors.map((e) => `  [error] ${e}`).join('\n')}`, `qkvm explain -- ${tool} ${a.qemu.join(' ')}`);
  }
  const spec = r.spec as Record<string, any>;
  // -enable-kvm and -accel kvm mean "fast if it can": qkvm's auto uses KVM where it really boots guests here, else TCG.
  const asksKvm = a.qemu.some((w, i) => w === '-enable-kvm' || /(^|[,=:])kvm\b/.test(w) && ['-accel', '-machine', '-M'].includes(a.qemu[i - 1] ?? ''));
  if (asksKvm || spec.accel === 'kvm') {
    spec.accel = 'auto';
    r.warnings.push('the line asks for KVM; the definition says accel: auto, which uses KVM where it works on this host (checked by booting a probe guest) and TCG elsewhere');
  }
  // The one rule for paths typed on a command line: relative to here, stored absolute, external (never removed by qkvm).
  for (const d of (spec.disks ?? []) as Record<string, any>[]) {
    const abs = resolve(process.cwd(), d.file);
    if (!existsSync(abs)) throw invalid(`${tool}: disk image "${d.file}" does not exist (${abs})`, `qemu-img create -f qcow2 ${d.file} 10G`);
    d.file = abs;
    d.external = true;
    if (d.media !== 'cdrom' && d.readonly === undefined) d.readonly = false;
    if (!d.format && d.media !== 'cdrom') {
      const f = probeFormat(abs);
      if (f !== 'qcow2' && f !== 'raw') throw invalid(`${tool}: disk image "${d.file}" is ${f}; a definition takes qcow2 or raw`, `qemu-img convert -O qcow2 ${d.file} ${d.file.replace(/\.[^./]*$/, '')}.qcow2`);
      d.format = f;
    }
    if (d.media === 'cdrom') d.format ??= 'raw';
  }
  const m0 = await import('../api.js');
  for (const n of (spec.nics ?? []) as Record<string, any>[]) {
    if (n.type !== 'network') continue;
    if (!m0.listNetworkNames().includes(n.network)) {
      throw invalid(`${tool}: the line's tap NIC becomes a NIC on the qkvm network "${n.network}", which is not defined here (qkvm makes and removes the taps itself)`,
        `qkvm net define ${n.network} --mode nat && qkvm net start ${n.network}`);
    }
  }
  for (const k of ['kernel', 'initrd'] as const) if (typeof spec[k] === 'string') spec[k] = resolve(process.cwd(), spec[k]);
  for (const w of r.warnings) warn(w);
  const m = await import('../api.js');
  const parsed = m.parseVmSpec(spec, `guest "${spec.name}"`);
  if (a.dryRun) {
    const YAML = (await import('yaml')).default;
    print(YAML.stringify(spec).trimEnd());
    const caps = await m.resolveCaps(parsed.accel);
    print('');
    process.stdout.write(m.formatCommand(m.commandFor(parsed, caps), { explain: false }));
    return;
  }
  if (spec.extraArgs?.length) {
    throw invalid(`${tool}: the line needs raw extraArgs (${spec.extraArgs.join(' ')}), which qkvm runs only when allowed`,
      `qkvm create ${spec.name} --allow-extra-args --from-cmdline -- ${tool} ${a.qemu.join(' ')}`);
  }
  const name = String(spec.name);
  await m.createGuest(name, { overrides: spec as any, onNote: note, onWarning: warn });
  note(`guest "${name}" defined`);
  try {
    await m.startGuest(name, { onNote: note, onWarning: warn });
  } catch (e) {
    if (e instanceof QkvmError) e.message += `\n(the definition is kept: fix it with \`qkvm edit ${name}\`, or remove it with \`qkvm undefine ${name}\`)`;
    throw e;
  }
  print(`guest "${name}" is running; see it with \`qkvm console ${name}\`${spec.display?.type === 'vnc' ? ` or a VNC viewer on ${spec.display.listen}:${spec.display.display}` : ''}; stop it with \`qkvm destroy ${name}\``);
}

export const qemuKvmMain = (tool: string, argv: readonly string[]) => action(() => runQemuKvm(tool, argv))({});
