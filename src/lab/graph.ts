// A lab's topology as pictures: Mermaid and Graphviz dot text, and one
// self-contained HTML page with an SVG drawn by the small layout in
// graph-layout.ts. Pure: no I/O here (graphviz.ts runs `dot`).
import { endpointText, formatImpairment, isImpaired, type Impairment, type TopoLink, type Topology } from './topology.js';
import { layoutGraph, type LayoutEdge, type Point } from './graph-layout.js';

/** What a running lab adds to the picture; the caller (lab status, the web console) reads it. */
export interface LiveOverlay {
  /** By node key: QEMU's state as `qkvm list` words it (running, shut off...). */
  nodes?: Record<string, { state?: string; addresses?: Record<string, string[]> }>;
  /** By link id: cut or not, and the impairment in force (it may differ from the file's). */
  links?: Record<string, { up?: boolean; impair?: Impairment }>;
}

export type GraphFormat = 'mermaid' | 'dot' | 'html' | 'svg' | 'png';
export const GRAPH_FORMATS: GraphFormat[] = ['mermaid', 'dot', 'html', 'svg', 'png'];

// ---------------------------------------------------------------------------
// What the pictures say, worked out once for every format.

/** The addresses an exec line gives a NIC: `ip addr add 10.0.1.1/24 dev eth0` (also `ip a add`, `ip -4 address add`). */
const IP_ADDR_ADD = /\bip\s+(?:-[46]\s+)?a(?:d|dd|ddr|ddre|ddres|ddress)?\s+a(?:d|dd)?\s+(\S+)\s+dev\s+(eth\d{1,2})\b/;
const FORWARDING = /\bsysctl\s+(?:-w\s+)?net\.ipv4\.(?:ip_forward|conf\.all\.forwarding)=1\b/;

/** "r1:eth0" -> ["10.0.1.1/24"], from the lab's exec lines. */
export function execAddresses(topo: Topology): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const [node, lines] of Object.entries(topo.exec)) {
    for (const line of lines) {
      const m = IP_ADDR_ADD.exec(line);
      if (!m) continue;
      const key = `${node}:${m[2]}`;
      out.set(key, [...(out.get(key) ?? []), m[1]]);
    }
  }
  return out;
}

/** A node that turns on IPv4 forwarding in its exec lines is drawn as a router. */
export const isRouter = (topo: Topology, node: string) => (topo.exec[node] ?? []).some((l) => FORWARDING.test(l));

interface GEnd { node: string; isNetwork: boolean; nic?: string; addrs: string[] }
interface GLink { id: string; kind: TopoLink['kind']; a: GEnd; b: GEnd; impair: Impairment; impaired: boolean; up: boolean; ends: string }
interface GNode { id: string; key: string; kind: 'guest' | 'network'; title: string; sub: string; tag?: string; state?: string }
interface Graph { name: string; description?: string; nodes: GNode[]; links: GLink[]; live: boolean }

const gid = (key: string, isNetwork: boolean) => `${isNetwork ? 'w' : 'n'}_${key}`;

function networkSummary(fields: Record<string, unknown>): string {
  const mode = typeof fields.mode === 'string' ? fields.mode : 'network';
  return typeof fields.subnet === 'string' ? `${mode} ${fields.subnet}` : mode;
}

function buildGraph(topo: Topology, live?: LiveOverlay): Graph {
  const addrs = execAddresses(topo);
  const nicAddrs = (node: string, ifc: number) => live?.nodes?.[node]?.addresses?.[`eth${ifc}`] ?? addrs.get(`${node}:eth${ifc}`) ?? [];
  const nodes: GNode[] = [
    ...topo.nodes.map((n): GNode => ({
      id: gid(n.key, false), key: n.key, kind: 'guest', title: n.key, sub: n.guest,
      tag: isRouter(topo, n.key) ? 'router' : undefined, state: live?.nodes?.[n.key]?.state,
    })),
    ...topo.networks.map((w): GNode => ({ id: gid(w.key, true), key: w.key, kind: 'network', title: w.key, sub: w.name, tag: networkSummary(w.fields) })),
  ];
  const links = topo.links.map((l): GLink => {
    const ov = live?.links?.[l.id];
    const impair = ov?.impair ?? l.impair;
    const b: GEnd = 'network' in l.b
      ? { node: gid(l.b.network, true), isNetwork: true, addrs: [] }
      : { node: gid(l.b.node, false), isNetwork: false, nic: `eth${l.b.ifc}`, addrs: nicAddrs(l.b.node, l.b.ifc) };
    return {
      id: l.id, kind: l.kind, impair, impaired: isImpaired(impair), up: ov?.up ?? true,
      a: { node: gid(l.a.node, false), isNetwork: false, nic: `eth${l.a.ifc}`, addrs: nicAddrs(l.a.node, l.a.ifc) },
      b, ends: `${endpointText(l.a)} ↔ ${endpointText(l.b)}`,
    };
  });
  return { name: topo.name, description: topo.description, nodes, links, live: !!live };
}

