// `qkvm doctor`: what this host can do, one line per fact, each with a verdict
// and, when it is not ok, what to do about it.
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { home } from '../config/paths.js';
import { probeQemu } from '../qemu/probe.js';
import { probeKvm } from './kvm-probe.js';

export type Verdict = 'ok' | 'warn' | 'fail';
export interface Check { name: string; verdict: Verdict; detail: string; fix?: string }

const read = (p: string) => { try { return readFileSync(p, 'utf8'); } catch { return undefined; } };
const canRw = (p: string) => { try { accessSync(p, constants.R_OK | constants.W_OK); return true; } catch { return false; } };

async function which(cmd: string): Promise<string | undefined> {
  for (const dir of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').concat(['/usr/sbin', '/sbin'])) {
    const p = join(dir, cmd);
    try { accessSync(p, constants.X_OK); return p; } catch { /* next */ }
  }
  return undefined;
}

async function versionOf(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const r = await execa(cmd, args, { reject: false, timeout: 10_000 });
    return (r.stdout || r.stderr).split('\n')[0].trim() || undefined;
  } catch { return undefined; }
}

export async function runDoctor(opts: { binary?: string; freshProbe?: boolean } = {}): Promise<Check[]> {
  const binary = opts.binary ?? process.env.QKVM_QEMU ?? 'qemu-system-x86_64';
  const checks: Check[] = [];
  const add = (name: string, verdict: Verdict, detail: string, fix?: string) => checks.push({ name, verdict, detail, fix });

  let qemuVersion: string | undefined;
  try {
    const p = await probeQemu(binary);
    qemuVersion = p.version;
    const [maj, min] = p.version.split('.').map(Number);
    add('qemu', maj > 7 || (maj === 7 && min >= 2) ? 'ok' : 'warn', `${binary} ${p.version}; accelerators: ${p.accels.join(', ')}`,
      maj > 7 || (maj === 7 && min >= 2) ? undefined : 'qkvm is tested with QEMU 7.2 (Debian 12); older versions may reject its options');
  } catch (e) {
    add('qemu', 'fail', `${binary} does not run: ${(e as Error).message.split('\n')[0]}`, 'install it: bash scripts/setup-host.sh (or apt-get install qemu-system-x86)');
  }
  const img = await versionOf('qemu-img', ['--version']);
  add('qemu-img', img ? 'ok' : 'fail', img ?? 'not found', img ? undefined : 'apt-get install qemu-utils');

  const cpuinfo = read('/proc/cpuinfo') ?? '';
  const flags = new Set((/^flags\s*:\s*(.*)$/m.exec(cpuinfo)?.[1] ?? '').split(/\s+/));
  const virt = flags.has('vmx') ? 'vmx (Intel VT-x)' : flags.has('svm') ? 'svm (AMD-V)' : undefined;
  add('cpu flags', virt ? 'ok' : 'warn', virt ? `hardware virtualization: ${virt}` : 'no vmx/svm flag: no hardware virtualization for KVM',
    virt ? undefined : 'enable VT-x/AMD-V in the firmware, or nested virtualization on the outer hypervisor; guests will use TCG');

  if (!existsSync('/dev/kvm')) {
    add('kvm', 'warn', '/dev/kvm is missing; guests run under TCG (slower)', 'modprobe kvm_intel or kvm_amd, if the CPU supports it');
  } else if (!canRw('/dev/kvm')) {
    add('kvm', 'warn', '/dev/kvm exists but this user cannot open it; guests run under TCG', 'add the user to the kvm group, or run as root');
  } else if (qemuVersion) {
    const v = await probeKvm(binary, qemuVersion, { fresh: opts.freshProbe });
    add('kvm', v.usable ? 'ok' : 'warn', `/dev/kvm present; boot probe: ${v.reason}`,
      v.usable ? undefined : 'accel: auto will use TCG here; check nested virtualization on the outer hypervisor');
  }

  add('vhost-net', canRw('/dev/vhost-net') ? 'ok' : 'warn', canRw('/dev/vhost-net') ? '/dev/vhost-net present: virtio NICs use in-kernel vhost' : '/dev/vhost-net is missing: virtio NICs fall back to QEMU userspace (slower)',
    canRw('/dev/vhost-net') ? undefined : 'modprobe vhost_net');
  add('tun', canRw('/dev/net/tun') ? 'ok' : 'fail', canRw('/dev/net/tun') ? '/dev/net/tun present: tap NICs work' : '/dev/net/tun is missing: tap NICs (every network but user) cannot work',
    canRw('/dev/net/tun') ? undefined : 'modprobe tun; in a container, pass /dev/net/tun through');
  const bridge = existsSync('/sys/module/bridge') || existsSync('/sys/class/net/bonding_masters') || !!read('/proc/modules')?.includes('bridge');
  add('bridge', bridge ? 'ok' : 'warn', bridge ? 'the bridge module is loaded' : 'the bridge module is not loaded yet (it loads on first use if available)', bridge ? undefined : 'modprobe bridge');
  const ip = await which('ip');
  add('iproute2', ip ? 'ok' : 'fail', ip ? `${ip} found` : 'ip(8) not found', ip ? undefined : 'apt-get install iproute2');
  const dnsmasq = await which('dnsmasq');
  add('dnsmasq', dnsmasq ? 'ok' : 'warn', dnsmasq ? `${dnsmasq} found (DHCP and DNS for nat networks)` : 'dnsmasq not found: nat networks have no DHCP', dnsmasq ? undefined : 'apt-get install dnsmasq-base');
  const nft = await which('nft');
  add('nftables', nft ? 'ok' : 'warn', nft ? `${nft} found (masquerading for nat networks)` : 'nft not found: nat networks cannot masquerade', nft ? undefined : 'apt-get install nftables');

  const meminfo = read('/proc/meminfo') ?? '';
  const hpTotal = Number(/^HugePages_Total:\s+(\d+)/m.exec(meminfo)?.[1] ?? 0);
  const hpSize = /^Hugepagesize:\s+(\d+ kB)/m.exec(meminfo)?.[1] ?? '?';
  add('hugepages', hpTotal > 0 ? 'ok' : 'warn', hpTotal > 0 ? `${hpTotal} huge pages of ${hpSize} reserved` : `no huge pages reserved (size ${hpSize}); guests with hugepages: true will not start`,
    hpTotal > 0 ? undefined : 'qkvm host hugepages reserve 512 && qkvm host hugepages mount');
  const ksm = read('/sys/kernel/mm/ksm/run')?.trim();
  add('ksm', ksm === '1' ? 'ok' : 'warn', ksm === undefined ? 'KSM is not available in this kernel' : ksm === '1' ? 'KSM is merging identical guest pages' : 'KSM is off: identical guest pages are not merged',
    ksm === '1' || ksm === undefined ? undefined : 'qkvm host ksm on (memory overcommit for many similar guests)');
  const fwd = read('/proc/sys/net/ipv4/ip_forward')?.trim();
  add('ip_forward', fwd === '1' ? 'ok' : 'warn', fwd === '1' ? 'IPv4 forwarding is on' : 'IPv4 forwarding is off: routed and nat networks turn it on when they start',
    fwd === '1' ? undefined : 'nothing to do now; `qkvm net start` enables it for routed and nat networks');
  const demo = existsSync(join(home.demoDir(), 'vmlinuz'));
  add('demo guest', demo ? 'ok' : 'warn', demo ? `built in ${home.demoDir()}` : 'not built yet', demo ? undefined : 'npm run demo (or bash scripts/build-demo-guest.sh)');
  return checks;
}
