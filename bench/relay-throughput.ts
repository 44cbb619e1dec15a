// The link relay's throughput: 1514-byte frames from one scripted QEMU end to
// the other through a real relay process (no impairment), beside the same
// frames written straight from one UNIX socket to the other (the raw copy the
// relay cannot beat). `node dist/bench/relay-throughput.js`, or `npm run bench relay`.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { run } from '../src/config/paths.js';
import { encodeFrame, FrameReader } from '../src/lab/framing.js';
import { ensureRelay, relayState, stopRelay } from '../src/lab/relay.js';
import { NO_IMPAIRMENT } from '../src/lab/topology.js';
import { median, type BenchResult } from './types.js';

const FRAME = 1514;
const COUNT = 40_000;

/** A scripted QEMU end: -netdev stream,server=on; counts the frames it receives. */
async function peer(file: string): Promise<{ server: net.Server; conn: Promise<net.Socket>; received: (n: number) => Promise<void> }> {
  let got = 0;
  let want = Infinity;
  let done: (() => void) | undefined;
  let onConn!: (s: net.Socket) => void;
  const conn = new Promise<net.Socket>((r) => { onConn = r; });
  const server = net.createServer((s) => {
    const reader = new FrameReader();
    s.on('data', (c) => { got += reader.push(c).length; if (got >= want) done?.(); });
    s.on('error', () => undefined);
    onConn(s);
  });
  await new Promise<void>((r) => server.listen(file, r));
  return { server, conn, received: (n) => new Promise<void>((r) => { want = n; done = r; if (got >= n) r(); }) };
}

/** Writes COUNT frames as fast as the socket takes them. */
async function blast(sock: net.Socket): Promise<void> {
  const wire = encodeFrame(Buffer.alloc(FRAME, 0xab));
  for (let i = 0; i < COUNT; i++) {
    if (!sock.write(wire)) await new Promise((r) => sock.once('drain', r));
  }
}

export async function benchRelayThroughput(): Promise<BenchResult> {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'qkvm-bench-relay-'));
  const saved = { home: process.env.QKVM_HOME, run: process.env.QKVM_RUN };
  process.env.QKVM_HOME = path.join(tmp, 'home');
  process.env.QKVM_RUN = path.join(tmp, 'run');
  mkdirSync(process.env.QKVM_RUN, { mode: 0o700 });
  const relayRates: number[] = [];
  const rawRates: number[] = [];
  let dropped = 0;
  try {
    for (let round = 0; round < 3; round++) {
      // Raw: one socket straight into the receiving end.
      const rawFile = path.join(tmp, `raw${round}.sock`);
      const rp = await peer(rawFile);
      const c = net.createConnection({ path: rawFile });
      await new Promise((r) => c.once('connect', r));
      let t = performance.now();
      await blast(c);
      await rp.received(COUNT);
      rawRates.push(COUNT / ((performance.now() - t) / 1000));
      c.destroy();
      rp.server.close();

      // Through the relay: a -> relay -> b.
      const [ga, gb] = [`bench-a${round}`, `bench-b${round}`];
      for (const g of [ga, gb]) mkdirSync(run.vmDir(g), { recursive: true, mode: 0o700 });
      const a = await peer(run.linkSocket(ga, 0));
      const b = await peer(run.linkSocket(gb, 0));
      await ensureRelay('bench', [{ id: 'a-b', a: run.linkSocket(ga, 0), b: run.linkSocket(gb, 0), impair: { ...NO_IMPAIRMENT }, up: true }]);
      const sa = await a.conn;
      await b.conn;
      while (!(await relayState('bench'))![0].connected.every(Boolean)) await new Promise((r) => setTimeout(r, 10));
      t = performance.now();
      // The relay drops what a slow receiver does not take: count what arrives, up to a settle time.
      const arrived = b.received(COUNT);
      await blast(sa);
      await Promise.race([arrived, new Promise((r) => setTimeout(r, 30_000))]);
      const st = (await relayState('bench'))![0];
      relayRates.push(st.frames[0] / ((performance.now() - t) / 1000));
      dropped += st.dropped;
      await stopRelay('bench');
      a.server.close();
      b.server.close();
    }
  } finally {
    await stopRelay('bench').catch(() => false);
    rmSync(tmp, { recursive: true, force: true });
    for (const [k, v] of [['QKVM_HOME', saved.home], ['QKVM_RUN', saved.run]] as const) {
      if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  }
  const fps = median(relayRates);
  const raw = median(rawRates);
  return {
    name: 'lab link relay',
    rows: [
      { label: `frames/s of ${FRAME} bytes, one direction`, qkvm: fps, raw, unit: 'frames/s' },
      { label: 'throughput, one direction', qkvm: (fps * FRAME * 8) / 1e6, raw: (raw * FRAME * 8) / 1e6, unit: 'Mbit/s' },
    ],
    notes: [`${COUNT} frames per round, median of 3 rounds; raw = the same frames over one UNIX socket with no relay; ${dropped} frames dropped by the relay in all (receiver backlog)`],
  };
}

if (process.argv[1]?.endsWith('relay-throughput.js')) {
  const r = await benchRelayThroughput();
  for (const row of r.rows) console.log(`${row.label}: relay ${row.qkvm.toFixed(0)} ${row.unit}, raw ${row.raw.toFixed(0)} ${row.unit} (${(row.qkvm / row.raw).toFixed(2)}x)`);
  for (const n of r.notes ?? []) console.log(n);
}
