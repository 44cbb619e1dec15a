// The qemu-kvm lines of the tutorial corpus, run verbatim as `qkvm qemu-kvm ...`
// through bash in a tutorialWorld: a supported or partial line must define the
// guest with the expected fields and QEMU must run the translated line (domstate
// running; then destroy; one guest at a time, TCG); a help line prints this
// QEMU's list; a refused line exits 2 and prints why.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { CLI } from '../net/lab.js';
import { loadCorpus, tutorialWorld, type TutorialWorld } from './corpus.js';

const corpus = loadCorpus('qemu-kvm');

/** qkvm itself (not a corpus line) in the world: its home, run dir and cwd. */
function qk(world: TutorialWorld, ...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { cwd: world.dir, encoding: 'utf8', env: { ...process.env, QKVM_HOME: world.home, QKVM_RUN: world.run }, timeout: 60_000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('tutorial corpus: qemu-kvm lines through qkvm qemu-kvm', () => {
  let world: TutorialWorld;
  beforeAll(() => {
    world = tutorialWorld();
    // The files the tutorials made in their earlier steps.
    const img = (file: string, fmt: string) => {
      const r = spawnSync('qemu-img', ['create', '-q', '-f', fmt, path.join(world.dir, file), '64M'], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`qemu-img create ${file}: ${r.stderr}`);
    };
    img('disk.img', 'qcow2');
    img('x.qcow2', 'qcow2');
    img('ubuntu.qcow2', 'qcow2');
    img('winxp.img', 'raw');
    writeFileSync(path.join(world.dir, 'install.iso'), Buffer.alloc(2048 * 64));
  });
  afterAll(async () => {
    // Nothing may be left running, whatever failed.
    try {
      const r = qk(world, 'list', '--json');
      for (const g of JSON.parse(r.stdout || '[]') as { name: string; state: string }[]) if (g.state !== 'shut off') qk(world, 'destroy', g.name);
    } finally {
      world.cleanup();
    }
  });

  it('has at least 15 lines, help and error lines among them', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(15);
    expect(corpus.filter((e) => e.expect?.help).length).toBeGreaterThanOrEqual(4);
    expect(corpus.filter((e) => e.status === 'refused').length).toBeGreaterThanOrEqual(5);
  });

  for (const e of corpus) {
    it(`${e.id} (${e.status}): ${e.line.split('\n')[0].slice(0, 90)}`, async () => {
      const r = await world.exec(e.line, { timeoutMs: 120_000 });
      const out = r.stdout + r.stderr;
      const x = (e.expect ?? {}) as { name?: string; running?: boolean; spec?: Record<string, unknown>; help?: string; exit?: number };
      if (e.status !== 'supported') expect(out).toContain(e.says);
      expect(r.code, out).toBe(x.exit ?? 0);
      if (x.help) {
        expect(r.stdout).toContain("this QEMU's list");
        expect(r.stdout.split('\n').map((l) => l.trim())).toContain(x.help);
        return;
      }
      if (x.exit) {
        // A refused line leaves nothing behind: no definition, no QEMU.
        expect(JSON.parse(qk(world, 'list', '--json').stdout)).toEqual([]);
        return;
      }
      const name = x.name!;
      const spec = parse(readFileSync(path.join(world.home, 'vms', `${name}.yaml`), 'utf8')) as Record<string, any>;
      expect(spec).toMatchObject(x.spec ?? {});
      for (const d of spec.disks ?? []) expect(path.isAbsolute(d.file), d.file).toBe(true);
      expect(qk(world, 'domstate', name).stdout.trim()).toBe('running');
      // QEMU runs the translated line: its argv is the one qkvm cmdline prints.
      const cmd = JSON.parse(qk(world, 'cmdline', name, '--json').stdout) as { args: string[] };
      const pid = Number(readFileSync(path.join(world.run, 'vms', name, 'qemu.pid'), 'utf8'));
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(1, -1);
      expect(argv).toEqual(cmd.args);
      expect(qk(world, 'destroy', name).code).toBe(0);
      expect(qk(world, 'undefine', name).code).toBe(0);
    }, 180_000);
  }
});
