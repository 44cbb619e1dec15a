// `qkvm explain` on a classic tutorial's script of mixed lines, through the
// built CLI: each line's verdict and qkvm equivalent, every printed equivalent
// accepted by qkvm's own parser (and the harmless ones run for real), and
// explain running nothing from the lines (checked inside a network namespace).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { CLI, IN_CI, REPO, cli, missingTools } from '../storage/helpers.js';
import { Netns } from '../net/lab.js';
import { toQkvm } from '../tutorial/corpus.js';
import { splitCommandLine } from '../../src/qemu/legacy/tokenize.js';
import { buildParser } from '../../src/cli/parser.js';
import { splitAtOperator } from '../../src/explain/words.js';
import { ARGV_REWRITES, OWN_PARSERS } from '../../src/cli/explain.js';

const SCRIPT = join(REPO, 'test/fixtures/tutorial/mixed-script.sh');
const why = missingTools(['ip']) || (process.getuid?.() === 0 ? '' : 'not root (network namespaces need it)');
if (why && !IN_CI) console.warn(`explain-tools: skipped: ${why}`);

interface Cmd { kind: 'tool' | 'qemu'; tool?: string; verdict?: string; qkvm?: string; says?: string; why?: string; refused?: { qkvm: string; error: string }; explanation?: any; words: string[] }
interface Row { line: number; kind: 'blank' | 'comment' | 'command'; text: string; commands?: Cmd[] }

/** Line number -> tool, verdict and the exact qkvm line (for the tools whose line is not the tool-name swap). */
const EXPECTED: Record<number, [tool: string, verdict: string, qkvm?: string]> = {
  6: ['egrep', 'equivalent', 'qkvm doctor'],
  7: ['kvm-ok', 'equivalent', 'qkvm doctor'],
  8: ['lsmod', 'equivalent', 'qkvm doctor'],
  9: ['modprobe', 'none'],
  12: ['apt-get', 'none'],
  13: ['apt-get', 'none'],
  14: ['yum', 'none'],
  15: ['usermod', 'none'],
  16: ['systemctl', 'none'],
  17: ['virt-host-validate', 'equivalent', 'qkvm doctor'],
  20: ['brctl', 'equivalent', 'qkvm net define br0 --mode isolated --bridge br0'],
  21: ['brctl', 'equivalent', 'qkvm net bridge-setup br0 --uplink eth0'],
  22: ['ip', 'none'],
  23: ['dhclient', 'unknown'],
  24: ['ip', 'equivalent', 'qkvm net define br0 --mode isolated --subnet 192.168.100.0/24 --bridge br0'],
  25: ['echo', 'none'],
  26: ['iptables', 'equivalent', 'qkvm net define nat0 --mode nat --subnet 192.168.100.0/24 --uplink eth0'],
  27: ['tunctl', 'none'],
  40: ['virt-viewer', 'equivalent', 'qkvm vnc ubuntu-vm'],
};
/** Host features: `qkvm host ...` lines, offered where qkvm has the host group, else named in refused. */
const HOST_FEATURES: Record<number, [tool: string, qkvm: string]> = {
  56: ['sysctl', 'qkvm host hugepages reserve 512'],
  57: ['mount', 'qkvm host hugepages mount /dev/hugepages'],
  58: ['echo', 'qkvm host ksm on'],
};
/** Lines of the tools qkvm takes by name (virsh, virt-install, virt-clone, qemu-img): the same line, tool swapped. */
const SWAPPED: Record<number, string> = { 30: 'qemu-img', 31: 'virt-install', 43: 'virsh', 44: 'virsh', 45: 'virsh', 46: 'virsh', 47: 'virsh', 48: 'virsh', 49: 'virt-clone', 50: 'qemu-img', 61: 'virsh' };
const QEMU_LINES = [53];

