// virsh lines: libvirt's shell. qkvm's commands follow virsh's names, so most
// lines are the same line with `virsh` swapped for `qkvm`; the others map to a
// qkvm group (net-start -> net start) or have no equivalent, with the reason.
import { closestCommand, hasCommand } from '../swap.js';
import type { ToolContext, ToolExplainer, ToolExplanation } from '../types.js';
import { equivalent, none, normalizeDash, part, unknown } from '../words.js';

/** The guest a virsh line names: --domain X, or the first word that is not an option. */
function g(a: string[]): string {
  const i = a.findIndex((w) => /^(--|\u2013)domain$/.test(w));
  if (i >= 0 && a[i + 1]) return a[i + 1];
  const eq = a.find((w) => w.startsWith('--domain='));
  if (eq) return eq.slice(9);
  return a.find((w) => !w.startsWith('-')) ?? '';
}

/** Plain words for the verbs tutorials use; other qkvm verbs use qkvm's own description. */
const SAYS: Record<string, (a: string[]) => string> = {
  list: (a) => (a.includes('--all') ? 'lists every defined guest, running or not' : 'lists the running guests (--all adds the shut off ones)'),
  start: (a) => `boots the defined guest ${g(a)}`.trim(),
  shutdown: (a) => `asks guest ${g(a)} to power off (an ACPI power-button press; the guest OS shuts down cleanly)`,
  destroy: (a) => `stops guest ${g(a)} at once, like pulling the plug (the definition and disks stay)`,
  reboot: (a) => `asks guest ${g(a)} to reboot`,
  reset: (a) => `hard-resets guest ${g(a)}, like its reset button`,
  suspend: (a) => `pauses guest ${g(a)}'s vCPUs (it stays in memory)`,
  resume: (a) => `runs a paused guest ${g(a)} again`,
  undefine: (a) => `forgets guest ${g(a)}'s definition${a.some((w) => /remove-all-storage/.test(w)) ? ' and deletes its disks' : ' (its disks stay)'}`,
  autostart: (a) => (a.includes('--disable') ? `stops starting guest ${g(a)} at host boot` : `starts guest ${g(a)} when the host boots`),
  console: (a) => `attaches to guest ${g(a)}'s serial console (Ctrl-] detaches)`,
  dominfo: (a) => `shows guest ${g(a)}: state, memory, vCPUs`,
  domstate: (a) => `prints guest ${g(a)}'s state (running, shut off...)`,
  dumpxml: (a) => `prints guest ${g(a)}'s definition (libvirt XML; qkvm prints its YAML)`,
  edit: (a) => `opens guest ${g(a)}'s definition in an editor`,
  'snapshot-create-as': () => 'takes a named snapshot of the guest',
  'snapshot-list': () => "lists the guest's snapshots",
  'snapshot-revert': () => 'goes back to a snapshot',
  'snapshot-delete': () => 'deletes a snapshot',
  setmem: () => "changes the guest's memory (through the balloon)",
  setvcpus: () => 'changes the number of vCPUs',
  vcpuinfo: () => 'shows each vCPU and the host CPU it runs on',
  vcpupin: () => "pins a vCPU to host CPUs",
  'attach-disk': () => 'adds a disk to the guest',
  'detach-disk': () => 'removes a disk from the guest',
  'attach-interface': () => 'plugs a network card into the guest',
  'detach-interface': () => 'unplugs a network card',
  domifaddr: (a) => `shows guest ${g(a)}'s IP addresses`,
  save: () => "writes the guest's memory to a file and stops it",
  restore: () => 'starts a guest again from a save file',
  migrate: () => 'moves a running guest to another host',
  'pool-list': () => 'lists storage pools',
  'vol-list': () => "lists a pool's volumes",
};

/** virsh verbs that live in a qkvm group under another name. */
const MAPPED: Record<string, { to: (a: string[]) => string[]; says: string }> = {
  'net-list': { to: () => ['net', 'list'], says: 'lists the virtual networks (qkvm lists all of them, active or not)' },
  'net-start': { to: (a) => ['net', 'start', ...a], says: 'starts a virtual network (its bridge, DHCP and NAT)' },
  'net-destroy': { to: (a) => ['net', 'stop', ...a], says: 'stops a virtual network (its definition stays)' },
  'net-autostart': { to: (a) => ['net', 'autostart', ...a], says: 'starts a virtual network when the host boots' },
  'net-info': { to: (a) => ['net', 'info', ...a], says: 'shows a virtual network' },
  'net-dhcp-leases': { to: (a) => ['net', 'leases', ...a], says: "shows the addresses a network's DHCP server handed out" },
  'net-undefine': { to: (a) => ['net', 'undefine', ...a], says: "forgets a stopped network's definition" },
  vncdisplay: { to: (a) => ['vnc', ...a], says: "prints the guest's VNC display address" },
  domdisplay: { to: (a) => ['vnc', ...a], says: "prints the guest's display address" },
};

