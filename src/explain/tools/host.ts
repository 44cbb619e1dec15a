// Host set-up lines from the first pages of a KVM tutorial: the CPU and KVM
// checks, package installs, libvirtd, forwarding, huge pages and KSM. qkvm's
// check is `qkvm doctor`; it changes none of these host settings itself.
import type { ToolContext, ToolExplainer, ToolExplanation } from '../types.js';
import { equivalent, none, part, unknown } from '../words.js';

const DOCTOR = ['qkvm', 'doctor'];
const CHECK_SAYS = 'qkvm doctor checks the same (and boots a tiny guest to prove KVM works)';

/** Words after a pipe: `lsmod | grep kvm` -> ['grep', 'kvm']. */
const piped = (args: string[]) => { const i = args.indexOf('|'); return i >= 0 ? args.slice(i + 1) : []; };
const grepsFor = (args: string[], re: RegExp) => args.some((w) => re.test(w));

const cpuCheck = (tool: string, args: string[]) => {
  const says = `counts the CPU flags vmx (Intel VT-x) or svm (AMD-V) in /proc/cpuinfo: more than 0 means the CPU can run KVM${args.includes('-c') ? ' (-c prints the count)' : ''}`;
  return equivalent(tool, says, DOCTOR, [part(args, says)], undefined);
};

export const explainGrep: ToolExplainer = (args, _ctx, tool) => {
  if (args.includes('/proc/cpuinfo') && grepsFor(args, /vmx|svm/)) return cpuCheck(tool, args);
  return unknown(tool, [tool, ...args.slice(0, 2)], 'qkvm explains only the grep for vmx|svm in /proc/cpuinfo');
};

export const explainCat: ToolExplainer = (args, _ctx, tool) => {
  if (args[0] === '/proc/cpuinfo' && grepsFor(piped(args), /vmx|svm/)) return cpuCheck(tool, args);
  return unknown(tool, [tool, ...args.slice(0, 1)], 'qkvm explains only cat /proc/cpuinfo | grep vmx|svm');
};

export const explainLsmod: ToolExplainer = (args, _ctx, tool) => {
  const p = piped(args);
  if (p.length && /^e?grep$/.test(p[0]) && grepsFor(p.slice(1), /kvm/)) {
    const says = 'lists the loaded kernel modules and keeps the kvm ones: kvm plus kvm_intel or kvm_amd means KVM is loaded';
    return equivalent(tool, says, DOCTOR, [part(args, says)]);
  }
  return unknown(tool, [tool, ...args.slice(0, 3)], 'qkvm explains lsmod | grep kvm');
};

const MODULES: Record<string, string> = {
  kvm: 'KVM itself', kvm_intel: 'KVM for Intel VT-x', 'kvm-intel': 'KVM for Intel VT-x', kvm_amd: 'KVM for AMD-V', 'kvm-amd': 'KVM for AMD-V',
  vhost_net: 'vhost-net (the kernel side of virtio-net; gives /dev/vhost-net)', 'vhost-net': 'vhost-net (gives /dev/vhost-net)',
  tun: 'tun/tap (gives /dev/net/tun)', br_netfilter: 'bridge netfilter (iptables sees bridged traffic)', bridge: 'Linux bridges',
};

export const explainModprobe: ToolExplainer = (args, _ctx, tool) => {
  const remove = args.includes('-r');
  const mods = args.filter((w) => !w.startsWith('-'));
  const known = mods.filter((m) => MODULES[m] || /^kvm[_-]?/.test(m));
  if (!mods.length || known.length !== mods.length) return unknown(tool, [tool, ...args], 'qkvm explains modprobe of kvm, kvm_intel, kvm_amd, vhost_net, tun, br_netfilter');
  const says = `${remove ? 'unloads' : 'loads'} the kernel module${mods.length > 1 ? 's' : ''} ${mods.map((m) => `${m} (${MODULES[m] ?? 'a KVM option module'})`).join(', ')}${args.some((w) => w.includes('nested')) ? ' with nested virtualization' : ''}`;
  return none(tool, says, `qkvm loads no kernel modules; ${CHECK_SAYS}`, [part(args, says)], ['qkvm doctor']);
};

