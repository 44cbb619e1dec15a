// The dispatcher in front of the QEMU explainer, and the script walker of
// `explain -f`: which module a line goes to, prompts and sudo, continuations.
import { describe, expect, it } from 'vitest';
import { explainLine, splitCommands, stripPrompt, type ToolContext } from '../../src/explain/index.js';
import { splitScript } from '../../src/explain/script.js';
import { formatToolExplanation } from '../../src/explain/format.js';
import { shellLine, shellQuote } from '../../src/explain/words.js';
import { networkOf } from '../../src/explain/tools/ip.js';

const ctx: ToolContext = { commands: new Map([['start', 'Start a guest'], ['list', 'List guests'], ['net', 'networks'], ['doctor', 'Check the host']]) };
const kinds = (line: string) => explainLine(line, ctx).map((c) => (c.kind === 'qemu' ? 'qemu' : `${c.tool}:${c.verdict}`));

describe('dispatch by the first word', () => {
  it('sends QEMU lines to the QEMU explainer with their words unchanged', () => {
    for (const line of ['qemu-kvm -m 512 -hda x.img', 'qemu-system-x86_64 -enable-kvm -m 1G', 'kvm -m 256', '/usr/libexec/qemu-kvm -m 512', '-m 512 -hda x.img', 'sudo qemu-kvm -m 512']) {
      const [c] = explainLine(line, ctx);
      expect(c.kind, line).toBe('qemu');
    }
    expect(explainLine('sudo qemu-kvm -m 512 -hda disk.img', ctx)[0].words).toEqual(['qemu-kvm', '-m', '512', '-hda', 'disk.img']);
  });

  it('never reads a tool line as a QEMU line (the old "attaches brctl as the first IDE hard disk")', () => {
    expect(kinds('brctl addbr br0')).toEqual(['brctl:equivalent']);
    expect(kinds('kvm-ok')).toEqual(['kvm-ok:equivalent']);
    expect(kinds('virsh start vm1')).toEqual(['virsh:equivalent']);
  });

  it('names an unknown first word, and guesses nothing', () => {
    const [c] = explainLine('dhclient -v br0', ctx);
    expect(c).toMatchObject({ kind: 'tool', verdict: 'unknown', says: 'not a line qkvm knows: dhclient' });
    expect(c.kind === 'tool' && c.qkvm).toBeFalsy();
  });

  it('strips prompts, sudo and its options, and VAR=value', () => {
    expect(stripPrompt('$ virsh list')).toBe('virsh list');
    expect(stripPrompt('user@host:~$ virsh list')).toBe('virsh list');
    expect(stripPrompt('root@kvm01:/var/lib/libvirt/images# qemu-img info x')).toBe('qemu-img info x');
    expect(stripPrompt('[root@centos7 ~]# virsh list')).toBe('virsh list');
    expect(stripPrompt('# virsh list --all')).toBe('virsh list --all');
    expect(stripPrompt('# Step 1: check the CPU')).toBe('# Step 1: check the CPU');
    expect(splitCommands('sudo -E LANG=C virsh list')).toEqual([['virsh', 'list']]);
    expect(splitCommands('sudo -u root brctl show')).toEqual([['brctl', 'show']]);
  });

  it('splits a line at && ; || and explains each command', () => {
    expect(kinds('sudo modprobe kvm && lsmod | grep kvm')).toEqual(['modprobe:none', 'lsmod:equivalent']);
    expect(kinds('brctl addbr br0 ; ip link set br0 up')).toEqual(['brctl:equivalent', 'ip:none']);
  });
});

describe('a shell tail on a swapped line', () => {
  const big: ToolContext = { commands: new Map([...ctx.commands, ['dumpxml', 'Print a definition']]) };
  it('keeps a redirection or pipe out of the argv and on the qkvm line', () => {
    const [c] = explainLine('virsh dumpxml vm1 > vm1.xml', big);
    expect(c).toMatchObject({ kind: 'tool', verdict: 'equivalent', qkvm: 'qkvm dumpxml vm1 > vm1.xml' });
    expect(c.kind === 'tool' && c.parts.at(-1)).toEqual({ words: '> vm1.xml', says: "the shell's part: the output goes to (or the input comes from) a file" });
    expect(explainLine('virsh list --all | grep running', big)[0]).toMatchObject({ qkvm: 'qkvm list --all | grep running' });
    expect(explainLine('qemu-img info x.qcow2 2>&1', big)[0]).toMatchObject({ verdict: 'none', refused: { qkvm: 'qkvm qemu-img info x.qcow2 2>&1' } });
  });
});

describe('splitScript (explain -f)', () => {
  const script = [
    '#!/bin/bash',
    '# check the CPU',
    "egrep -c '(vmx|svm)' /proc/cpuinfo",
    '',
    '$ sudo virt-install --name web \\',
    '    --ram 1024 \\',
    '    --import --disk /tmp/web.qcow2',
    '# virsh start web',
    'virsh list   # running guests',
  ].join('\n');

  it('keeps comments and blank lines, joins continuations, numbers each entry by its first line', () => {
    expect(splitScript(script)).toEqual([
      { line: 1, kind: 'comment', text: '#!/bin/bash' },
      { line: 2, kind: 'comment', text: '# check the CPU' },
      { line: 3, kind: 'command', text: "egrep -c '(vmx|svm)' /proc/cpuinfo" },
      { line: 4, kind: 'blank', text: '' },
      { line: 5, kind: 'command', text: '$ sudo virt-install --name web --ram 1024 --import --disk /tmp/web.qcow2' },
      { line: 8, kind: 'command', text: '# virsh start web' },
      { line: 9, kind: 'command', text: 'virsh list   # running guests' },
    ]);
  });

  it('reads a root prompt before a known command, and drops a trailing comment', () => {
    expect(splitCommands('# virsh start web')).toEqual([['virsh', 'start', 'web']]);
    expect(splitCommands('virsh list   # running guests')).toEqual([['virsh', 'list']]);
  });

  it('handles CRLF files and an escaped backslash at the end of a line', () => {
    expect(splitScript('virsh list \\\r\n  --all\r\necho a\\\\\n')).toEqual([
      { line: 1, kind: 'command', text: 'virsh list --all' },
      { line: 3, kind: 'command', text: 'echo a\\\\' },
    ]);
  });
});

describe('the printed text', () => {
  it('quotes the qkvm line so it pastes, and shows verdict, parts and hints', () => {
    expect(shellQuote('vm1')).toBe('vm1');
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellLine(['qkvm', 'virt-install', '--extra-args', 'console=ttyS0 text'])).toBe("qkvm virt-install --extra-args 'console=ttyS0 text'");
    const [c] = explainLine('brctl addbr br0', ctx);
    const text = formatToolExplanation(c as any);
    expect(text).toContain('brctl addbr br0  [qkvm equivalent]');
    expect(text).toContain('  qkvm: qkvm net define br0 --mode isolated --bridge br0');
    expect(text).toContain('see: qkvm net start br0');
    const [u] = explainLine('dhclient br0', ctx);
    expect(formatToolExplanation(u as any)).toContain('[unknown]\n    not a line qkvm knows: dhclient');
  });

  it('computes a subnet from an address', () => {
    expect(networkOf('192.168.100.1/24')).toBe('192.168.100.0/24');
    expect(networkOf('10.1.2.3/16')).toBe('10.1.0.0/16');
    expect(networkOf('10.1.2.3')).toBeUndefined();
    expect(networkOf('300.1.2.3/24')).toBeUndefined();
  });
});
