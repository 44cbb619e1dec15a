// A lab's life: up (create or reconcile), down, status, exec, impair, link,
// capture, save and restore. Everything it makes goes through qkvm's own
// guests, networks and images, and is recorded (records.ts) before `down` may
// remove it. Nothing here prints: progress is a callback.
import { existsSync, lstatSync, readFileSync, rmdirSync, unlinkSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import YAML from 'yaml';
import { ensureDir } from '../config/atomic.js';
import { withLock } from '../config/lock.js';
import { run } from '../config/paths.js';
import { readDefinitionFile, vmExists } from '../config/store.js';
import { QkvmError, invalid, notFound } from '../errors.js';
import { defineNetwork, startNetwork, stopNetwork, undefineNetwork } from '../net/network.js';
import { networkExists } from '../net/store.js';
import { domifaddr, type IfAddr } from '../net/addr.js';
import { execOnConsole } from '../runtime/console.js';
import type { ExecResult } from '../runtime/console-exec.js';
import { createGuest, undefineGuest } from '../runtime/define.js';
import { withQmp } from '../runtime/qmp.js';
import { startGuest } from '../runtime/start.js';
import { cleanupRunDir } from '../runtime/recover.js';
import { guestStatus, isActive, type GuestState } from '../runtime/state.js';
import { destroyGuest, resumeGuest, suspendGuest } from '../runtime/stop.js';
import { createImage, detectFormat } from '../storage/qemu-img.js';
import { forgetOwned } from '../storage/owned.js';
import { createSnapshot, listSnapshots, revertSnapshot } from '../storage/snapshots.js';
import { validateSnapshotTag } from '../storage/qemu-img.js';
import { capture, ensureRelay, relayState, setImpairment, setLinkUp, stopRelay, type RelayLinkState } from './relay.js';
import { checkMemory, labFileDir, memAvailable, planLab, type LabPlan, type NodePlan } from './plan.js';
import {
  assertNotForeign, imageRecord, labNames, loadLab, readRecord, removeRecords, stillOurs, writeLabYaml, writeRecord, type LabRecord,
} from './records.js';
import { endpointText, findLink, LAB_NAME_RE, parseLabYaml, type Impairment, type TopoLink, type Topology } from './topology.js';
import { nicId } from '../qemu/devices/net.js';

export type Phase = 'defining' | 'starting' | 'booting' | 'exec' | 'ready' | 'running' | 'failed';
export interface NodeProgress { node: string; guest: string; phase: Phase; detail?: string; ms: number }

export interface UpOptions {
  /** On a failure, remove what this run created (guests, networks, images, the relay). */
  rollback?: boolean;
  /** How long a node may take from start to a shell on its console. */
  bootTimeoutMs?: number;
  onProgress?: (p: NodeProgress) => void;
  onNote?: (line: string) => void;
  /** /proc/meminfo's text (tests give their own). */
  meminfo?: string;
}

export interface NodeResult { node: string; guest: string; action: 'started' | 'running' | 'failed'; ms: number; error?: string }
export interface UpResult { lab: string; nodes: NodeResult[]; networks: string[]; links: string[]; ms: number; memory: { need: number; available?: number }; rolledBack: boolean }

/** Reads and checks a lab file: YAML, schema, topology and every definition in it. Nothing runs. */
export function readLabFile(file: string): { text: string; plan: LabPlan; path: string } {
  const path = resolve(file);
  let text: string;
  try {
    text = readDefinitionFile(path, { follow: true });
  } catch (e: any) {
    if (e instanceof QkvmError) throw e;
    throw invalid(`cannot read lab file ${file}: ${e.code ?? e.message}`, 'give the path of a lab file (YAML)');
  }
  const { topology } = parseLabYaml(text, file);
  return { text, plan: planLab(topology, labFileDir(path), file), path };
}

const elapsed = (t0: number) => Date.now() - t0;

/** Waits until the node's shell answers on its serial console (a marker-checked `true`). */
async function waitForShell(guest: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const r = await execOnConsole(guest, 'true', { timeoutMs: Math.min(4000, Math.max(500, deadline - Date.now())) });
      if (r.status === 0) return;
    } catch (e) {
      last = e;
      const st = await guestStatus(guest, { query: false });
      if (!isActive(st.state)) throw new QkvmError('STATE', `its QEMU stopped while it booted (${st.state}${st.reason ? `: ${st.reason}` : ''})`, { hint: `see \`qkvm console ${guest} --replay\`` });
    }
  }
  throw new QkvmError('TIMEOUT', `no shell answered on its serial console within ${timeoutMs / 1000} s${last instanceof Error ? ` (${last.message})` : ''}`, { hint: `see what it printed: \`qkvm console ${guest} --replay\`` });
}

