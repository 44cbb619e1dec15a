// Issue 10, item 7: a new home starts cold no more. The KVM verdict is the
// host's: probed once, cached host-wide (0700, checked like the state dirs),
// and a second new home reads it. A new home's `start demo` points at the template.
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, mkdirSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { learnerWorld, ok, type LearnerWorld } from './world.js';

const cacheRoot = mkdtempSync(path.join(os.tmpdir(), 'qkvm-hostcache-'));
const worlds: LearnerWorld[] = [];
afterAll(() => { for (const w of worlds) w.cleanup(); rmSync(cacheRoot, { recursive: true, force: true }); });

function world(): LearnerWorld {
  const w = learnerWorld();
  worlds.push(w);
  return w;
}

describe('the probes (KVM verdict, QEMU facts) are cached per host, not per home', () => {
  const cache = path.join(cacheRoot, 'qkvm');
  const env = { QKVM_HOST_CACHE: cache };

  // Without /dev/kvm (as on these machines) there is no KVM verdict to cache: the answer is immediate.
  const files = existsSync('/dev/kvm') ? ['qemu-probe.json', 'kvm-probe.json'] : ['qemu-probe.json'];

  it('a second new home reads what the first one probed (files unchanged), none is kept in a home', async () => {
    const a = world(), b = world();
    for (const w of [a, b]) ok(await w.sh('qkvm create g --memory 64M --accel auto'), 'create');
    ok(await a.sh('qkvm cmdline g', { env }), 'cmdline in home A');
    expect(statSync(cache).mode & 0o777).toBe(0o700);
    const first = files.map((f) => readFileSync(path.join(cache, f), 'utf8'));
    const mtimes = files.map((f) => statSync(path.join(cache, f)).mtimeMs);
    ok(await b.sh('qkvm cmdline g', { env }), 'cmdline in home B');
    expect(files.map((f) => readFileSync(path.join(cache, f), 'utf8'))).toEqual(first);
    expect(files.map((f) => statSync(path.join(cache, f)).mtimeMs)).toEqual(mtimes);
    for (const w of [a, b]) for (const f of ['qemu-probe.json', 'kvm-probe.json']) expect(existsSync(path.join(w.home, 'cache', f))).toBe(false);
  });

  it('the KVM verdict\'s key is the host\'s: kernel release, /dev/kvm, QEMU version', async () => {
    const { probeKvm } = await import('../../src/host/kvm-probe.js');
    process.env.QKVM_HOST_CACHE = cache;
    try {
      const v = await probeKvm('qemu-system-x86_64', '7.2.0');
      expect(v.key).toContain(os.release());
      expect(v.key).toContain(`kvm=${existsSync('/dev/kvm') ? 'present' : 'absent'}`);
      expect(v.key).toContain('7.2.0');
      expect(v.key).not.toContain(os.tmpdir());
    } finally { delete process.env.QKVM_HOST_CACHE; }
  });

  it('a host cache directory others can write is not used (nothing read or written there)', async () => {
    const loose = path.join(cacheRoot, 'loose');
    mkdirSync(loose);
    chmodSync(loose, 0o777);
    const w = world();
    ok(await w.sh('qkvm create g --memory 64M --accel auto'), 'create');
    ok(await w.sh('qkvm cmdline g', { env: { QKVM_HOST_CACHE: loose } }), 'cmdline');
    expect(existsSync(path.join(loose, 'kvm-probe.json'))).toBe(false);
    expect(existsSync(path.join(loose, 'qemu-probe.json'))).toBe(false);
  });
});

describe('a new home points at the template', () => {
  it('start demo says "not defined" and prints `qkvm create demo --template demo`, which works as printed', async () => {
    const w = world();
    const r = await w.sh('qkvm start demo');
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/guest "demo" is not defined/);
    const hint = /`(qkvm create demo --template demo)`/.exec(r.stderr);
    expect(hint).not.toBeNull();
    ok(await w.sh(hint![1]), 'the hint');
    expect(w.definition('demo').kernel).toMatch(/vmlinuz$/);
  });

  it('a name with no template gets a create command that works as printed', async () => {
    const w = world();
    const r = await w.sh('qkvm start nosuch');
    const hint = /`(qkvm create nosuch [^`]*)`/.exec(r.stderr);
    expect(hint).not.toBeNull();
    ok(await w.sh(hint![1]), 'the hint');
    expect(w.definition('nosuch').name).toBe('nosuch');
  });
});
