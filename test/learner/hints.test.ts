// Issue 10, item 7: every hint an error prints is a command that works as
// printed. Each case triggers a common error in a private home, collects the
// commands its hint prints (`qkvm ...` in backticks, or on a line of its own),
// runs each one verbatim through bash, and checks that it succeeds.
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DIR, REPO } from '../net/lab.js';
import { learnerWorld, ok, type LearnerWorld, type Shell } from './world.js';

let w: LearnerWorld;

/** The commands an error's output offers: `qkvm ...` in backticks, and indented lines that are a qkvm command. */
export function hintCommands(stderr: string): string[] {
  const out = [...stderr.matchAll(/`(qkvm [^`]+)`/g)].map((m) => m[1]);
  for (const m of stderr.matchAll(/^\s+(qkvm \S.*)$/gm)) out.push(m[1].trim());
  return [...new Set(out)];
}

/** Triggers an error (it must fail), then runs every command its hint prints; each must succeed. */
async function hintsWork(trigger: string, o: { atLeast?: number; mentions?: RegExp } = {}): Promise<string[]> {
  const r: Shell = await w.sh(trigger);
  expect(r.code, `${trigger} should fail`).not.toBe(0);
  if (o.mentions) expect(r.stderr).toMatch(o.mentions);
  const cmds = hintCommands(r.stderr);
  expect(cmds.length, `hints of: ${trigger}\n${r.stderr}`).toBeGreaterThanOrEqual(o.atLeast ?? 1);
  for (const c of cmds) ok(await w.sh(c), `the hint \`${c}\` (after \`${trigger}\`)`);
  return cmds;
}

async function waitForPrompt(name: string): Promise<void> {
  for (let i = 0; i < 240; i++) {
    if (/demo# /.test((await w.sh(`qkvm console ${name} --replay`)).stdout)) return;
    await new Promise((res) => setTimeout(res, 500));
  }
  throw new Error(`guest ${name} never reached its shell prompt`);
}

beforeAll(() => {
  const b = spawnSync('bash', [path.join(REPO, 'scripts/build-demo-guest.sh'), DEMO_DIR], { encoding: 'utf8', timeout: 280_000 });
  if (b.status !== 0) throw new Error(`build-demo-guest.sh failed:\n${b.stdout}\n${b.stderr}`);
  w = learnerWorld();
  mkdirSync(path.join(w.home, 'cache'), { recursive: true });
  symlinkSync(DEMO_DIR, path.join(w.home, 'cache', 'demo'));
}, 300_000);

afterAll(async () => {
  await w?.sh('qkvm destroy g');
  w?.cleanup();
});

describe('hints that work as printed', () => {
  it('unit: hint commands are found in backticks and on their own lines', () => {
    expect(hintCommands("hint: see `qkvm list --all`, or `qkvm create x --memory 512M`\n  qkvm trust gt --allow-extra-args --digest ab\n")).toEqual([
      'qkvm list --all', 'qkvm create x --memory 512M', 'qkvm trust gt --allow-extra-args --digest ab',
    ]);
  });

  it('not defined, with a template of that name: `qkvm create demo --template demo`', async () => {
    expect(await hintsWork('qkvm start demo', { mentions: /not defined/ })).toEqual(['qkvm create demo --template demo']);
  });

  it('not defined, no template: list, create and templates', async () => {
    await hintsWork('qkvm start nosuch', { atLeast: 2, mentions: /not defined/ });
  });

  it('missing image: attach-disk names the create command, and after it the attach works', async () => {
    ok(await w.sh('qkvm create g --template demo --accel tcg'), 'create g');
    await hintsWork('qkvm attach-disk g nothere.qcow2', { mentions: /does not exist/ });
    ok(await w.sh('qkvm attach-disk g nothere.qcow2'), 'attach-disk after the hint');
    ok(await w.sh('qkvm detach-disk g vda'), 'detach-disk');
  });

  it('not running: `qkvm start g`', async () => {
    await hintsWork('qkvm shutdown g', { mentions: /not running/ });
    await waitForPrompt('g');
  });

  it('in use: an image a running guest holds names the shutdown that frees it', async () => {
    // g is running (the previous hint started it); give it a disk, live.
    ok(await w.sh('qkvm disk create default/data.qcow2 16M'), 'disk create');
    ok(await w.sh('qkvm attach-disk g default/data.qcow2'), 'attach-disk live');
    await hintsWork(`qkvm disk snapshot ${path.join(w.home, 'images', 'data.qcow2')} -c s1`, { mentions: /qkvm shutdown g/ });
    expect((await w.sh('qkvm domstate g')).stdout).toMatch(/shut off/);
  });

  it('already running: info and shutdown', async () => {
    ok(await w.sh('qkvm start g'), 'start g');
    await waitForPrompt('g');
    await hintsWork('qkvm start g', { atLeast: 2, mentions: /already running/ });
    expect((await w.sh('qkvm domstate g')).stdout).toMatch(/shut off/);
  });

  it('base of a linked clone: `qkvm disk rebase FILE \'\'` (start and vol delete)', async () => {
    ok(await w.sh('qkvm disk create default/base.qcow2 16M'), 'disk create');
    ok(await w.sh('qkvm create b --memory 64M --accel tcg --disk default/base.qcow2'), 'create b');
    ok(await w.sh('qkvm clone b c --linked'), 'clone');
    await hintsWork('qkvm start b', { mentions: /base image/ });
    ok(await w.sh('qkvm clone b c2 --linked'), 'clone again');
    ok(await w.sh('qkvm undefine b'), 'undefine b');
    await hintsWork('qkvm vol delete default base.qcow2', { mentions: /backing file/ });
  });

  it('trust refusal: the printed `qkvm trust ... --digest` allows exactly those arguments', async () => {
    ok(await w.sh('qkvm create gt --memory 64M --accel tcg --from-cmdline -- qemu-kvm -m 64 -rtc base=utc'), 'create gt');
    await hintsWork('qkvm start gt', { mentions: /not allowed/ });
    expect((await w.sh('qkvm trust gt')).stdout).toMatch(/are allowed/);
  });

  it('name invalid: refused with exit 2, naming the value; its hint offers no command that could fail', async () => {
    const r = await w.sh("qkvm create 'bad name' --memory 64M");
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('"bad name"');
    for (const c of hintCommands(r.stderr)) ok(await w.sh(c), c);
  });

  // Not here: vhost=on without /dev/vhost-net; its hint (modprobe vhost_net, or vhost: auto) is not a qkvm
  // command, and triggering it starts a network, which a test may do only inside a network namespace.
});
