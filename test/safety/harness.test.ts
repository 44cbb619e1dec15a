// The harness must bite: every kind of harm a safety case checks for is seen
// by World.snapshot/diff. Without this, "nothing lost" could be vacuous.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendFileSync, chmodSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { World, expectRefused } from './world.js';

describe('safety harness', () => {
  let w: World;
  let pid: number;
  beforeAll(async () => {
    w = await World.create();
    await w.defineDemo('bystander');
    pid = await w.startDemo('bystander');
  });
  afterAll(async () => { await w?.destroy(); });

  it('sees a file created, changed, re-moded or removed anywhere in the world', async () => {
    const before = await w.snapshot();
    writeFileSync(join(w.outside, 'new.txt'), 'x');
    appendFileSync(join(w.outside, 'precious.txt'), 'y');
    chmodSync(join(w.outside, 'shadow'), 0o644);
    rmSync(join(w.outside, 'dir', 'precious.img'));
    symlinkSync('/etc', join(w.home, 'link'));
    const d = w.diff(before, await w.snapshot());
    expect(d).toContain(`created: ${join(w.outside, 'new.txt')} (file)`);
    expect(d.some((l) => l.startsWith(`changed: ${join(w.outside, 'precious.txt')} sha256`))).toBe(true);
    expect(d).toContain(`changed: ${join(w.outside, 'shadow')} mode 384 -> 420`);
    expect(d).toContain(`removed: ${join(w.outside, 'dir', 'precious.img')} (file)`);
    expect(d).toContain(`created: ${join(w.home, 'link')} (symlink)`);
    unlinkSync(join(w.home, 'link'));
  });

  it('sees a QEMU of the world die, and ignores only what it is told to', async () => {
    const before = await w.snapshot();
    expect(before.qemu).toEqual([pid]);
    writeFileSync(join(w.run, 'scratch'), 'x');
    expect(w.diff(before, await w.snapshot(), { ignore: [join(w.run, 'scratch')] })).toEqual([]);
    rmSync(join(w.run, 'scratch'));
    const r = await w.qkvm(['destroy', 'bystander']);
    expect(r.code, r.stderr).toBe(0);
    expect(w.diff(before, await w.snapshot())).toContain(`QEMU gone: ${pid}`);
  });

  it('expectRefused fails on a stack trace or a wrong exit code', () => {
    const trace = { code: 1, stdout: '', stderr: 'qkvm: boom\n    at f (/x/y.js:1:2)\n' };
    expect(() => expectRefused(trace, { code: 1, mentions: ['boom'] })).toThrow();
    expect(() => expectRefused({ code: 1, stdout: '', stderr: 'bad "x"' }, { code: 2, mentions: ['"x"'] })).toThrow();
    expect(() => expectRefused({ code: 2, stdout: '', stderr: 'bad "x"' }, { code: 2, mentions: ['"y"'] })).toThrow();
    expectRefused({ code: 2, stdout: '', stderr: 'qkvm: error: bad "x"\nhint: do y\n' }, { code: 2, mentions: ['"x"', /do y/] });
  });

  it('in a namespace world, sees a bridge and an nft table come and go', async () => {
    const n = await World.create({ netns: true });
    try {
      const before = await n.snapshot();
      await n.exec(['ip', 'link', 'add', 'qkh0', 'type', 'bridge']);
      await n.exec(['nft', 'add', 'table', 'inet', 'qkh']);
      const mid = await n.snapshot();
      expect(n.diff(before, mid)).toEqual(['link new: qkh0 DOWN', 'nft table new: table inet qkh']);
      await n.exec(['ip', 'link', 'del', 'qkh0']);
      await n.exec(['nft', 'delete', 'table', 'inet', 'qkh']);
      expect(n.diff(before, await n.snapshot())).toEqual([]);
    } finally {
      await n.destroy();
    }
  });
});