const nicText = (e: GEnd) => (e.nic ? [e.nic, ...e.addrs].join(' ') : '');

// ---------------------------------------------------------------------------
// Mermaid (a flowchart: GitHub and most wikis draw it from a fenced block)

const COLORS = {
  guest: { fill: '#eef4ff', stroke: '#3b6fd8' },
  router: { fill: '#e6f6ea', stroke: '#2f8f4e' },
  network: { fill: '#fff4d6', stroke: '#b7860b' },
  link: '#4a5568',
  netLink: '#8a94a6',
  impaired: '#d9480f',
  down: '#c92a2a',
  text: '#1a202c',
  muted: '#5a6478',
};

/** Mermaid's label text: quotes and angle brackets as its entity codes. */
const mmd = (s: string) => s.replace(/&/g, '#amp;').replace(/"/g, '#quot;').replace(/</g, '#lt;').replace(/>/g, '#gt;');

export function labGraphMermaid(topo: Topology, live?: LiveOverlay): string {
  const g = buildGraph(topo, live);
  const out = [`%% lab ${mmd(g.name)}: drawn by \`qkvm lab graph\``, 'flowchart LR'];
  for (const n of g.nodes) {
    const lines = [`<b>${mmd(n.title)}</b>`, mmd(n.sub), ...(n.tag ? [`<i>${mmd(n.tag)}</i>`] : []), ...(n.state ? [mmd(n.state)] : [])];
    const label = lines.join('<br/>');
    out.push(n.kind === 'network' ? `  ${n.id}(["${label}"])` : `  ${n.id}["${label}"]`);
  }
  g.links.forEach((l) => {
    const lines = [mmd(l.id), `${mmd(nicText(l.a))} ↔ ${mmd(nicText(l.b) || l.b.node.slice(2))}`];
    if (l.impaired) lines.push(mmd(formatImpairment(l.impair)));
    if (!l.up) lines.push('DOWN');
    const arrow = !l.up ? '-.-' : l.impaired ? '===' : '---';
    out.push(`  ${l.a.node} ${arrow}|"${lines.join('<br/>')}"| ${l.b.node}`);
  });
  out.push(`  classDef guest fill:${COLORS.guest.fill},stroke:${COLORS.guest.stroke},color:${COLORS.text}`);
  out.push(`  classDef router fill:${COLORS.router.fill},stroke:${COLORS.router.stroke},stroke-width:2px,color:${COLORS.text}`);
  out.push(`  classDef network fill:${COLORS.network.fill},stroke:${COLORS.network.stroke},stroke-dasharray:4 3,color:${COLORS.text}`);
  const cls = (pred: (n: GNode) => boolean) => g.nodes.filter(pred).map((n) => n.id).join(',');
  const classes: [string, string][] = [
    ['guest', cls((n) => n.kind === 'guest' && n.tag !== 'router')],
    ['router', cls((n) => n.tag === 'router')],
    ['network', cls((n) => n.kind === 'network')],
  ];
  for (const [c, ids] of classes) if (ids) out.push(`  class ${ids} ${c}`);
  g.links.forEach((l, i) => {
    if (!l.up) out.push(`  linkStyle ${i} stroke:${COLORS.down},stroke-width:2px`);
    else if (l.impaired) out.push(`  linkStyle ${i} stroke:${COLORS.impaired},stroke-width:3px`);
    else if (l.kind === 'network') out.push(`  linkStyle ${i} stroke:${COLORS.netLink},stroke-width:2px`);
  });
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------
// Graphviz dot (`dot -Tsvg` and `-Tpng` draw it; graphviz.ts runs it)

/** A dot string: quotes and backslashes escaped; \n stays a dot line break. */
const dq = (s: string) => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r?\n/g, '\\n')}"`;
/** Text inside a dot HTML-like label. */
const dh = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