/** virsh verbs qkvm has nothing for, and why. */
const NONE: Record<string, [says: string, why: string, see?: string[]]> = {
  define: ['defines a guest from a libvirt XML file', 'qkvm definitions are YAML, not libvirt XML: write one (qkvm dumpconfig NAME shows the format) and run qkvm define FILE.yaml', ['qkvm create NAME --memory 1G --disk NAME.qcow2,size=10G']],
  create: ['creates and starts a transient guest from a libvirt XML file', 'qkvm has no transient guests and reads YAML, not XML', ['qkvm create NAME --memory 1G']],
  'net-define': ['defines a virtual network from a libvirt XML file', 'qkvm networks are defined with flags, not XML', ['qkvm net define NET --mode nat --subnet 192.168.100.0/24']],
  'net-create': ['creates a transient network from XML', 'qkvm networks are defined with flags, not XML', ['qkvm net define NET --mode nat --subnet 192.168.100.0/24']],
  'net-edit': ['edits a network\'s XML', 'qkvm networks are defined with flags: undefine and define again', ['qkvm net info NET']],
  nodeinfo: ["shows the host's CPUs and memory", 'qkvm does not describe the host hardware; doctor checks what guests need', ['qkvm doctor']],
  capabilities: ["prints the host's virtualization capabilities (XML)", 'qkvm has no capabilities XML; doctor checks KVM, QEMU and the network tools', ['qkvm doctor']],
  version: ['prints the libvirt and hypervisor versions', 'qkvm has no daemon; qkvm --version and qemu-system-x86_64 --version', ['qkvm doctor']],
  connect: ['connects virsh to a libvirt daemon', 'qkvm needs no daemon: each guest is its own QEMU process'],
  uri: ['prints the libvirt connection URI', 'qkvm needs no daemon and has no URI'],
  screenshot: ["saves a picture of the guest's screen", 'qkvm has no screenshot command; connect a VNC viewer', ['qkvm vnc NAME']],
  domblklist: ["lists the guest's disks", 'qkvm shows disks in the definition', ['qkvm dumpconfig NAME']],
  domiflist: ["lists the guest's network cards", 'qkvm shows NICs in the definition', ['qkvm dumpconfig NAME']],
};

const lower = (s: string) => s.charAt(0).toLowerCase() + s.slice(1);

function connectPart(args: string[]): { rest: string[]; dropped?: string } {
  const a0 = normalizeDash(args[0] ?? '');
  if (a0 === '-c' || a0 === '--connect') return { rest: args.slice(2), dropped: args.slice(0, 2).join(' ') };
  if (a0.startsWith('--connect=')) return { rest: args.slice(1), dropped: args[0] };
  return { rest: args };
}

export const explainVirsh: ToolExplainer = (args, ctx: ToolContext, tool): ToolExplanation => {
  const { rest, dropped } = connectPart(args);
  const [verb, ...vargs] = rest;
  const connect = dropped ? [part(dropped, 'connects to a libvirt daemon; qkvm has none, so the qkvm line drops it')] : [];
  if (!verb) return none(tool, 'starts the interactive virsh shell', 'qkvm has no shell: run each command as qkvm VERB', connect, ['qkvm --help']);
  if (verb === 'help') return equivalent(tool, 'lists the commands', ['qkvm', '--help'], connect);
  const m = MAPPED[verb];
  if (m) {
    const to = m.to(vargs);
    if (hasCommand(ctx, to[0])) return equivalent(tool, m.says, ['qkvm', ...to], [...connect, part([verb, ...vargs], m.says)]);
  }
  const n = NONE[verb];
  // `define`/`create` exist in qkvm, but read YAML: a libvirt XML file has no equivalent.
  if (n && vargs.some((w) => /\.xml$/i.test(w))) return none(tool, n[0], n[1], [...connect, part([verb, ...vargs], n[0])], n[2]);
  if (hasCommand(ctx, verb)) {
    const says = SAYS[verb]?.(vargs) ?? lower(ctx.commands.get(verb) ?? verb);
    return equivalent(tool, says, ['qkvm', verb, ...vargs], [...connect, part([verb, ...vargs], says)]);
  }
  if (n) return none(tool, n[0], n[1], [...connect, part([verb, ...vargs], n[0])], n[2]);
  const near = closestCommand(verb, ctx);
  return unknown(tool, [tool, verb], near ? `qkvm has no command ${verb}: did you mean ${near}? (qkvm ${near} --help)` : `qkvm has no command ${verb} (qkvm --help lists them)`);
};
