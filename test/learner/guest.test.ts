// Issue 10, item 7, with one real guest (TCG): the scripted console (--exec,
// --until), the hostname, `info`'s accelerator, and snapshots on a hot-plugged
// disk. The demo guest is (re)built by its script, a no-op when up to date.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DIR, REPO } from '../net/lab.js';
import { learnerWorld, ok, type LearnerWorld } from './world.js';

let w: LearnerWorld;

async function waitForPrompt(name: string): Promise<void> {
  for (let i = 0; i < 240; i++) {
    const r = await w.sh(`qkvm console ${name} --replay`);
    if (/demo# /.test(r.stdout)) return;
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`guest ${name} never reached its shell prompt`);
}

beforeAll(async () => {
  // The demo init must read qkvm.hostname=: rebuild the cache when the script changed (its stamp decides).
  const b = spawnSync('bash', [path.join(REPO, 'scripts/build-demo-guest.sh'), DEMO_DIR], { encoding: 'utf8', timeout: 280_000 });
  if (b.status !== 0) throw new Error(`build-demo-guest.sh failed:\n${b.stdout}\n${b.stderr}`);
  w = learnerWorld();
  mkdirSync(path.join(w.home, 'cache'), { recursive: true });
  symlinkSync(DEMO_DIR, path.join(w.home, 'cache', 'demo'));
  // accel stays `auto` (from the template): info must name the accelerator QEMU really uses.
  ok(await w.sh('qkvm create web --template demo'), 'create web');
  ok(await w.sh('qkvm start web'), 'start web');
  await waitForPrompt('web');
}, 300_000);

afterAll(async () => {
  await w?.sh('qkvm destroy web');
  w?.cleanup();
});

describe('console --exec runs one command and returns its output and status', () => {
  it("uname -r: the kernel's version, exit 0 (the README's tour)", async () => {
    const r = await w.sh("qkvm console web --exec 'uname -r'");
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${readFileSync(path.join(DEMO_DIR, 'VERSION'), 'utf8').trim()}\n`);
  });

  it("the command's exit status is qkvm's", async () => {
    expect((await w.sh("qkvm console web --exec 'ls /nonexistent'")).code).not.toBe(0);
    const r = await w.sh(`qkvm console web --exec 'sh -c "exit 7"'`);
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('');
  });

  it('a marker-like text in the output does not end the wait early', async () => {
    const r = ok(await w.sh("qkvm console web --exec 'echo __QKVM_RC_x=5; echo after'"), 'exec');
    expect(r.stdout).toBe('__QKVM_RC_x=5\nafter\n');
  });

  it('--timeout gives up with exit 1 when the command does not finish', async () => {
    const r = await w.sh("qkvm console web --exec 'sleep 30' --timeout 2");
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/did not finish/);
    // The console is usable again after the sleep is interrupted.
    await w.sh("printf '\\003' | qkvm console web --timeout 2");
    ok(await w.sh("qkvm console web --exec 'true' --timeout 60"), 'exec after a timeout');
  });
});

describe('console --until waits for a line start, not for the echo', () => {
  it('the marker echoed with the typed command does not end the wait; the printed one does', async () => {
    const r = ok(await w.sh("echo 'sleep 1; echo DONE-42' | qkvm console web --until DONE-42 --timeout 30"), 'until');
    expect(r.stdout).toMatch(/(^|\n)DONE-42/);
  });

  it("--until '#' is not met by the '#' in the kernel version or the prompt", async () => {
    const r = await w.sh("echo 'uname -a' | qkvm console web --until '#' --timeout 4");
    expect(r.stdout).toMatch(/ #1 SMP/);
    expect(r.code).toBe(1);
  });
});

describe('labels', () => {
  it("the guest's hostname is its qkvm name", async () => {
    expect(ok(await w.sh("qkvm console web --exec 'hostname'"), 'hostname').stdout).toBe('web\n');
  });

  it('info shows the accelerator in use (tcg here), not auto', async () => {
    expect(ok(await w.sh('qkvm info web'), 'info').stdout).toMatch(/Accel:\s+tcg\b/);
  });
});

describe('snapshots on a hot-plugged disk', () => {
  it('after attach-disk to a running guest and snapshot-create-as, snapshot list shows it', async () => {
    ok(await w.sh('qkvm disk create default/hp.qcow2 16M'), 'disk create');
    ok(await w.sh('qkvm attach-disk web default/hp.qcow2'), 'attach-disk');
    ok(await w.sh('qkvm snapshot-create-as web s1'), 'snapshot-create-as');
    const list = ok(await w.sh('qkvm snapshot list web --json'), 'snapshot list');
    expect(JSON.parse(list.stdout).map((s: any) => s.name)).toEqual(['s1']);
    ok(await w.sh('qkvm snapshot revert web s1'), 'revert');
  });
});
