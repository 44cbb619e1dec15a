// Serial console fan-out: QEMU's serial socket takes one client at a time (a
// second one waits silently in the listen backlog), so the web console holds
// ONE connection per guest and copies its output to every viewer; input from
// any viewer goes to the guest. A new viewer first gets the tail of serial.log.
import net from 'node:net';
import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { run } from '../config/paths.js';

export interface SerialViewer {
  /** Bytes the guest printed (or scrollback). */
  data(chunk: Buffer): void;
  /** A line from qkvm about the connection itself. */
  notice(text: string): void;
}

/** How much of serial.log a new viewer sees first. */
export const SCROLLBACK_BYTES = 256 * 1024;

/** The tail of serial.log, cut at a line start so a terminal does not begin mid-escape. */
export function readScrollback(file: string, max = SCROLLBACK_BYTES): Buffer {
  let size: number;
  try { size = statSync(file).size; } catch { return Buffer.alloc(0); }
  if (size <= max) { try { return readFileSync(file); } catch { return Buffer.alloc(0); } }
  const buf = Buffer.alloc(max);
  const fd = openSync(file, 'r');
  try { readSync(fd, buf, 0, max, size - max); } finally { closeSync(fd); }
  const nl = buf.indexOf(0x0a);
  return nl >= 0 ? buf.subarray(nl + 1) : buf;
}

/**
 * Connected clients of a listening UNIX socket, from /proc/net/unix: QEMU's
 * accepted connection carries the socket's path (state 03 = connected).
 */
export function socketClients(path: string, procNetUnix?: string): number {
  let text = procNetUnix;
  if (text === undefined) { try { text = readFileSync('/proc/net/unix', 'utf8'); } catch { return 0; } }
  let n = 0;
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 8 && f[5] === '03' && f.slice(7).join(' ') === path) n++;
  }
  return n;
}

class GuestSerial {
  readonly viewers = new Set<SerialViewer>();
  private sock?: net.Socket;
  private gotData = false;
  private follow?: NodeJS.Timeout;

  constructor(readonly name: string, private onEmpty: () => void) {}

  attach(v: SerialViewer): void {
    this.viewers.add(v);
    const back = readScrollback(run.serialLog(this.name));
    if (back.length) v.data(back);
    if (!this.sock) this.open();
    else if (!this.gotData && this.follow) v.notice(HELD);
  }

  detach(v: SerialViewer): void {
    this.viewers.delete(v);
    if (this.viewers.size) return;
    this.close();
    this.onEmpty();
  }

  write(b: Buffer | string): void { this.sock?.write(b); }

  private broadcast(f: (v: SerialViewer) => void): void { for (const v of this.viewers) f(v); }

  private open(): void {
    const path = run.serialSocket(this.name);
    // Someone else (qkvm console) holds the socket: our connection waits in the
    // backlog until it detaches; meanwhile, follow serial.log so viewers see output.
    const held = socketClients(path) > 0;
    const sock = net.createConnection(path);
    this.sock = sock;
    this.gotData = false;
    if (held) { this.broadcast((v) => v.notice(HELD)); this.followLog(); }
    sock.on('data', (d) => {
      if (!this.gotData) { this.gotData = true; this.stopFollow(); }
      this.broadcast((v) => v.data(d));
    });
    sock.on('error', (e) => this.broadcast((v) => v.notice(`serial console: ${e.message}`)));
    sock.on('close', () => {
      if (this.sock !== sock) return;
      this.sock = undefined;
      this.stopFollow();
      this.broadcast((v) => v.notice('serial console closed (the guest stopped?); reload to reconnect'));
    });
  }

  private followLog(): void {
    const file = run.serialLog(this.name);
    let pos = (() => { try { return statSync(file).size; } catch { return 0; } })();
    this.follow = setInterval(() => {
      let size: number;
      try { size = statSync(file).size; } catch { return; }
      if (size <= pos) return;
      const buf = Buffer.alloc(Math.min(size - pos, 1 << 20));
      const fd = openSync(file, 'r');
      try { readSync(fd, buf, 0, buf.length, pos); } finally { closeSync(fd); }
      pos += buf.length;
      this.broadcast((v) => v.data(buf));
    }, 300);
  }

  private stopFollow(): void {
    if (this.follow) clearInterval(this.follow);
    this.follow = undefined;
  }

  close(): void {
    this.stopFollow();
    const s = this.sock;
    this.sock = undefined;
    s?.destroy();
  }
}

const HELD = 'another client (qkvm console?) holds the serial socket: you see serial.log as it grows; what you type reaches the guest once that client detaches';

/** One GuestSerial per guest with viewers; the socket is let go when the last viewer leaves. */
export class SerialHub {
  private guests = new Map<string, GuestSerial>();

  attach(name: string, v: SerialViewer): { write: (b: Buffer | string) => void; detach: () => void } {
    let g = this.guests.get(name);
    if (!g) {
      g = new GuestSerial(name, () => { if (this.guests.get(name) === g) this.guests.delete(name); });
      this.guests.set(name, g);
    }
    const guest = g;
    guest.attach(v);
    let attached = true;
    // A websocket reports both 'error' and 'close': detach once.
    return { write: (b) => guest.write(b), detach: () => { if (attached) { attached = false; guest.detach(v); } } };
  }

  /** Viewers of a guest (for tests and the page). */
  viewers(name: string): number { return this.guests.get(name)?.viewers.size ?? 0; }

  closeAll(): void {
    for (const g of this.guests.values()) g.close();
    this.guests.clear();
  }
}