export const explainKvmOk: ToolExplainer = (args, _ctx, tool) => {
  if (args.length) return unknown(tool, [tool, ...args], 'kvm-ok takes no arguments');
  const says = 'checks that /dev/kvm exists and the CPU has VT-x or AMD-V (Ubuntu\'s cpu-checker)';
  return equivalent(tool, says, DOCTOR, [part('kvm-ok', says)]);
};

export const explainVirtHostValidate: ToolExplainer = (args, _ctx, tool) => {
  if (args.some((w) => w.startsWith('-') && w !== '-q' && w !== '--quiet') || args.filter((w) => !w.startsWith('-')).some((w) => !['qemu', 'lxc', 'bhyve'].includes(w))) return unknown(tool, [tool, ...args], 'virt-host-validate takes [qemu] and -q');
  const says = "checks the host for libvirt's hypervisors: /dev/kvm, /dev/vhost-net, /dev/net/tun, cgroups, IOMMU";
  return equivalent(tool, says, DOCTOR, [part([tool, ...args], says)]);
};

const LIBVIRT_UNITS = /^(libvirtd|libvirt-bin|virtqemud|virtlogd|libvirtd\.service|virtqemud\.service)$/;

export const explainSystemctl: ToolExplainer = (args, _ctx, tool) => {
  const [verb, ...units] = args.filter((w) => !w.startsWith('-'));
  if (!verb || !units.length || !units.every((u) => LIBVIRT_UNITS.test(u))) return unknown(tool, [tool, ...args.slice(0, 2)], 'qkvm explains systemctl lines for libvirtd only');
  const says = `${verb}s the libvirt daemon (${units.join(', ')})`;
  const see = verb === 'enable' ? ['qkvm autostart NAME', 'qkvm autostart-all'] : ['qkvm list --all'];
  return none(tool, says, 'qkvm needs no daemon: each guest is its own QEMU process, started by qkvm start' + (verb === 'enable' ? '; guests marked autostart start from templates/qkvm-autostart.service (qkvm autostart-all)' : ''), [part(args, says)], see);
};

/** Kernel knobs tutorials set, by /proc/sys path or sysctl name. */
/**
 * The `qkvm host ...` line for a host feature: offered when qkvm has the host
 * group (its parser then checks the line); else none, naming the line.
 */
function hostLine(tool: string, says: string, line: string[], words: string[], ctx: ToolContext, why: string, see: string[]): ToolExplanation {
  if (ctx.commands.has('host')) return equivalent(tool, says, line, [part(words, says)], see);
  return { ...none(tool, says, why, [part(words, says)], see), refused: { qkvm: line.join(' '), error: 'qkvm has no host command' } };
}