/** qkvm's own parser, stopped after validation: accepts or refuses argv without running a handler. */
async function parses(line: string): Promise<string> {
  // The shell's part of the line (`> file`, `| grep`) is not qkvm's argv.
  const [q, ...words] = splitAtOperator(splitCommandLine(line))[0];
  if (q !== 'qkvm') return `not a qkvm line: ${line}`;
  // What runCli does to argv first (virsh spellings...), then the parser the command uses.
  let argv = words;
  try { for (const r of ARGV_REWRITES) argv = await r(argv); } catch (e) { return (e as Error).message; }
  // A help line is run for real: it only prints.
  if (argv.includes('--help')) return (await execa('node', [CLI, ...argv], { reject: false })).exitCode === 0 ? 'accepted' : 'help failed';
  // A command runCli hands to its own parser (qemu-img, virt-install) is checked by that parser.
  const own = OWN_PARSERS[argv[0]];
  if (own) return own(argv.slice(1)).then(() => 'accepted', (e: Error) => e.message);
  const stop = new Error('accepted');
  const p = (await buildParser(argv)).exitProcess(false).fail(false).middleware(() => { throw stop; }, false);
  try { await p.parseAsync(); return 'ran a handler'; } catch (e) { return e === stop ? 'accepted' : (e as Error).message; }
}

