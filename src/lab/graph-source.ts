// Where `qkvm lab graph LAB` (and the web console) finds a lab: a lab file's
// path, or the name of a lab that is up (its file as brought up is kept in
// home.labDir(NAME)/lab.yaml). Reads only.
import { relayState } from './relay.js';
import { existsSync, lstatSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { home } from '../config/paths.js';
import { readDefinitionFile } from '../config/store.js';
import { invalid, notFound, QkvmError } from '../errors.js';
import { guestStatus } from '../runtime/state.js';
import { LAB_NAME_RE, parseLabYaml, type Topology } from './topology.js';
import type { LiveOverlay } from './graph.js';

export interface LabSource { topology: Topology; file: string; up: boolean }

/** The lab file that `lab up` recorded for a lab that is up. */
export const recordedLabFile = (name: string) => join(home.labDir(name), 'lab.yaml');

/** Labs with a recorded lab file, for hints. */
export function labsUp(): string[] {
  try {
    return readdirSync(home.labsDir()).filter((n) => LAB_NAME_RE.test(n) && existsSync(recordedLabFile(n))).sort();
  } catch { return []; }
}

const looksLikePath = (ref: string) => ref.includes('/') || /\.ya?ml$/i.test(ref);

function readUserFile(file: string): string {
  try {
    return readDefinitionFile(resolve(file), { follow: true });
  } catch (e: any) {
    if (e instanceof QkvmError) throw e;
    if (e?.code === 'ENOENT') throw notFound(`no lab file ${file}`, 'give a lab file\'s path (the examples are in templates/labs/) or the name of a lab that is up');
    throw e;
  }
}

/** A lab file's path, or the name of a lab that is up. A name that is both: the lab that is up wins (a path has a / or .yaml). */
export function readLabSource(ref: string): LabSource {
  if (!ref) throw invalid('name a lab, or give a lab file', 'for example: qkvm lab graph templates/labs/routed.yaml');
  if (looksLikePath(ref)) return { ...parseLabYaml(readUserFile(ref), ref), file: ref, up: false };
  if (LAB_NAME_RE.test(ref)) {
    const rec = recordedLabFile(ref);
    let st;
    try { st = lstatSync(rec); } catch { /* not up */ }
    // qkvm's own record: never through a symlink (readDefinitionFile refuses one).
    if (st) return { ...parseLabYaml(readDefinitionFile(rec), rec), file: rec, up: true };
  }
  if (existsSync(ref)) return { ...parseLabYaml(readUserFile(ref), ref), file: ref, up: false };
  const up = labsUp();
  if (!LAB_NAME_RE.test(ref)) throw invalid(`no lab file ${JSON.stringify(ref)}, and it is not a lab name (1-12 characters of a-z 0-9)`, 'give a lab file\'s path, like templates/labs/routed.yaml');
  throw notFound(`no lab "${ref}" is up, and there is no file ${ref}`,
    `${up.length ? `labs that are up: ${up.join(', ')}; ` : ''}or give a lab file's path, like templates/labs/routed.yaml`);
}

/**
 * What can be read of a lab that is up without changing anything: each node's
 * state. Link states (up/down, the impairment in force) come from the link
 * relay: pass them in `links` (the lab helper's relayState), they are merged.
 */
export async function readLiveOverlay(topo: Topology, links?: LiveOverlay['links']): Promise<LiveOverlay> {
  const nodes: NonNullable<LiveOverlay['nodes']> = {};
  await Promise.all(topo.nodes.map(async (n) => {
    try { nodes[n.key] = { state: (await guestStatus(n.guest, { query: false })).state }; } catch { nodes[n.key] = { state: 'unknown' }; }
  }));
  // The relay's own view (read-only: it answers a status request), unless the caller brought it.
  if (!links) {
    const states = await relayState(topo.name).catch(() => undefined);
    if (states) links = Object.fromEntries(states.map((l) => [l.id, { up: l.up, impair: l.impair }]));
  }
  return { nodes, ...(links ? { links } : {}) };
}
