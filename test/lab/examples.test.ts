// The example labs in templates/labs/: each parses, is commented for a learner,
// and its exec lines address it consistently (each link's two ends in one
// subnet, each route's gateway on a subnet the node is on).
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseLabYaml, type Topology } from '../../src/lab/topology.js';
import { execAddresses, isRouter } from '../../src/lab/graph.js';
import { contains, parseCidr } from '../../src/net/cidr.js';

const LABS = path.resolve(__dirname, '../../templates/labs');
const files = readdirSync(LABS).filter((f) => f.endsWith('.yaml')).sort();
const load = (f: string) => {
  const text = readFileSync(path.join(LABS, f), 'utf8');
  return { text, ...parseLabYaml(text, f) };
};
const ip = (cidr: string) => cidr.split('/')[0];
const routes = (t: Topology, node: string) => (t.exec[node] ?? []).flatMap((l) => {
  const m = /\bip\s+r(?:oute)?\s+add\s+(\S+)\s+via\s+(\S+)/.exec(l);
  return m ? [{ dest: m[1], via: m[2] }] : [];
});

describe('example labs', () => {
  it('are the four the issue asks for', () => {
    expect(files).toEqual(['nat-edge.yaml', 'ring.yaml', 'routed.yaml', 'wan.yaml']);
  });

  it.each(files)('%s: parses, is commented, and its addresses are consistent', (f) => {
    const { text, topology: t } = load(f);
    expect(text.startsWith('#')).toBe(true);
    expect(t.description).toBeTruthy();
    expect(text).toMatch(/qkvm lab up templates\/labs\//);
    const addrs = execAddresses(t);
    // Every address is on a NIC a link wires, and no address is used twice.
    const wired = new Set(t.links.flatMap((l) => [`${l.a.node}:eth${l.a.ifc}`, ...('network' in l.b ? [] : [`${l.b.node}:eth${l.b.ifc}`])]));
    for (const nic of addrs.keys()) expect(wired.has(nic), `${f}: ${nic} has an address but no link`).toBe(true);
    const all = [...addrs.values()].flat().map(ip);
    expect(new Set(all).size, `${f}: an address used twice`).toBe(all.length);
    for (const l of t.links) {
      const a = addrs.get(`${l.a.node}:eth${l.a.ifc}`) ?? [];
      if ('network' in l.b) {
        // A NIC on a network: its fixed address (if any) is in the network's subnet.
        const subnet = t.networks.find((w) => w.key === (l.b as { network: string }).network)!.fields.subnet as string | undefined;
        for (const x of a) expect(subnet && contains(parseCidr(subnet), ip(x)), `${f}: ${l.id}: ${x} not in ${subnet}`).toBe(true);
        continue;
      }
      const b = addrs.get(`${l.b.node}:eth${l.b.ifc}`) ?? [];
      expect(a.length && b.length, `${f}: ${l.id}: both ends need an address`).toBeTruthy();
      expect(parseCidr(a[0]).cidr, `${f}: ${l.id}: ${a[0]} and ${b[0]} are in different subnets`).toBe(parseCidr(b[0]).cidr);
    }
    // Every route's gateway is on a subnet the node itself is on, and is some node's address (or a network's gateway).
    const gateways = new Set([...all, ...t.networks.filter((w) => w.fields.subnet).map((w) => parseCidr(w.fields.subnet as string).gateway)]);
    for (const n of t.nodes) {
      const own = [...addrs.entries()].filter(([k]) => k.startsWith(`${n.key}:`)).flatMap(([, v]) => v).map((x) => parseCidr(x));
      for (const r of routes(t, n.key)) {
        expect(own.some((net) => contains(net, r.via)), `${f}: ${n.key}: gateway ${r.via} is on none of its subnets`).toBe(true);
        expect(gateways.has(r.via), `${f}: ${n.key}: gateway ${r.via} is nobody's address`).toBe(true);
        if (r.dest !== 'default') expect(own.some((net) => net.cidr === parseCidr(r.dest).cidr), `${f}: ${n.key}: a route to its own subnet ${r.dest}`).toBe(false);
      }
    }
  });

  it('routed is the issue\'s sketch: a router, a NAT network lan, an 80 ms impaired link', () => {
    const { topology: t } = load('routed.yaml');
    expect(t.nodes.map((n) => n.key)).toEqual(['r1', 'h1', 'h2']);
    expect(t.networks).toEqual([expect.objectContaining({ key: 'lan', fields: expect.objectContaining({ mode: 'nat' }) })]);
    expect(t.links.find((l) => l.id === 'r1-h2')!.impair).toEqual({ delayMs: 80, jitterMs: 5, lossPct: 1, rateBps: 10e6 });
    expect(isRouter(t, 'r1')).toBe(true);
  });

  it('wan impairs its WAN link with delay, jitter, loss and rate', () => {
    const { topology: t } = load('wan.yaml');
    const wan = t.links.find((l) => l.id === 'wan')!;
    expect(wan.impair.delayMs && wan.impair.jitterMs && wan.impair.lossPct && wan.impair.rateBps).toBeTruthy();
    expect(t.nodes.filter((n) => isRouter(t, n.key)).map((n) => n.key)).toEqual(['ra', 'rb']);
  });

  it('nat-edge puts hosts on a nat network with an edge router', () => {
    const { topology: t } = load('nat-edge.yaml');
    expect(t.networks.map((w) => w.fields.mode)).toEqual(['nat']);
    expect(t.links.filter((l) => 'network' in l.b).map((l) => l.a.node).sort()).toEqual(['edge', 'h1', 'h2']);
    expect(isRouter(t, 'edge')).toBe(true);
  });

  it('ring is three routers in a cycle with static routes, and a host on two of them', () => {
    const { text, topology: t } = load('ring.yaml');
    const routers = t.nodes.filter((n) => isRouter(t, n.key)).map((n) => n.key);
    expect(routers).toEqual(['r1', 'r2', 'r3']);
    const pairs = t.links.map((l) => [l.a.node, 'node' in l.b ? l.b.node : ''].sort().join('-'));
    expect(pairs).toEqual(expect.arrayContaining(['r1-r2', 'r2-r3', 'r1-r3', 'h1-r1', 'h1-r2']));
    for (const r of routers) expect(routes(t, r).length, r).toBeGreaterThan(0);
    expect(text.replace(/#.*$/gm, '')).not.toMatch(/ospf|bird|frr|quagga/i);
  });
});
