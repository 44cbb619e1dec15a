// The qemu-img corpus (test/fixtures/tutorial/qemu-img.yaml), each line run
// verbatim as `qkvm qemu-img ...` in order, its result read back with the real
// qemu-img; and the same line run by the real qemu-img in a second directory,
// whose images must come out with the same virtual size, format and backing
// file (the side-by-side proof that qkvm reads the line as qemu-img does).
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCorpus, tutorialWorld, type TutorialWorld } from './corpus.js';

interface Expect {
  file?: string; format?: string; size?: number; backing?: string | null; snapshots?: string[];
  cluster?: number; compat?: string; same?: [string, string]; stdout?: string; json?: boolean;
  exit?: number; seed?: boolean; owned?: boolean; side?: boolean;
}

const qemuImgJson = (args: string[], cwd: string) => {
  const r = spawnSync('qemu-img', args, { cwd, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`qemu-img ${args.join(' ')}: ${r.stderr}`);
  return JSON.parse(r.stdout);
};

/** What an image really is, by qemu-img (with -U: a read never takes a lock). */
function facts(world: TutorialWorld, file: string) {
  const p = path.resolve(world.dir, world.mapped(file));
  const i = qemuImgJson(['info', '-U', '--output=json', p], world.dir);
  return {
    format: i.format as string,
    size: i['virtual-size'] as number,
    backing: (i['backing-filename'] ?? null) as string | null,
    cluster: i['cluster-size'] as number | undefined,
    compat: i['format-specific']?.data?.compat as string | undefined,
    snapshots: ((i.snapshots ?? []) as { name: string }[]).map((s) => s.name),
  };
}

/** A pattern at the start and in the middle of the image, so converted copies have data to compare. */
function seed(world: TutorialWorld, file: string) {
  const fd = openSync(path.resolve(world.dir, world.mapped(file)), 'r+');
  const chunk = Buffer.alloc(1 << 20);
  for (let i = 0; i < chunk.length; i++) chunk[i] = (i * 31 + 7) & 0xff;
  writeSync(fd, chunk, 0, chunk.length, 0);
  writeSync(fd, chunk, 0, 65536, 700 * (1 << 20));
  closeSync(fd);
}

const corpus = loadCorpus('qemu-img');
let world: TutorialWorld;
let real: TutorialWorld;

describe('qemu-img lines from the tutorials, run as qkvm qemu-img', () => {
  beforeAll(() => {
    world = tutorialWorld();
    // The reference: the same lines, the same path mapping, but run by qemu-img itself.
    real = tutorialWorld();
    writeFileSync(path.join(real.dir, 'bin/qkvm'), '#!/bin/sh\nshift\nexec qemu-img "$@"\n');
  });
  afterAll(() => { world?.cleanup(); real?.cleanup(); });

  it('has at least 20 lines, in the three statuses', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(20);
    expect(new Set(corpus.map((e) => e.status))).toEqual(new Set(['supported', 'partial', 'refused']));
  });

  for (const entry of corpus) {
    const x = (entry.expect ?? {}) as Expect;
    it(`${entry.id} [${entry.status}]: ${entry.line}`, async () => {
      const r = await world.exec(entry.line);
      const out = r.stdout + r.stderr;
      expect(r.code, `${r.command}\n${out}`).toBe(x.exit ?? 0);
      if (entry.says) expect(out).toContain(entry.says);
      if (entry.status === 'supported') expect(r.stderr).not.toMatch(/^(note|qkvm: error)/m);
      if (x.stdout) expect(r.stdout).toContain(x.stdout);
      if (x.json) expect(() => JSON.parse(r.stdout)).not.toThrow();
      if (x.seed) seed(world, x.file!);

      if (x.file) {
        const f = facts(world, x.file);
        if (x.format) expect(f.format).toBe(x.format);
        if (x.size !== undefined) expect(f.size).toBe(x.size);
        if (x.backing !== undefined) expect(f.backing).toBe(x.backing);
        if (x.snapshots) expect(f.snapshots).toEqual(x.snapshots);
        if (x.cluster) expect(f.cluster).toBe(x.cluster);
        if (x.compat) expect(f.compat).toBe(x.compat);
      }
      if (x.same) {
        const c = spawnSync('qemu-img', ['compare', '-U', ...x.same], { cwd: world.dir, encoding: 'utf8' });
        expect(c.stdout + c.stderr).toContain('Images are identical');
        expect(c.status).toBe(0);
      }
      if (x.owned) {
        const owned = JSON.parse(readFileSync(path.join(world.home, 'storage/owned.json'), 'utf8')).images.map((i: { path: string }) => i.path);
        expect(owned).toContain(path.resolve(world.dir, world.mapped(x.file!)));
      }

      // Side by side: what qemu-img itself makes of the same line.
      if (x.side !== false && entry.status !== 'refused') {
        const q = await real.exec(entry.line);
        expect(q.code, `qemu-img itself: ${q.command}\n${q.stderr}`).toBe(0);
        if (x.seed) seed(real, x.file!);
        if (x.file) {
          const mine = facts(world, x.file);
          const theirs = facts(real, x.file);
          expect({ ...mine, compat: mine.compat ?? null }).toEqual({ ...theirs, compat: theirs.compat ?? null });
        }
        if (x.same) {
          const c = spawnSync('qemu-img', ['compare', '-U', path.join(world.dir, x.same[1]), path.join(real.dir, x.same[1])], { encoding: 'utf8' });
          expect(c.stdout).toContain('Images are identical');
        }
      }
    });
  }
});

