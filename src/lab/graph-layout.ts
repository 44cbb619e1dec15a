// A small, deterministic layout for lab pictures (tens of nodes at most):
// stress majorization (Gansner, Koren, North 2004), the method neato uses,
// started from classical MDS, then turned so that links run along the axes,
// spread until boxes and labels fit, and links pulled off boxes they cross.
// Pure: the same graph always gives the same picture.

export interface Point { x: number; y: number }
export interface Size { w: number; h: number }
export interface LayoutNode { id: string; w: number; h: number; heavy?: boolean }
export interface LayoutEdge {
  a: string;
  b: string;
  /** The label in the middle of the line, and the NIC labels near each end (no endB: a network end). */
  mid: Size;
  endA: Size;
  endB?: Size;
}
export interface EdgePath {
  /** Two points (a line) or three (a quadratic curve through a control point), centre to centre. */
  points: Point[];
  mid: Point;
  nearA: Point;
  nearB: Point;
}
export interface Layout { nodes: Map<string, Point>; edges: EdgePath[]; width: number; height: number }

const GAP = 8;
/** Parallel links between the same two nodes bow apart by this much each. */
const BOW = 46;

/** How far from a box's centre a ray in direction (ux, uy) leaves it. */
function exitDist(s: Size, ux: number, uy: number, ellipse = false): number {
  if (ellipse) return 1 / Math.sqrt((ux / (s.w / 2)) ** 2 + (uy / (s.h / 2)) ** 2);
  const tx = Math.abs(ux) > 1e-9 ? s.w / 2 / Math.abs(ux) : Infinity;
  const ty = Math.abs(uy) > 1e-9 ? s.h / 2 / Math.abs(uy) : Infinity;
  return Math.min(tx, ty);
}

/** Classical MDS by power iteration: a good, deterministic start for stress majorization. */
function mdsStart(d: number[][]): Point[] {
  const n = d.length;
  const d2 = d.map((r) => r.map((v) => v * v));
  const rowMean = d2.map((r) => r.reduce((s, v) => s + v, 0) / n);
  const all = rowMean.reduce((s, v) => s + v, 0) / n;
  const B = d2.map((r, i) => r.map((v, j) => -0.5 * (v - rowMean[i] - rowMean[j] + all)));
  const vecs: { v: number[]; l: number }[] = [];
  for (let k = 0; k < 2; k++) {
    let v = Array.from({ length: n }, (_, i) => 1 + ((i * 0.6180339887 + k * 0.37) % 1));
    let l = 0;
    for (let it = 0; it < 300; it++) {
      const w = B.map((r) => r.reduce((s, b, j) => s + b * v[j], 0));
      for (const p of vecs) {
        const dot = p.v.reduce((s, x, j) => s + x * v[j], 0);
        for (let i = 0; i < n; i++) w[i] -= p.l * dot * p.v[i];
      }
      const norm = Math.sqrt(w.reduce((s, x) => s + x * x, 0));
      if (norm < 1e-9) break;
      l = norm;
      v = w.map((x) => x / norm);
    }
    vecs.push({ v, l });
  }
  // A line of nodes has no second dimension: nudge it so that stress can bend it when it wants.
  return Array.from({ length: n }, (_, i) => ({
    x: vecs[0].v[i] * Math.sqrt(Math.max(vecs[0].l, 0)),
    y: vecs[1].v[i] * Math.sqrt(Math.max(vecs[1].l, 0)) + (i % 2 ? 0.5 : -0.5),
  }));
}

