// virt-clone lines as tutorials write them (test/fixtures/tutorial/virt-clone.yaml),
// run verbatim in order with `virt-clone` swapped for `qkvm virt-clone`. Checked:
// the clones' files (real format, no backing file, independent of the source),
// their definitions, and the refusals (a taken name, a running source).
import { execa } from 'execa';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DEMO_DIR, ensureDemoGuest } from '../net/lab.js';
import { loadCorpus, tutorialWorld, type TutorialWorld } from './corpus.js';

const corpus = loadCorpus('virt-clone');
let w: TutorialWorld;

const def = (name: string) => parse(readFileSync(path.join(w.home, 'vms', `${name}.yaml`), 'utf8'));
const img = (f: string) => path.join(w.home, 'images', f);
const lib = (f: string) => w.mapped(`/var/lib/libvirt/images/${f}`);
const info = async (file: string) => JSON.parse((await execa('qemu-img', ['info', '-U', '--output=json', file])).stdout);
const snapshots = async (file: string) => (await info(file))['snapshots'] ?? [];

/** A full, independent copy: qcow2, the source's size, no backing file, and a change to it leaves the source alone. */
async function independentCopy(copy: string, source: string) {
  const [c, s] = [await info(copy), await info(source)];
  expect(c.format).toBe('qcow2');
  expect(c['virtual-size']).toBe(s['virtual-size']);
  expect(c['backing-filename']).toBeUndefined();
  await execa('qemu-img', ['snapshot', '-c', 'probe', copy]);
  expect((await snapshots(copy)).map((x: { name: string }) => x.name)).toContain('probe');
  expect(await snapshots(source)).toEqual([]);
  await execa('qemu-img', ['snapshot', '-d', 'probe', copy]);
}

const before: Record<string, () => Promise<void>> = {
  'vc-08': async () => {
    expect((await w.exec('virsh start vm1')).code).toBe(0);
  },
  'vc-09': async () => {
    expect((await w.exec('virsh suspend vm1')).code).toBe(0);
  },
};

const check: Record<string, (r: { code: number; stdout: string; stderr: string }) => Promise<void> | void> = {
  'vc-01': async (r) => {
    expect(r.stdout).toContain("Clone 'vm2' created successfully.");
    expect(def('vm2').disks.map((d: { file: string; external?: boolean }) => [d.file, d.external])).toEqual([[lib('vm2.qcow2'), true], [lib('vm2-data.qcow2'), true]]);
    await independentCopy(lib('vm2.qcow2'), img('vm1.qcow2'));
    await independentCopy(lib('vm2-data.qcow2'), img('vm1-data.qcow2'));
  },
  'vc-02': async () => {
    // virt-clone's --auto-clone names: NAME.ext beside the original, then NAME-1.ext.
    expect(def('vm3').disks.map((d: { file: string }) => d.file)).toEqual(['vm3.qcow2', 'vm3-1.qcow2']);
    await independentCopy(img('vm3.qcow2'), img('vm1.qcow2'));
    await independentCopy(img('vm3-1.qcow2'), img('vm1-data.qcow2'));
  },
  'vc-03': async () => {
    expect(def('vm4').nics).toEqual([expect.objectContaining({ type: 'user', mac: '52:54:00:aa:bb:cc' })]);
    expect(def('vm2').nics[0].mac).toBeUndefined();
    await independentCopy(lib('vm4.qcow2'), img('vm1.qcow2'));
  },
  'vc-04': () => {
    expect(existsSync(img('vm2.qcow2'))).toBe(false);
    expect(def('vm2').disks[0].file).toBe(lib('vm2.qcow2'));
  },
  'vc-05': async () => {
    expect(def('vm2').disks.map((d: { file: string }) => d.file)).toEqual([lib('vm2b.qcow2'), lib('vm2b-data.qcow2')]);
    // The replaced clone's files are kept: qkvm never deletes a file it was not asked to.
    expect(existsSync(lib('vm2.qcow2'))).toBe(true);
    await independentCopy(lib('vm2b.qcow2'), img('vm1.qcow2'));
  },
  'vc-06': () => expect(existsSync(path.join(w.home, 'vms', 'vm5.yaml'))).toBe(false),
  'vc-07': () => {
    expect(existsSync(path.join(w.home, 'vms', 'vm5.yaml'))).toBe(false);
    expect(existsSync(lib('vm5.qcow2'))).toBe(false);
  },
  'vc-08': () => {
    expect(existsSync(path.join(w.home, 'vms', 'vm1-clone.yaml'))).toBe(false);
    expect(existsSync(img('vm1-clone.qcow2'))).toBe(false);
  },
  'vc-09': async () => {
    expect(def('vm1-clone').disks.map((d: { file: string }) => d.file)).toEqual(['vm1-clone.qcow2', 'vm1-clone-1.qcow2']);
    expect((await info(img('vm1-clone.qcow2'))).format).toBe('qcow2');
    // The source stays paused; it is not changed by the copy.
    expect((await w.exec('virsh domstate vm1')).stdout.trim()).toBe('paused');
  },
};

describe('virt-clone lines from the tutorials', () => {
  beforeAll(async () => {
    ensureDemoGuest();
    w = tutorialWorld();
    for (const v of ['vm1.qcow2', 'vm1-data.qcow2']) expect((await w.exec(`virsh vol-create-as default ${v} 64M --format qcow2`)).code).toBe(0);
    const spec = {
      name: 'vm1', machine: 'pc', accel: 'tcg', memory: '128M', smp: 1,
      kernel: path.join(DEMO_DIR, 'vmlinuz'), initrd: path.join(DEMO_DIR, 'initrd.img'), append: 'console=ttyS0 panic=-1 quiet',
      nics: [{ type: 'user' }], disks: [{ file: 'vm1.qcow2' }, { file: 'vm1-data.qcow2' }], display: { type: 'none' }, balloon: true, serial: true,
    };
    writeFileSync(path.join(w.dir, 'vm1.yaml'), stringify(spec));
    expect((await w.exec('virsh define vm1.yaml')).code).toBe(0);
  });
  afterAll(async () => {
    await w.exec('virsh destroy vm1').catch(() => undefined);
    w.cleanup();
  });

  it('has a check for every line, and at least 6 lines', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(6);
    expect(corpus.map((e) => e.id).filter((id) => !check[id])).toEqual([]);
  });

  for (const e of corpus) {
    it(`${e.id}: ${e.line.split('\n')[0]}`, async () => {
      await before[e.id]?.();
      const r = await w.exec(e.line, { timeoutMs: 120_000 });
      expect(r.code, `${r.command}\n${r.stderr}`).toBe(e.status === 'refused' ? e.expect?.code : 0);
      if (e.says) expect(r.stderr).toContain(e.says);
      await check[e.id](r);
    }, 180_000);
  }
});
