// `qkvm lab graph` as text: golden Mermaid and dot for the routed example, a
// self-contained HTML page, the live overlay, escaping, and the layout.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLabYaml, type Topology } from '../../src/lab/topology.js';
import { execAddresses, isRouter, labGraphDot, labGraphHtml, labGraphMermaid, labGraphSvg } from '../../src/lab/graph.js';
import { layoutGraph } from '../../src/lab/graph-layout.js';

const REPO = path.resolve(__dirname, '../..');
const LABS = path.join(REPO, 'templates/labs');
const GOLDEN = path.join(__dirname, 'golden');
const UPDATE = process.env.UPDATE_GOLDEN === '1';
const load = (file: string): Topology => parseLabYaml(readFileSync(path.join(LABS, file), 'utf8'), file).topology;
const examples = readdirSync(LABS).filter((f) => f.endsWith('.yaml')).sort();

/** Every label a reader needs: node keys, guest names, network names, link ids, NICs, impairments. */
function expectedLabels(t: Topology): string[] {
  const out = [...t.nodes.flatMap((n) => [n.key, n.guest]), ...t.networks.flatMap((w) => [w.key, w.name]), ...t.links.map((l) => l.id)];
  for (const l of t.links) {
    out.push(`eth${l.a.ifc}`);
    if (!('network' in l.b)) out.push(`eth${l.b.ifc}`);
  }
  for (const addrs of execAddresses(t).values()) out.push(...addrs);
  return out;
}

describe('lab graph text', () => {
  // UPDATE_GOLDEN=1 rewrites the golden files; review the diff like code.
  it.each([['routed.mmd', labGraphMermaid], ['routed.dot', labGraphDot]] as const)('golden %s for templates/labs/routed.yaml', (file, fn) => {
    const text = fn(load('routed.yaml'));
    if (UPDATE) writeFileSync(path.join(GOLDEN, file), text);
    expect(text).toBe(readFileSync(path.join(GOLDEN, file), 'utf8'));
  });

  it('reads addresses and routers from the exec lines', () => {
    const t = load('routed.yaml');
    expect(Object.fromEntries(execAddresses(t))).toEqual({
      'r1:eth0': ['10.0.1.1/24'], 'r1:eth1': ['10.0.2.1/24'], 'h1:eth0': ['10.0.1.2/24'], 'h2:eth0': ['10.0.2.2/24'],
    });
    expect(['r1', 'h1', 'h2'].map((n) => isRouter(t, n))).toEqual([true, false, false]);
    const { topology } = parseLabYaml('name: x\nnodes: { a: {}, b: {} }\nlinks: [{ endpoints: [a:eth0, b:eth0] }]\nexec:\n  a: ["ip -4 address add 192.168.5.1/30 dev eth0", "ip a add 10.1.1.1/32 dev eth0", "ip addr add 10.9.9.9/24 dev eth10x"]\n', 'x');
    expect(execAddresses(topology).get('a:eth0')).toEqual(['192.168.5.1/30', '10.1.1.1/32']);
  });

  it.each(examples)('%s: the HTML page is self-contained and names every node, network, link, NIC and address', (file) => {
    const t = load(file);
    const html = labGraphHtml(t);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/<script|<link|<img|@import|url\(/i);
    for (const label of expectedLabels(t)) expect(html, label).toContain(`>${label}<`);
    for (const l of t.links.filter((x) => x.impair.delayMs)) expect(html).toContain(`delay ${l.impair.delayMs}ms`);
    expect(html).toContain('class="legend"');
    // Mermaid and dot name them too.
    const mmd = labGraphMermaid(t);
    const dot = labGraphDot(t);
    for (const n of t.nodes) { expect(mmd).toContain(n.guest); expect(dot).toContain(n.guest); }
    for (const l of t.links) { expect(mmd).toContain(l.id); expect(dot).toContain(l.id); }
  });

  it('a standalone SVG carries its namespace; the inline one names no URL', () => {
    const t = load('wan.yaml');
    expect(labGraphSvg(t, undefined, { standalone: true })).toMatch(/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox=/);
    expect(labGraphSvg(t)).toMatch(/^<svg viewBox=/);
  });

  it('draws the live overlay: node states, a link that is down, the impairment in force', () => {
    const t = load('routed.yaml');
    const live = {
      nodes: { r1: { state: 'running' }, h1: { state: 'running' }, h2: { state: 'shut off' } },
      links: { 'r1-h2': { up: false, impair: { delayMs: 20, jitterMs: 0, lossPct: 0 } } },
    };
    const html = labGraphHtml(t, live);
    expect(html).toContain('● shut off');
    expect(html).toContain('✕ link down');
    expect(html).toContain('delay 20ms');
    expect(html).not.toContain('delay 80ms');
    const mmd = labGraphMermaid(t, live);
    expect(mmd).toMatch(/n_r1 -\.-\|"r1-h2<br\/>.*delay 20ms<br\/>DOWN"\| n_h2/);
    expect(labGraphDot(t, live)).toMatch(/label="r1-h2\\ndelay 20ms\\nDOWN", color="#c92a2a", style=dotted/);
    // Without an overlay nothing claims a state.
    expect(labGraphHtml(t)).not.toMatch(/● |link down/);
  });

  it('escapes what the file says, and keeps Mermaid\'s keywords out of its ids', () => {
    const { topology } = parseLabYaml('name: x\ndescription: "<script>alert(1)</script> & \\"q\\""\nnodes: { end: {}, graph: {} }\nlinks: [{ endpoints: [end:eth0, graph:eth0] }]\n', 'x');
    const html = labGraphHtml(topology);
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;q&quot;');
    expect(labGraphDot(topology)).toContain('&lt;script&gt;');
    const mmd = labGraphMermaid(topology);
    expect(mmd).toContain('n_end ---|"end-graph');
    expect(mmd).not.toMatch(/^\s+end\b/m);
  });
});