function stress(pos: Point[], d: number[][], iterations = 400): void {
  const n = pos.length;
  for (let it = 0; it < iterations; it++) {
    for (let i = 0; i < n; i++) {
      let nx = 0;
      let ny = 0;
      let den = 0;
      for (let j = 0; j < n; j++) {
        if (i === j) continue;
        const w = 1 / (d[i][j] * d[i][j]);
        let dx = pos[i].x - pos[j].x;
        let dy = pos[i].y - pos[j].y;
        let dist = Math.hypot(dx, dy);
        if (dist < 1e-6) { dx = 1e-3 * (i - j); dy = 1e-3; dist = Math.hypot(dx, dy); }
        nx += w * (pos[j].x + (d[i][j] * dx) / dist);
        ny += w * (pos[j].y + (d[i][j] * dy) / dist);
        den += w;
      }
      if (den > 0) pos[i] = { x: nx / den, y: ny / den };
    }
  }
}

/** How far a link's direction is from horizontal or vertical: 0 on an axis, 1 at 45 degrees. */
const offAxis = (dx: number, dy: number) => Math.sin(2 * Math.atan2(dy, dx)) ** 2;

function rotate(pos: Point[], angle: number): Point[] {
  const c = Math.cos(angle);
  const s = Math.sin(angle);
  return pos.map((p) => ({ x: p.x * c - p.y * s, y: p.x * s + p.y * c }));
}

function distToSegment(p: Point, a: Point, b: Point): { dist: number; foot: Point } {
  const dx = b.x - a.x;
  const dy = b.y - a.y;
  const len2 = dx * dx + dy * dy || 1;
  const t = Math.max(0, Math.min(1, ((p.x - a.x) * dx + (p.y - a.y) * dy) / len2));
  const foot = { x: a.x + t * dx, y: a.y + t * dy };
  return { dist: Math.hypot(p.x - foot.x, p.y - foot.y), foot };
}