/** Sets the guest-side carrier of a node's NIC (QMP set_link): the guest sees NO-CARRIER when down. */
async function setCarrier(guest: string, ifc: number, up: boolean): Promise<void> {
  await withQmp(guest, (qmp) => qmp.execute('set_link', { name: nicId(ifc), up }, { timeoutMs: 5000 }));
}

/** The node NICs a link touches: both ends of a p2p link, the node end of a network link. */
function linkNics(topo: Topology, l: TopoLink): { guest: string; ifc: number }[] {
  const guestOf = (key: string) => topo.nodes.find((n) => n.key === key)!.guest;
  const out = [{ guest: guestOf(l.a.node), ifc: l.a.ifc }];
  if (!('network' in l.b)) out.push({ guest: guestOf(l.b.node), ifc: l.b.ifc });
  return out;
}

/**
 * `qkvm lab up FILE`: networks first, then the relay, then every node in
 * parallel. A second run reconciles: what is missing or stopped is started,
 * impairments follow the file, and what runs is not touched.
 */
export async function labUp(file: string, o: UpOptions = {}): Promise<UpResult> {
  const t0 = Date.now();
  const { text, plan, path } = readLabFile(file);
  const topo = plan.topology;
  const lab = topo.name;
  return withLock('lab', lab, 'bringing the lab up', async () => {
    const before = readRecord(lab);
    assertNotForeign(lab, plan.nodes.map((n) => n.guest), plan.networks.map((n) => n.name), before);
    for (const n of plan.nodes) {
      for (const img of n.images) {
        if (existsOrLink(img.path) && !before?.images.some((r) => r.path === img.path && stillOurs(r))) {
          throw new QkvmError('EXISTS', `${img.path} exists but lab ${lab} did not create it`, { hint: 'the lab never overwrites an image: move it away, or rename the lab or the node' });
        }
      }
    }
    const states = new Map<string, GuestState>();
    for (const n of plan.nodes) states.set(n.key, vmExists(n.guest) ? (await guestStatus(n.guest, { query: false })).state : 'shut off');
    const toStart = plan.nodes.filter((n) => !isActive(states.get(n.key)!));
    const memory = checkMemory(lab, toStart, memAvailable(o.meminfo ?? readFileSync('/proc/meminfo', 'utf8')));

    const rec: LabRecord = before ?? { lab, file: path, created: new Date().toISOString(), guests: [], networks: [], images: [] };
    rec.file = path;
    writeLabYaml(lab, text);
    writeRecord(rec);
    const made = { guests: [] as string[], networks: [] as string[], images: [] as string[], relay: false };

    const rollback = async () => {
      for (const g of made.guests) {
        await destroyGuest(g).catch(() => undefined);
        await undefineGuest(g).catch(() => undefined);
        rec.guests = rec.guests.filter((x) => x !== g);
      }
      for (const p of made.images) {
        const r = rec.images.find((x) => x.path === p);
        if (r && stillOurs(r)) unlinkSync(p);
        await forgetOwned([p]).catch(() => undefined);
        rec.images = rec.images.filter((x) => x.path !== p);
      }
      if (made.relay) await stopRelay(lab).catch(() => false);
      for (const n of made.networks) {
        await stopNetwork(n, { force: true }).catch(() => undefined);
        await undefineNetwork(n).catch(() => undefined);
        rec.networks = rec.networks.filter((x) => x !== n);
      }
      if (!before) removeRecords(lab); else writeRecord(rec);
    };

    // Links set down by `lab link` stay down across a reconcile.
    const down = new Set(rec.down ?? []);
    try {
      for (const n of plan.networks) {
        if (!networkExists(n.name)) {
          const { name: _n, ...fields } = n.spec as Record<string, unknown>;
          if (n.pickSubnet) delete fields.subnet;
          await defineNetwork({ ...(fields as any), name: n.name }, { onNote: o.onNote });
          rec.networks.push(n.name);
          made.networks.push(n.name);
          writeRecord(rec);
        }
        await startNetwork(n.name, { onNote: o.onNote });
      }
      const wasRunning = (await relayState(lab)) !== undefined;
      if (plan.links.length || wasRunning) {
        await ensureRelay(lab, plan.links.map((l) => ({ ...l, up: !down.has(l.id) })));
        made.relay = !wasRunning;
      }
    } catch (e) {
      if (o.rollback) await rollback();
      throw e;
    }

    const bootTimeoutMs = o.bootTimeoutMs ?? 180_000;
    const results = await Promise.all(plan.nodes.map(async (n): Promise<NodeResult> => {
      const tn = Date.now();
      const progress = (phase: Phase, detail?: string) => o.onProgress?.({ node: n.key, guest: n.guest, phase, detail, ms: elapsed(tn) });
      if (isActive(states.get(n.key)!)) {
        progress('running', 'already running: not touched');
        return { node: n.key, guest: n.guest, action: 'running', ms: 0 };
      }
      try {
        progress('defining');
        await defineNode(lab, n, rec, made);
        progress('starting');
        await startGuest(n.guest, { onNote: o.onNote });
        for (const l of topo.links) {
          if (!down.has(l.id)) continue;
          for (const e of linkNics(topo, l)) if (e.guest === n.guest) await setCarrier(n.guest, e.ifc, false);
        }
        if (n.spec.serial) {
          progress('booting');
          await waitForShell(n.guest, bootTimeoutMs);
          for (const cmd of topo.exec[n.key] ?? []) {
            progress('exec', cmd);
            const r = await execOnConsole(n.guest, cmd, { timeoutMs: 120_000 });
            if (r.status !== 0) {
              throw new QkvmError('STATE', `\`${cmd}\` exited with status ${r.status}${r.output.trim() ? `: ${r.output.trim().split('\n').slice(-5).join(' | ')}` : ''}`, { hint: `try it by hand: \`qkvm lab exec ${n.guest} -- ${cmd}\`` });
            }
          }
        }
        progress('ready');
        return { node: n.key, guest: n.guest, action: 'started', ms: elapsed(tn) };
      } catch (e: any) {
        const error = e instanceof Error ? e.message : String(e);
        progress('failed', error);
        return { node: n.key, guest: n.guest, action: 'failed', ms: elapsed(tn), error: e?.hint ? `${error} (hint: ${e.hint})` : error };
      }
    }));
    const failed = results.filter((r) => r.action === 'failed');
    let rolledBack = false;
    if (failed.length && o.rollback) { await rollback(); rolledBack = true; }
    return { lab, nodes: results, networks: plan.networks.map((n) => n.name), links: topo.links.map((l) => l.id), ms: elapsed(t0), memory, rolledBack };
  });
}

