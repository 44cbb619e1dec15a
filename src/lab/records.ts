// A lab's records: home.labDir(LAB)/lab.yaml (the file as last brought up) and
// owned.json (the guests, networks and images the lab created). `lab down`
// removes only what is recorded here and still matches; a guest or network with
// a lab's name that is not recorded is someone else's and is never touched.
import { lstatSync, readdirSync, readFileSync, rmdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDir, writeFileAtomic } from '../config/atomic.js';
import { home } from '../config/paths.js';
import { QkvmError, notFound } from '../errors.js';
import { vmExists } from '../config/store.js';
import { networkExists } from '../net/store.js';
import { identity } from '../storage/owned.js';
import { LAB_NAME_RE, parseLabYaml, type LabSpec, type Topology } from './topology.js';

export interface OwnedLabImage { path: string; dev: string; ino: string; guest: string }

export interface LabRecord {
  lab: string;
  /** The file it was brought up from (absolute), for messages. */
  file: string;
  created: string;
  guests: string[];
  networks: string[];
  images: OwnedLabImage[];
  /** Links set down by `lab link LAB LINK down`: they stay down when `lab up` reconciles. */
  down?: string[];
}

const ownedPath = (lab: string) => join(home.labDir(lab), 'owned.json');
const yamlPath = (lab: string) => join(home.labDir(lab), 'lab.yaml');

/** Regular files only: a link planted in the records directory is not read. */
function readRegular(path: string): string | undefined {
  try {
    if (!lstatSync(path).isFile()) return undefined;
    return readFileSync(path, 'utf8');
  } catch { return undefined; }
}

export function readRecord(lab: string): LabRecord | undefined {
  const text = readRegular(ownedPath(lab));
  if (text === undefined) return undefined;
  const r = JSON.parse(text) as LabRecord;
  return { ...r, guests: r.guests ?? [], networks: r.networks ?? [], images: r.images ?? [] };
}

export function writeRecord(r: LabRecord): void {
  ensureDir(home.labsDir());
  ensureDir(home.labDir(r.lab));
  writeFileAtomic(ownedPath(r.lab), JSON.stringify(r, null, 2));
}

export function writeLabYaml(lab: string, text: string): void {
  ensureDir(home.labsDir());
  ensureDir(home.labDir(lab));
  writeFileAtomic(yamlPath(lab), text);
}

/** The lab's file as it was last brought up, parsed; NOT_FOUND when the lab has no records. */
export function loadLab(lab: string): { spec: LabSpec; topology: Topology; record: LabRecord } {
  const record = readRecord(lab);
  const text = readRegular(yamlPath(lab));
  if (!record || text === undefined) throw notFound(`no lab "${lab}"`, labNames().length ? `the labs are ${labNames().join(', ')}` : 'bring one up with `qkvm lab up FILE`');
  return { ...parseLabYaml(text, yamlPath(lab)), record };
}

/** Labs with records, sorted. */
export function labNames(): string[] {
  try {
    return readdirSync(home.labsDir()).filter((n) => LAB_NAME_RE.test(n) && readRegular(ownedPath(n)) !== undefined).sort();
  } catch { return []; }
}

/** Removes the lab's records directory (its own files only: lab.yaml, owned.json). */
export function removeRecords(lab: string): void {
  for (const p of [ownedPath(lab), yamlPath(lab)]) rmSync(p, { force: true });
  // Empty now, unless someone put a file of theirs there: then it stays.
  try { rmdirSync(home.labDir(lab)); } catch { /* not empty, or gone */ }
}

/**
 * Refuses when a guest or network the lab would create exists but is not the
 * lab's (not recorded): the lab never adopts, changes or removes it.
 */
export function assertNotForeign(lab: string, guests: string[], networks: string[], rec: LabRecord | undefined): void {
  const foreignGuest = guests.find((g) => vmExists(g) && !rec?.guests.includes(g));
  if (foreignGuest) {
    throw new QkvmError('EXISTS', `guest "${foreignGuest}" exists but lab ${lab} did not create it`, { hint: `the lab does not take over a guest it did not make: rename or remove "${foreignGuest}", or rename the lab` });
  }
  const foreignNet = networks.find((n) => networkExists(n) && !rec?.networks.includes(n));
  if (foreignNet) {
    throw new QkvmError('EXISTS', `network "${foreignNet}" exists but lab ${lab} did not create it`, { hint: `the lab does not take over a network it did not make: rename or remove "${foreignNet}", or rename the lab` });
  }
}

/** Records an image the lab just created, by device and inode, so that `lab down` removes that very file. */
export function imageRecord(path: string, guest: string): OwnedLabImage {
  const id = identity(path);
  return { path, dev: id.dev, ino: id.ino, guest };
}

/** Whether the file at path is still the one recorded (a replaced file is not the lab's). */
export function stillOurs(img: OwnedLabImage): boolean {
  try {
    const id = identity(img.path);
    return id.regular && id.dev === img.dev && id.ino === img.ino;
  } catch { return false; }
}
