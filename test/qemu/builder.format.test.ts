// formatCommand must print something a shell runs as exactly the same argv.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseVmSpec } from '../../src/config/schema.js';
import { buildCommand, type QemuCommand } from '../../src/qemu/builder.js';
import { formatCommand, shellQuote } from '../../src/qemu/format.js';
import { fixtureNames, loadFixture } from './golden/load.js';

// A stand-in for the binary, first on PATH: it prints its arguments NUL-separated.
const fakeBin = mkdtempSync(path.join(os.tmpdir(), 'qkvm-format-test-'));
afterAll(() => rmSync(fakeBin, { recursive: true, force: true }));

/** Runs the printed text in `shell` and returns the argv the binary received. */
function argvThroughShell(text: string, shell: string, binary: string): string[] {
  const stub = path.join(fakeBin, binary);
  writeFileSync(stub, '#!/bin/sh\nprintf \'%s\\0\' "$@"\n');
  chmodSync(stub, 0o755);
  const r = spawnSync(shell, ['-c', text], { encoding: 'utf8', env: { ...process.env, PATH: `${fakeBin}:${process.env.PATH}` } });
  expect(r.status, r.stderr).toBe(0);
  return r.stdout.split('\0').slice(0, -1);
}

const tricky: QemuCommand = {
  binary: 'qemu-system-x86_64',
  args: [],
  options: [
    { opt: '-append', value: "console=ttyS0 msg='hi' $HOME `x` \\ \"q\"", explain: 'a tricky kernel command line' },
    { opt: '-name', value: 'plain,debug-threads=on', explain: 'no quoting needed' },
    { opt: '-empty', value: '', explain: 'an empty value' },
    { opt: '-flag', explain: 'no value; a # and a newline\nin the explanation' },
  ],
};
tricky.args = tricky.options.flatMap((o) => (o.value === undefined ? [o.opt] : [o.opt, o.value]));

describe('shellQuote', () => {
  it('leaves safe words bare and single-quotes the rest', () => {
    expect(shellQuote('-m')).toBe('-m');
    expect(shellQuote('a,b=c:/d.e')).toBe('a,b=c:/d.e');
    expect(shellQuote('a b')).toBe("'a b'");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('')).toBe("''");
    expect(shellQuote('[::1]:0')).toBe("'[::1]:0'");
  });
});

describe('formatCommand', () => {
  it('prints one option per line with continuations', () => {
    const text = formatCommand(tricky);
    expect(text.split('\n')[0]).toBe('qemu-system-x86_64 \\');
    expect(text).toContain('\n  -name plain,debug-threads=on \\\n');
    expect(text.endsWith('  -flag\n')).toBe(true);
  });

  it('round-trips through sh and bash to the same argv', () => {
    for (const shell of ['sh', 'bash']) {
      expect(argvThroughShell(formatCommand(tricky), shell, 'qemu-system-x86_64')).toEqual(tricky.args);
    }
  });

  it('with explain, puts a comment before each option and still runs in bash', () => {
    const text = formatCommand(tricky, { explain: true });
    expect(text).toContain('  # a tricky kernel command line\n  -append ');
    expect(text).toContain('  # no value; a # and a newline in the explanation\n  -flag\n');
    expect(argvThroughShell(text, 'bash', 'qemu-system-x86_64')).toEqual(tricky.args);
  });

  it('round-trips every golden fixture, plain and explained', () => {
    for (const name of fixtureNames()) {
      const f = loadFixture(name);
      const cmd = buildCommand(f.spec, f.ctx);
      expect(argvThroughShell(formatCommand(cmd), 'sh', cmd.binary), name).toEqual(cmd.args);
      expect(argvThroughShell(formatCommand(cmd, { explain: true }), 'bash', cmd.binary), name).toEqual(cmd.args);
    }
  });

  it('quotes a binary path with spaces', () => {
    const cmd = buildCommand(parseVmSpec({ name: 'x' }), { caps: { binary: '/opt/my qemu/qemu-system-x86_64', version: '7.2.0', accel: 'tcg', vhostNet: false } });
    expect(formatCommand(cmd).split('\n')[0]).toBe("'/opt/my qemu/qemu-system-x86_64' \\");
  });
});