const existsOrLink = (p: string) => { try { lstatSync(p); return true; } catch { return false; } };

/** Makes the node's images (recorded at once) and writes its definition: new, or rewritten from the file while it is stopped. */
async function defineNode(lab: string, n: NodePlan, rec: LabRecord, made: { guests: string[]; images: string[] }): Promise<void> {
  for (const img of n.images) {
    if (rec.images.some((r) => r.path === img.path && stillOurs(r))) continue;
    ensureDir(dirname(img.path));
    if (img.kind === 'overlay') {
      await createImage({ file: img.path, format: 'qcow2', backingFile: img.backing!, backingFormat: (await detectFormat(img.backing!)) as 'qcow2' | 'raw', owner: { by: `lab ${lab}`, guest: n.guest } });
    } else {
      await createImage({ file: img.path, format: 'qcow2', size: img.size!, owner: { by: `lab ${lab}`, guest: n.guest } });
    }
    rec.images = [...rec.images.filter((r) => r.path !== img.path), imageRecord(img.path, n.guest)];
    made.images.push(img.path);
    writeRecord(rec);
  }
  const exists = vmExists(n.guest);
  await createGuest(n.guest, { overrides: n.input, overwrite: exists });
  if (!rec.guests.includes(n.guest)) {
    rec.guests.push(n.guest);
    made.guests.push(n.guest);
    writeRecord(rec);
  }
}