describe('qkvm qemu-img keeps qkvm\'s guards', () => {
  let w: TutorialWorld;
  beforeAll(() => { w = tutorialWorld(); });
  afterAll(() => w?.cleanup());

  it('the hint of a refused commit (a base with other overlays) works as printed, and then the commit runs', async () => {
    for (const line of ['qemu-img create -f qcow2 b.qcow2 64M', 'qemu-img create -f qcow2 -b b.qcow2 -F qcow2 o1.qcow2', 'qemu-img create -f qcow2 -b b.qcow2 -F qcow2 o2.qcow2']) {
      expect((await w.exec(line)).code).toBe(0);
    }
    const r = await w.exec('qemu-img commit o1.qcow2');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('is the base image of');
    const hints = [...r.stderr.matchAll(/`(qkvm [^`]+)`/g)].map((m) => m[1]);
    expect(hints).toHaveLength(1);
    for (const h of hints) {
      const run = spawnSync('bash', ['-c', h], { cwd: w.dir, encoding: 'utf8', env: { ...process.env, PATH: `${w.dir}/bin:${process.env.PATH}`, QKVM_HOME: w.home, QKVM_RUN: w.run } });
      expect(run.status, run.stderr).toBe(0);
    }
    expect(facts(w, 'o2.qcow2').backing).toBeNull();
    expect((await w.exec('qemu-img commit o1.qcow2')).code).toBe(0);
  });

  it('the shrink hint works as printed', async () => {
    expect((await w.exec('qemu-img create -f raw s.img 2G')).code).toBe(0);
    const r = await w.exec('qemu-img resize s.img -1G');
    expect(r.code).toBe(2);
    const hint = /then: (qkvm qemu-img resize .*)$/m.exec(r.stderr)![1];
    expect(facts(w, 's.img').size).toBe(2 * 1024 ** 3);
    expect((await w.exec(hint.replace(/^qkvm /, ''))).code).toBe(0);
    expect(facts(w, 's.img').size).toBe(1024 ** 3);
  });

  it('refuses to write an image a running QEMU holds (its lock), naming why; a read with -U still works', async () => {
    expect((await w.exec('qemu-img create -f qcow2 busy.qcow2 64M')).code).toBe(0);
    const busy = path.join(w.dir, 'busy.qcow2');
    // A paused QEMU that holds the image open for writing, as a running guest does.
    const qemu = spawn('qemu-system-x86_64', ['-S', '-nodefaults', '-display', 'none', '-machine', 'accel=tcg', '-qmp', 'stdio',
      '-blockdev', `driver=qcow2,node-name=d0,file.driver=file,file.filename=${busy}`, '-device', 'virtio-blk-pci,drive=d0'], { stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        qemu.stdout.once('data', () => resolve());
        qemu.once('exit', (c) => reject(new Error(`qemu exited ${c}`)));
      });
      for (const line of ['qemu-img resize busy.qcow2 +1G', 'qemu-img snapshot -c s1 busy.qcow2', 'qemu-img amend -o compat=0.10 busy.qcow2', 'qemu-img check -r all busy.qcow2']) {
        const r = await w.exec(line);
        expect(r.code, line).toBe(1);
        expect(r.stderr, line).toMatch(/in use: QEMU holds a lock on it/);
      }
      const u = await w.exec('qemu-img snapshot -U -c s1 busy.qcow2');
      expect(u.code).toBe(2);
      expect(u.stderr).toContain('-U cannot be used to change an image');
      const read = await w.exec('qemu-img info -U busy.qcow2');
      expect(read.code).toBe(0);
      expect(read.stdout).toContain('virtual size: 64 MiB');
    } finally {
      qemu.kill('SIGKILL');
      await new Promise((resolve) => qemu.once('close', resolve));
    }
    expect(facts(w, 'busy.qcow2')).toMatchObject({ size: 64 * 1024 ** 2, snapshots: [] });
  });

  it('never replaces an existing image; the hint (rm, then the line again) works; convert -n writes only into a non-base, unrecorded', async () => {
    const sh = (cmd: string) => spawnSync('bash', ['-c', cmd], { cwd: w.dir, encoding: 'utf8' });
    expect(sh('qemu-img create -q -f raw mine.img 1M && printf data | dd of=mine.img conv=notrunc status=none').status).toBe(0);
    const before = readFileSync(path.join(w.dir, 'mine.img'));
    const r = await w.exec('qemu-img create -f qcow2 mine.img 5G');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('already exists: qemu-img create would replace it');
    expect(readFileSync(path.join(w.dir, 'mine.img')).equals(before)).toBe(true);
    const hint = /remove it first: (rm .*)$/m.exec(r.stderr)![1];
    expect(sh(hint).status).toBe(0);
    expect((await w.exec('qemu-img create -f qcow2 mine.img 5G')).code).toBe(0);
    expect(facts(w, 'mine.img')).toMatchObject({ format: 'qcow2', size: 5 * 1024 ** 3 });

    // convert -n: into an image qkvm did not create (stays unrecorded), never into a base.
    expect(sh('qemu-img create -q -f raw src.img 1M && printf abc | dd of=src.img conv=notrunc status=none && qemu-img create -q -f raw into.img 1M').status).toBe(0);
    const c = await w.exec('qemu-img convert -n -f raw -O raw src.img into.img');
    expect(c.code, c.stderr).toBe(0);
    expect(spawnSync('qemu-img', ['compare', 'src.img', 'into.img'], { cwd: w.dir }).status).toBe(0);
    const owned = JSON.parse(readFileSync(path.join(w.home, 'storage/owned.json'), 'utf8')).images.map((i: { path: string }) => i.path);
    expect(owned).not.toContain(path.join(w.dir, 'into.img'));
    expect(owned).toContain(path.join(w.dir, 'mine.img'));
    expect((await w.exec('qemu-img create -f qcow2 nb.qcow2 1M')).code).toBe(0);
    expect((await w.exec('qemu-img create -f qcow2 -b nb.qcow2 -F qcow2 nb-top.qcow2')).code).toBe(0);
    const n = await w.exec('qemu-img convert -n -O qcow2 src.img nb.qcow2');
    expect(n.code).toBe(1);
    expect(n.stderr).toContain('is the base image of');
  });

  it('an unknown command or option is exit 2 naming it, and nothing is created', async () => {
    const r = await w.exec('qemu-img create -f qcow2 -Z new.qcow2 1G');
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("invalid option -- 'Z'");
    expect(existsSync(path.join(w.dir, 'new.qcow2'))).toBe(false);
    const u = await w.exec('qemu-img frobnicate x');
    expect(u.code).toBe(2);
    expect(u.stderr).toContain('unknown command "frobnicate"');
  });
});

