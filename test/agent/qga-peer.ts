// A scripted QGA peer on a real UNIX socket, standing in for QEMU's chardev and
// qemu-ga behind it: it decodes each command the client sends (0xFF flush bytes
// dropped and counted) and hands it to the test's handler, which writes raw bytes.
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface PeerMessage { execute: string; arguments?: any; id?: number }

export type Handler = (msg: PeerMessage, peer: { write(data: string | Buffer): Promise<void>; end(): void }) => void | Promise<void>;

export interface QgaPeer {
  path: string;
  received: PeerMessage[];
  /** How many 0xFF bytes the client sent. */
  flushes: number;
  stop(): Promise<void>;
}

export const FF = Buffer.from([0xff]);
/** qemu-ga's answer to guest-sync-delimited. */
export const syncReply = (msg: PeerMessage) => Buffer.concat([FF, Buffer.from(`{"return": ${msg.arguments.id}}\n`)]);

export async function startPeer(handler: Handler): Promise<QgaPeer> {
  const dir = mkdtempSync(join(tmpdir(), 'qga-test-'));
  const path = join(dir, 'qga.sock');
  const sockets = new Set<net.Socket>();
  const peer: QgaPeer = {
    path,
    received: [],
    flushes: 0,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let chain = Promise.resolve();
    const io = {
      write: (data: string | Buffer) => new Promise<void>((r) => socket.write(data, () => r())),
      end: () => socket.destroy(),
    };
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (let i = buf.indexOf(0xff); i >= 0; i = buf.indexOf(0xff)) {
        peer.flushes++;
        buf = Buffer.concat([buf.subarray(0, i), buf.subarray(i + 1)]);
      }
      let nl;
      while ((nl = buf.indexOf(0x0a)) >= 0) {
        const msg = JSON.parse(buf.subarray(0, nl).toString('utf8')) as PeerMessage;
        buf = buf.subarray(nl + 1);
        peer.received.push(msg);
        chain = chain.then(() => handler(msg, io));
      }
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  return peer;
}