/** A lab's name from `lab down FILE|NAME`: an existing file is read for its name; otherwise the word is the name. */
export function labNameOf(fileOrName: string): string {
  if (!LAB_NAME_RE.test(fileOrName) || existsSync(fileOrName)) {
    if (!existsSync(fileOrName)) throw invalid(`no lab file or lab named ${JSON.stringify(fileOrName)}`, labNames().length ? `the labs are ${labNames().join(', ')}` : 'no lab is up');
    // Only the name is read: a file that no longer validates (a template gone) can still take its lab down.
    let name: unknown;
    try { name = (YAML.parse(readDefinitionFile(resolve(fileOrName), { follow: true })) as { name?: unknown })?.name; } catch (e: any) { throw invalid(`cannot read lab file ${fileOrName}: ${e.message}`); }
    if (typeof name !== 'string' || !LAB_NAME_RE.test(name)) throw invalid(`${fileOrName}: name = ${JSON.stringify(name)} is not a lab name`);
    return name;
  }
  return fileOrName;
}

export interface DownResult { lab: string; guests: string[]; networks: string[]; images: string[]; kept: string[]; relay: boolean }

/** `qkvm lab down`: removes what the lab recorded and still matches, then its records. */
export async function labDown(lab: string, o: { onNote?: (line: string) => void } = {}): Promise<DownResult> {
  return withLock('lab', lab, 'taking the lab down', async () => {
    const rec = readRecord(lab);
    if (!rec) throw notFound(`no lab "${lab}"`, labNames().length ? `the labs are ${labNames().join(', ')}` : 'no lab is up');
    const out: DownResult = { lab, guests: [], networks: [], images: [], kept: [], relay: false };
    out.relay = await stopRelay(lab);
    await Promise.all(rec.guests.map(async (g) => {
      if (!vmExists(g)) return;
      const st = await guestStatus(g, { query: false });
      if (st.state !== 'shut off') await destroyGuest(g).catch((e) => { if (isActive(st.state)) throw e; });
      await undefineGuest(g);
      // The logs a stopped guest keeps (serial.log, qemu.log) go with it: the guest is no more.
      await withLock('vm', g, 'removing its run files', () => cleanupRunDir(g, { all: true }));
      out.guests.push(g);
      rec.guests = rec.guests.filter((x) => x !== g);
      writeRecord(rec);
    }));
    for (const n of rec.networks) {
      if (!networkExists(n)) continue;
      await stopNetwork(n, { force: true, onNote: o.onNote });
      await undefineNetwork(n);
      out.networks.push(n);
      rec.networks = rec.networks.filter((x) => x !== n);
      writeRecord(rec);
    }
    for (const img of rec.images) {
      if (stillOurs(img)) { unlinkSync(img.path); out.images.push(img.path); } else if (existsOrLink(img.path)) { out.kept.push(img.path); o.onNote?.(`kept ${img.path}: it is not the file lab ${lab} created`); }
    }
    await forgetOwned(rec.images.map((i) => i.path)).catch(() => undefined);
    removeRecords(lab);
    try { rmdirSync(run.labDir(lab)); } catch { /* not there, or not empty */ }
    return out;
  });
}

export interface LinkStatus {
  id: string; kind: 'p2p' | 'network'; a: string; b: string;
  impair: Impairment; up: boolean;
  /** p2p: whether the relay is connected to each end's QEMU. */
  connected?: [boolean, boolean];
  frames?: [number, number];
  dropped?: number;
}
export interface NodeStatus { key: string; guest: string; state: GuestState; pid?: number; addresses: IfAddr[] }
export interface LabStatus { lab: string; file: string; nodes: NodeStatus[]; networks: { name: string; defined: boolean }[]; links: LinkStatus[]; relay: boolean }

