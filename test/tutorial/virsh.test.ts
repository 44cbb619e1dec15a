// virsh lines as tutorials write them (test/fixtures/tutorial/virsh.yaml), run
// verbatim in order with `virsh` swapped for `qkvm`, against one demo guest
// under TCG. Each line's real effect is checked: the definition, QMP's view of
// the running guest, the images on disk, the exit code and the message.
import { execa } from 'execa';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { DEMO_DIR, ensureDemoGuest, Netns } from '../net/lab.js';
import { loadCorpus, tutorialWorld, type TutorialWorld } from './corpus.js';

const corpus = loadCorpus('virsh');
let w: TutorialWorld;
const out: Record<string, { code: number; stdout: string; stderr: string }> = {};

const def = (name = 'vm1') => parse(readFileSync(path.join(w.home, 'vms', `${name}.yaml`), 'utf8'));
async function qmp<T>(execute: string): Promise<T> {
  const r = await w.exec(`virsh qmp vm1 '{"execute":"${execute}"}'`);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as T;
}
const blockTargets = async () => (await qmp<{ qdev?: string; inserted?: { file: string } }[]>('query-block'))
  .filter((b) => b.inserted).map((b) => ({ target: /peripheral\/([^/]+)/.exec(b.qdev ?? '')?.[1], file: b.inserted!.file }));
