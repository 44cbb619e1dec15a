// A lab file (qkvm lab up FILE): nodes, networks and links, validated with zod
// like a definition, then resolved into a topology that every lab part uses
// (lab up, graph, status, the link relay). Pure: no I/O here.
import { z } from 'zod';
import YAML from 'yaml';
import { Name, parseWith } from '../config/schema.js';
import { invalid } from '../errors.js';

/** A lab name prefixes every guest and network it makes (LAB-NODE), so it is kept short. */
export const LAB_NAME_RE = /^[a-z][a-z0-9]{0,11}$/;
/** Node and network keys in a lab file: short, so LAB-NODE stays a readable guest name. */
export const KEY_RE = /^[a-z][a-z0-9_]{0,15}$/;
const Key = z.string().regex(KEY_RE, 'must be 1-16 characters of a-z 0-9 _, starting with a letter');
export const LabName = z.string().regex(LAB_NAME_RE, 'must be 1-12 characters of a-z 0-9, starting with a letter (it prefixes every guest and network of the lab)');

/** The most NICs of one node that a lab wires (eth0..eth15). */
export const MAX_IFACES = 16;
/** The most nodes one lab file may make, after `count` is expanded. */
export const MAX_NODES = 64;

const DURATION_RE = /^(\d+(?:\.\d+)?)(us|ms|s)$/;
const LOSS_RE = /^(\d+(?:\.\d+)?)%$/;
const RATE_RE = /^(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit)$/;

/** A link's impairment as the file writes it, in tc-netem's words: delay 80ms, jitter 5ms, loss 1%, rate 10mbit. */
export const ImpairInput = z.object({
  delay: z.string().regex(DURATION_RE, 'must be a duration like 80ms, 1.5s or 500us').optional(),
  jitter: z.string().regex(DURATION_RE, 'must be a duration like 5ms').optional(),
  loss: z.string().regex(LOSS_RE, 'must be a percentage like 1% or 0.5%').optional(),
  rate: z.string().regex(RATE_RE, 'must be a rate like 10mbit, 512kbit or 1gbit').optional(),
}).strict();
export type ImpairInput = z.input<typeof ImpairInput>;

/** The impairment in numbers, as the relay applies it to each direction of a link. */
export interface Impairment {
  delayMs: number;
  jitterMs: number;
  /** 0..100 */
  lossPct: number;
  /** bits per second; undefined = no rate limit */
  rateBps?: number;
}

export const NO_IMPAIRMENT: Impairment = Object.freeze({ delayMs: 0, jitterMs: 0, lossPct: 0 });

const DURATION_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000 };
const RATE_BPS: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 };

export function parseDuration(text: string, what: string): number {
  const m = DURATION_RE.exec(text);
  if (!m) throw invalid(`${what}: invalid duration ${JSON.stringify(text)}`, 'write it like 80ms, 1.5s or 500us');
  const ms = Number(m[1]) * DURATION_MS[m[2]];
  if (ms > 60_000) throw invalid(`${what}: ${text} is more than 60s`, 'a link delay is at most 60s');
  return ms;
}

export function parseImpairment(i: ImpairInput | undefined, what = 'impair'): Impairment {
  if (!i) return { ...NO_IMPAIRMENT };
  const out: Impairment = {
    delayMs: i.delay ? parseDuration(i.delay, `${what}.delay`) : 0,
    jitterMs: i.jitter ? parseDuration(i.jitter, `${what}.jitter`) : 0,
    lossPct: 0,
  };
  if (i.loss) {
    const pct = Number(LOSS_RE.exec(i.loss)?.[1] ?? NaN);
    if (!(pct >= 0 && pct <= 100)) throw invalid(`${what}.loss: invalid loss ${JSON.stringify(i.loss)}`, 'write a percentage from 0% to 100%');
    out.lossPct = pct;
  }
  if (i.rate) {
    const m = RATE_RE.exec(i.rate);
    const bps = m ? Number(m[1]) * RATE_BPS[m[2]] : NaN;
    if (!(bps >= 8000)) throw invalid(`${what}.rate: invalid rate ${JSON.stringify(i.rate)}`, 'write a rate of at least 8kbit, like 10mbit');
    out.rateBps = bps;
  }
  if (out.jitterMs > out.delayMs) throw invalid(`${what}.jitter: ${i.jitter} is more than the delay (${i.delay ?? '0ms'})`, 'jitter varies the delay around its value: keep it at most the delay');
  return out;
}