const DOT_LEGEND = 'box: guest, a row per NIC · green box: router (ip_forward=1) · ellipse: qkvm network · orange dashed: impaired link · grey: NIC on a network';

/** Hops from the first link's first node (then from each node not yet reached, in order). */
function hopRanks(g: Graph): Map<string, number> {
  const adj = new Map<string, string[]>(g.nodes.map((n) => [n.id, []]));
  for (const l of g.links) { adj.get(l.a.node)!.push(l.b.node); adj.get(l.b.node)!.push(l.a.node); }
  const rank = new Map<string, number>();
  const starts = [...(g.links.length ? [g.links[0].a.node] : []), ...g.nodes.map((n) => n.id)];
  for (const s of starts) {
    if (rank.has(s)) continue;
    rank.set(s, 0);
    const queue = [s];
    while (queue.length) {
      const v = queue.shift()!;
      for (const w of adj.get(v)!) if (!rank.has(w)) { rank.set(w, rank.get(v)! + 1); queue.push(w); }
    }
  }
  return rank;
}

export function labGraphDot(topo: Topology, live?: LiveOverlay): string {
  const g = buildGraph(topo, live);
  const title = `lab ${g.name}${g.description ? `: ${g.description.trim().split('\n')[0]}` : ''}`;
  const out = [
    `// lab ${g.name}: drawn by \`qkvm lab graph\`. Render it with: dot -Tsvg FILE.dot -o FILE.svg`,
    `graph ${dq(g.name)} {`,
    `  graph [label=<<b>${dh(title)}</b><br/><font point-size="10" color="${COLORS.muted}">${dh(DOT_LEGEND)}${g.live ? ' · red dotted: link down' : ''}</font>>, labelloc=t, fontname="Helvetica", fontsize=16, rankdir=LR, nodesep=0.5, ranksep=1.1, pad=0.3, bgcolor="white"];`,
    `  node [fontname="Helvetica", fontsize=11, fontcolor=${dq(COLORS.text)}, shape=plain];`,
    `  edge [fontname="Helvetica", fontsize=10, fontcolor=${dq(COLORS.muted)}, penwidth=2, color=${dq(COLORS.link)}];`,
  ];
  // Each guest is a table: its name, then one row per NIC (a port the link attaches to), with its addresses.
  const nics = new Map<string, GEnd[]>();
  for (const l of g.links) for (const e of [l.a, l.b]) if (e.nic) nics.set(e.node, [...(nics.get(e.node) ?? []), e]);
  for (const n of g.nodes) {
    const rows = [`<b>${dh(n.title)}</b>`, `<font point-size="9">${dh(n.sub)}</font>`];
    if (n.tag) rows.push(`<i>${dh(n.tag)}</i>`);
    if (n.state) rows.push(`<font point-size="9" color="${n.state === 'running' ? COLORS.router.stroke : COLORS.down}">● ${dh(n.state)}</font>`);
    if (n.kind === 'network') {
      out.push(`  ${dq(n.id)} [label=<${rows.join('<br/>')}>, shape=ellipse, style="filled,dashed", fillcolor=${dq(COLORS.network.fill)}, color=${dq(COLORS.network.stroke)}, penwidth=1.5];`);
      continue;
    }
    const c = n.tag === 'router' ? COLORS.router : COLORS.guest;
    const ports = (nics.get(n.id) ?? []).sort((x, y) => Number(x.nic!.slice(3)) - Number(y.nic!.slice(3)))
      .map((e) => `<tr><td port="${e.nic}" border="1" sides="T" bgcolor="white">${[e.nic!, ...e.addrs.map((a) => `<font point-size="9">${dh(a)}</font>`)].join(' ')}</td></tr>`);
    out.push(`  ${dq(n.id)} [label=<<table border="${n.tag === 'router' ? 2 : 1}" cellborder="1" cellspacing="0" cellpadding="4" bgcolor="${c.fill}" color="${c.stroke}" style="rounded"><tr><td border="0">${rows.join('<br/>')}</td></tr>${ports.join('')}</table>>];`);
  }
  // dot ranks left to right along each link's direction; a ring would make it turn one link back on
  // itself. So each link runs from the end nearer the first node (by hops) to the farther one,
  // leaving east and arriving west; a link between two equally far ends leaves both eastwards.
  const rank = hopRanks(g);
  for (const l of g.links) {
    const attrs = [`label=${dq([l.id, ...(l.impaired ? formatImpairment(l.impair).split(/ (?=loss)/) : []), ...(l.up ? [] : ['DOWN'])].join('\n'))}`];
    if (!l.up) attrs.push(`color=${dq(COLORS.down)}`, 'style=dotted', `fontcolor=${dq(COLORS.down)}`);
    else if (l.impaired) attrs.push(`color=${dq(COLORS.impaired)}`, 'penwidth=3', 'style=dashed', `fontcolor=${dq(COLORS.impaired)}`);
    else if (l.kind === 'network') attrs.push(`color=${dq(COLORS.netLink)}`);
    const end = (e: GEnd, side: string) => (e.nic ? `${dq(e.node)}:${e.nic}:${side}` : dq(e.node));
    const [ra, rb] = [rank.get(l.a.node)!, rank.get(l.b.node)!];
    if (ra === rb) attrs.push('constraint=false');
    const [x, y] = rb < ra ? [l.b, l.a] : [l.a, l.b];
    out.push(`  ${end(x, 'e')} -- ${end(y, ra === rb ? 'e' : 'w')} [${attrs.join(', ')}];`);
  }
  out.push('}');
  return out.join('\n') + '\n';
}