function knob(key: string, value: string | undefined, words: string[], tool: string, ctx: ToolContext): ToolExplanation | undefined {
  const k = key.replace(/^\/proc\/sys\//, '').replace(/\//g, '.');
  if (k === 'net.ipv4.ip_forward' || k === 'net.ipv4.conf.all.forwarding') {
    const says = `${value === '0' ? 'turns off' : 'turns on'} IPv4 forwarding: the host routes packets between interfaces (guests behind NAT need it)`;
    return none(tool, says, 'qkvm turns forwarding on itself when a nat or routed network starts', [part(words, says)], ['qkvm net start NET']);
  }
  if (k === 'vm.nr_hugepages' || k === 'vm.nr_overcommit_hugepages' || /^\/sys\/kernel\/mm\/hugepages\//.test(key)) {
    const says = `reserves ${value ?? 'N'} huge pages (2 MiB each, usually): guest RAM backed by them skips most TLB misses`;
    if (value === undefined || !/^\d+$/.test(value) || k !== 'vm.nr_hugepages') return none(tool, says, "a definition's `hugepages: true` uses the reserved pages; qkvm doctor shows how many are free", [part(words, says)], ['qkvm doctor']);
    return hostLine(tool, says, ['qkvm', 'host', 'hugepages', 'reserve', value], words, ctx, "this qkvm has no host command; a definition's `hugepages: true` uses the reserved pages, and qkvm doctor shows them", ['qkvm doctor']);
  }
  if (key === '/sys/kernel/mm/ksm/run') {
    const says = value === '1' ? 'turns KSM on: the kernel merges identical memory pages (between guests, too)' : value === '0' ? 'turns KSM off (merged pages stay merged)' : value === '2' ? 'turns KSM off and unmerges every merged page' : `writes ${value} to KSM's run switch`;
    if (value !== '1' && value !== '0') return none(tool, says, 'qkvm has no line for this; qkvm doctor shows whether KSM runs', [part(words, says)], ['qkvm doctor']);
    return hostLine(tool, says, ['qkvm', 'host', 'ksm', value === '1' ? 'on' : 'off'], words, ctx, 'this qkvm has no host command; qkvm doctor shows whether KSM runs', ['qkvm doctor']);
  }
  if (key.startsWith('/sys/kernel/mm/ksm/')) {
    const says = `sets the KSM tunable ${key.split('/').pop()} to ${value}`;
    return none(tool, says, 'qkvm does not tune KSM', [part(words, says)], ['qkvm doctor']);
  }
  return undefined;
}

export const explainEcho: ToolExplainer = (args, ctx, tool) => {
  const redir = args.findIndex((w) => w === '>' || w === '>>' || /^>>?\//.test(w));
  const tee = args.indexOf('|');
  let target: string | undefined;
  const value = args[0];
  if (redir >= 0) target = /^>>?\//.test(args[redir]) ? args[redir].replace(/^>>?/, '') : args[redir + 1];
  else if (tee >= 0) {
    const after = args.slice(tee + 1).filter((w) => w !== 'sudo');
    if (after[0] === 'tee') target = after.slice(1).find((w) => !w.startsWith('-'));
  }
  // `echo "net.ipv4.ip_forward = 1" >> /etc/sysctl.conf`: the setting, made permanent.
  if (target && /^\/etc\/sysctl\.(conf|d\/)/.test(target) && value) {
    const m = /^([\w.]+)\s*=\s*(\S+)$/.exec(value);
    if (m) {
      const e = knob(m[1], m[2], args, tool, ctx);
      if (e) return { ...e, says: `${e.says}; written to ${target}, so it also holds after a reboot` };
    }
  }
  if (target && value !== undefined) {
    const e = knob(target, value, args, tool, ctx);
    if (e) return e;
  }
  return unknown(tool, [tool, ...args.slice(0, 3)], 'qkvm explains echo into /proc/sys/net/ipv4/ip_forward, vm/nr_hugepages and /sys/kernel/mm/ksm; not this one');
};

export const explainSysctl: ToolExplainer = (args, ctx, tool) => {
  const sets = args.filter((w) => w.includes('='));
  const reads = args.filter((w) => !w.startsWith('-') && !w.includes('='));
  if (args.includes('-p') || args.includes('--system')) {
    const says = 'loads the settings in /etc/sysctl.conf (and sysctl.d)';
    return none(tool, says, 'qkvm changes no host settings beyond forwarding for its own networks', [part(args, says)]);
  }
  if (sets.length === 1) {
    const [k, v] = sets[0].split('=');
    const e = knob(k.trim(), v?.trim(), args, tool, ctx);
    if (e) return e;
  }
  if (!sets.length && reads.length === 1) {
    const e = knob(reads[0], undefined, args, tool, ctx);
    if (e) return { ...e, says: `prints the setting ${reads[0]}` };
  }
  return unknown(tool, [tool, ...args.slice(0, 2)], 'qkvm explains sysctl for net.ipv4.ip_forward and vm.nr_hugepages');
};

export const explainMount: ToolExplainer = (args, ctx, tool) => {
  const i = args.indexOf('-t');
  if (i >= 0 && args[i + 1] === 'hugetlbfs') {
    const dir = args.filter((w, j) => !w.startsWith('-') && j !== i + 1).at(-1) ?? '/dev/hugepages';
    const says = `mounts a hugetlbfs file system at ${dir}: QEMU allocates guest RAM from huge pages there (-mem-path)`;
    return hostLine(tool, says, ['qkvm', 'host', 'hugepages', 'mount', dir], args, ctx, "this qkvm has no host command; a definition's `hugepages: true` needs hugetlbfs mounted, and qkvm doctor checks it", ['qkvm doctor']);
  }
  return unknown(tool, [tool, ...args.slice(0, 3)], 'qkvm explains mount -t hugetlbfs only');
};

/** What the packages tutorials install are, and whether qkvm needs them. */
const PACKAGES: [RegExp, string][] = [
  [/^(qemu-kvm|qemu-system-x86|qemu-system|qemu|qemu-system-x86_64|qemu-kvm-ev)$/, 'QEMU itself: qkvm needs it'],
  [/^(qemu-utils|qemu-img)$/, 'qemu-img: qkvm needs it'],
  [/^(libvirt.*|virtinst|virt-install|virt-manager|virt-viewer|virt-top|libguestfs.*|python3?-libvirt|libosinfo.*)$/, 'the libvirt stack: qkvm does not need it'],
  [/^(bridge-utils)$/, 'brctl: qkvm does not need it (it uses ip)'],
  [/^(cpu-checker)$/, 'kvm-ok: qkvm doctor does the same check'],
  [/^(dnsmasq|dnsmasq-base)$/, 'dnsmasq: qkvm runs it for DHCP on nat networks'],
  [/^(nftables|iptables|iproute2|ovmf|seabios|genisoimage|xorriso)$/, 'a host tool qkvm can use'],
  [/^(uml-utilities|tunctl)$/, 'tunctl: qkvm does not need it (it creates taps itself)'],
  [/^@?virtuali[sz]ation.*$/, 'the virtualization package group (libvirt and QEMU): qkvm needs only QEMU from it'],
];

export const explainPackages: ToolExplainer = (args, _ctx, tool) => {
  const [verb, ...rest] = args.filter((w) => !w.startsWith('-'));
  if (verb === 'update' || verb === 'upgrade' || verb === 'makecache') {
    const says = verb === 'update' ? 'refreshes the package lists' : 'upgrades the installed packages';
    return none(tool, says, 'package management is not qkvm\'s; scripts/setup-host.sh installs what qkvm needs', [part(args, says)]);
  }
  if (!['install', 'groupinstall'].includes(verb) || !rest.length) return unknown(tool, [tool, ...args.slice(0, 2)], `qkvm explains ${tool} install and update lines`);
  const parts = rest.map((p) => part(p, PACKAGES.find(([re]) => re.test(p))?.[1] ?? 'a package qkvm does not use'));
  return none(tool, `installs ${rest.join(', ')}`, 'package management is not qkvm\'s: it needs QEMU and qemu-img (Debian: qemu-system-x86 qemu-utils), plus iproute2, nftables and dnsmasq for networks; scripts/setup-host.sh installs them, and qkvm doctor checks them', parts, ['qkvm doctor']);
};

export const explainUsermod: ToolExplainer = (args, _ctx, tool) => {
  const g = args.findIndex((w) => /^-a?G$/.test(w) || w === '--groups');
  const groups = tool === 'usermod' ? (g >= 0 ? args[g + 1] : undefined) : args[1];
  const user = args.filter((w) => !w.startsWith('-') && w !== groups)[0];
  if (!groups || !user || !/libvirt|kvm/.test(groups)) return unknown(tool, [tool, ...args.slice(0, 3)], `qkvm explains ${tool} lines that add a user to the libvirt or kvm group`);
  const says = `adds user ${user} to the group(s) ${groups}, so they may use ${/libvirt/.test(groups) ? 'libvirtd' : '/dev/kvm'} without root`;
  return none(tool, says, 'qkvm runs as root and has no libvirt group; it needs no group membership', [part(args, says)]);
};
