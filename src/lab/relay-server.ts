// The link relay process's work (relay-main.ts starts it): for each
// point-to-point link it connects as a client to both guests' QEMU sockets
// (-netdev stream,server=on), reads frames, and forwards each one to the other
// end after the link's impairment (shaper.ts), each direction on its own. It
// answers the control protocol (relay-protocol.ts) on its own UNIX socket.
import { lstatSync, readFileSync, writeFileSync, renameSync, unlinkSync, chmodSync } from 'node:fs';
import net from 'node:net';
import { basename, dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { encodeFrame, FrameReader, FramingError } from './framing.js';
import { checkImpairment, LINK_ID_RE, LineReader, type CaptureLine, type RelayLink, type RelayLinkState, type RelayRequest } from './relay-protocol.js';
import { Shaper } from './shaper.js';
import type { Impairment } from './topology.js';

/** How long the relay waits before it tries a QEMU socket again (QEMU not up yet, or restarting). */
export const RECONNECT_MS = 200;
/** Bytes Node may hold for a QEMU that does not read: beyond it frames are dropped, not buffered without end. */
const MAX_BACKLOG = 4 * 1024 * 1024;
/** The same for a capture reader that does not keep up. */
const MAX_CAPTURE_BACKLOG = 16 * 1024 * 1024;
/** A frame due within this much is sent now: setTimeout's granularity is about a millisecond. */
const SLACK_MS = 0.5;

type Log = (line: string) => void;

/** The relay's frames may come only from a guest's link socket: RUN/vms/NAME/netN.sock. */
export function isLinkSocketPath(p: string): boolean {
  return p.startsWith('/') && !p.includes('\0') && /^net\d{1,2}\.sock$/.test(basename(p)) && basename(dirname(dirname(p))) === 'vms';
}

/** One end of a link: a client connection to one QEMU's stream socket, kept up while the link exists. */
class End {
  private sock?: net.Socket;
  private connected = false;
  private retry?: NodeJS.Timeout;
  private closed = false;

  constructor(readonly path: string, private readonly onFrame: (f: Buffer) => void, private readonly log: Log) {
    this.connect();
  }

  get isConnected(): boolean {
    return this.connected;
  }

  private connect(): void {
    if (this.closed) return;
    const reader = new FrameReader();
    const sock = net.createConnection({ path: this.path });
    this.sock = sock;
    sock.on('connect', () => {
      this.connected = true;
      this.log(`connected to ${this.path}`);
    });
    sock.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try { frames = reader.push(chunk); } catch (e) {
        if (!(e instanceof FramingError)) throw e;
        this.log(`${this.path}: ${e.message}; reconnecting`);
        sock.destroy();
        return;
      }
      for (const f of frames) this.onFrame(f);
    });
    sock.on('error', () => { /* 'close' follows; ENOENT and ECONNREFUSED mean QEMU is not (yet) up */ });
    sock.on('close', () => {
      if (this.connected) this.log(`disconnected from ${this.path}`);
      this.connected = false;
      if (this.sock === sock) this.sock = undefined;
      if (!this.closed) this.retry = setTimeout(() => this.connect(), RECONNECT_MS);
    });
  }

  /** Sends one frame; false when it could not (not connected, or QEMU is not reading). */
  send(frame: Buffer): boolean {
    const s = this.sock;
    if (!s || !this.connected || s.writableLength > MAX_BACKLOG) return false;
    s.write(encodeFrame(frame));
    return true;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.sock?.destroy();
    this.connected = false;
  }
}

interface Pending { at: number; frame: Buffer }

/** A running link: two ends, and a shaper, a delay line and counters per direction. */
class Link {
  readonly ends: [End, End];
  private readonly shapers: [Shaper, Shaper];
  private readonly lines: [Pending[], Pending[]] = [[], []];
  private readonly timers: [NodeJS.Timeout | undefined, NodeJS.Timeout | undefined] = [undefined, undefined];
  readonly frames: [number, number] = [0, 0];
  dropped = 0;
  /** Delayed frames delivered, and how late in all (ms): the relay's own timing error. */
  private late = { frames: 0, ms: 0 };
  up: boolean;
  readonly captures = new Set<(l: CaptureLine) => void>();

  constructor(readonly cfg: RelayLink, log: Log, random: () => number) {
    this.up = cfg.up;
    const now = () => performance.now();
    this.shapers = [new Shaper(cfg.impair, { now, random }), new Shaper(cfg.impair, { now, random })];
    this.ends = [
      new End(cfg.a, (f) => this.onFrame(0, f), (l) => log(`link ${cfg.id}: ${l}`)),
      new End(cfg.b, (f) => this.onFrame(1, f), (l) => log(`link ${cfg.id}: ${l}`)),
    ];
  }

