// `qkvm demo` (what `npm run demo` runs after setting up): build, define from
// the demo template, start with accel: auto, watch the console to the ready
// marker, list, shut down over ACPI, with each step's time. On these machines
// the KVM boot probe finds that KVM guests hang, and the start says so in one
// line and uses TCG.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, IN_CI, missingTools } from '../storage/helpers.js';
import { DEMO_DIR } from '../net/lab.js';
import { qemuPids } from '../migrate/harness.js';

const why = missingTools(['qemu-system-x86_64']);
if (why && !IN_CI) console.warn(`demo: skipped: ${why}`);

describe.skipIf(why !== '' && !IN_CI)('qkvm demo', () => {
  const home = mkdtempSync(join(tmpdir(), 'qkvm-demo-home-'));
  const run = mkdtempSync(join(tmpdir(), 'qkvm-demo-run-'));
  const qkvm = cli({ home, run });
  afterAll(() => {
    for (const p of qemuPids(run)) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    rmSync(home, { recursive: true, force: true });
    rmSync(run, { recursive: true, force: true });
  });

  it('boots the demo guest with accel: auto and shuts it down, timing each step', async () => {
    if (why) throw new Error(why);
    // The shared test build stands in for QKVM_HOME/cache/demo (the build step then finds it up to date).
    mkdirSync(join(home, 'cache'), { recursive: true });
    symlinkSync(DEMO_DIR, join(home, 'cache', 'demo'));
    const r = await qkvm('demo');
    expect(r.exitCode, r.stderr).toBe(0);
    const out = r.stdout + r.stderr;
    for (const step of ['demo guest kernel and initramfs', 'define the demo guest', 'start it', 'its serial console until the ready marker', 'qkvm list', 'ACPI shutdown']) {
      expect(r.stderr, step).toMatch(new RegExp(`==> ${step}[^\\n]*\\n(?:.*\\n)*?\\s+done in \\d+\\.\\d\\d s`));
    }
    expect(r.stdout).toMatch(/QKVM-DEMO-READY kernel=\S+/);
    expect(out).toMatch(/demo\s+running\s+pid \d+\s+192 MiB\s+1 vCPU/);
    expect(qemuPids(run)).toHaveLength(0);
    expect((await qkvm('domstate', 'demo')).stdout.trim()).toBe('shut off');

    // accel: auto followed the KVM boot probe and said why it chose TCG. On
    // these machines KVM guests hang (or /dev/kvm is absent), so TCG is the
    // only right answer here, whichever of the two the probe met.
    expect(out).toMatch(/using TCG \(software emulation\): .+/);
    expect((await qkvm('cmdline', 'demo')).stdout).toMatch(/-accel tcg/);
  });
});
