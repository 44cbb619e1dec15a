// The link relay from the outside: start it (one detached Node process per
// running lab), reconfigure it live, read its state, cut and restore links,
// capture a link to a pcap, and stop it. Its identity is proved in /proc like
// dnsmasq's: its control socket path as a whole argv element of relay-main.js,
// remembered with the process start time; the pidfile is only a hint.
import { spawn } from 'node:child_process';
import { closeSync, constants, existsSync, lstatSync, openSync, readdirSync, readFileSync, rmdirSync, unlinkSync, writeSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { ensureDir } from '../config/atomic.js';
import { withLock } from '../config/lock.js';
import { checkStateDir, projectRoot, run } from '../config/paths.js';
import { invalid, QkvmError } from '../errors.js';
import { processStartTime, readCmdline, readExe } from '../runtime/proc.js';
import { pcapHeader, pcapRecord } from './pcap.js';
import { checkImpairment, LINK_ID_RE, LineReader, type CaptureLine, type RelayLink, type RelayLinkState } from './relay-protocol.js';
import { isLinkSocketPath } from './relay-server.js';
import type { Impairment } from './topology.js';

export type { RelayLink, RelayLinkState } from './relay-protocol.js';

export const relayFiles = (lab: string) => {
  const dir = run.labDir(lab);
  return { dir, socket: join(dir, 'relay.sock'), pidFile: join(dir, 'relay.pid'), log: join(dir, 'relay.log') };
};

/** The relay's program: beside this module when unbundled; from the package root when the CLI is bundled. */
export function relayMainPath(): string {
  return join(projectRoot, 'dist', 'src', 'lab', 'relay-main.js');
}

export interface ProcFacts { exe?: string; argv?: string[] }

/** Is this process the relay of the lab whose control socket is `socket`? Pure, on facts read from /proc. */
export function isLabRelay(facts: ProcFacts | undefined, socket: string): boolean {
  const argv = facts?.argv;
  if (!facts?.exe || !argv || argv.length !== 3) return false;
  const exe = facts.exe.replace(/ \(deleted\)$/, '').split('/').pop() ?? '';
  if (!/^node(js)?(\d+)?$/.test(exe)) return false;
  return argv[1].endsWith('/lab/relay-main.js') && argv[2] === socket;
}

const facts = (pid: number): ProcFacts | undefined => (processStartTime(pid) === undefined ? undefined : { exe: readExe(pid), argv: readCmdline(pid) });

/** Relays of this lab that run now, each with its start time (read on both sides of the proof). */
function findRelays(lab: string): Map<number, number> {
  const { socket, pidFile } = relayFiles(lab);
  const proven = new Map<number, number>();
  const prove = (pid: number) => {
    const before = processStartTime(pid);
    if (before !== undefined && isLabRelay(facts(pid), socket) && processStartTime(pid) === before) proven.set(pid, before);
  };
  // The pidfile is a hint that saves a scan of /proc; never trusted on its own.
  let hint: number | undefined;
  try { hint = Number(readFileSync(pidFile, 'utf8').trim()) || undefined; } catch { /* none */ }
  if (hint) prove(hint);
  if (!proven.size) for (const e of readdirSync('/proc')) { const pid = Number(e); if (pid) prove(pid); }
  return proven;
}

/** The pid of the lab's running relay, if one is proven to be it. */
export function relayPid(lab: string): number | undefined {
  return [...findRelays(lab).keys()][0];
}

/** One request, one answer, over the control socket. */
function request<T = any>(socket: string, req: object, timeoutMs = 10_000): Promise<T> {
  return new Promise((resolveP, reject) => {
    const s = net.createConnection({ path: socket });
    const lines = new LineReader();
    const timer = setTimeout(() => { s.destroy(); reject(new QkvmError('TIMEOUT', `the link relay did not answer on ${socket} within ${timeoutMs / 1000}s`)); }, timeoutMs);
    s.on('connect', () => s.write(`${JSON.stringify(req)}\n`));
    s.on('data', (chunk) => {
      const [line] = lines.push(chunk);
      if (line === undefined) return;
      clearTimeout(timer);
      s.destroy();
      let r: any;
      try { r = JSON.parse(line); } catch { return reject(new QkvmError('HOST', `the link relay answered garbage: ${line.slice(0, 200)}`)); }
      if (r.ok) resolveP(r as T);
      else reject(new QkvmError(r.code === 'NOT_FOUND' ? 'NOT_FOUND' : 'INVALID', `link relay: ${r.error}`));
    });
    s.on('error', (e) => { clearTimeout(timer); reject(new QkvmError('STATE', `cannot reach the link relay on ${socket}: ${e.message}`, { cause: e })); });
    // A relay that closes without an answer (it is stopping): fail now, not at the timeout. A no-op once settled.
    s.on('close', () => { clearTimeout(timer); reject(new QkvmError('STATE', `the link relay on ${socket} closed without an answer`)); });
  });
}

function checkLab(lab: string): void {
  relayFiles(lab); // validates the name before anything else
}

function checkLinkId(id: string): void {
  if (typeof id !== 'string' || !LINK_ID_RE.test(id)) throw invalid(`link id ${JSON.stringify(id)} is not valid`, 'see the link ids in `qkvm lab status LAB`');
}

/** Checks a set of links before any process starts: ids unique, ends under RUN/vms, impairments in range. */
export function validateLinks(links: RelayLink[]): RelayLink[] {
  const vms = resolve(run.vmsDir());
  const ids = new Set<string>();
  return links.map((l, i) => {
    checkLinkId(l.id);
    if (ids.has(l.id)) throw invalid(`links[${i}]: link ${l.id} appears twice`);
    ids.add(l.id);
    for (const k of ['a', 'b'] as const) {
      const p = l[k];
      if (typeof p !== 'string' || !isLinkSocketPath(p) || dirname(dirname(p)) !== vms) {
        throw invalid(`link ${l.id}: end ${k} ${JSON.stringify(p)} is not a guest's link socket`, `an end is run.linkSocket(GUEST, N): ${join(vms, 'GUEST', 'netN.sock')}`);
      }
    }
    if (l.a === l.b) throw invalid(`link ${l.id}: both ends are ${l.a}`);
    let impair: Impairment;
    try { impair = checkImpairment(l.impair, `link ${l.id}`); } catch (e: any) { throw invalid(e.message); }
    return { id: l.id, a: l.a, b: l.b, up: l.up !== false, impair };
  });
}

/** Makes RUN/labs/LAB, private (0700), refusing one another user could have planted. */
function labRunDir(lab: string): string {
  const { dir } = relayFiles(lab);
  ensureDir(run.root());
  checkStateDir(run.labsDir(), 'the labs run directory', { create: true, private: true });
  checkStateDir(dir, `lab ${lab}'s run directory`, { create: true, private: true });
  return dir;
}

/** Removes a run file of the relay only if it is what the relay makes (a socket, or a regular file), never through a link. */
function removeRunFile(path: string, kind: 'socket' | 'file'): void {
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st || st.isSymbolicLink()) return;
  if (kind === 'socket' ? st.isSocket() : st.isFile()) unlinkSync(path);
}