// ---------------------------------------------------------------------------
// SVG, drawn by our own layout (no Graphviz needed), and the HTML page around it

/** Text and attribute values in SVG/HTML. */
const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
/** A width estimate for sans-serif text (DejaVu Sans, the widest usual default, is about 0.6 em a character). */
const textWidth = (s: string, size: number, bold = false) => [...s].length * size * (bold ? 0.66 : 0.6);
const r1 = (n: number) => Math.round(n * 10) / 10;

interface Box { w: number; h: number; lines: { text: string; size: number; bold?: boolean; italic?: boolean; color?: string }[] }

function nodeBox(n: GNode): Box {
  const lines: Box['lines'] = [{ text: n.title, size: 15, bold: true }, { text: n.sub, size: 11, color: COLORS.muted }];
  if (n.tag) lines.push({ text: n.tag, size: 11, italic: true, color: n.kind === 'network' ? COLORS.network.stroke : COLORS.router.stroke });
  if (n.state) lines.push({ text: `● ${n.state}`, size: 11, bold: true, color: n.state === 'running' ? COLORS.router.stroke : COLORS.down });
  const tw = Math.max(...lines.map((l) => textWidth(l.text, l.size, l.bold)));
  const th = lines.reduce((s, l) => s + l.size + 4, 0);
  // An ellipse needs room around its text: its inscribed box is 1/sqrt(2) of it.
  if (n.kind === 'network') return { w: Math.max(120, (tw + 16) * 1.42), h: Math.max(64, (th + 8) * 1.42), lines };
  return { w: Math.max(96, tw + 28), h: th + 18, lines };
}

interface Pill { text: string; size: number; color: string; bold?: boolean }
const pillSize = (rows: Pill[]) => ({ w: Math.max(...rows.map((r) => textWidth(r.text, r.size, r.bold))) + 10, h: rows.reduce((s, r) => s + r.size + 3, 0) + 5 });

function drawPill(at: Point, rows: Pill[], stroke: string): string {
  const { w, h } = pillSize(rows);
  const x = at.x - w / 2;
  const y = at.y - h / 2;
  let ty = y + 2;
  const texts = rows.map((r) => {
    ty += r.size + 1;
    const t = `<text x="${r1(at.x)}" y="${r1(ty)}" font-size="${r.size}" fill="${r.color}"${r.bold ? ' font-weight="bold"' : ''} text-anchor="middle">${esc(r.text)}</text>`;
    ty += 2;
    return t;
  });
  return `<rect x="${r1(x)}" y="${r1(y)}" width="${r1(w)}" height="${r1(h)}" rx="4" fill="white" fill-opacity="0.92" stroke="${stroke}" stroke-width="1"/>${texts.join('')}`;
}

