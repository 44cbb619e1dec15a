// The link relay's control protocol, spoken over RUN/labs/LAB/relay.sock: one
// JSON object per line each way. A request carries `op`; the answer is
// {"ok":true,...} or {"ok":false,"error":"...","code":"NOT_FOUND"|"INVALID"}.
// `capture` answers ok, then sends one {"frame":BASE64,"ts":US,"from":0|1} line
// per frame until the caller closes the connection. Pure types and helpers.
import type { Impairment } from './topology.js';

/** A point-to-point link as the relay runs it; a and b are run.linkSocket paths (QEMU listens there). */
export interface RelayLink { id: string; a: string; b: string; impair: Impairment; up: boolean }

export interface RelayLinkState {
  id: string;
  up: boolean;
  impair: Impairment;
  /** Whether the relay holds a connection to QEMU at end a, and at end b. */
  connected: [boolean, boolean];
  /** Frames delivered a→b and b→a. */
  frames: [number, number];
  /** Frames dropped either way: loss, a full queue, the link down, or the other end not connected. */
  dropped: number;
  /** How late, on average, the relay delivered the frames it held back (ms): its own timing error, which grows when the host's CPUs are busy. */
  lateMs?: number;
}

export type RelayRequest =
  | { op: 'hello' }
  | { op: 'state' }
  | { op: 'configure'; links: RelayLink[] }
  | { op: 'impair'; id: string; impair: Impairment }
  | { op: 'link'; id: string; up: boolean }
  | { op: 'capture'; id: string }
  | { op: 'stop' };

export interface RelayHello { ok: true; pid: number; links: number }

/** A frame seen by a capture: `from` is the end that sent it (0 = a, 1 = b); `ts` in microseconds since the epoch. */
export interface CaptureLine { frame: string; ts: number; from: 0 | 1 }

/** Splits a byte stream into lines; keeps an unfinished line for the next chunk. */
export class LineReader {
  private rest = '';
  constructor(private readonly max = 16 * 1024 * 1024) {}

  push(chunk: Buffer | string): string[] {
    this.rest += chunk.toString();
    const lines = this.rest.split('\n');
    this.rest = lines.pop()!;
    if (this.rest.length > this.max) throw new Error(`a control line is longer than ${this.max} bytes`);
    return lines.filter((l) => l.trim() !== '');
  }
}

const isNum = (v: unknown, min: number, max: number) => typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max;

/** Checks an impairment that came over the socket (or from a caller): the relay trusts nothing it is sent. */
export function checkImpairment(i: unknown, where: string): Impairment {
  const o = i as Record<string, unknown> | undefined;
  if (!o || typeof o !== 'object') throw new Error(`${where}: impairment missing`);
  if (!isNum(o.delayMs, 0, 60_000)) throw new Error(`${where}: delayMs ${JSON.stringify(o.delayMs)} is not 0..60000`);
  if (!isNum(o.jitterMs, 0, 60_000)) throw new Error(`${where}: jitterMs ${JSON.stringify(o.jitterMs)} is not 0..60000`);
  if (!isNum(o.lossPct, 0, 100)) throw new Error(`${where}: lossPct ${JSON.stringify(o.lossPct)} is not 0..100`);
  if (o.rateBps !== undefined && !isNum(o.rateBps, 8000, 1e12)) throw new Error(`${where}: rateBps ${JSON.stringify(o.rateBps)} is not at least 8000`);
  return { delayMs: o.delayMs as number, jitterMs: o.jitterMs as number, lossPct: o.lossPct as number, ...(o.rateBps !== undefined ? { rateBps: o.rateBps as number } : {}) };
}

export const LINK_ID_RE = /^[a-z0-9][a-z0-9_.-]{0,80}$/;