async function startRelay(lab: string): Promise<void> {
  const f = relayFiles(lab);
  labRunDir(lab);
  const main = relayMainPath();
  if (!existsSync(main)) throw new QkvmError('HOST', `the link relay program ${main} is missing`, { hint: 'build qkvm first: npm run build' });
  removeRunFile(f.socket, 'socket');
  removeRunFile(f.pidFile, 'file');
  const log = openSync(f.log, constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NOFOLLOW, 0o600);
  let child;
  try {
    child = spawn(process.execPath, [main, f.socket], { detached: true, stdio: ['ignore', log, log], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  } finally { closeSync(log); }
  let exited: number | null | undefined;
  child.on('exit', (code) => { exited = code; });
  child.unref();
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exited !== undefined) {
      throw new QkvmError('HOST', `the link relay of lab ${lab} exited at once (status ${exited})`, { hint: `see ${f.log}` });
    }
    const hello = await request<{ pid: number }>(f.socket, { op: 'hello' }, 2000).catch(() => undefined);
    if (hello && hello.pid === child.pid) return;
    if (hello) throw new QkvmError('STATE', `another link relay (pid ${hello.pid}) answers for lab ${lab}`);
    if (Date.now() > deadline) {
      try { process.kill(child.pid!, 'SIGKILL'); } catch { /* gone */ }
      throw new QkvmError('TIMEOUT', `the link relay of lab ${lab} did not come up within 15s`, { hint: `see ${f.log}` });
    }
    await new Promise((r) => setTimeout(r, 25));
  }
}