  get impair(): Impairment {
    return this.shapers[0].impairment;
  }

  setImpairment(i: Impairment): void {
    for (const s of this.shapers) s.setImpairment(i);
  }

  setUp(up: boolean): void {
    this.up = up;
    if (up) return;
    // A cut cable loses what was on it.
    for (const d of [0, 1] as const) {
      this.dropped += this.lines[d].length;
      this.lines[d] = [];
      clearTimeout(this.timers[d]);
      this.timers[d] = undefined;
    }
  }

  private onFrame(from: 0 | 1, frame: Buffer): void {
    if (this.captures.size) {
      const line: CaptureLine = { frame: frame.toString('base64'), ts: Math.round((performance.timeOrigin + performance.now()) * 1000), from };
      for (const c of this.captures) c(line);
    }
    if (!this.up) { this.dropped++; return; }
    const v = this.shapers[from].admit(frame.length);
    if ('drop' in v) { this.dropped++; return; }
    const line = this.lines[from];
    if (line.length === 0 && v.deliverAt <= performance.now() + SLACK_MS) { this.deliver(from, frame); return; }
    line.push({ at: v.deliverAt, frame });
    if (!this.timers[from]) this.arm(from);
  }

  private arm(from: 0 | 1): void {
    const head = this.lines[from][0];
    if (!head) { this.timers[from] = undefined; return; }
    this.timers[from] = setTimeout(() => this.flush(from), Math.max(0, head.at - performance.now()));
  }

  private flush(from: 0 | 1): void {
    const line = this.lines[from];
    const limit = performance.now() + SLACK_MS;
    let n = 0;
    const now = limit - SLACK_MS;
    while (n < line.length && line[n].at <= limit) {
      this.late.frames++;
      this.late.ms += Math.max(0, now - line[n].at);
      this.deliver(from, line[n++].frame);
    }
    line.splice(0, n);
    this.arm(from);
  }

  private deliver(from: 0 | 1, frame: Buffer): void {
    if (this.ends[1 - from].send(frame)) this.frames[from]++;
    else this.dropped++;
  }

  state(): RelayLinkState {
    return { id: this.cfg.id, up: this.up, impair: this.impair, connected: [this.ends[0].isConnected, this.ends[1].isConnected], frames: [...this.frames], dropped: this.dropped, lateMs: this.late.frames ? this.late.ms / this.late.frames : 0 };
  }

  close(): void {
    for (const e of this.ends) e.close();
    for (const t of this.timers) clearTimeout(t);
    this.captures.clear();
  }
}

export function checkLinks(raw: unknown): RelayLink[] {
  if (!Array.isArray(raw)) throw new Error('links must be a list');
  const seen = new Set<string>();
  return raw.map((l: any, i) => {
    const where = `links[${i}]`;
    if (typeof l?.id !== 'string' || !LINK_ID_RE.test(l.id)) throw new Error(`${where}.id: ${JSON.stringify(l?.id)} is not a link id`);
    if (seen.has(l.id)) throw new Error(`${where}.id: ${l.id} appears twice`);
    seen.add(l.id);
    for (const k of ['a', 'b'] as const) {
      if (typeof l[k] !== 'string' || !isLinkSocketPath(l[k])) throw new Error(`${where}.${k}: ${JSON.stringify(l[k])} is not a guest's link socket (RUN/vms/NAME/netN.sock)`);
    }
    if (l.a === l.b) throw new Error(`${where}: both ends are ${l.a}`);
    if (typeof l.up !== 'boolean') throw new Error(`${where}.up must be true or false`);
    return { id: l.id, a: l.a, b: l.b, up: l.up, impair: checkImpairment(l.impair, `${where}.impair`) };
  });
}

const sameImpair = (x: Impairment, y: Impairment) => x.delayMs === y.delayMs && x.jitterMs === y.jitterMs && x.lossPct === y.lossPct && x.rateBps === y.rateBps;

export interface RelayServerOptions { socketPath: string; log: Log; random?: () => number; onStop?: () => void }

/** The relay: links by id, and the control socket. */
export class RelayServer {
  private readonly links = new Map<string, Link>();
  private server?: net.Server;
  private readonly clients = new Set<net.Socket>();

  constructor(private readonly o: RelayServerOptions) {}

