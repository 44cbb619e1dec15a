// `qkvm lab graph LAB`: the lab's topology as Mermaid, Graphviz dot, one
// self-contained HTML page, or (with Graphviz) SVG and PNG. The lab helper's
// src/cli/lab.ts puts labGraphCommand in the `lab` group.
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { extname } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { action } from './action.js';
import { note } from './output.js';
import { GRAPH_FORMATS, labGraphDot, labGraphText, type GraphFormat, type LiveOverlay } from '../lab/graph.js';
import { renderDot } from '../lab/graphviz.js';
import { readLabSource, readLiveOverlay } from '../lab/graph-source.js';
import type { Topology } from '../lab/topology.js';
import { invalid } from '../errors.js';

export { labGraphHtml, labGraphSvg } from '../lab/graph.js';

/** The format an output file's name implies: routed.svg is svg. */
const BY_EXTENSION: Record<string, GraphFormat> = {
  '.mmd': 'mermaid', '.mermaid': 'mermaid', '.dot': 'dot', '.gv': 'dot', '.html': 'html', '.htm': 'html', '.svg': 'svg', '.png': 'png',
};

/** The picture in one format: text for mermaid, dot and html; bytes from Graphviz for svg and png. */
export async function labGraph(topo: Topology, format: GraphFormat, live?: LiveOverlay): Promise<string | Buffer> {
  if (format === 'svg' || format === 'png') return renderDot(labGraphDot(topo, live), format);
  return labGraphText(topo, format, live);
}

/** Writes the user's output file; never through a symlink (O_NOFOLLOW), like every file qkvm writes. */
function writeOutput(file: string, data: string | Buffer): void {
  const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC | constants.O_NOFOLLOW, 0o644);
  try {
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off);
  } finally {
    closeSync(fd);
  }
}

export const labGraphCommand: CommandModule<any, any> = {
  command: 'graph <lab>',
  describe: 'draw a lab: Mermaid, Graphviz dot, a self-contained HTML page, or SVG/PNG (with Graphviz)',
  builder: (y: Argv) => y
    .positional('lab', { type: 'string', describe: 'a lab file (templates/labs/routed.yaml) or the name of a lab that is up' })
    .option('format', { alias: 'f', choices: GRAPH_FORMATS, describe: 'mermaid (default), dot, html (one offline page), svg or png (these two need Graphviz\'s dot); default: from -o\'s extension' })
    .option('output', { alias: 'o', type: 'string', describe: 'write to this file instead of stdout' })
    .option('live', { type: 'boolean', default: true, describe: 'for a lab that is up: show each node\'s state (--no-live: the file only)' })
    .example('$0 lab graph templates/labs/routed.yaml', 'Mermaid on stdout (paste it into a Markdown ```mermaid block)')
    .example('$0 lab graph routed --format html -o routed.html', 'one page with the picture and tables of links and nodes')
    .example('$0 lab graph templates/labs/ring.yaml -o ring.png', 'a PNG drawn by Graphviz (the format follows the extension)'),
  handler: action(async (a: any) => {
    const format: GraphFormat = a.format ?? (a.output ? BY_EXTENSION[extname(a.output).toLowerCase()] : undefined) ?? 'mermaid';
    if (format === 'png' && !a.output && process.stdout.isTTY) {
      throw invalid('--format png is binary and stdout is a terminal', 'write it to a file: qkvm lab graph LAB --format png -o lab.png');
    }
    const src = readLabSource(a.lab);
    // A lab that is up is drawn as it runs: node states, and cut or re-impaired links from its relay.
    const live = src.up && a.live ? await readLiveOverlay(src.topology) : undefined;
    const data = await labGraph(src.topology, format, live);
    if (a.output) {
      writeOutput(a.output, data);
      note(`wrote ${a.output} (${format}, lab ${src.topology.name}${live ? ', live' : ''})`);
    } else {
      process.stdout.write(data);
    }
  }),
};

export const labGraphCommands = [labGraphCommand];