/**
 * Starts the lab's relay with these links, or reconfigures the running one
 * live: links are added and removed, impairments and up/down changed; a link
 * whose ends are unchanged keeps its connections, queues and counters.
 */
export async function ensureRelay(lab: string, links: RelayLink[]): Promise<void> {
  checkLab(lab);
  const checked = validateLinks(links);
  await withLock('relay', lab, 'starting the link relay', async () => {
    if (relayPid(lab) === undefined) await startRelay(lab);
    await request(relayFiles(lab).socket, { op: 'configure', links: checked });
  }, 15_000);
}

/**
 * Stops the lab's relay (only a process proven to be it) and removes its run
 * files: relay.sock, relay.pid, relay.log, and RUN/labs/LAB when that is then
 * empty. True when a relay was running.
 */
export async function stopRelay(lab: string): Promise<boolean> {
  checkLab(lab);
  const f = relayFiles(lab);
  return withLock('relay', lab, 'stopping the link relay', async () => {
    const started = findRelays(lab);
    for (const pid of started.keys()) { try { process.kill(pid, 'SIGTERM'); } catch { /* gone */ } }
    // PID 1 reaps late here: "still there" is "same start time and not a zombie", not kill -0.
    const mine = (pid: number) => processStartTime(pid) === started.get(pid);
    const wait = async (ms: number) => {
      const end = Date.now() + ms;
      while ([...started.keys()].some(mine) && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    };
    await wait(5000);
    for (const pid of [...started.keys()].filter(mine)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    await wait(5000);
    const left = [...started.keys()].filter(mine);
    if (left.length) throw new QkvmError('STATE', `the link relay of lab ${lab} (pid ${left.join(', ')}) would not stop`);
    removeRunFile(f.socket, 'socket');
    removeRunFile(f.pidFile, 'file');
    removeRunFile(f.log, 'file');
    try { rmdirSync(f.dir); } catch { /* not empty (the lab keeps more there), or gone */ }
    return started.size > 0;
  }, 15_000);
}

/** The links as the running relay sees them; undefined when no relay runs. Changes nothing. */
export async function relayState(lab: string): Promise<RelayLinkState[] | undefined> {
  checkLab(lab);
  if (relayPid(lab) === undefined) return undefined;
  const r = await request<{ links: RelayLinkState[] }>(relayFiles(lab).socket, { op: 'state' });
  return r.links;
}

function runningSocket(lab: string): string {
  checkLab(lab);
  if (relayPid(lab) === undefined) throw new QkvmError('STATE', `lab ${lab} has no running link relay`, { hint: `bring the lab up first: qkvm lab up FILE` });
  return relayFiles(lab).socket;
}

/** Changes a link's impairment live, both directions. */
export async function setImpairment(lab: string, id: string, impair: Impairment): Promise<void> {
  checkLinkId(id);
  let i: Impairment;
  try { i = checkImpairment(impair, `link ${id}`); } catch (e: any) { throw invalid(e.message); }
  await request(runningSocket(lab), { op: 'impair', id, impair: i });
}

/** Cuts (false) or restores (true) a link: while it is down, frames are dropped both ways. */
export async function setLinkUp(lab: string, id: string, up: boolean): Promise<void> {
  checkLinkId(id);
  await request(runningSocket(lab), { op: 'link', id, up: !!up });
}

export interface CaptureOptions { count?: number; seconds?: number; signal?: AbortSignal }

/**
 * Writes the frames both ends of a link send, as they reach the relay, to a
 * pcap file (LINKTYPE_ETHERNET) that tcpdump and Wireshark read. The relay only
 * streams frames; this process writes the file the user named. Ends after
 * `count` frames, after `seconds`, on `signal`, or when the relay goes away.
 * The file must not exist yet.
 */
export async function capture(lab: string, id: string, file: string, o: CaptureOptions = {}): Promise<{ frames: number }> {
  checkLinkId(id);
  if (o.count !== undefined && !(Number.isInteger(o.count) && o.count > 0)) throw invalid(`count ${o.count}: must be a whole number above 0`);
  if (o.seconds !== undefined && !(o.seconds > 0 && o.seconds <= 86_400)) throw invalid(`seconds ${o.seconds}: must be more than 0 and at most a day`);
  if (typeof file !== 'string' || !file || file.includes('\0')) throw invalid(`capture file ${JSON.stringify(file)} is not a file name`);
  const socket = runningSocket(lab);
  return new Promise((resolveP, reject) => {
    const s = net.createConnection({ path: socket });
    const lines = new LineReader();
    let fd: number | undefined;
    let frames = 0;
    let timer: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (err?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      s.destroy();
      if (fd !== undefined) closeSync(fd);
      if (err) reject(err); else resolveP({ frames });
    };
    const onAbort = () => finish();
    s.on('connect', () => s.write(`${JSON.stringify({ op: 'capture', id })}\n`));
    s.on('data', (chunk) => {
      let got: string[];
      try { got = lines.push(chunk); } catch (e) { return finish(e); }
      for (const line of got) {
        if (settled) return;
        const msg = JSON.parse(line);
        if (fd === undefined) {
          if (!msg.ok) return finish(new QkvmError(msg.code === 'NOT_FOUND' ? 'NOT_FOUND' : 'INVALID', `lab ${lab}: ${msg.error}`));
          try {
            // Never through a symbolic link: the user names the file, qkvm does not follow what it did not make.
            // A new file only: a capture never overwrites what is there (nor follows a link planted at the name).
            fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600);
            writeSync(fd, pcapHeader());
          } catch (e: any) {
            return finish(e.code === 'EEXIST' ? new QkvmError('EXISTS', `${file} already exists`, { hint: 'a capture never overwrites a file: give a new name' }) : new QkvmError('HOST', `cannot write ${file}: ${e.message}`, { cause: e }));
          }
          if (o.seconds !== undefined) timer = setTimeout(() => finish(), o.seconds * 1000);
          if (o.signal) { if (o.signal.aborted) return finish(); o.signal.addEventListener('abort', onAbort); }
          continue;
        }
        const c = msg as CaptureLine;
        writeSync(fd, pcapRecord(c.ts, Buffer.from(c.frame, 'base64')));
        frames++;
        if (o.count !== undefined && frames >= o.count) return finish();
      }
    });
    s.on('error', (e) => finish(fd === undefined ? new QkvmError('STATE', `cannot reach the link relay on ${socket}: ${e.message}`, { cause: e }) : undefined));
    s.on('close', () => finish(fd === undefined ? new QkvmError('STATE', `the link relay of lab ${lab} closed the capture`) : undefined));
  });
}

/** Stops the relay over its control socket (used by tests to check the relay's own cleanup). */
export const askRelayToStop = (lab: string) => request(runningSocket(lab), { op: 'stop' });
