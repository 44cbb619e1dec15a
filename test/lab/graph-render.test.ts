// The pictures for real: Graphviz's dot draws labGraphDot's text (SVG naming
// every node, PNG), and headless Chromium renders the HTML page to a PNG that
// is not blank and shows the lab's colours.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { IN_CI } from '../net/lab.js';
import { parseLabYaml } from '../../src/lab/topology.js';
import { labGraphDot, labGraphHtml } from '../../src/lab/graph.js';
import { renderDot } from '../../src/lab/graphviz.js';
import { countPixels, readPng } from './png.js';

const LABS = path.resolve(__dirname, '../../templates/labs');
const examples = readdirSync(LABS).filter((f) => f.endsWith('.yaml')).sort();
const load = (f: string) => parseLabYaml(readFileSync(path.join(LABS, f), 'utf8'), f).topology;
const CHROMIUM = '/usr/bin/chromium';

async function has(cmd: string): Promise<boolean> {
  return (await execa('sh', ['-c', 'command -v "$1"', 'sh', cmd], { reject: false })).exitCode === 0;
}
const missing = (await Promise.all(['dot', CHROMIUM].map(async (c) => ((await has(c)) ? '' : c)))).filter(Boolean);
const why = missing.length ? `missing on this host: ${missing.join(', ')} (run scripts/setup-host.sh: graphviz, chromium)` : '';
if (why && !IN_CI) console.warn(`graph-render: skipped: ${why}`);

describe.skipIf(why !== '' && !IN_CI)('lab graph pictures', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'qkvm-graph-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each(examples)('%s: dot -Tsvg takes the dot text, and its SVG names every node, network and link', async (f) => {
    if (why) throw new Error(why);
    const t = load(f);
    const svg = (await renderDot(labGraphDot(t), 'svg')).toString('utf8');
    expect(svg).toMatch(/<svg [^>]*width="\d+pt"/);
    // Graphviz writes some characters as entities (routed&#45;r1).
    const texts = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1].replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))).replace(/&amp;/g, '&'));
    for (const label of [...t.nodes.flatMap((n) => [n.key, n.guest]), ...t.networks.flatMap((w) => [w.key, w.name]), ...t.links.map((l) => l.id)]) {
      expect(texts, `${f}: ${label}`).toContain(label);
    }
  });

  it('dot -Tpng draws routed as a picture with its impaired link in orange', async () => {
    if (why) throw new Error(why);
    const png = readPng(await renderDot(labGraphDot(load('routed.yaml')), 'png'));
    expect(png.width).toBeGreaterThan(300);
    expect(countPixels(png) / (png.width * png.height)).toBeGreaterThan(0.02);
    expect(countPixels(png, [0xd9, 0x48, 0x0f])).toBeGreaterThan(100);
  });

  it('a dot failure is a HOST error with dot\'s own words', async () => {
    if (why) throw new Error(why);
    await expect(renderDot('graph { a -- ', 'svg')).rejects.toThrow(/dot -Tsvg failed: .*syntax error/s);
  });

  it.each(['routed.yaml', 'ring.yaml'])('%s: the HTML page renders in headless Chromium, offline, to a picture that is not blank', async (f) => {
    if (why) throw new Error(why);
    const html = path.join(dir, `${f}.html`);
    const shot = path.join(dir, `${f}.png`);
    writeFileSync(html, labGraphHtml(load(f)));
    // The flags of /work/.library/env/machines/node.md: no background network, a fresh profile.
    const r = await execa(CHROMIUM, [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${path.join(dir, `profile-${f}`)}`,
      '--window-size=1200,900', `--screenshot=${shot}`, `file://${html}`,
    ], { reject: false, timeout: 60_000 });
    expect(r.exitCode, r.stderr).toBe(0);
    const png = readPng(readFileSync(shot));
    expect([png.width, png.height]).toEqual([1200, 900]);
    expect(countPixels(png) / (png.width * png.height)).toBeGreaterThan(0.03);
    // The router's green border and the guests' blue ones are drawn.
    expect(countPixels(png, [0x2f, 0x8f, 0x4e], 30)).toBeGreaterThan(200);
    expect(countPixels(png, [0x3b, 0x6f, 0xd8], 30)).toBeGreaterThan(200);
    if (f === 'routed.yaml') expect(countPixels(png, [0xd9, 0x48, 0x0f], 30)).toBeGreaterThan(100);
  });
});
