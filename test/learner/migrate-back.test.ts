// Issue 10, item 7: `migrate --to-home` there and back. The copy written at the
// destination spells out the NIC's derived MAC; coming back, the original
// definition (without it) must count as the same. One real guest (TCG).
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseVmSpec } from '../../src/config/schema.js';
import { specDifferences } from '../../src/migrate/live.js';
import { generateMac } from '../../src/net/mac.js';
import { DEMO_DIR, REPO } from '../net/lab.js';
import { learnerWorld, ok, type LearnerWorld } from './world.js';

describe('definitions compare with derived values normalized', () => {
  const base = { name: 'demo', memory: '128M', nics: [{ type: 'user', model: 'virtio' }] } as const;
  it('a copy spelling out the derived MAC is the same definition', () => {
    const original = parseVmSpec(base, 'original');
    const copy = parseVmSpec({ ...base, nics: [{ type: 'user', model: 'virtio', mac: generateMac('demo', 0).toUpperCase() }] }, 'copy');
    expect(specDifferences(original, copy)).toEqual([]);
    expect(specDifferences(copy, original)).toEqual([]);
  });
  it('another MAC is still a difference', () => {
    const other = parseVmSpec({ ...base, nics: [{ type: 'user', model: 'virtio', mac: '52:54:00:00:00:01' }] }, 'other');
    expect(specDifferences(parseVmSpec(base, 'original'), other)).toEqual(['nics']);
  });
});

describe('migrate --to-home there and back, with a real guest', () => {
  let w: LearnerWorld;
  let there: { QKVM_HOME: string; QKVM_RUN: string };
  let where: 'here' | 'there' | 'nowhere' = 'nowhere';

  beforeAll(async () => {
    const b = spawnSync('bash', [path.join(REPO, 'scripts/build-demo-guest.sh'), DEMO_DIR], { encoding: 'utf8', timeout: 280_000 });
    if (b.status !== 0) throw new Error(`build-demo-guest.sh failed:\n${b.stdout}\n${b.stderr}`);
    w = learnerWorld();
    there = { QKVM_HOME: path.join(w.dir, '..', 'home2'), QKVM_RUN: path.join(w.dir, '..', 'run2') };
    mkdirSync(path.join(w.home, 'cache'), { recursive: true });
    symlinkSync(DEMO_DIR, path.join(w.home, 'cache', 'demo'));
    ok(await w.sh('qkvm create demo --template demo --accel tcg'), 'create');
    ok(await w.sh('qkvm start demo'), 'start');
    where = 'here';
    for (let i = 0; i < 240 && !/demo# /.test((await w.sh('qkvm console demo --replay')).stdout); i++) await new Promise((r) => setTimeout(r, 500));
  }, 300_000);

  afterAll(async () => {
    if (where === 'here') await w.sh('qkvm destroy demo');
    if (where === 'there') await w.sh('qkvm destroy demo', { env: there });
    w?.cleanup();
  });

  it('there: the guest runs in the other home, whose definition spells out the MAC', async () => {
    ok(await w.sh(`qkvm migrate demo --to-home ${there.QKVM_HOME} --to-run ${there.QKVM_RUN}`), 'migrate there');
    where = 'there';
    expect(ok(await w.sh('qkvm domstate demo', { env: there }), 'domstate there').stdout).toMatch(/^running/);
  });

  it('and back: the original definition is accepted, the guest runs here again and answers', async () => {
    const r = await w.sh(`qkvm migrate demo --to-home ${w.home} --to-run ${w.run}`, { env: there });
    expect(r.stderr).not.toMatch(/defines "demo" differently/);
    ok(r, 'migrate back');
    where = 'here';
    expect(ok(await w.sh('qkvm domstate demo'), 'domstate here').stdout).toMatch(/^running/);
    expect(ok(await w.sh("qkvm console demo --exec 'echo back'"), 'console').stdout).toBe('back\n');
    expect(w.definition('demo').nics[0].mac).toBeUndefined();
  });
});
