// What `qkvm cmdline` shows is what `qkvm start` runs: the argv of the running
// QEMU (/proc/PID/cmdline) equals `qkvm cmdline NAME --json`, element by element.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { World } from '../safety/world.js';

describe('qkvm cmdline = /proc/PID/cmdline of the started guest', () => {
  let w: World;
  beforeAll(async () => { w = await World.create(); });
  afterAll(async () => { await w?.destroy(); });

  const cases: [string, () => Promise<Record<string, unknown>>][] = [
    ['the demo guest', async () => ({})],
    ['a guest with a qcow2 disk, a user NIC with a port forward and VNC on loopback', async () => ({
      disks: [{ file: await w.image('live.qcow2', '16M') }],
      nics: [{ type: 'user', hostfwd: ['tcp:127.0.0.1:0-:22'] }],
      display: { type: 'vnc', listen: '127.0.0.1', display: 77 },
    })],
  ];
  for (const [i, [title, extra]] of cases.entries()) {
    it(title, async () => {
      const name = `live${i}`;
      await w.defineDemo(name, await extra());
      const pid = await w.startDemo(name);
      const shown = await w.qkvm(['cmdline', name, '--json']);
      expect(shown.code, shown.stderr).toBe(0);
      const { binary, args } = JSON.parse(shown.stdout) as { binary: string; args: string[] };
      const running = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, -1);
      expect(running).toEqual([binary, ...args]);
      // The plain form prints the same words.
      const plain = await w.qkvm(['cmdline', name]);
      expect(plain.code, plain.stderr).toBe(0);
      for (const a of args.filter((x) => /^-/.test(x))) expect(plain.stdout).toContain(a);
      const d = await w.qkvm(['destroy', name]);
      expect(d.code, d.stderr).toBe(0);
    });
  }
});
