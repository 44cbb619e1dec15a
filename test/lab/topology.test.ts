import { describe, expect, it } from 'vitest';
import { findLink, parseImpairment, parseLabYaml } from '../../src/lab/topology.js';

const ROUTED = `
name: routed
defaults: { template: demo, memory: 192M }
nodes:
  r1: {}
  h1: {}
  h2: {}
networks:
  lan: { mode: nat, subnet: 10.9.0.0/24 }
links:
  - endpoints: [h1:eth0, r1:eth0]
  - endpoints: [r1:eth1, h2:eth0]
    impair: { delay: 80ms, jitter: 5ms, loss: 1%, rate: 10mbit }
  - endpoints: [lan, r1:eth2]
exec:
  r1: ["ip addr add 10.0.1.1/24 dev eth0"]
`;

describe('lab topology', () => {
  it('resolves the routed sketch: guests, networks and link ids', () => {
    const { topology: t } = parseLabYaml(ROUTED, 'routed.yaml');
    expect(t.nodes.map((n) => n.guest)).toEqual(['routed-r1', 'routed-h1', 'routed-h2']);
    expect(t.nodes[0].fields).toEqual({ template: 'demo', memory: '192M' });
    expect(t.networks).toEqual([{ key: 'lan', name: 'routed-lan', fields: { mode: 'nat', subnet: '10.9.0.0/24' } }]);
    expect(t.links.map((l) => [l.id, l.kind])).toEqual([['h1-r1', 'p2p'], ['r1-h2', 'p2p'], ['r1-lan', 'network']]);
    expect(t.links[1].impair).toEqual({ delayMs: 80, jitterMs: 5, lossPct: 1, rateBps: 10e6 });
    expect(t.links[2].a).toEqual({ node: 'r1', ifc: 2 });
    expect(findLink(t, 'r1:eth1').id).toBe('r1-h2');
    expect(findLink(t, 'h1-r1').id).toBe('h1-r1');
    expect(() => findLink(t, 'nope')).toThrow(/no link "nope".*|the links are h1-r1, r1-h2, r1-lan/s);
  });

  it('expands count into numbered nodes', () => {
    const { topology: t } = parseLabYaml('name: x\nnodes: { h: { count: 3 } }\n', 'x');
    expect(t.nodes.map((n) => n.key)).toEqual(['h1', 'h2', 'h3']);
  });

  it.each([
    ['name: Bad_Name\nnodes: { a: {} }', /name = "Bad_Name"/],
    ['name: x\nnodes: {}', /at least one node/],
    ['name: x\nnodes: { a: { nics: [] } }', /nics.*links:/],
    ['name: x\nnodes: { a: {}, b: {} }\nlinks: [{ endpoints: [a:eth0, c:eth0] }]', /no node is named "c"/],
    ['name: x\nnodes: { a: {}, b: {} }\nlinks: [{ endpoints: [a:eth1, b:eth0] }]', /node a uses eth1 but not eth0/],
    ['name: x\nnodes: { a: {}, b: {} }\nlinks: [{ endpoints: [a:eth0, b:eth0] }, { endpoints: [a:eth0, b:eth1] }]', /a:eth0 is already wired/],
    ['name: x\nnodes: { a: {}, b: {} }\nlinks: [{ endpoints: [a:eth0, b:eth0], impair: { delay: "80" } }]', /delay = "80".*duration/],
    ['name: x\nnodes: { a: {}, b: {} }\nlinks: [{ endpoints: [a:eth0, b:eth0], impair: { delay: 5ms, jitter: 9ms } }]', /jitter: 9ms is more than the delay/],
    ['name: x\nnodes: { a: {} }\nnetworks: { n: { mode: nat } }\nlinks: [{ endpoints: [a:eth0, n], impair: { delay: 5ms } }]', /point-to-point/],
    ['name: x\nnodes: { a: {} }\nexec: { b: [ls] }', /exec.b: no node/],
    ['name: x\nnodes: { a: {} }\nlinks: [{ endpoints: [a:eth0, "../x"] }]', /invalid endpoint "..\/x"/],
  ])('refuses %j', (text, err) => {
    expect(() => parseLabYaml(text, 'lab.yaml')).toThrow(err);
  });

  it('parses impairments in tc-netem words', () => {
    expect(parseImpairment({ delay: '1.5s', loss: '0.5%', rate: '512kbit' })).toEqual({ delayMs: 1500, jitterMs: 0, lossPct: 0.5, rateBps: 512000 });
    expect(() => parseImpairment({ loss: '101%' })).toThrow(/invalid loss "101%"/);
  });
});