/** `qkvm lab status`: reads only. */
export async function labStatus(lab: string): Promise<LabStatus> {
  const { topology: topo, record } = loadLab(lab);
  const relay = await relayState(lab);
  const nodes = await Promise.all(topo.nodes.map(async (n): Promise<NodeStatus> => {
    if (!vmExists(n.guest)) return { key: n.key, guest: n.guest, state: 'shut off', addresses: [] };
    const st = await guestStatus(n.guest);
    const addresses = isActive(st.state) ? await domifaddr(n.guest).catch(() => []) : [];
    return { key: n.key, guest: n.guest, state: st.state, pid: st.pid, addresses };
  }));
  const down = new Set(record.down ?? []);
  const links = topo.links.map((l): LinkStatus => {
    const r: RelayLinkState | undefined = relay?.find((x) => x.id === l.id);
    const base = { id: l.id, kind: l.kind, a: endpointText(l.a), b: endpointText(l.b) };
    if (l.kind === 'network') return { ...base, impair: l.impair, up: !down.has(l.id) };
    return { ...base, impair: r?.impair ?? l.impair, up: r ? r.up : !down.has(l.id), connected: r?.connected ?? [false, false], frames: r?.frames, dropped: r?.dropped };
  });
  return { lab, file: record.file, nodes, networks: topo.networks.map((n) => ({ name: n.name, defined: networkExists(n.name) })), links, relay: relay !== undefined };
}

export async function allLabStatus(): Promise<LabStatus[]> {
  return Promise.all(labNames().map((l) => labStatus(l)));
}

/** The lab and node of a guest named LAB-KEY that a lab created, or NOT_FOUND. */
export function labNode(guest: string): { lab: string; key: string } {
  const dash = guest.indexOf('-');
  const lab = dash > 0 ? guest.slice(0, dash) : '';
  if (!LAB_NAME_RE.test(lab)) throw invalid(`${JSON.stringify(guest)} is not a lab node`, 'name a node as LAB-KEY, like routed-r1 (see `qkvm lab status`)');
  const rec = readRecord(lab);
  if (!rec?.guests.includes(guest)) throw notFound(`no node "${guest}" in ${rec ? `lab ${lab}` : 'any lab'}`, rec ? `its nodes are ${rec.guests.join(', ')}` : `the labs are ${labNames().join(', ') || '(none)'}`);
  return { lab, key: guest.slice(dash + 1) };
}

/** `qkvm lab exec LAB-KEY -- CMD`: the command's output and exit status, over the serial console. */
export async function labExec(guest: string, cmd: string, o: { timeoutMs?: number } = {}): Promise<ExecResult> {
  labNode(guest);
  if (!cmd.trim()) throw invalid('lab exec: no command', 'write it after --, like `qkvm lab exec routed-h1 -- ip addr`');
  return execOnConsole(guest, cmd, { timeoutMs: o.timeoutMs });
}

function p2pLink(lab: string, ref: string, what: string): { topo: Topology; link: TopoLink } {
  const { topology: topo } = loadLab(lab);
  const link = findLink(topo, ref);
  if (link.kind !== 'p2p') throw invalid(`lab ${lab}: link ${link.id} joins ${endpointText(link.a)} to network ${endpointText(link.b)}: ${what} applies to point-to-point links`, `the point-to-point links are ${topo.links.filter((l) => l.kind === 'p2p').map((l) => l.id).join(', ') || '(none)'}`);
  return { topo, link };
}

/** `qkvm lab impair`: a p2p link's new impairment, live. */
export async function labImpair(lab: string, ref: string, impair: Impairment): Promise<{ id: string; impair: Impairment }> {
  const { link } = p2pLink(lab, ref, 'an impairment');
  await setImpairment(lab, link.id, impair);
  return { id: link.id, impair };
}