const balloonMiB = async () => Math.round((await qmp<{ actual: number }>('query-balloon')).actual / 2 ** 20);
async function waitFor(what: string, ok: () => Promise<boolean>, ms = 60_000) {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
const serial = () => { const log = path.join(w.run, 'vms', 'vm1', 'serial.log'); return existsSync(log) ? readFileSync(log, 'utf8') : ''; };
/** The log's length before a start: the new boot's marker is past it (or the log was started afresh). */
let mark = 0;
const ready = () => waitFor('QKVM-DEMO-READY', async () => {
  const text = serial();
  return text.length < mark ? text.includes('QKVM-DEMO-READY') : text.slice(mark).includes('QKVM-DEMO-READY');
}, 120_000);

/** What the test does before a line, as a reader of the tutorial would have done by then. */
const before: Record<string, () => Promise<void>> = {
  'virsh-04': async () => {
    // The tutorial's "define the guest" step, in qkvm's YAML: the demo kernel, the volume from virsh-01.
    const spec = {
      name: 'vm1', machine: 'pc', accel: 'tcg', memory: '512M', smp: 1,
      kernel: path.join(DEMO_DIR, 'vmlinuz'), initrd: path.join(DEMO_DIR, 'initrd.img'), append: 'console=ttyS0 panic=-1 quiet',
      nics: [], disks: [{ file: 'vm1.qcow2' }], display: { type: 'none' }, balloon: true, serial: true,
    };
    writeFileSync(path.join(w.dir, 'vm1.yaml'), stringify(spec));
    expect((await w.exec('virsh define vm1.yaml')).code).toBe(0);
  },
  'virsh-14': async () => { mark = serial().length; },
  'virsh-43': async () => { mark = serial().length; },
  'virsh-23': async () => {
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', w.mapped('/var/lib/libvirt/images/data.qcow2'), '64M']);
    await execa('qemu-img', ['create', '-q', '-f', 'raw', w.mapped('/var/lib/libvirt/images/logs.img'), '8M']);
  },
  'virsh-30': async () => { writeFileSync(w.mapped('/home/user/default.yaml'), 'name: default\nmode: nat\nsubnet: 10.77.0.0/24\n'); },
};

/** The real effect of each line. */
const check: Record<string, (r: { code: number; stdout: string; stderr: string }) => Promise<void> | void> = {
  'virsh-01': async () => {
    const info = JSON.parse((await execa('qemu-img', ['info', '--output=json', path.join(w.home, 'images', 'vm1.qcow2')])).stdout);
    expect(info.format).toBe('qcow2');
    expect(info['virtual-size']).toBe(2 * 2 ** 30);
  },
  'virsh-02': (r) => expect(r.stdout).toMatch(/default/),
  'virsh-03': (r) => expect(r.stdout).toMatch(/vm1\.qcow2/),
  'virsh-04': (r) => expect(r.stdout).toMatch(/vm1\s+shut off/),
  'virsh-51': (r) => expect(r.stdout).toMatch(/vm1\s+shut off/),
  'virsh-05': (r) => expect(r.stdout.trim()).toBe('vm1'),
  'virsh-06': (r) => expect(r.stdout).toMatch(/vm1\s+shut off/),
  'virsh-07': (r) => { expect(r.stdout).toMatch(/State:\s+shut off/); expect(r.stdout).toMatch(/Name:\s+vm1/); },
  'virsh-08': () => expect(parse(readFileSync(w.mapped('/home/user/vm1.xml'), 'utf8')).name).toBe('vm1'),
  'virsh-09': () => expect(def().memory).toBe('768M'),
  'virsh-10': () => expect(def().autostart).toBe(true),
  'virsh-11': () => expect(def().autostart).toBe(false),
  'virsh-12': (r) => expect(r.stdout).toMatch(/current\s+config\s+1/),
  'virsh-13': (r) => expect(r.stdout).toMatch(new RegExp(`vda\\s+${path.join(w.home, 'images', 'vm1.qcow2')}`)),
  'virsh-14': async () => { await ready(); },
  'virsh-15': (r) => expect(r.stdout.trim()).toBe('running'),
  'virsh-16': async () => {
    // 524288 KiB is 512 MiB (virsh's unit), out of the 768 MiB set by setmaxmem.
    await waitFor('the balloon at 512 MiB', async () => (await balloonMiB()) === 512);
  },
  'virsh-17': () => expect(def().memory).toBe('768M'),
  'virsh-18': () => undefined,
  'virsh-19': (r) => expect(r.stdout).toMatch(/snap1.*yes.*before the data disk/),
  'virsh-20': (r) => expect(r.stdout.trim()).toBe('snap1'),
  'virsh-21': (r) => { expect(r.stdout).toMatch(/Description:\s+before the data disk/); expect(r.stdout).toMatch(/Current:\s+yes/); },
  'virsh-22': async () => { await waitFor('the balloon at 384 MiB', async () => (await balloonMiB()) === 384); },
  'virsh-23': async () => {
    const data = w.mapped('/var/lib/libvirt/images/data.qcow2');
    expect(await blockTargets()).toContainEqual({ target: 'vdb', file: data });
    expect(def().disks).toContainEqual(expect.objectContaining({ file: data, target: 'vdb', format: 'qcow2', external: true, readonly: false }));
  },
  'virsh-24': async () => {
    // --config alone: the definition only; the running guest does not get it.
    const logs = w.mapped('/var/lib/libvirt/images/logs.img');
    expect(def().disks).toContainEqual(expect.objectContaining({ file: logs, target: 'vdc', format: 'raw', readonly: true }));
    expect((await blockTargets()).map((b) => b.target)).not.toContain('vdc');
  },
  'virsh-25': (r) => { expect(r.stdout).toMatch(/vda\s+\S+vm1\.qcow2/); expect(r.stdout).toMatch(/vdb\s+\S+data\.qcow2/); },
  'virsh-26': async () => expect((await blockTargets()).map((b) => b.target)).not.toContain('hdc'),
  'virsh-27': async () => {
    expect((await blockTargets()).map((b) => b.target)).not.toContain('vdb');
    expect(def().disks.map((d: { target?: string }) => d.target)).not.toContain('vdb');
    expect(existsSync(w.mapped('/var/lib/libvirt/images/data.qcow2'))).toBe(true);
  },
  'virsh-28': async (r) => {
    expect(r.stderr + r.stdout).toMatch(/reverted to snap1 \(RAM state loaded\)/);
    // The balloon was at 512 MiB when snap1 was taken, 384 MiB just before the revert.
    await waitFor('the balloon back at 512 MiB', async () => (await balloonMiB()) === 512);
  },
  'virsh-29': async () => expect((await w.exec('virsh snapshot-list vm1 --json')).stdout.trim()).toBe('[]'),
  'virsh-30': () => expect(parse(readFileSync(path.join(w.home, 'networks', 'default.yaml'), 'utf8'))).toMatchObject({ name: 'default', mode: 'nat', subnet: '10.77.0.0/24' }),
  'virsh-31': (r) => expect(r.stdout).toMatch(/default/),
  'virsh-32': (r) => expect(r.stdout).toMatch(/nat/),
  'virsh-33': () => expect(parse(readFileSync(path.join(w.home, 'networks', 'default.yaml'), 'utf8')).autostart).toBe(true),
  'virsh-34': () => undefined,
  'virsh-35': async () => {
    expect(def().nics).toEqual([expect.objectContaining({ network: 'default', model: 'virtio', mac: '52:54:00:12:34:56' })]);
    // --config: no NIC was plugged into the running guest.
    const pci = await w.exec(`virsh monitor vm1 'info network'`);
    expect(pci.stdout).not.toMatch(/52:54:00:12:34:56/);
  },
  'virsh-36': () => expect(def().nics ?? []).toEqual([]),
  'virsh-46': async (r) => {
    expect(r.stdout).toMatch(/network "default" is active/);
    expect((await w.exec('virsh net-info default --json')).stdout).toMatch(/"active": true/);
  },
  'virsh-47': async () => {
    // Live only: the running guest has the NIC (QEMU says so), the definition does not.
    expect((await w.exec(`virsh monitor vm1 'info network'`)).stdout).toMatch(/macaddr=52:54:00:12:34:57/);
    expect(def().nics ?? []).toEqual([]);
  },
  'virsh-48': (r) => expect(r.stdout).toMatch(/network\s+default\s+virtio\s+52:54:00:12:34:57/),
  'virsh-49': async () => expect((await w.exec(`virsh monitor vm1 'info network'`)).stdout).not.toMatch(/52:54:00:12:34:57/),
  'virsh-50': async () => expect((await w.exec('virsh net-info default --json')).stdout).toMatch(/"active": false/),
  'virsh-37': () => expect(def().nics ?? []).toEqual([]),
  'virsh-38': () => undefined,
  'virsh-39': () => undefined,
  'virsh-40': async () => expect((await w.exec('virsh domstate vm1')).stdout.trim()).toBe('paused'),
  'virsh-41': async () => expect((await w.exec('virsh domstate vm1')).stdout.trim()).toBe('running'),
  'virsh-42': async () => expect((await w.exec('virsh domstate vm1')).stdout.trim()).toBe('shut off'),
  'virsh-43': async () => { await ready(); expect(await blockTargets()).toContainEqual({ target: 'vdc', file: w.mapped('/var/lib/libvirt/images/logs.img') }); },
  'virsh-44': async () => expect((await w.exec('virsh domstate vm1')).stdout.trim()).toBe('shut off'),
  'virsh-45': () => {
    expect(existsSync(path.join(w.home, 'vms', 'vm1.yaml'))).toBe(false);
    // The volume qkvm created goes; the files it did not create stay.
    expect(existsSync(path.join(w.home, 'images', 'vm1.qcow2'))).toBe(false);
    expect(existsSync(w.mapped('/var/lib/libvirt/images/data.qcow2'))).toBe(true);
    expect(existsSync(w.mapped('/var/lib/libvirt/images/logs.img'))).toBe(true);
  },
};

describe('virsh lines from the tutorials', () => {
  // Every line runs in a network namespace of the test's own: net-start makes a bridge, dnsmasq and NAT rules.
  let ns: Netns;
  beforeAll(async () => { ensureDemoGuest(); ns = await new Netns().create(); w = tutorialWorld({ netns: ns.name }); });
  afterAll(async () => {
    await w.exec('virsh destroy vm1').catch(() => undefined);
    await w.exec('virsh net-destroy default').catch(() => undefined);
    await ns.destroy();
    w.cleanup();
  });

  it('has a check for every line, and at least 30 lines', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(30);
    expect(corpus.map((e) => e.id).filter((id) => !check[id])).toEqual([]);
  });

  for (const e of corpus) {
    it(`${e.id}: ${e.line.split('\n')[0]}`, async () => {
      await before[e.id]?.();
      const r = await w.exec(e.line, { timeoutMs: 120_000 });
      out[e.id] = r;
      if (e.status === 'refused') {
        expect(r.code, r.stderr).toBe(2);
      } else {
        expect(r.code, `${r.command}\n${r.stderr}`).toBe(0);
      }
      if (e.says) expect(r.stderr).toContain(e.says);
      await check[e.id](r);
    }, 180_000);
  }
});
