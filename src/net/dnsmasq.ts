// dnsmasq serving DHCP and DNS on a network's bridge: its argv, its lifetime
// (identified in /proc by its exact --pid-file argument), and its leases file.
import { readdirSync, readFileSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { run as runPaths } from '../config/paths.js';
import { isAlive, processStartTime, readCmdline, readExe } from '../runtime/proc.js';
import { isNetworkDnsmasq, type ProcFacts } from './ownership.js';
import { defaultDhcpRange, parseCidr, parseDhcpRange } from './cidr.js';
import { run, type CommandListener } from './exec.js';
import { bridgeOf } from './derive.js';
import type { NetworkSpec } from './schema.js';

export interface DnsmasqFiles { pidFile: string; leaseFile: string }

export function dnsmasqFiles(network: string): DnsmasqFiles {
  const dir = runPaths.netStateDir(network);
  return { pidFile: join(dir, 'dnsmasq.pid'), leaseFile: join(dir, 'dnsmasq.leases') };
}

/** True when this network's definition asks qkvm to run dnsmasq. */
export function wantsDnsmasq(spec: NetworkSpec): boolean {
  return spec.dhcp && spec.subnet !== undefined && (spec.mode === 'nat' || spec.mode === 'routed' || spec.mode === 'isolated');
}

/** The dnsmasq command line for a network (pure: used by start and shown by `net info`). */
export function dnsmasqArgv(spec: NetworkSpec, files: DnsmasqFiles = dnsmasqFiles(spec.name)): string[] {
  const net = parseCidr(spec.subnet!);
  const range = spec.dhcpRange ? parseDhcpRange(spec.dhcpRange, net) : defaultDhcpRange(net);
  const leases = Math.max(1, ipCount(range.start, range.end));
  const argv = [
    'dnsmasq',
    '--conf-file=/dev/null',           // ignore /etc/dnsmasq.conf: only these options apply
    '--strict-order',
    '--bind-interfaces',               // listen on this bridge only, so other dnsmasqs can coexist
    `--interface=${bridgeOf(spec)}`,
    '--except-interface=lo',
    `--listen-address=${net.gateway}`,
    `--dhcp-range=${range.start},${range.end},${net.netmask}`,
    '--dhcp-no-override',
    '--dhcp-authoritative',
    // No ICMP probe of an address before offering it: dnsmasq holds every
    // DHCP reply for 3 s while it waits for an echo that an unconfigured
    // guest cannot send, which made the demo guest's udhcpc give up its
    // first round (docs/networking.md, "How fast a guest gets its lease").
    // On a bridge qkvm made, dnsmasq's own leases file is the record of who
    // holds what; a static address belongs outside --dhcp-range.
    '--no-ping',
    `--dhcp-lease-max=${leases}`,
    `--dhcp-leasefile=${files.leaseFile}`,
    `--pid-file=${files.pidFile}`,
  ];
  // An isolated network has no way out: tell the guests there is no router.
  if (spec.mode === 'isolated') argv.push('--dhcp-option=option:router');
  return argv;
}

function ipCount(a: string, b: string): number {
  const n = (ip: string) => ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  return n(b) - n(a) + 1;
}

/** The facts /proc gives about a process, or undefined when it is gone (or a zombie). */
export function procFacts(pid: number): ProcFacts | undefined {
  if (!isAlive(pid)) return undefined;
  return { exe: readExe(pid), argv: readCmdline(pid) };
}

/**
 * Every running process proven to be this network's dnsmasq (see
 * isNetworkDnsmasq), found in /proc. The pid file's content is not trusted at
 * all: PIDs get reused and anyone can rewrite the file.
 */
export function findDnsmasq(network: string): number[] {
  const { pidFile } = dnsmasqFiles(network);
  return readdirSync('/proc').map(Number).filter((pid) => isNetworkDnsmasq(procFacts(pid), pidFile));
}

/** The running dnsmasq of a network, if one is proven to be it. */
export function dnsmasqPid(network: string): number | undefined {
  return findDnsmasq(network)[0];
}

export async function startDnsmasq(spec: NetworkSpec, onCommand?: CommandListener): Promise<void> {
  if (dnsmasqPid(spec.name) !== undefined) return;
  // dnsmasq forks into the background once it is listening; its exit status says whether it could.
  await run(dnsmasqArgv(spec), { onCommand });
}

/**
 * Stops this network's dnsmasq: only processes proven to be it are signalled
 * (a pid file naming another process is ignored). The pid file goes only once
 * none of them runs. Returns the pids that would not die.
 */
export async function stopDnsmasq(network: string, onCommand?: CommandListener): Promise<number[]> {
  const { pidFile } = dnsmasqFiles(network);
  // Each process is remembered by pid and start time, read on both sides of
  // the proof, so the proof is of that very process. From then on "is it still
  // there" asks only the start time: a dnsmasq that is exiting has already lost
  // its argv (an empty /proc/PID/cmdline) while it still runs.
  const started = new Map<number, number>();
  for (const pid of findDnsmasq(network)) {
    const before = processStartTime(pid);
    if (before !== undefined && isNetworkDnsmasq(procFacts(pid), pidFile) && processStartTime(pid) === before) started.set(pid, before);
  }
  const pids = [...started.keys()];
  for (const pid of pids) {
    onCommand?.(['kill', String(pid)]);
    try { process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
  }
  // PID 1 reaps late here: wait for the process to stop running (or become a zombie), not for kill -0.
  const mine = (pid: number) => processStartTime(pid) === started.get(pid);
  const deadline = Date.now() + 5000;
  while (pids.some(mine) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  for (const pid of pids.filter(mine)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
  // Generous: on a loaded host a killed process can take a while to leave /proc.
  const kdeadline = Date.now() + 5000;
  while (pids.some(mine) && Date.now() < kdeadline) await new Promise((r) => setTimeout(r, 20));
  const left = pids.filter(mine);
  if (left.length === 0) { try { unlinkSync(pidFile); } catch { /* none */ } }
  return left;
}

export interface Lease { expiry: number; mac: string; ip: string; hostname?: string; clientId?: string }

/** Parses dnsmasq's leases file: "EXPIRY MAC IP HOSTNAME CLIENTID" per line, "*" for unknown. */
export function parseLeases(text: string): Lease[] {
  const out: Lease[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3 || !/^\d+$/.test(f[0]) || f[1].startsWith('duid')) continue;
    out.push({
      expiry: Number(f[0]), mac: f[1].toLowerCase(), ip: f[2],
      hostname: f[3] && f[3] !== '*' ? f[3] : undefined,
      clientId: f[4] && f[4] !== '*' ? f[4] : undefined,
    });
  }
  return out;
}

export function readLeases(network: string): Lease[] {
  try { return parseLeases(readFileSync(dnsmasqFiles(network).leaseFile, 'utf8')); } catch { return []; }
}