export function layoutGraph(nodes: LayoutNode[], edges: LayoutEdge[]): Layout {
  const n = nodes.length;
  const index = new Map(nodes.map((v, i) => [v.id, i]));
  const E = edges.map((e) => ({ ...e, i: index.get(e.a)!, j: index.get(e.b)! }));
  // The length a link wants: room for its three labels between the two boxes, as if it ran sideways.
  const want = E.map((e) => 2 * Math.max(e.endA.w, e.endB?.w ?? 0) + e.mid.w + 6 * GAP + (nodes[e.i].w + nodes[e.j].w) / 2);

  // Shortest-path distances in those lengths (Floyd-Warshall: n is small).
  const distances = (lengths: number[]) => {
    const d = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 0 : Infinity)));
    E.forEach((e, k) => {
      if (e.i === e.j) return;
      d[e.i][e.j] = d[e.j][e.i] = Math.min(d[e.i][e.j], lengths[k]);
    });
    for (let k = 0; k < n; k++) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (d[i][k] + d[k][j] < d[i][j]) d[i][j] = d[i][k] + d[k][j];
    const finite = d.flat().filter((v) => Number.isFinite(v) && v > 0);
    const far = (finite.length ? Math.max(...finite) : 0) + 220;
    for (const row of d) for (let j = 0; j < n; j++) if (!Number.isFinite(row[j])) row[j] = far;
    // Nodes two hops apart should not sit on top of each other either.
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) d[i][j] = Math.max(d[i][j], 140);
    return d;
  };
  const d = distances(want);
  const ext = (s: Size | undefined, ux: number, uy: number) => (s ? exitDist(s, ux, uy) : 0);
  // Centre to centre: both boxes, the middle label centred, and on each side room for the larger NIC label.
  const needLength = (e: (typeof E)[number], ux: number, uy: number, xa: number, xb: number) => {
    const side = Math.max(ext(e.endA, ux, uy) + xa, ext(e.endB, ux, uy) + xb);
    return exitDist(nodes[e.i], ux, uy, nodes[e.i].heavy) + exitDist(nodes[e.j], ux, uy, nodes[e.j].heavy)
      + 2 * ext(e.mid, ux, uy) + 4 * side + 6 * GAP;
  };

  let pos: Point[];
  if (n === 1) pos = [{ x: 0, y: 0 }];
  else {
    pos = mdsStart(d);
    stress(pos, d);
  }

  // Turn the picture so that links run along the axes and it is wider than tall.
  const score = (p: Point[]) => {
    let s = 0;
    for (const e of E) s += offAxis(p[e.j].x - p[e.i].x, p[e.j].y - p[e.i].y);
    const xs = p.map((q, i) => [q.x - nodes[i].w / 2, q.x + nodes[i].w / 2]).flat();
    const ys = p.map((q, i) => [q.y - nodes[i].h / 2, q.y + nodes[i].h / 2]).flat();
    const w = Math.max(...xs) - Math.min(...xs);
    const h = Math.max(...ys) - Math.min(...ys);
    return s + Math.max(0, h / Math.max(w, 1) - 0.6) * 2;
  };
  const heavy = nodes.map((v, i) => (v.heavy ? i : -1)).filter((i) => i >= 0);
  const orient = (start: Point[]): Point[] => {
    let p = start;
    let bestScore = Infinity;
    for (let deg = 0; deg < 180; deg += 3) {
      const q = rotate(start, (deg * Math.PI) / 180);
      const sc = score(q);
      if (sc < bestScore - 1e-6) { p = q; bestScore = sc; }
    }
    // Read it left to right in the file's order: the first link's first node on the left...
    if (E.length && p[E[0].i].x > p[E[0].j].x + 1) p = p.map((q) => ({ x: -q.x, y: q.y }));
    // ...and networks (the way out) below the nodes.
    if (heavy.length && heavy.length < n) {
      const meanAll = p.reduce((s, q) => s + q.y, 0) / n;
      const meanHeavy = heavy.reduce((s, i) => s + p[i].y, 0) / heavy.length;
      if (meanHeavy < meanAll - 1) p = p.map((q) => ({ x: q.x, y: -q.y }));
    }
    return p;
  };
  pos = orient(pos);
  // Now that links have a direction, a link that runs up or down needs less length than one that
  // runs sideways (its labels are wider than tall): settle once more with the lengths each needs,
  // and keep whichever picture is smaller (a star keeps its even spread that way).
  const candidates = [finish(pos)];
  if (n > 2) {
    const again = pos.map((p) => ({ ...p }));
    const lengths = E.map((e) => {
      const dx = again[e.j].x - again[e.i].x;
      const dy = again[e.j].y - again[e.i].y;
      const dist = Math.hypot(dx, dy) || 1;
      return needLength(e, dx / dist, dy / dist, 0, 0) + 2 * GAP;
    });
    stress(again, distances(lengths), 150);
    candidates.push(finish(orient(again)));
  }
  return candidates.reduce((x, y) => (y.width * y.height < x.width * x.height * 0.98 ? y : x));

  /** Straightens, spreads and labels a placed picture. */
  function finish(start: Point[]): Layout {
    let pos = start.map((p) => ({ ...p }));
    // Snap nearly aligned neighbours onto one line: a straight row reads better than a slight slope.
    for (let round = 0; round < 3; round++) {
      for (const e of E) {
        const dx = pos[e.j].x - pos[e.i].x;
        const dy = pos[e.j].y - pos[e.i].y;
        if (Math.abs(dy) > 0 && Math.abs(dy) < Math.abs(dx) * 0.12) { const m = (pos[e.i].y + pos[e.j].y) / 2; pos[e.i].y = m; pos[e.j].y = m; }
        else if (Math.abs(dx) > 0 && Math.abs(dx) < Math.abs(dy) * 0.12) { const m = (pos[e.i].x + pos[e.j].x) / 2; pos[e.i].x = m; pos[e.j].x = m; }
      }
    }

    // Spread the whole picture until no two boxes touch and every link has room for its labels.
    let scale = 1;
    for (let i = 0; i < n; i++) {
      for (let j = i + 1; j < n; j++) {
        const dx = Math.abs(pos[i].x - pos[j].x);
        const dy = Math.abs(pos[i].y - pos[j].y);
        const sx = dx > 1e-6 ? ((nodes[i].w + nodes[j].w) / 2 + 3 * GAP) / dx : Infinity;
        const sy = dy > 1e-6 ? ((nodes[i].h + nodes[j].h) / 2 + 3 * GAP) / dy : Infinity;
        const s = Math.min(sx, sy);
        if (Number.isFinite(s)) scale = Math.max(scale, s);
      }
    }

    for (const e of E) {
      const dx = pos[e.j].x - pos[e.i].x;
      const dy = pos[e.j].y - pos[e.i].y;
      const dist = Math.hypot(dx, dy);
      if (dist < 1e-6) continue;
      const ux = dx / dist;
      const uy = dy / dist;
      scale = Math.max(scale, needLength(e, ux, uy, 0, 0) / dist);
    }
    scale = Math.min(scale, 50);
    pos = pos.map((p) => ({ x: p.x * scale, y: p.y * scale }));

    // A link that runs through a box it does not join: push that box off the line.
    for (let round = 0; round < 20; round++) {
      let moved = false;
      for (const e of E) {
        for (let k = 0; k < n; k++) {
          if (k === e.i || k === e.j) continue;
          const { dist, foot } = distToSegment(pos[k], pos[e.i], pos[e.j]);
          const clear = Math.hypot(nodes[k].w, nodes[k].h) / 2 + GAP;
          if (dist >= clear) continue;
          let px = pos[k].x - foot.x;
          let py = pos[k].y - foot.y;
          if (Math.hypot(px, py) < 1e-6) { px = -(pos[e.j].y - pos[e.i].y); py = pos[e.j].x - pos[e.i].x; }
          const len = Math.hypot(px, py);
          pos[k] = { x: pos[k].x + (px / len) * (clear - dist), y: pos[k].y + (py / len) * (clear - dist) };
          moved = true;
        }
      }
      if (!moved) break;
    }

    // Parallel links between one pair bow apart, symmetric about the straight line.
    const pairCount = new Map<string, number>();
    const pairKey = (e: { i: number; j: number }) => (e.i < e.j ? `${e.i}:${e.j}` : `${e.j}:${e.i}`);
    for (const e of E) pairCount.set(pairKey(e), (pairCount.get(pairKey(e)) ?? 0) + 1);
    const bow: number[] = [];
    {
      const seen = new Map<string, number>();
      for (const e of E) {
        const k = pairKey(e);
        const idx = seen.get(k) ?? 0;
        seen.set(k, idx + 1);
        // The normal always points the same way for a pair, whichever end the link names first.
        bow.push((idx - (pairCount.get(k)! - 1) / 2) * BOW * (e.i < e.j ? 1 : -1));
      }
    }
    // NIC labels start just off their box; where two crowd each other at one node, both move out along their links.
    const extraA = E.map(() => 0);
    const extraB = E.map(() => 0);

    const geometry = (): EdgePath[] => E.map((e, k) => {
      const a = pos[e.i];
      const b = pos[e.j];
      const dx = b.x - a.x;
      const dy = b.y - a.y;
      const dist = Math.hypot(dx, dy) || 1;
      const ux = dx / dist;
      const uy = dy / dist;
      const off = bow[k];
      const ctrl = { x: (a.x + b.x) / 2 - uy * off * 2, y: (a.y + b.y) / 2 + ux * off * 2 };
      const at = (t: number): Point => (off === 0
        ? { x: a.x + dx * t, y: a.y + dy * t }
        : { x: (1 - t) ** 2 * a.x + 2 * t * (1 - t) * ctrl.x + t * t * b.x, y: (1 - t) ** 2 * a.y + 2 * t * (1 - t) * ctrl.y + t * t * b.y });
      const ba = exitDist(nodes[e.i], ux, uy, nodes[e.i].heavy);
      const bb = exitDist(nodes[e.j], ux, uy, nodes[e.j].heavy);
      const tA = (ba + GAP + exitDist(e.endA, ux, uy) + extraA[k]) / dist;
      const tB = 1 - (bb + GAP + (e.endB ? exitDist(e.endB, ux, uy) : 0) + extraB[k]) / dist;
      return {
        points: off === 0 ? [a, b] : [a, ctrl, b],
        mid: at((ba + (dist - bb)) / 2 / dist),
        nearA: at(Math.min(tA, 0.45)),
        nearB: at(Math.max(tB, 0.55)),
      };
    });

    const overlap = (p: Point, s: Size, q: Point, r: Size) => Math.abs(p.x - q.x) < (s.w + r.w) / 2 + 3 && Math.abs(p.y - q.y) < (s.h + r.h) / 2 + 3;
    for (let round = 0; round < 40; round++) {
      const paths = geometry();
      const ends: { k: number; side: 'a' | 'b'; node: number; at: Point; size: Size }[] = [];
      E.forEach((e, k) => {
        ends.push({ k, side: 'a', node: e.i, at: paths[k].nearA, size: e.endA });
        if (e.endB) ends.push({ k, side: 'b', node: e.j, at: paths[k].nearB, size: e.endB });
      });
      let moved = false;
      // A label on a box (its own, at a corner, or another in the way) moves out along its link.
      for (const o of ends) {
        if (pos.some((p, i) => overlap(o.at, o.size, p, nodes[i]))) { (o.side === 'a' ? extraA : extraB)[o.k] += 5; moved = true; }
      }
      for (let x = 0; x < ends.length; x++) {
        for (let y = x + 1; y < ends.length; y++) {
          const [p, q] = [ends[x], ends[y]];
          if (p.node !== q.node || !overlap(p.at, p.size, q.at, q.size)) continue;
          for (const o of [p, q]) (o.side === 'a' ? extraA : extraB)[o.k] += 5;
          moved = true;
        }
      }
      if (!moved) break;
    }
    // Labels moved out need a longer link: spread the picture again if one has no room left.
    let grow = 1;
    E.forEach((e, k) => {
      const dx = pos[e.j].x - pos[e.i].x;
      const dy = pos[e.j].y - pos[e.i].y;
      const dist = Math.hypot(dx, dy);
      if (dist < 1e-6) return;
      const [ux, uy] = [dx / dist, dy / dist];
      grow = Math.max(grow, needLength(e, ux, uy, extraA[k], extraB[k]) / dist);
    });
    if (grow > 1) pos = pos.map((p) => ({ x: p.x * Math.min(grow, 4), y: p.y * Math.min(grow, 4) }));
    const paths = geometry();

    // Everything from (0, 0): boxes and labels.
    let minX = Infinity; let minY = Infinity; let maxX = -Infinity; let maxY = -Infinity;
    const take = (p: Point, s: Size) => {
      minX = Math.min(minX, p.x - s.w / 2); maxX = Math.max(maxX, p.x + s.w / 2);
      minY = Math.min(minY, p.y - s.h / 2); maxY = Math.max(maxY, p.y + s.h / 2);
    };
    pos.forEach((p, i) => take(p, nodes[i]));
    paths.forEach((p, k) => {
      take(p.mid, E[k].mid);
      take(p.nearA, E[k].endA);
      if (E[k].endB) take(p.nearB, E[k].endB!);
      if (p.points.length === 3) take(p.points[1], { w: 0, h: 0 });
    });
    if (!Number.isFinite(minX)) { minX = 0; minY = 0; maxX = 0; maxY = 0; }
    const sh = (p: Point): Point => ({ x: p.x - minX, y: p.y - minY });
    return {
      nodes: new Map(nodes.map((v, i) => [v.id, sh(pos[i])])),
      edges: paths.map((p) => ({ points: p.points.map(sh), mid: sh(p.mid), nearA: sh(p.nearA), nearB: sh(p.nearB) })),
      width: maxX - minX,
      height: maxY - minY,
    };
  }
}