function linkLabelRows(l: GLink): Pill[] {
  const rows: Pill[] = [{ text: l.id, size: 11, color: COLORS.muted }];
  if (l.impaired) {
    // Two short lines read better than one long one beside a line.
    const parts = formatImpairment(l.impair).split(/ (?=jitter|loss|rate)/);
    const lines: string[] = [];
    for (const p of parts) {
      if (lines.length && (lines[lines.length - 1] + ' ' + p).length <= 22) lines[lines.length - 1] += ' ' + p;
      else lines.push(p);
    }
    for (const t of lines) rows.push({ text: t, size: 11, color: COLORS.impaired, bold: true });
  }
  if (!l.up) rows.push({ text: '✕ link down', size: 11, color: COLORS.down, bold: true });
  return rows;
}

const nicRows = (e: GEnd): Pill[] => [{ text: e.nic ?? '', size: 11, color: COLORS.text, bold: true }, ...e.addrs.map((a) => ({ text: a, size: 10, color: COLORS.muted }))];

/** The legend under the picture, so the SVG alone (or its PNG) explains itself. */
function drawLegend(x: number, y: number, g: Graph): { svg: string; w: number; h: number } {
  const items: string[] = [];
  let cx = x;
  const add = (shape: string, label: string) => {
    items.push(shape.replace(/X0/g, String(r1(cx))).replace(/X1/g, String(r1(cx + 34))).replace(/XM/g, String(r1(cx + 17))));
    items.push(`<text x="${r1(cx + 42)}" y="${y + 4}" font-size="11" fill="${COLORS.text}">${esc(label)}</text>`);
    cx += 42 + textWidth(label, 11) + 22;
  };
  add(`<rect x="X0" y="${y - 9}" width="34" height="18" rx="5" fill="${COLORS.guest.fill}" stroke="${COLORS.guest.stroke}" stroke-width="1.5"/>`, 'guest (LAB-NODE)');
  add(`<rect x="X0" y="${y - 9}" width="34" height="18" rx="5" fill="${COLORS.router.fill}" stroke="${COLORS.router.stroke}" stroke-width="2.5"/>`, 'router (ip_forward=1)');
  add(`<ellipse cx="XM" cy="${y}" rx="17" ry="10" fill="${COLORS.network.fill}" stroke="${COLORS.network.stroke}" stroke-width="1.5" stroke-dasharray="4 3"/>`, 'qkvm network');
  add(`<line x1="X0" y1="${y}" x2="X1" y2="${y}" stroke="${COLORS.link}" stroke-width="2.5"/>`, 'point-to-point link');
  add(`<line x1="X0" y1="${y}" x2="X1" y2="${y}" stroke="${COLORS.impaired}" stroke-width="3.5" stroke-dasharray="9 4"/>`, 'impaired link');
  add(`<line x1="X0" y1="${y}" x2="X1" y2="${y}" stroke="${COLORS.netLink}" stroke-width="2.5"/>`, 'NIC on a network (tap)');
  if (g.live) add(`<line x1="X0" y1="${y}" x2="X1" y2="${y}" stroke="${COLORS.down}" stroke-width="2.5" stroke-dasharray="2 5"/>`, 'link down');
  return { svg: `<g class="legend">${items.join('')}</g>`, w: cx - x, h: 24 };
}

export interface SvgOptions {
  /** A standalone .svg file needs the SVG namespace; SVG inline in HTML does not (and the page then names no URL at all). */
  standalone?: boolean;
  /** The lab's name and description on top (default); the HTML page has its own heading. */
  title?: boolean;
}

