// The link relay process (dist/src/lab/relay-main.js) against two scripted
// peers that speak QEMU's -netdev stream protocol on the guests' link sockets:
// frames cross both ways, a cut link drops them, capture streams them into a
// pcap, the relay reconnects when a "QEMU" restarts, and stopRelay leaves no
// process and no run file. Real QEMU is in relay.test.ts.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/config/paths.js';
import { encodeFrame, FrameReader } from '../../src/lab/framing.js';
import { parsePcap } from '../../src/lab/pcap.js';
import { capture, ensureRelay, relayFiles, relayMainPath, relayPid, relayState, setImpairment, setLinkUp, stopRelay, type RelayLink } from '../../src/lab/relay.js';
import { NO_IMPAIRMENT } from '../../src/lab/topology.js';

/** A scripted QEMU end: listens like -netdev stream,server=on and records what it gets. */
class FakeQemu {
  server?: net.Server;
  client?: net.Socket;
  readonly got: Buffer[] = [];
  private waiters: (() => void)[] = [];
  private connWaiters: (() => void)[] = [];
  constructor(readonly path: string) {}

  async listen(): Promise<void> {
    rmSync(this.path, { force: true });
    this.server = net.createServer((s) => {
      this.client = s;
      const r = new FrameReader();
      s.on('data', (c) => { this.got.push(...r.push(c)); this.waiters.splice(0).forEach((w) => w()); });
      s.on('error', () => undefined);
      this.connWaiters.splice(0).forEach((w) => w());
    });
    await new Promise<void>((res) => this.server!.listen(this.path, res));
  }

  connected(): Promise<void> {
    if (this.client && !this.client.destroyed) return Promise.resolve();
    return new Promise((res) => this.connWaiters.push(res));
  }

  send(frame: Buffer): void {
    this.client!.write(encodeFrame(frame));
  }

  /** Waits until `n` frames arrived in all. */
  async receive(n: number): Promise<Buffer[]> {
    while (this.got.length < n) await new Promise<void>((res) => this.waiters.push(res));
    return this.got.slice(0, n);
  }

  async close(): Promise<void> {
    this.client?.destroy();
    this.client = undefined;
    await new Promise<void>((res) => (this.server ? this.server.close(() => res()) : res()));
  }
}

const frame = (n: number, size = 60) => {
  const b = Buffer.alloc(size, n & 0xff);
  b.writeUInt32BE(n, 12);
  return b;
};

let tmp: string;
const saved = { home: process.env.QKVM_HOME, run: process.env.QKVM_RUN };
let a: FakeQemu;
let b: FakeQemu;
const LAB = 'rtest';
let link: RelayLink;

beforeAll(async () => {
  expect(existsSync(relayMainPath()), 'run `npm run build` first').toBe(true);
  tmp = mkdtempSync(path.join(os.tmpdir(), 'qkvm-relay-'));
  process.env.QKVM_HOME = path.join(tmp, 'home');
  process.env.QKVM_RUN = path.join(tmp, 'run');
  mkdirSync(process.env.QKVM_RUN, { mode: 0o700 });
  for (const g of ['rtest-a', 'rtest-b']) mkdirSync(run.vmDir(g), { recursive: true, mode: 0o700 });
  a = new FakeQemu(run.linkSocket('rtest-a', 0));
  b = new FakeQemu(run.linkSocket('rtest-b', 0));
  await a.listen();
  await b.listen();
  link = { id: 'a-b', a: a.path, b: b.path, impair: { ...NO_IMPAIRMENT }, up: true };
});

