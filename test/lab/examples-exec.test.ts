// The example labs' exec lines run as written in busybox (the demo guest's
// userland): each node gets a network namespace of its own with its NICs as
// veth devices, and every line must succeed there, in order. The namespace is
// removed after each node, also when a line fails.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { IN_CI } from '../net/lab.js';
import { parseLabYaml } from '../../src/lab/topology.js';

const LABS = path.resolve(__dirname, '../../templates/labs');
const files = readdirSync(LABS).filter((f) => f.endsWith('.yaml')).sort();
const has = (cmd: string) => { try { execFileSync('sh', ['-c', 'command -v "$1"', 'sh', cmd], { stdio: 'ignore' }); return true; } catch { return false; } };
const why = process.getuid?.() !== 0 ? 'needs root (network namespaces)' : ['ip', 'busybox'].filter((c) => !has(c)).map((c) => `missing ${c} (run scripts/setup-host.sh)`).join(', ');
if (why && !IN_CI) console.warn(`examples-exec: skipped: ${why}`);

describe.skipIf(why !== '' && !IN_CI)('example labs\' exec lines in busybox', () => {
  it.each(files)('%s: every line runs', (f) => {
    if (why) throw new Error(why);
    const { topology: t } = parseLabYaml(readFileSync(path.join(LABS, f), 'utf8'), f);
    const failed: string[] = [];
    let ran = 0;
    for (const n of t.nodes) {
      const ns = `qkx-${randomBytes(4).toString('hex')}`;
      execFileSync('ip', ['netns', 'add', ns]);
      try {
        const ip = (...args: string[]) => execFileSync('ip', ['-n', ns, ...args], { stdio: 'pipe' });
        ip('link', 'set', 'lo', 'up');
        for (const l of t.links) {
          for (const e of [l.a, l.b]) {
            if (!('node' in e) || e.node !== n.key) continue;
            // A veth with its peer up, so that the NIC has a carrier like a wired one.
            ip('link', 'add', `eth${e.ifc}`, 'type', 'veth', 'peer', 'name', `peer${e.ifc}`);
            ip('link', 'set', `peer${e.ifc}`, 'up');
          }
        }
        for (const line of t.exec[n.key] ?? []) {
          ran++;
          try {
            execFileSync('ip', ['netns', 'exec', ns, 'busybox', 'sh', '-c', line], { stdio: 'pipe' });
          } catch (e: any) {
            failed.push(`${n.key}: ${line}: ${String(e.stderr).trim()}`);
          }
        }
      } finally {
        execFileSync('ip', ['netns', 'del', ns]);
      }
    }
    expect(failed).toEqual([]);
    expect(ran).toBeGreaterThan(5);
  });
});