describe.skipIf(why !== '' && !IN_CI)('qkvm explain -f on a tutorial script of mixed lines', () => {
  const home = mkdtempSync(join(tmpdir(), 'qkvm-explain-home-'));
  const run = mkdtempSync(join(tmpdir(), 'qkvm-explain-run-'));
  const qkvm = cli({ home, run });
  let rows: Row[] = [];
  let text = '';
  let code = -1;
  let stderr = '';

  beforeAll(async () => {
    const j = await qkvm('explain', '-f', SCRIPT, '--json');
    code = j.exitCode;
    stderr = j.stderr;
    rows = JSON.parse(j.stdout);
    text = (await qkvm('explain', '-f', SCRIPT)).stdout;
  }, 120_000);
  afterAll(() => { rmSync(home, { recursive: true, force: true }); rmSync(run, { recursive: true, force: true }); });

  const cmdAt = (line: number): Cmd => {
    const row = rows.find((r) => r.line === line);
    expect(row?.kind, `line ${line}`).toBe('command');
    expect(row!.commands, `line ${line}`).toHaveLength(1);
    return row!.commands![0];
  };

  it('gives one object per script line: comments and blank lines kept, continuations joined', () => {
    const source = readFileSync(SCRIPT, 'utf8').split('\n');
    expect(source.filter((l) => l.trim() && !l.startsWith('#') && !/^\s+--/.test(l)).length).toBeGreaterThanOrEqual(30);
    expect(rows.find((r) => r.line === 1)).toEqual({ line: 1, kind: 'comment', text: '#!/bin/bash' });
    expect(rows.find((r) => r.line === 4)).toEqual({ line: 4, kind: 'blank', text: '' });
    // The virt-install line spans lines 31-39 and is one entry; 32-39 have none of their own.
    expect(cmdAt(31).words.slice(0, 3)).toEqual(['virt-install', '--name', 'ubuntu-vm']);
    expect(cmdAt(31).words.at(-1)).toBe('/var/lib/libvirt/boot/ubuntu-20.04.iso');
    expect(rows.filter((r) => r.line > 31 && r.line < 40)).toEqual([]);
    const commandLines = rows.filter((r) => r.kind === 'command').map((r) => r.line).sort((a, b) => a - b);
    expect(commandLines).toEqual([...Object.keys(EXPECTED), ...Object.keys(SWAPPED), ...Object.keys(HOST_FEATURES), ...QEMU_LINES.map(String)].map(Number).sort((a, b) => a - b));
  });

  it('gives each host-tool line its verdict and exact qkvm line', () => {
    for (const [line, [tool, verdict, q]] of Object.entries(EXPECTED)) {
      const c = cmdAt(Number(line));
      expect([c.kind, c.tool, c.verdict, c.qkvm], `line ${line}`).toEqual(['tool', tool, verdict, q]);
      expect(c.says, `line ${line}`).toBeTruthy();
      if (verdict === 'none') expect(c.why, `line ${line}`).toBeTruthy();
    }
    expect(cmdAt(23).says).toBe('not a line qkvm knows: dhclient');
    expect(cmdAt(20).says).toMatch(/creates an empty Linux bridge named br0/);
  });

  it('gives virsh, virt-install, virt-clone and qemu-img lines the same line with the tool name swapped', () => {
    const offered: string[] = [];
    for (const [line, tool] of Object.entries(SWAPPED)) {
      const c = cmdAt(Number(line));
      const text = rows.find((r) => r.line === Number(line))!.text;
      expect(c.tool, `line ${line}`).toBe(tool);
      // Printed as the equivalent when this qkvm takes it, else named in refused with the parser's reason.
      const swap = c.qkvm ?? c.refused?.qkvm;
      expect(splitCommandLine(swap ?? ''), `line ${line}`).toEqual(splitCommandLine(toQkvm(text)));
      expect(c.verdict, `line ${line}`).toBe(c.qkvm ? 'equivalent' : 'none');
      expect(!!c.refused, `line ${line}`).toBe(!c.qkvm);
      if (c.qkvm) offered.push(c.qkvm);
    }
    // The virsh lines at least are qkvm commands today.
    expect(offered).toEqual(expect.arrayContaining(['qkvm list --all', 'qkvm start ubuntu-vm', 'qkvm snapshot-create-as ubuntu-vm snap1', 'qkvm dumpxml ubuntu-vm > ubuntu-vm.xml']));
  });

  it('gives the huge page and KSM lines their qkvm host line', () => {
    for (const [line, [tool, q]] of Object.entries(HOST_FEATURES)) {
      const c = cmdAt(Number(line));
      expect([c.tool, c.qkvm ?? c.refused?.qkvm], `line ${line}`).toEqual([tool, q]);
      expect(c.verdict, `line ${line}`).toBe(c.qkvm ? 'equivalent' : 'none');
    }
  });

  it('sends the qemu-kvm line to the QEMU explainer', () => {
    const c = cmdAt(53);
    expect(c.kind).toBe('qemu');
    expect(c.explanation.entries.map((e: any) => e.option)).toEqual(['-m', '-hda', '-net', '-net']);
    expect(text).toContain('--- line 53: qemu-kvm -m 1024 -hda ubuntu.qcow2 -net nic -net user\nqemu-kvm, option by option (checked against this host');
  });

  it('prints each line under a heading with its number, and exits 2 naming the unknown line', () => {
    expect(text).toContain('--- line 20: sudo brctl addbr br0\nbrctl addbr br0  [qkvm equivalent]');
    expect(text).toContain('  qkvm: qkvm net define br0 --mode isolated --bridge br0');
    expect(text).toContain('# Step 3: a bridge for the guests\n');
    expect(code).toBe(2);
    expect(stderr).toContain('qkvm: error: not a line qkvm knows: dhclient');
  });

  it('prints only equivalents that qkvm\'s own parser accepts, and its see-hints parse too', async () => {
    const lines = rows.flatMap((r) => r.commands ?? []).flatMap((c) => [c.qkvm, ...((c as any).see ?? [])]).filter((l): l is string => !!l && l.startsWith('qkvm '));
    expect(lines.length).toBeGreaterThan(20);
    for (const l of lines) expect(await parses(l), l).toBe('accepted');
    // And the refused ones really are refused: the reason explain gives is the parser's.
    for (const c of rows.flatMap((r) => r.commands ?? []).filter((x) => x.refused)) {
      expect(await parses(c.refused!.qkvm), c.refused!.qkvm).not.toBe('accepted');
    }
  }, 120_000);

  it('gives host-tool equivalents that work as printed (the network definitions, in a private home)', async () => {
    for (const line of [20, 24, 26]) {
      const h = mkdtempSync(join(tmpdir(), 'qkvm-explain-h-'));
      try {
        const r = await cli({ home: h, run })(...splitCommandLine(cmdAt(line).qkvm!).slice(1));
        expect(r.exitCode, `${cmdAt(line).qkvm}: ${r.stderr}`).toBe(0);
        expect(readdirSync(join(h, 'networks')).length, cmdAt(line).qkvm).toBe(1);
      } finally { rmSync(h, { recursive: true, force: true }); }
    }
    const l = await qkvm('list', '--all');
    expect(l.exitCode).toBe(0);
  }, 120_000);

  it('reads the script from stdin with -f -', async () => {
    const r = await execa('node', [CLI, 'explain', '-f', '-', '--json'], { input: 'sudo virsh start web\n# a comment\nbrctl addbr br9\n', reject: false, env: { QKVM_HOME: home, QKVM_RUN: run } });
    expect(r.exitCode).toBe(0);
    const got = JSON.parse(String(r.stdout)) as Row[];
    expect(got.map((x) => [x.line, x.kind, x.commands?.[0]?.qkvm])).toEqual([[1, 'command', 'qkvm start web'], [2, 'comment', undefined], [3, 'command', 'qkvm net define br9 --mode isolated --bridge br9']]);
  });

  it('explains one line after --, as words or as one quoted line; an unknown one exits 2', async () => {
    const words = await qkvm('explain', '--json', '--', 'sudo', 'brctl', 'addbr', 'br0');
    expect(words.exitCode).toBe(0);
    expect(JSON.parse(words.stdout)).toMatchObject({ kind: 'tool', tool: 'brctl', verdict: 'equivalent', qkvm: 'qkvm net define br0 --mode isolated --bridge br0' });
    const quoted = await qkvm('explain', '--', 'virt-viewer --connect qemu:///system vm1');
    expect(quoted.stdout).toContain('  qkvm: qkvm vnc vm1');
    const bad = await qkvm('explain', '--', 'dhclient', 'br0');
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('qkvm: error: not a line qkvm knows: dhclient');
    const missing = await qkvm('explain', '-f', join(home, 'no-such-script.sh'));
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toContain('no-such-script.sh');
  });
});