/** Impairment back in tc-netem's words, for status, graph and help. */
export function formatImpairment(i: Impairment): string {
  const parts: string[] = [];
  if (i.delayMs) parts.push(`delay ${i.delayMs}ms`);
  if (i.jitterMs) parts.push(`jitter ${i.jitterMs}ms`);
  if (i.lossPct) parts.push(`loss ${i.lossPct}%`);
  if (i.rateBps) parts.push(`rate ${i.rateBps >= 1e6 ? `${i.rateBps / 1e6}mbit` : `${i.rateBps / 1e3}kbit`}`);
  return parts.join(' ') || 'none';
}

export const isImpaired = (i: Impairment) => !!(i.delayMs || i.jitterMs || i.lossPct || i.rateBps);

/**
 * A node: any field of a guest definition (memory, smp, kernel, append, disks...)
 * except name and nics, which the lab sets; or `template:` (a qkvm template, the
 * default "demo"), or `base:` (an image that the node gets as a linked clone).
 * `count: N` makes N nodes KEY1..KEYN.
 */
export const NodeInput = z.object({
  template: Name.optional(),
  base: z.string().min(1).max(4096).optional(),
  count: z.number().int().min(1).max(MAX_NODES).optional(),
}).passthrough().superRefine((n, ctx) => {
  for (const k of ['name', 'nics'] as const) {
    if (k in n) ctx.addIssue({ code: z.ZodIssueCode.custom, path: [k], message: k === 'name' ? 'a node is named by its key (the guest is LAB-KEY)' : 'a node\'s NICs come from links: write them under links:' });
  }
});
export type NodeInput = z.input<typeof NodeInput>;

export const LinkInput = z.object({
  /** Optional name for `lab impair|link|capture`; default NODE-NODE (see linkId). */
  name: Key.optional(),
  endpoints: z.tuple([z.string(), z.string()]),
  impair: ImpairInput.optional(),
}).strict();

export const LabSpec = z.object({
  name: LabName,
  description: z.string().max(4096).optional(),
  /** Fields every node gets unless it sets them itself. */
  defaults: NodeInput.optional(),
  nodes: z.record(Key, NodeInput).refine((n) => Object.keys(n).length > 0, 'a lab needs at least one node'),
  /** qkvm networks (any mode but bridge and user), named LAB-KEY. */
  networks: z.record(Key, z.object({}).passthrough()).default({}),
  links: z.array(LinkInput).max(256).default([]),
  /** Commands run in each node after it boots, in order (over the serial console). */
  exec: z.record(Key, z.array(z.string().min(1).max(4096)).max(256)).default({}),
}).strict();
export type LabSpecInput = z.input<typeof LabSpec>;
export type LabSpec = z.output<typeof LabSpec>;

/** One end of a link: a node's Nth NIC (eth N in PCI order), or a lab network. */
export type Endpoint = { node: string; ifc: number } | { network: string };

export interface TopoNode { key: string; guest: string; fields: Record<string, unknown> }
export interface TopoNetwork { key: string; name: string; fields: Record<string, unknown> }
export interface TopoLink {
  /** Unique in the lab: the file's name:, else NODE-NODE (or NODE-NETWORK), else with the NICs: r1.eth1-h2.eth0. */
  id: string;
  /** Point-to-point between two nodes (through the link relay), or a node's NIC on a lab network (a tap). */
  kind: 'p2p' | 'network';
  a: { node: string; ifc: number };
  b: Endpoint;
  impair: Impairment;
}
export interface Topology {
  name: string;
  description?: string;
  nodes: TopoNode[];
  networks: TopoNetwork[];
  links: TopoLink[];
  exec: Record<string, string[]>;
}