/** The lab as one SVG picture, laid out by graph-layout.ts: boxes for guests, ellipses for networks, labelled links. */
export function labGraphSvg(topo: Topology, live?: LiveOverlay, opts: SvgOptions = {}): string {
  const g = buildGraph(topo, live);
  const boxes = new Map(g.nodes.map((n) => [n.id, nodeBox(n)]));
  const edges: LayoutEdge[] = g.links.map((l) => ({
    a: l.a.node, b: l.b.node, mid: pillSize(linkLabelRows(l)), endA: pillSize(nicRows(l.a)), endB: l.b.nic ? pillSize(nicRows(l.b)) : undefined,
  }));
  const layout = layoutGraph(g.nodes.map((n) => ({ id: n.id, w: boxes.get(n.id)!.w, h: boxes.get(n.id)!.h, heavy: n.kind === 'network' })), edges);

  const margin = 30;
  const withTitle = opts.title !== false;
  const titleH = !withTitle ? 0 : g.description ? 52 : 34;
  const legend = drawLegend(0, 0, g);
  const width = Math.max(layout.width + 2 * margin, legend.w + 2 * margin, 360);
  const ox = (width - layout.width) / 2;
  const oy = titleH + margin;
  const height = oy + layout.height + margin + 40;
  const P = (p: Point): Point => ({ x: p.x + ox, y: p.y + oy });

  const parts: string[] = [];
  parts.push(`<rect width="${r1(width)}" height="${r1(height)}" fill="white"/>`);
  if (withTitle) parts.push(`<text x="${margin - 10}" y="26" font-size="17" font-weight="bold" fill="${COLORS.text}">lab ${esc(g.name)}</text>`);
  if (withTitle && g.description) parts.push(`<text x="${margin - 10}" y="44" font-size="12" fill="${COLORS.muted}">${esc(g.description.trim().split('\n')[0])}</text>`);

  // Links first, so boxes cover the line ends.
  const labels: string[] = [];
  g.links.forEach((l, i) => {
    const path = layout.edges[i];
    const pts = path.points.map(P);
    const d = pts.length === 3 ? `M${r1(pts[0].x)},${r1(pts[0].y)} Q${r1(pts[1].x)},${r1(pts[1].y)} ${r1(pts[2].x)},${r1(pts[2].y)}` : `M${r1(pts[0].x)},${r1(pts[0].y)} L${r1(pts[1].x)},${r1(pts[1].y)}`;
    const stroke = !l.up ? COLORS.down : l.impaired ? COLORS.impaired : l.kind === 'network' ? COLORS.netLink : COLORS.link;
    const dash = !l.up ? ' stroke-dasharray="2 5"' : l.impaired ? ' stroke-dasharray="9 4"' : '';
    parts.push(`<path class="link" data-link="${esc(l.id)}" d="${d}" fill="none" stroke="${stroke}" stroke-width="${l.impaired ? 3.5 : 2.5}"${dash}><title>${esc(`${l.id}: ${l.ends}${l.impaired ? `, ${formatImpairment(l.impair)}` : ''}`)}</title></path>`);
    labels.push(drawPill(P(path.mid), linkLabelRows(l), stroke));
    labels.push(drawPill(P(path.nearA), nicRows(l.a), COLORS.guest.stroke));
    if (l.b.nic) labels.push(drawPill(P(path.nearB), nicRows(l.b), COLORS.guest.stroke));
  });

  for (const n of g.nodes) {
    const b = boxes.get(n.id)!;
    const c = P(layout.nodes.get(n.id)!);
    const col = n.kind === 'network' ? COLORS.network : n.tag === 'router' ? COLORS.router : COLORS.guest;
    const shape = n.kind === 'network'
      ? `<ellipse cx="${r1(c.x)}" cy="${r1(c.y)}" rx="${r1(b.w / 2)}" ry="${r1(b.h / 2)}" fill="${col.fill}" stroke="${col.stroke}" stroke-width="2" stroke-dasharray="6 4"/>`
      : `<rect x="${r1(c.x - b.w / 2)}" y="${r1(c.y - b.h / 2)}" width="${r1(b.w)}" height="${r1(b.h)}" rx="9" fill="${col.fill}" stroke="${col.stroke}" stroke-width="${n.tag === 'router' ? 3 : 2}"/>`;
    const th = b.lines.reduce((s, l) => s + l.size + 4, 0);
    let ty = c.y - th / 2 - 2;
    const texts = b.lines.map((l) => {
      ty += l.size + 4;
      return `<text x="${r1(c.x)}" y="${r1(ty - 3)}" font-size="${l.size}" text-anchor="middle" fill="${l.color ?? COLORS.text}"${l.bold ? ' font-weight="bold"' : ''}${l.italic ? ' font-style="italic"' : ''}>${esc(l.text)}</text>`;
    });
    parts.push(`<g class="${n.kind}" data-node="${esc(n.key)}">${shape}${texts.join('')}<title>${esc(n.kind === 'network' ? `network ${n.sub} (${n.tag})` : `guest ${n.sub}`)}</title></g>`);
  }
  parts.push(...labels);
  const lg = drawLegend((width - legend.w) / 2, height - 24, g);
  parts.push(lg.svg);

  const ns = opts.standalone ? ' xmlns="http://www.w3.org/2000/svg"' : '';
  return `<svg${ns} viewBox="0 0 ${r1(width)} ${r1(height)}" width="${r1(width)}" height="${r1(height)}" font-family="DejaVu Sans, Helvetica, Arial, sans-serif" role="img" aria-label="lab ${esc(g.name)}">`
    + `${parts.join('\n')}</svg>\n`;
}

