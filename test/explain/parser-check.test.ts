// explain offers a qkvm line only when qkvm's own parser takes it: yargs for
// most commands, and the command's own parser for those runCli hands over first.
import { afterEach, describe, expect, it } from 'vitest';
import { ARGV_REWRITES, OWN_PARSERS, parserRefuses, toolContext } from '../../src/cli/explain.js';

describe('parserRefuses', () => {
  afterEach(() => { delete OWN_PARSERS['fake-tool']; ARGV_REWRITES.length = 0; });

  it('accepts a line yargs takes, without running it', async () => {
    expect(await parserRefuses('qkvm start vm1')).toBeUndefined();
    expect(await parserRefuses('qkvm net define br0 --mode isolated --bridge br0')).toBeUndefined();
    expect(await parserRefuses('qkvm list --all | grep running')).toBeUndefined();
  });

  it("refuses what yargs refuses, with yargs' message", async () => {
    expect(await parserRefuses('qkvm start')).toMatch(/Not enough non-option arguments/);
    expect(await parserRefuses('qkvm start vm1 --bogus')).toMatch(/Unknown argument: bogus/);
    expect(await parserRefuses('qkvm frobnicate')).toMatch(/Unknown argument: frobnicate/);
    expect(await parserRefuses('qkvm start ../etc')).toMatch(/guest name/);
    expect(await parserRefuses('virsh start vm1')).toBe('not a qkvm line: virsh start vm1');
  });

  it('asks a command with its own parser, and lists it among the commands', async () => {
    OWN_PARSERS['fake-tool'] = async (argv) => { if (argv[0] !== 'ok') throw new Error(`fake-tool: bad ${argv[0]}`); };
    expect(await parserRefuses('qkvm fake-tool ok')).toBeUndefined();
    expect(await parserRefuses('qkvm fake-tool nope')).toBe('fake-tool: bad nope');
    expect((await toolContext()).commands.has('fake-tool')).toBe(true);
  });

  it("applies runCli's argv rewrites first, as the command would get them", async () => {
    expect(await parserRefuses('qkvm start --domain vm1')).toMatch(/Not enough non-option arguments|Unknown argument/);
    ARGV_REWRITES.push((argv) => argv.filter((w) => w !== '--domain'));
    expect(await parserRefuses('qkvm start --domain vm1')).toBeUndefined();
    ARGV_REWRITES.push(() => { throw new Error('refused by a rewrite'); });
    expect(await parserRefuses('qkvm start vm1')).toBe('refused by a rewrite');
  });
});
