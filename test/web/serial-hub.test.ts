// The serial fan-out against a scripted peer on a UNIX socket (QEMU's side of
// the protocol is just bytes): one connection however many viewers, output to
// all, input from any, scrollback from serial.log, the socket let go at the end.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const runDir = mkdtempSync(path.join(os.tmpdir(), 'qkvm-hub-run-'));
process.env.QKVM_RUN = runDir;
const { SerialHub, socketClients, readScrollback } = await import('../../src/web/serial.js');

afterAll(() => rmSync(runDir, { recursive: true, force: true }));

const wait = async (ok: () => boolean) => { while (!ok()) await new Promise((r) => setTimeout(r, 10)); };

describe('SerialHub', () => {
  const dir = path.join(runDir, 'vms', 'g1');
  const conns: net.Socket[] = [];
  const received: string[] = [];
  let server: net.Server;

  beforeAll(async () => {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(dir, 'serial.log'), 'booted\nQKVM-DEMO-READY\n');
    server = net.createServer((c) => { conns.push(c); c.on('data', (d) => received.push(d.toString())); });
    await new Promise<void>((r) => server.listen(path.join(dir, 'serial.sock'), r));
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it('two viewers share one connection; both see output; both can type; the last one out closes it', async () => {
    const hub = new SerialHub();
    const seen: [string, string] = ['', ''];
    const v = [0, 1].map((i) => hub.attach('g1', { data: (b) => { seen[i] += b.toString(); }, notice: (t) => { seen[i] += `[${t}]`; } }));
    expect(seen[0]).toBe('booted\nQKVM-DEMO-READY\n');
    expect(seen[1]).toBe('booted\nQKVM-DEMO-READY\n');
    await wait(() => conns.length === 1);
    conns[0].write('hello\n');
    await wait(() => seen[0].endsWith('hello\n') && seen[1].endsWith('hello\n'));
    v[1].write('from-two\n');
    v[0].write('from-one\n');
    await wait(() => received.join('') === 'from-two\nfrom-one\n');
    expect(conns).toHaveLength(1);
    expect(hub.viewers('g1')).toBe(2);
    v[0].detach();
    expect(conns[0].destroyed).toBe(false);
    v[1].detach();
    await new Promise<void>((r) => (conns[0].closed ? r() : conns[0].once('close', () => r())));
    expect(hub.viewers('g1')).toBe(0);
  });
});

describe('socketClients and readScrollback', () => {
  it('counts connected entries of the path in /proc/net/unix (state 03), not the listener', () => {
    const text = [
      'Num       RefCount Protocol Flags    Type St Inode Path',
      '00000000a: 00000002 00000000 00010000 0001 01 100 /run/qkvm/vms/g/serial.sock',
      '00000000b: 00000003 00000000 00000000 0001 03 101 /run/qkvm/vms/g/serial.sock',
      '00000000c: 00000003 00000000 00000000 0001 03 102',
      '00000000d: 00000003 00000000 00000000 0001 03 103 /run/qkvm/vms/other/serial.sock',
    ].join('\n');
    expect(socketClients('/run/qkvm/vms/g/serial.sock', text)).toBe(1);
    expect(socketClients('/run/qkvm/vms/h/serial.sock', text)).toBe(0);
  });

  it('a long serial.log is cut at a line start', () => {
    const f = path.join(runDir, 'long.log');
    writeFileSync(f, 'x'.repeat(50) + '\n' + 'tail line\n');
    expect(readScrollback(f, 15).toString()).toBe('tail line\n');
    expect(readScrollback(path.join(runDir, 'none.log')).length).toBe(0);
  });
});