/** One self-contained page: the picture, then tables of links and nodes. No script, no font, no URL: it works offline. */
export function labGraphHtml(topo: Topology, live?: LiveOverlay): string {
  const g = buildGraph(topo, live);
  const row = (cells: string[]) => `<tr>${cells.map((c) => `<td>${c}</td>`).join('')}</tr>`;
  const linkRows = g.links.map((l) => row([
    `<code>${esc(l.id)}</code>`, esc(l.ends),
    esc([nicText(l.a), l.b.nic ? nicText(l.b) : ''].filter((s) => s.includes(' ')).join(' · ')),
    l.impaired ? `<span class="imp">${esc(formatImpairment(l.impair))}</span>` : 'none',
    ...(g.live ? [l.up ? 'up' : '<span class="down">down</span>'] : []),
  ]));
  const nodeRows = topo.nodes.map((n) => row([
    `<b>${esc(n.key)}</b>`, `<code>${esc(n.guest)}</code>`,
    ...(g.live ? [esc(live?.nodes?.[n.key]?.state ?? '?')] : []),
    (topo.exec[n.key] ?? []).map((c) => `<code>${esc(c)}</code>`).join('<br>') || '-',
  ]));
  const netRows = topo.networks.map((w) => row([`<b>${esc(w.key)}</b>`, `<code>${esc(w.name)}</code>`, esc(networkSummary(w.fields))]));
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>lab ${esc(g.name)}</title>
<style>
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: ${COLORS.text}; margin: 1.5em; background: #f7f8fa; }
h1 { font-size: 1.4em; margin: 0 0 .2em; } h2 { font-size: 1.1em; margin: 1.4em 0 .4em; }
.picture { background: white; border: 1px solid #d5dae3; border-radius: 8px; padding: 8px; overflow: auto; }
.picture svg { max-width: 100%; height: auto; display: block; margin: auto; }
table { border-collapse: collapse; background: white; font-size: .9em; }
td, th { border: 1px solid #d5dae3; padding: .3em .6em; text-align: left; vertical-align: top; }
th { background: #eef1f6; }
code { font-size: .95em; } .imp { color: ${COLORS.impaired}; font-weight: bold; } .down { color: ${COLORS.down}; font-weight: bold; }
footer { margin-top: 2em; color: ${COLORS.muted}; font-size: .8em; }
</style>
</head>
<body>
<h1>lab ${esc(g.name)}</h1>
${g.description ? `<p>${esc(g.description.trim())}</p>\n` : ''}<div class="picture">
${labGraphSvg(topo, live, { title: false })}</div>
<h2>Links</h2>
<table>
<tr><th>link</th><th>ends</th><th>addresses</th><th>impairment</th>${g.live ? '<th>state</th>' : ''}</tr>
${linkRows.join('\n')}
</table>
<h2>Nodes</h2>
<table>
<tr><th>node</th><th>guest</th>${g.live ? '<th>state</th>' : ''}<th>exec after boot</th></tr>
${nodeRows.join('\n')}
</table>
${netRows.length ? `<h2>Networks</h2>\n<table>\n<tr><th>network</th><th>qkvm network</th><th>mode</th></tr>\n${netRows.join('\n')}\n</table>\n` : ''}<footer>Drawn by <code>qkvm lab graph --format html</code>. Change a link with <code>qkvm lab impair LINK</code> or <code>qkvm lab link LINK down</code>.</footer>
</body>
</html>
`;
}

/** The text formats by name (svg and png come from Graphviz, see graphviz.ts). */
export function labGraphText(topo: Topology, format: 'mermaid' | 'dot' | 'html', live?: LiveOverlay): string {
  if (format === 'mermaid') return labGraphMermaid(topo, live);
  if (format === 'dot') return labGraphDot(topo, live);
  return labGraphHtml(topo, live);
}
