// qkvm doctor reports every host fact the issue lists, each with a verdict, and
// a fix for whatever is not ok. The KVM verdict comes from a real boot probe.
import { hostCacheDir } from '../../src/host/kvm-probe.js';
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, IN_CI, missingTools } from '../storage/helpers.js';

const why = missingTools(['qemu-system-x86_64', 'qemu-img']);
if (why && !IN_CI) console.warn(`doctor: skipped: ${why}`);

describe.skipIf(why !== '' && !IN_CI)('qkvm doctor', () => {
  const home = mkdtempSync(join(tmpdir(), 'qkvm-doc-home-'));
  const run = mkdtempSync(join(tmpdir(), 'qkvm-doc-run-'));
  const qkvm = cli({ home, run });
  afterAll(() => { rmSync(home, { recursive: true, force: true }); rmSync(run, { recursive: true, force: true }); });

  it('reports each fact as ok, warn or fail, with a fix when not ok', async () => {
    const r = await qkvm('doctor', '--json');
    expect([0, 1]).toContain(r.exitCode);
    const checks = JSON.parse(r.stdout) as { name: string; verdict: string; detail: string; fix?: string }[];
    const names = checks.map((c) => c.name);
    for (const n of ['qemu', 'qemu-img', 'cpu flags', 'kvm', 'vhost-net', 'tun', 'bridge', 'dnsmasq', 'nftables', 'hugepages', 'ksm', 'ip_forward']) {
      expect(names, n).toContain(n);
    }
    for (const c of checks) {
      expect(['ok', 'warn', 'fail']).toContain(c.verdict);
      if (c.verdict !== 'ok') expect(c.fix, c.name).toBeTruthy();
    }
    expect(checks.find((c) => c.name === 'qemu')!.detail).toMatch(/\d+\.\d+\.\d+/);
    // vhost-net is absent on these machines; where it exists, doctor must say ok.
    expect(checks.find((c) => c.name === 'vhost-net')!.verdict).toBe(existsSync('/dev/vhost-net') ? 'ok' : 'warn');
    const kvm = checks.find((c) => c.name === 'kvm')!;
    if (existsSync('/dev/kvm')) expect(kvm.detail).toMatch(/boot probe: .*(booted|hung|failed)/);
    // The verdict is cached for the next start, host-wide (not in this home).
    expect(existsSync(join(hostCacheDir()!, 'kvm-probe.json')) || !existsSync('/dev/kvm')).toBe(true);
    expect(existsSync(join(home, 'cache', 'kvm-probe.json'))).toBe(false);
    const text = await qkvm('doctor');
    expect(text.stdout).toMatch(/^\[(ok|warn|fail) *\] qemu /m);
  });
});