describe.skipIf(why !== '' && !IN_CI)('explain runs nothing from the line', () => {
  const ns = new Netns();
  const dir = mkdtempSync(join(tmpdir(), 'qkvm-explain-safe-'));
  beforeAll(async () => { await ns.create(); }, 60_000);
  afterAll(async () => { await ns.destroy(); rmSync(dir, { recursive: true, force: true }); });

  it('creates no bridge, tap, file or forwarding in a namespace where it explains lines that would', async () => {
    const script = join(dir, 'would-change.sh');
    writeFileSync(script, [
      'brctl addbr qkx0',
      'ip link add name qkx1 type bridge',
      'tunctl -t qktap0',
      'ip tuntap add dev qktap1 mode tap',
      'echo 1 > /proc/sys/net/ipv4/ip_forward',
      `qemu-img create -f qcow2 ${join(dir, 'made.qcow2')} 1G`,
      `echo hello > ${join(dir, 'marker')}`,
      `virsh undefine vm1 --remove-all-storage`,
    ].join('\n') + '\n');
    const env = { QKVM_HOME: join(dir, 'home'), QKVM_RUN: join(dir, 'run'), PATH: process.env.PATH ?? '' };
    const before = await ns.exec(['cat', '/proc/sys/net/ipv4/ip_forward']);
    const one = await ns.exec(['node', CLI, 'explain', '--', 'brctl', 'addbr', 'qkx2'], { env });
    expect(one.stdout).toContain('brctl addbr qkx2  [qkvm equivalent]');
    const all = await ns.exec(['node', CLI, 'explain', '-f', script], { env, reject: false });
    expect(all.code).toBe(2); // the `echo hello > marker` line is not one qkvm knows
    expect(all.stdout).toContain('--- line 1: brctl addbr qkx0');
    const links = JSON.parse((await ns.exec(['ip', '-j', 'link', 'show'])).stdout) as { ifname: string }[];
    expect(links.map((l) => l.ifname)).toEqual(['lo']);
    expect((await ns.exec(['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout).toBe(before.stdout);
    expect(existsSync(join(dir, 'made.qcow2'))).toBe(false);
    expect(existsSync(join(dir, 'marker'))).toBe(false);
    // No guest, network or image was recorded either: explain only reads.
    expect(existsSync(join(dir, 'home', 'vms'))).toBe(false);
    expect(existsSync(join(dir, 'home', 'networks'))).toBe(false);
  }, 120_000);
});