/** `qkvm lab link LAB LINK down|up`: the relay drops or passes its frames, and the node NICs lose or get their carrier. */
export async function labLink(lab: string, ref: string, up: boolean): Promise<{ id: string; up: boolean }> {
  return withLock('lab', lab, `setting a link ${up ? 'up' : 'down'}`, async () => {
    const { topology: topo, record } = loadLab(lab);
    const link = findLink(topo, ref);
    if (link.kind === 'p2p') await setLinkUp(lab, link.id, up);
    for (const e of linkNics(topo, link)) {
      if (isActive((await guestStatus(e.guest, { query: false })).state)) await setCarrier(e.guest, e.ifc, up);
    }
    const down = new Set(record.down ?? []);
    if (up) down.delete(link.id); else down.add(link.id);
    writeRecord({ ...record, down: [...down].sort() });
    return { id: link.id, up };
  });
}

/** `qkvm lab capture`: frames of a p2p link into a pcap file. */
export async function labCapture(lab: string, ref: string, file: string, o: { count?: number; seconds?: number; signal?: AbortSignal } = {}): Promise<{ id: string; frames: number; file: string }> {
  const { link } = p2pLink(lab, ref, 'capture');
  if (o.count !== undefined && !(Number.isInteger(o.count) && o.count > 0)) throw invalid(`--count: ${JSON.stringify(o.count)} is not a positive whole number`);
  if (o.seconds !== undefined && !(o.seconds > 0)) throw invalid(`--seconds: ${JSON.stringify(o.seconds)} is not a positive number`);
  const path = resolve(file);
  if (existsOrLink(path)) throw new QkvmError('EXISTS', `${path} already exists`, { hint: 'capture never overwrites a file: give a new name' });
  const r = await capture(lab, link.id, path, o);
  return { id: link.id, frames: r.frames, file: path };
}

/** The lab's nodes, every one running, or a STATE error naming the first that is not. */
async function runningNodes(lab: string): Promise<{ guest: string; paused: boolean }[]> {
  const { topology: topo } = loadLab(lab);
  const out: { guest: string; paused: boolean }[] = [];
  for (const n of topo.nodes) {
    const st = vmExists(n.guest) ? await guestStatus(n.guest) : { state: 'shut off' as GuestState };
    if (st.state !== 'running' && st.state !== 'paused') throw new QkvmError('STATE', `lab ${lab}: node ${n.guest} is ${st.state}`, { hint: `bring the lab up first: \`qkvm lab up ${loadLab(lab).record.file}\`` });
    out.push({ guest: n.guest, paused: st.state === 'paused' });
  }
  return out;
}

/**
 * Pauses every node, runs `each` on every one, then resumes those that ran:
 * the snapshot of every node is taken (or loaded) at one instant of the lab.
 */
async function allPaused(lab: string, each: (guest: string) => Promise<unknown>): Promise<string[]> {
  const nodes = await runningNodes(lab);
  const paused: string[] = [];
  try {
    for (const n of nodes) if (!n.paused) { await suspendGuest(n.guest); paused.push(n.guest); }
    for (const n of nodes) await each(n.guest);
  } finally {
    for (const g of paused) await resumeGuest(g).catch(() => undefined);
  }
  return nodes.map((n) => n.guest);
}

/** `qkvm lab save LAB SNAP`: one internal snapshot (RAM, devices, disks) of every node, taken together. */
export async function labSave(lab: string, snap: string): Promise<{ nodes: string[] }> {
  validateSnapshotTag(snap);
  return withLock('lab', lab, 'saving the lab', async () => ({ nodes: await allPaused(lab, (g) => createSnapshot(g, snap, { description: `lab ${lab}` })) }));
}

/** `qkvm lab restore LAB SNAP`: every node back to SNAP, together. */
export async function labRestore(lab: string, snap: string): Promise<{ nodes: string[] }> {
  validateSnapshotTag(snap);
  return withLock('lab', lab, 'restoring the lab', async () => {
    // Every node must have it before any is reverted: a half-restored lab is no lab state at all.
    for (const n of await runningNodes(lab)) {
      if (!(await listSnapshots(n.guest)).some((s) => s.name === snap)) throw notFound(`lab ${lab}: node ${n.guest} has no snapshot "${snap}"`, `see \`qkvm snapshot list ${n.guest}\``);
    }
    return { nodes: await allPaused(lab, (g) => revertSnapshot(g, snap)) };
  });
}