export const endpointText = (e: Endpoint) => ('network' in e ? e.network : `${e.node}:eth${e.ifc}`);

/** Reads "r1:eth0" (a node's NIC) or "lan" (a lab network). */
export function parseEndpoint(text: string, where: string): Endpoint {
  const m = /^([a-z][a-z0-9_]{0,15}):eth(\d{1,2})$/.exec(text);
  if (m) {
    const ifc = Number(m[2]);
    if (ifc >= MAX_IFACES) throw invalid(`${where}: ${JSON.stringify(text)}: a node has at most ${MAX_IFACES} NICs (eth0-eth${MAX_IFACES - 1})`);
    return { node: m[1], ifc };
  }
  if (KEY_RE.test(text)) return { network: text };
  throw invalid(`${where}: invalid endpoint ${JSON.stringify(text)}`, 'write NODE:ethN (a node\'s Nth NIC, like r1:eth0) or the key of a network under networks:');
}

/** Node keys after `count` is expanded: h with count 3 is h1, h2, h3. */
function expandNodes(spec: LabSpec): { key: string; input: Record<string, unknown> }[] {
  const out: { key: string; input: Record<string, unknown> }[] = [];
  for (const [key, n] of Object.entries(spec.nodes)) {
    const { count, ...rest } = n as Record<string, unknown> & { count?: number };
    const merged = { ...(spec.defaults ?? {}), ...rest };
    delete (merged as any).count;
    if (count === undefined) out.push({ key, input: merged });
    else for (let i = 1; i <= count; i++) out.push({ key: `${key}${i}`, input: merged });
  }
  return out;
}

