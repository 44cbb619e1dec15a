// virt-install and virt-clone lines: qkvm takes them by name (`qkvm
// virt-install`, `qkvm virt-clone`), so the qkvm line is the same line with the
// tool swapped. Each option is explained; an option qkvm does not know makes
// the line unknown rather than a guess.
import { hasCommand } from '../swap.js';
import type { Part, ToolExplainer } from '../types.js';
import { equivalent, none, normalizeDash, part, shellLine, unknown } from '../words.js';

type Say = (v: string | undefined) => string;

/** virt-install's options: takes a value?, and what it does. */
const VI: Record<string, [boolean, Say]> = {
  '--name': [true, (v) => `names the guest ${v}`],
  '-n': [true, (v) => `names the guest ${v}`],
  '--ram': [true, (v) => `gives it ${v} MiB of RAM`],
  '-r': [true, (v) => `gives it ${v} MiB of RAM`],
  '--memory': [true, (v) => `gives it ${v} MiB of RAM`],
  '--vcpus': [true, (v) => `gives it ${v} virtual CPU(s)`],
  '--cpu': [true, (v) => `sets the CPU model (${v}; host-passthrough/host = the host's CPU)`],
  '--cdrom': [true, (v) => `boots the installer from the ISO ${v} (a CD-ROM)`],
  '-c': [true, (v) => `boots the installer from the ISO ${v} (a CD-ROM)`],
  '--location': [true, (v) => `installs from the tree or ISO ${v} (its kernel and initrd boot directly)`],
  '-l': [true, (v) => `installs from the tree or ISO ${v} (its kernel and initrd boot directly)`],
  '--extra-args': [true, (v) => `adds "${v}" to the installer kernel's command line (with --location)`],
  '-x': [true, (v) => `adds "${v}" to the installer kernel's command line (with --location)`],
  '--pxe': [false, () => 'boots the installer from the network (PXE)'],
  '--import': [false, () => 'skips the installer: boots the existing disk image'],
  '--boot': [true, (v) => `sets the boot order or direct kernel boot (${v})`],
  '--os-type': [true, (v) => `says the guest OS is ${v} (picks sensible devices)`],
  '--os-variant': [true, (v) => `says the guest OS is ${v} (picks virtio devices when it has drivers)`],
  '--disk': [true, (v) => `adds a disk: ${v} (size= is in GiB; a new file is created)`],
  '--nodisks': [false, () => 'adds no disk'],
  '--network': [true, (v) => `adds a network card: ${v} (bridge=BR joins a host bridge, network=NET a virtual network)`],
  '-w': [true, (v) => `adds a network card: ${v}`],
  '--nonetworks': [false, () => 'adds no network card'],
  '--graphics': [true, (v) => (v === 'none' ? 'no graphical display: a serial console only' : `a graphical display: ${v}`)],
  '--nographics': [false, () => 'no graphical display: a serial console only'],
  '--vnc': [false, () => 'a VNC display'],
  '--vncport': [true, (v) => `VNC on port ${v}`],
  '--vnclisten': [true, (v) => `VNC listens on ${v}`],
  '--noautoconsole': [false, () => 'does not attach to the console after starting'],
  '--console': [true, (v) => `a console: ${v}`],
  '--serial': [true, (v) => `a serial port: ${v}`],
  '--video': [true, (v) => `the video card: ${v}`],
  '--virt-type': [true, (v) => `the hypervisor: ${v} (kvm, or qemu for TCG)`],
  '--accelerate': [false, () => 'uses KVM (the default; an old flag)'],
  '--hvm': [false, () => 'full virtualization (the default; an old flag)'],
  '--autostart': [false, () => 'starts the guest when the host boots'],
  '--print-xml': [false, () => 'prints the definition instead of creating the guest'],
  '--dry-run': [false, () => 'checks the line and creates nothing'],
  '--force': [false, () => 'answers yes to every question'],
  '--debug': [false, () => 'prints debugging output'],
  '-d': [false, () => 'prints debugging output'],
  '--connect': [true, (v) => `connects to the libvirt daemon ${v} (qkvm has none: a note, nothing else)`],
  '--description': [true, () => 'a free-text description'],
  '--check': [true, (v) => `turns a virt-install check on or off (${v})`],
};

/** virt-clone's options. */
const VC: Record<string, [boolean, Say]> = {
  '--original': [true, (v) => `copies the shut off guest ${v}`],
  '-o': [true, (v) => `copies the shut off guest ${v}`],
  '--name': [true, (v) => `names the copy ${v}`],
  '-n': [true, (v) => `names the copy ${v}`],
  '--file': [true, (v) => `writes the copy's disk to ${v}`],
  '-f': [true, (v) => `writes the copy's disk to ${v}`],
  '--auto-clone': [false, () => 'picks the new name and disk file names itself'],
  '--connect': [true, (v) => `connects to the libvirt daemon ${v} (qkvm has none)`],
  '--mac': [true, (v) => `gives the copy the MAC ${v}`],
  '-m': [true, (v) => `gives the copy the MAC ${v}`],
};

function parts(args: string[], table: Record<string, [boolean, Say]>): { parts: Part[]; bad?: string; values: Map<string, string | undefined> } {
  const out: Part[] = [];
  const values = new Map<string, string | undefined>();
  for (let i = 0; i < args.length; i++) {
    const w = normalizeDash(args[i]);
    if (!w.startsWith('-')) return { parts: out, bad: args[i], values };
    const eq = w.startsWith('--') ? w.indexOf('=') : -1;
    const name = eq > 0 ? w.slice(0, eq) : w;
    const entry = table[name];
    if (!entry) return { parts: out, bad: args[i], values };
    let v: string | undefined;
    let words = [args[i]];
    if (entry[0]) {
      if (eq > 0) v = w.slice(eq + 1);
      else if (args[i + 1] !== undefined) { v = args[i + 1]; words = [args[i], v]; i++; }
    }
    values.set(name, v);
    out.push(part(words, entry[1](v)));
  }
  return { parts: out, values };
}

/** The swapped line, or (when this qkvm lacks the command) none, naming the line it would be. */
export function swapped(tool: string, verb: string, says: string, line: string[], parts: Part[], ctx: Parameters<ToolExplainer>[1], see: string[]): ReturnType<ToolExplainer> {
  if (hasCommand(ctx, verb)) return equivalent(tool, says, line, parts);
  return { ...none(tool, says, `this qkvm has no ${verb} command`, parts, see), refused: { qkvm: shellLine(line), error: `qkvm has no ${verb} command` } };
}

export const explainVirtInstall: ToolExplainer = (args, ctx, tool) => {
  const p = parts(args, VI);
  if (p.bad) return unknown(tool, [tool, p.bad], `virt-install has no option ${p.bad} that qkvm knows; qkvm explains only what it knows`);
  return swapped(tool, 'virt-install', 'defines a new guest and starts it (usually booting an installer)', ['qkvm', 'virt-install', ...args], p.parts, ctx, ['qkvm create --help']);
};

export const explainVirtClone: ToolExplainer = (args, ctx, tool) => {
  const p = parts(args, VC);
  if (p.bad) return unknown(tool, [tool, p.bad], `virt-clone has no option ${p.bad} that qkvm knows`);
  return swapped(tool, 'virt-clone', 'copies a shut off guest: its definition and its disks, with a new name and MAC', ['qkvm', 'virt-clone', ...args], p.parts, ctx, ['qkvm clone SOURCE NAME']);
};
