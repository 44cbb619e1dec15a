import { describe, expect, it } from 'vitest';
import { execLine, parseExec, untilMet } from '../../src/runtime/console-exec.js';

describe('console --exec: the typed line and the answer', () => {
  const { line, tag } = execLine('uname -r', 'ab12');
  it('types the command, then its status as a marker with digits', () => {
    expect(tag).toBe('ab12');
    expect(line).toBe("uname -r; printf '\\n__QKVM_RC_ab12=%d\\n' $?\n");
  });

  it('the echo of the typed line (which holds the marker text) is not the answer', () => {
    const echo = `demo# ${line.replace('\n', '\r\n')}`;
    expect(parseExec(echo, tag)).toBeUndefined();
  });

  it('finds the output between the echo and the marker, and the status', () => {
    const seen = `demo# ${line}`.replace(/\n/g, '\r\n') + '6.1.0-57-cloud-amd64\r\n\r\n__QKVM_RC_ab12=0\r\ndemo# ';
    expect(parseExec(seen, tag)).toEqual({ output: '6.1.0-57-cloud-amd64\n', status: 0 });
  });

  it('a failing command gives its status; a command without output gives empty output', () => {
    const seen = `demo# ${line}\n__QKVM_RC_ab12=3\n`;
    expect(parseExec(seen, tag)).toEqual({ output: '', status: 3 });
  });

  it('output without a final newline keeps it that way; a marker of another tag does not count', () => {
    expect(parseExec(`demo# ${line}x\n__QKVM_RC_ffff=0\n`, tag)).toBeUndefined();
    expect(parseExec(`demo# ${line}x\n__QKVM_RC_ab12=0\n`, tag)).toEqual({ output: 'x', status: 0 });
  });

  it('refuses an empty or multi-line command (exit 2)', () => {
    expect(() => execLine('  ')).toThrow(/empty command/);
    expect(() => execLine('ls\nrm x')).toThrow(/spans lines/);
  });
});

describe('console --until: at a line start, not in the echo', () => {
  it("a '#' inside the kernel version or the prompt is not a match", () => {
    expect(untilMet('Linux version 6.1.0-57-cloud-amd64 #1 SMP\r\ndemo# ', '#')).toBe(false);
  });
  it('a marker at a line start is', () => {
    expect(untilMet('booting\r\nQKVM-DEMO-READY kernel=6.1\r\n', 'QKVM-DEMO-READY')).toBe(true);
  });
  it('the echo of a typed command holding the marker is not', () => {
    expect(untilMet('demo# echo DONE\r\n', 'DONE', 'echo DONE\n')).toBe(false);
    expect(untilMet('demo# echo DONE\r\nDONE\r\n', 'DONE', 'echo DONE\n')).toBe(true);
  });
  it('with an empty prompt, the echoed line is still not a match', () => {
    expect(untilMet('echo DONE\n', 'echo', 'echo DONE\n')).toBe(false);
  });
});