/** Resolves a validated lab file into its topology, or throws an error that names the bad value. */
export function resolveTopology(spec: LabSpec, source = 'lab'): Topology {
  const nodes = expandNodes(spec);
  if (nodes.length > MAX_NODES) throw invalid(`${source}: ${nodes.length} nodes, more than ${MAX_NODES}`);
  const keys = new Set<string>();
  for (const n of nodes) {
    if (keys.has(n.key)) throw invalid(`${source}: node ${JSON.stringify(n.key)} is named twice (a count expands h to h1, h2...)`, 'rename one of them');
    keys.add(n.key);
  }
  const netKeys = new Set(Object.keys(spec.networks));
  for (const k of netKeys) if (keys.has(k)) throw invalid(`${source}: ${JSON.stringify(k)} names both a node and a network`, 'rename one of them');
  for (const k of Object.keys(spec.exec)) {
    if (!keys.has(k)) throw invalid(`${source}: exec.${k}: no node is named ${JSON.stringify(k)}`, `the nodes are ${[...keys].join(', ')}`);
  }

  const used = new Map<string, string>(); // "r1:eth0" -> where it was used
  const raw = spec.links.map((l, i) => {
    const where = `${source}: links[${i}]`;
    const [a, b] = l.endpoints.map((e, j) => parseEndpoint(e, `${where}.endpoints[${j}]`));
    const ends = [a, b].sort((x, y) => Number('network' in x) - Number('network' in y));
    const [first, second] = ends;
    if ('network' in first) throw invalid(`${where}: ${JSON.stringify(l.endpoints)} joins two networks`, 'a link has at least one node end, like [r1:eth2, lan]');
    for (const e of ends) {
      if ('network' in e) {
        if (!netKeys.has(e.network)) throw invalid(`${where}: no node NIC or network ${JSON.stringify(e.network)}`, netKeys.size ? `the networks are ${[...netKeys].join(', ')}; a node's NIC is written NODE:ethN` : 'declare it under networks:, or write a node\'s NIC as NODE:ethN');
        continue;
      }
      if (!keys.has(e.node)) throw invalid(`${where}: no node is named ${JSON.stringify(e.node)}`, `the nodes are ${[...keys].join(', ')}`);
      const t = endpointText(e);
      if (used.has(t)) throw invalid(`${where}: ${t} is already wired by ${used.get(t)}`, 'one NIC takes one link: use the next ethN');
      used.set(t, `links[${i}]`);
    }
    const kind: TopoLink['kind'] = 'network' in second ? 'network' : 'p2p';
    if (kind === 'network' && l.impair) throw invalid(`${where}.impair: impairments apply to point-to-point links between two nodes`, 'link the node to a router node with an impaired link instead');
    return { name: l.name, a: first as { node: string; ifc: number }, b: second, impair: parseImpairment(l.impair, `${where}.impair`), kind };
  });

  // NICs are numbered in PCI order, so a gap would shift every later ethN inside the guest.
  const perNode = new Map<string, number[]>();
  for (const l of raw) for (const e of [l.a, l.b]) if (!('network' in e)) perNode.set(e.node, [...(perNode.get(e.node) ?? []), e.ifc]);
  for (const [node, ifcs] of perNode) {
    const sorted = [...ifcs].sort((x, y) => x - y);
    sorted.forEach((n, i) => {
      if (n !== i) throw invalid(`${source}: node ${node} uses eth${n} but not eth${i}`, 'number a node\'s NICs from eth0 without gaps: ethN is the guest\'s Nth NIC');
    });
  }

  const pairName = (l: (typeof raw)[number]) => `${l.a.node}-${'network' in l.b ? l.b.network : l.b.node}`;
  const counts = new Map<string, number>();
  for (const l of raw) counts.set(pairName(l), (counts.get(pairName(l)) ?? 0) + 1);
  const links: TopoLink[] = raw.map((l) => ({
    id: l.name ?? (counts.get(pairName(l)) === 1 ? pairName(l) : `${l.a.node}.eth${l.a.ifc}-${'network' in l.b ? l.b.network : `${l.b.node}.eth${l.b.ifc}`}`),
    kind: l.kind, a: l.a, b: l.b, impair: l.impair,
  }));
  const ids = new Set<string>();
  for (const l of links) {
    if (ids.has(l.id)) throw invalid(`${source}: two links are named ${JSON.stringify(l.id)}`, 'give one of them another name:');
    ids.add(l.id);
  }

  return {
    name: spec.name,
    description: spec.description,
    nodes: nodes.map((n) => ({ key: n.key, guest: `${spec.name}-${n.key}`, fields: n.input })),
    networks: Object.entries(spec.networks).map(([key, fields]) => ({ key, name: `${spec.name}-${key}`, fields })),
    links,
    exec: spec.exec,
  };
}

/** Finds a link by its id or by either of its endpoints (r1:eth1). */
export function findLink(topo: Topology, ref: string): TopoLink {
  const byId = topo.links.find((l) => l.id === ref);
  if (byId) return byId;
  const byEnd = topo.links.find((l) => endpointText(l.a) === ref || endpointText(l.b) === ref && !('network' in l.b));
  if (byEnd) return byEnd;
  throw invalid(`lab ${topo.name}: no link ${JSON.stringify(ref)}`, `the links are ${topo.links.map((l) => l.id).join(', ') || '(none)'}`);
}

export const parseLabSpec = (input: unknown, source = 'lab file'): LabSpec => parseWith(LabSpec, input, source);

/** Parses a lab file's text: YAML, then the schema, then the topology. */
export function parseLabYaml(text: string, source: string): { spec: LabSpec; topology: Topology } {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (e: any) {
    throw invalid(`${source}: not valid YAML: ${String(e.message).split('\n')[0]}`);
  }
  const spec = parseLabSpec(doc, source);
  return { spec, topology: resolveTopology(spec, source) };
}