  /** Listens on the control socket, 0600 (its directory is 0700), and writes the pidfile beside it. */
  async listen(): Promise<void> {
    const path = this.o.socketPath;
    const server = net.createServer((s) => this.onClient(s));
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => { server.off('error', reject); resolve(); });
      });
    } finally { process.umask(old); }
    chmodSync(path, 0o600);
    this.server = server;
    const pidFile = join(dirname(path), 'relay.pid');
    const tmp = `${pidFile}.${process.pid}.tmp`;
    writeFileSync(tmp, `${process.pid}\n`, { mode: 0o600, flag: 'wx' });
    renameSync(tmp, pidFile);
    this.o.log(`relay ${process.pid} listening on ${path}`);
  }

  configure(links: RelayLink[]): void {
    const want = new Map(links.map((l) => [l.id, l]));
    for (const [id, l] of this.links) {
      const w = want.get(id);
      if (!w || w.a !== l.cfg.a || w.b !== l.cfg.b) { l.close(); this.links.delete(id); this.o.log(`link ${id} removed`); }
    }
    for (const w of links) {
      const l = this.links.get(w.id);
      if (!l) {
        this.links.set(w.id, new Link(w, this.o.log, this.o.random ?? Math.random));
        this.o.log(`link ${w.id} added: ${w.a} <-> ${w.b}`);
        continue;
      }
      // An unchanged link is not disturbed: its connections, queues and counters stay.
      if (!sameImpair(l.impair, w.impair)) l.setImpairment(w.impair);
      if (l.up !== w.up) l.setUp(w.up);
    }
  }

  private link(id: unknown): Link {
    const l = typeof id === 'string' ? this.links.get(id) : undefined;
    if (!l) throw Object.assign(new Error(`no link ${JSON.stringify(id)}; the links are ${[...this.links.keys()].join(', ') || '(none)'}`), { code: 'NOT_FOUND' });
    return l;
  }

  state(): RelayLinkState[] {
    return [...this.links.values()].map((l) => l.state());
  }

  private onClient(s: net.Socket): void {
    this.clients.add(s);
    const reader = new LineReader(64 * 1024 * 1024);
    const reply = (o: object) => { if (!s.destroyed) s.write(`${JSON.stringify(o)}\n`); };
    s.on('error', () => { /* the caller went away */ });
    s.on('close', () => this.clients.delete(s));
    s.on('data', (chunk) => {
      let lines: string[];
      try { lines = reader.push(chunk); } catch (e: any) { reply({ ok: false, code: 'INVALID', error: e.message }); s.destroy(); return; }
      for (const line of lines) {
        let req: RelayRequest;
        try { req = JSON.parse(line); } catch { reply({ ok: false, code: 'INVALID', error: 'not JSON' }); continue; }
        try {
          this.handle(req, s, reply);
        } catch (e: any) {
          reply({ ok: false, code: e.code === 'NOT_FOUND' ? 'NOT_FOUND' : 'INVALID', error: String(e.message) });
        }
      }
    });
  }

  private handle(req: RelayRequest, s: net.Socket, reply: (o: object) => void): void {
    switch (req?.op) {
      case 'hello': return reply({ ok: true, pid: process.pid, links: this.links.size });
      case 'state': return reply({ ok: true, links: this.state() });
      case 'configure': this.configure(checkLinks(req.links)); return reply({ ok: true, links: this.state() });
      case 'impair': { const l = this.link(req.id); l.setImpairment(checkImpairment(req.impair, 'impair')); this.o.log(`link ${req.id}: impairment ${JSON.stringify(req.impair)}`); return reply({ ok: true }); }
      case 'link': {
        if (typeof req.up !== 'boolean') throw new Error('up must be true or false');
        this.link(req.id).setUp(req.up);
        this.o.log(`link ${req.id}: ${req.up ? 'up' : 'down'}`);
        return reply({ ok: true });
      }
      case 'capture': {
        const l = this.link(req.id);
        const sink = (c: CaptureLine) => { if (s.writableLength < MAX_CAPTURE_BACKLOG) s.write(`${JSON.stringify(c)}\n`); };
        l.captures.add(sink);
        s.on('close', () => l.captures.delete(sink));
        return reply({ ok: true });
      }
      case 'stop': reply({ ok: true }); s.end(); setImmediate(() => this.stop()); return;
      default: throw new Error(`unknown op ${JSON.stringify((req as any)?.op)}`);
    }
  }

  /** Closes every link and the control socket, removes the socket and the pidfile (only if they are still ours), then calls onStop. */
  stop(): void {
    for (const l of this.links.values()) l.close();
    this.links.clear();
    for (const c of this.clients) c.destroy();
    this.server?.close();
    const dir = dirname(this.o.socketPath);
    const pidFile = join(dir, 'relay.pid');
    try { if (Number(readFileSync(pidFile, 'utf8').trim()) === process.pid && !lstatSync(pidFile).isSymbolicLink()) unlinkSync(pidFile); } catch { /* gone */ }
    try { if (lstatSync(this.o.socketPath).isSocket()) unlinkSync(this.o.socketPath); } catch { /* gone */ }
    this.o.log(`relay ${process.pid} stopped`);
    this.o.onStop?.();
  }
}