afterAll(async () => {
  await stopRelay(LAB).catch(() => undefined);
  await a?.close();
  await b?.close();
  rmSync(tmp, { recursive: true, force: true });
  for (const [k, v] of [['QKVM_HOME', saved.home], ['QKVM_RUN', saved.run]] as const) {
    if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
});

describe('the link relay process', () => {
  it('has no state before it runs', async () => {
    expect(await relayState(LAB)).toBeUndefined();
  });

  it('starts, connects to both ends and forwards frames both ways', async () => {
    await ensureRelay(LAB, [link]);
    const f = relayFiles(LAB);
    expect(statSync(f.dir).mode & 0o777).toBe(0o700);
    expect(statSync(f.socket).mode & 0o777).toBe(0o600);
    expect(Number(readFileSync(f.pidFile, 'utf8'))).toBe(relayPid(LAB));
    await Promise.all([a.connected(), b.connected()]);
    while (!(await relayState(LAB))![0].connected.every(Boolean)) await new Promise((r) => setTimeout(r, 10));
    for (let i = 0; i < 5; i++) a.send(frame(i));
    b.send(frame(100, 1514));
    const atB = await b.receive(5);
    expect(atB.map((x) => x.readUInt32BE(12))).toEqual([0, 1, 2, 3, 4]);
    const atA = await a.receive(1);
    expect(atA[0]).toEqual(frame(100, 1514));
    const [s] = (await relayState(LAB))!;
    expect(s).toMatchObject({ id: 'a-b', up: true, connected: [true, true], frames: [5, 1], dropped: 0 });
  });

  it('reconfigures live without disturbing an unchanged link, and rejects a bad one', async () => {
    const pid = relayPid(LAB);
    await ensureRelay(LAB, [link]);
    expect(relayPid(LAB)).toBe(pid);
    expect((await relayState(LAB))![0].frames).toEqual([5, 1]);
    await setImpairment(LAB, 'a-b', { delayMs: 5, jitterMs: 1, lossPct: 0 });
    expect((await relayState(LAB))![0].impair).toEqual({ delayMs: 5, jitterMs: 1, lossPct: 0 });
    await expect(ensureRelay(LAB, [{ ...link, a: '/etc/passwd' }])).rejects.toThrow(/"\/etc\/passwd" is not a guest's link socket/);
    await expect(setImpairment(LAB, 'nope', NO_IMPAIRMENT)).rejects.toThrow(/no link "nope"/);
    await expect(setImpairment(LAB, 'a-b', { delayMs: -1, jitterMs: 0, lossPct: 0 })).rejects.toThrow(/delayMs -1/);
    await setImpairment(LAB, 'a-b', NO_IMPAIRMENT);
  });

  it('drops frames both ways while the link is down, and forwards again when it is up', async () => {
    await setLinkUp(LAB, 'a-b', false);
    const before = (await relayState(LAB))![0];
    a.send(frame(7));
    b.send(frame(8));
    // The relay has taken both (counted as dropped) before it answers the next request on its socket... so wait for the count.
    let s = (await relayState(LAB))![0];
    while (s.dropped < before.dropped + 2) s = (await relayState(LAB))![0];
    expect(s.up).toBe(false);
    expect(s.frames).toEqual(before.frames);
    await setLinkUp(LAB, 'a-b', true);
    a.send(frame(9));
    const atB = await b.receive(6);
    expect(atB[5].readUInt32BE(12)).toBe(9);
  });

  it('captures both directions into a pcap, and writes nothing for an unknown link', async () => {
    const file = path.join(tmp, 'a-b.pcap');
    const done = capture(LAB, 'a-b', file, { count: 3 });
    // The capture is registered once the file exists (it is opened on the relay's ok).
    while (!existsSync(file)) await new Promise((r) => setTimeout(r, 10));
    a.send(frame(20));
    b.send(frame(21, 100));
    a.send(frame(22));
    expect(await done).toEqual({ frames: 3 });
    const p = parsePcap(readFileSync(file));
    expect(p.linktype).toBe(1);
    expect(p.records.map((r) => r.frame.readUInt32BE(12)).sort()).toEqual([20, 21, 22]);
    expect(p.records.find((r) => r.frame.readUInt32BE(12) === 21)!.origLen).toBe(100);
    await expect(capture(LAB, 'a-b', file, { count: 1 })).rejects.toThrow(/already exists/);
    expect(parsePcap(readFileSync(file)).records).toHaveLength(3);
    const missing = path.join(tmp, 'none.pcap');
    await expect(capture(LAB, 'zz', missing, { count: 1 })).rejects.toThrow(/no link "zz"/);
    expect(existsSync(missing)).toBe(false);
  });

  it('reconnects when a QEMU end restarts', async () => {
    await b.close();
    await b.listen();
    await b.connected();
    // Frames that reach the relay before it sees its own connection are dropped, like on a cable not yet plugged in.
    while (!(await relayState(LAB))![0].connected[1]) await new Promise((r) => setTimeout(r, 10));
    const n = b.got.length;
    a.send(frame(30));
    const got = await b.receive(n + 1);
    expect(got[n].readUInt32BE(12)).toBe(30);
  });

  it('stopRelay leaves no relay process and no run file', async () => {
    const pid = relayPid(LAB)!;
    expect(await stopRelay(LAB)).toBe(true);
    expect(existsSync(`/proc/${pid}/cmdline`) && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(relayFiles(LAB).socket)).toBe(false);
    expect(relayPid(LAB)).toBeUndefined();
    expect(existsSync(relayFiles(LAB).dir)).toBe(false);
    expect(readdirSync(run.labsDir())).toEqual([]);
    expect(await relayState(LAB)).toBeUndefined();
    expect(await stopRelay(LAB)).toBe(false);
  });

  it('never kills a process named by a planted pidfile', async () => {
    const f = relayFiles(LAB);
    mkdirSync(f.dir, { recursive: true, mode: 0o700 });
    writeFileSync(f.pidFile, `${process.pid}\n`);
    expect(relayPid(LAB)).toBeUndefined();
    expect(await stopRelay(LAB)).toBe(false);
    expect(existsSync(f.pidFile)).toBe(false);
  });
});