/** A busier lab than the examples: a star of eight links, two of them parallel (one impaired), a network of three. */
const BIG = `
name: big
nodes: { core: {}, h: { count: 6 }, b: {}, s1: {}, s2: {} }
networks: { mgmt: { mode: isolated, subnet: 10.99.0.0/24 } }
links:
${[1, 2, 3, 4, 5, 6].map((i) => `  - endpoints: [core:eth${i - 1}, h${i}:eth0]`).join('\n')}
  - endpoints: [core:eth6, b:eth0]
  - { endpoints: [core:eth7, b:eth1], impair: { delay: 10ms } }
  - endpoints: [b:eth2, mgmt]
  - endpoints: [s1:eth0, mgmt]
  - endpoints: [s2:eth0, mgmt]
exec:
  core: ["sysctl -w net.ipv4.ip_forward=1", "ip addr add 10.0.1.1/24 dev eth0"]
  h1: ["ip addr add 10.0.1.2/24 dev eth0"]
`;

describe('lab graph layout', () => {
  it.each([...examples, 'big'])('%s: no two boxes overlap, no label sits on a box, and the same lab gives the same picture', (file) => {
    const load2 = (f: string) => (f === 'big' ? parseLabYaml(BIG, 'big').topology : load(f));
    const whole = labGraphSvg(load2(file));
    expect(labGraphSvg(load2(file))).toBe(whole);
    const svg = whole.split('<g class="legend">')[0];
    // Node shapes: rects of guests (rx=9) and ellipses of networks, as drawn.
    const boxes = [...svg.matchAll(/<rect x="([\d.-]+)" y="([\d.-]+)" width="([\d.]+)" height="([\d.]+)" rx="9"/g)].map((m) => ({ x: +m[1], y: +m[2], w: +m[3], h: +m[4] }))
      .concat([...svg.matchAll(/<ellipse cx="([\d.-]+)" cy="([\d.-]+)" rx="([\d.]+)" ry="([\d.]+)" fill="#fff4d6"/g)].map((m) => ({ x: +m[1] - +m[3], y: +m[2] - +m[4], w: 2 * +m[3], h: 2 * +m[4] })));
    const t = load2(file);
    expect(boxes).toHaveLength(t.nodes.length + t.networks.length);
    const pills = [...svg.matchAll(/<rect x="([\d.-]+)" y="([\d.-]+)" width="([\d.]+)" height="([\d.]+)" rx="4"/g)].map((m) => ({ x: +m[1], y: +m[2], w: +m[3], h: +m[4] }));
    const hit = (a: typeof boxes[0], b: typeof boxes[0]) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
    for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) expect(hit(boxes[i], boxes[j]), `boxes ${i} and ${j}`).toBe(false);
    for (const p of pills) for (const b of boxes) expect(hit(p, b), `label at ${p.x},${p.y}`).toBe(false);
    // Everything inside the picture.
    const [, w, h] = /viewBox="0 0 ([\d.]+) ([\d.]+)"/.exec(whole)!.map(Number);
    for (const b of [...boxes, ...pills]) expect(b.x >= 0 && b.y >= 0 && b.x + b.w <= w && b.y + b.h <= h, `${JSON.stringify(b)} in ${w}x${h}`).toBe(true);
  });

  it('bows parallel links apart and lays out a lonely node', () => {
    const l = layoutGraph(
      [{ id: 'a', w: 100, h: 50 }, { id: 'b', w: 100, h: 50 }, { id: 'c', w: 100, h: 50 }],
      [0, 1].map(() => ({ a: 'a', b: 'b', mid: { w: 40, h: 16 }, endA: { w: 40, h: 16 }, endB: { w: 40, h: 16 } })),
    );
    expect(l.edges.map((e) => e.points.length)).toEqual([3, 3]);
    expect(l.edges[0].mid).not.toEqual(l.edges[1].mid);
    expect(l.nodes.size).toBe(3);
    const one = layoutGraph([{ id: 'x', w: 80, h: 40 }], []);
    expect([one.width, one.height]).toEqual([80, 40]);
  });
});
