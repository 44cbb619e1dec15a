import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkMemory, memAvailable, planLab, QEMU_OVERHEAD_BYTES } from '../../src/lab/plan.js';
import { parseLabYaml } from '../../src/lab/topology.js';

const ROUTED = `
name: routed
defaults: { template: demo, memory: 192M, accel: tcg }
nodes:
  r1: {}
  h1: {}
  h2: { memory: 128M }
networks:
  lan: { mode: nat, subnet: 10.9.0.0/24 }
links:
  - endpoints: [h1:eth0, r1:eth0]
  - endpoints: [r1:eth1, h2:eth0]
    impair: { delay: 80ms }
  - endpoints: [lan, r1:eth2]
`;

let home: string;
let runDir: string;
const saved = { home: process.env.QKVM_HOME, run: process.env.QKVM_RUN };
beforeAll(() => {
  home = mkdtempSync(join(tmpdir(), 'qkvm-labplan-home-'));
  runDir = mkdtempSync(join(tmpdir(), 'qkvm-labplan-run-'));
  process.env.QKVM_HOME = home;
  process.env.QKVM_RUN = runDir;
});
afterAll(() => {
  process.env.QKVM_HOME = saved.home;
  process.env.QKVM_RUN = saved.run;
  rmSync(home, { recursive: true, force: true });
  rmSync(runDir, { recursive: true, force: true });
});

/** The error fn throws (undefined when it does not throw, which the caller's expect then fails on). */
const thrown = (fn: () => unknown): any => { try { fn(); } catch (e) { return e; } return undefined; };

const plan = (text: string, dir = home) => planLab(parseLabYaml(text, 'lab.yaml').topology, dir, 'lab.yaml');

describe('lab plan', () => {
  it('gives each node its NICs in ethN order, a state disk, and the relay its sockets', () => {
    const p = plan(ROUTED);
    const r1 = p.nodes.find((n) => n.key === 'r1')!;
    expect(r1.guest).toBe('routed-r1');
    expect(r1.spec.nics.map((n) => [n.type, n.network])).toEqual([['link', undefined], ['link', undefined], ['network', 'routed-lan']]);
    expect(r1.spec.accel).toBe('tcg');
    expect(r1.spec.kernel).toBe(join(home, 'cache', 'demo', 'vmlinuz'));
    expect(r1.images).toEqual([{ path: join(home, 'images', 'routed-r1-state.qcow2'), kind: 'state', size: '16M' }]);
    expect(r1.spec.disks.map((d) => d.file)).toEqual([join(home, 'images', 'routed-r1-state.qcow2')]);
    expect(p.nodes.find((n) => n.key === 'h2')!.memoryBytes).toBe(128 * 1024 * 1024);
    expect(p.networks).toMatchObject([{ name: 'routed-lan', pickSubnet: false, spec: { mode: 'nat', subnet: '10.9.0.0/24' } }]);
    expect(p.links).toEqual([
      { id: 'h1-r1', a: join(runDir, 'vms', 'routed-h1', 'net0.sock'), b: join(runDir, 'vms', 'routed-r1', 'net0.sock'), impair: { delayMs: 0, jitterMs: 0, lossPct: 0 }, up: true },
      { id: 'r1-h2', a: join(runDir, 'vms', 'routed-r1', 'net1.sock'), b: join(runDir, 'vms', 'routed-h2', 'net0.sock'), impair: { delayMs: 80, jitterMs: 0, lossPct: 0 }, up: true },
    ]);
  });

  it('leaves a nat subnet to be picked when the file gives none', () => {
    const p = plan('name: x\nnodes: { a: {} }\nnetworks: { n: { mode: nat } }\nlinks: [{ endpoints: [a:eth0, n] }]');
    expect(p.networks[0].pickSubnet).toBe(true);
  });

  it('makes base: a linked-clone overlay, read from the lab file\'s directory', () => {
    writeFileSync(join(home, 'base.qcow2'), 'x');
    const p = plan('name: x\nnodes: { a: { base: base.qcow2 } }');
    expect(p.nodes[0].images).toEqual([{ path: join(home, 'images', 'x-a.qcow2'), kind: 'overlay', backing: join(home, 'base.qcow2') }]);
    expect(p.nodes[0].spec.disks.map((d) => [d.file, d.format])).toEqual([[join(home, 'images', 'x-a.qcow2'), 'qcow2']]);
  });

  it.each([
    ['name: x\nnodes: { a: { base: nope.qcow2 } }', /nodes\.a\.base: no image file .*nope\.qcow2/],
    ['name: x\nnodes: { a: { template: nope } }', /nodes\.a\.template: no template "nope"/],
    ['name: x\nnodes: { a: { memory: lots } }', /nodes\.a.*memory/s],
    ['name: x\nnodes: { a: { smp: 0 } }', /nodes\.a.*smp/s],
    ['name: x\nnodes: { a: {} }\nnetworks: { n: { mode: bridge, bridge: br0 } }', /networks\.n\.mode: bridge is not a lab network/],
    ['name: x\nnodes: { a: {} }\nnetworks: { n: { mode: isolated, subnet: 300.1.1.0/24 } }', /networks\.n.*subnet/s],
  ])('refuses %j before anything runs', (text, err) => {
    const e = thrown(() => plan(text));
    expect(e?.message).toMatch(err);
    expect(e?.code).toBe('INVALID');
  });

  it('checks memory against MemAvailable and says what helps', () => {
    const p = plan(ROUTED);
    expect(memAvailable('MemTotal: 100 kB\nMemAvailable:    2048 kB\n')).toBe(2048 * 1024);
    const need = (192 + 192 + 128) * 1024 * 1024 + 3 * QEMU_OVERHEAD_BYTES;
    expect(checkMemory('routed', p.nodes, need)).toEqual({ need, available: need });
    expect(() => checkMemory('routed', p.nodes, need - 1)).toThrow(/lab routed: 3 node\(s\) need \d+ MiB .* per QEMU.*available/);
    expect(thrown(() => checkMemory('routed', p.nodes, 1))?.hint).toMatch(/linked clones.*KSM/);
  });
});
