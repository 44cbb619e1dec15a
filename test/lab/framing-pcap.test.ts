// QEMU's stream framing (4-byte big-endian length + frame) read from arbitrary
// chunks, and the pcap writer (LINKTYPE_ETHERNET, microsecond timestamps).
import { describe, expect, it } from 'vitest';
import { encodeFrame, FrameReader, FramingError, MAX_FRAME } from '../../src/lab/framing.js';
import { LINKTYPE_ETHERNET, parsePcap, pcapHeader, pcapRecord } from '../../src/lab/pcap.js';
import { LineReader, checkImpairment } from '../../src/lab/relay-protocol.js';
import { isLinkSocketPath } from '../../src/lab/relay-server.js';
import { isLabRelay } from '../../src/lab/relay.js';

const frames = [Buffer.from('abc'), Buffer.alloc(1514, 7), Buffer.alloc(0), Buffer.from([1, 2, 3, 4, 5, 6, 7, 8, 9])];
const stream = Buffer.concat(frames.map(encodeFrame));

describe('FrameReader', () => {
  it('encodes the length big-endian before the frame', () => {
    expect(encodeFrame(Buffer.from('hi'))).toEqual(Buffer.from([0, 0, 0, 2, 0x68, 0x69]));
    expect(encodeFrame(Buffer.alloc(0x0102)).subarray(0, 4)).toEqual(Buffer.from([0, 0, 1, 2]));
  });

  it('reads several frames from one chunk', () => {
    const r = new FrameReader();
    expect(r.push(stream)).toEqual(frames);
    expect(r.pending).toBe(0);
  });

  it('reads the same frames whatever the chunk boundaries (every split, and byte by byte)', () => {
    const hex = (l: Buffer[]) => l.map((b) => b.toString('hex'));
    for (let cut = 0; cut <= stream.length; cut++) {
      const r = new FrameReader();
      expect(hex([...r.push(stream.subarray(0, cut)), ...r.push(stream.subarray(cut))])).toEqual(hex(frames));
    }
    const r = new FrameReader();
    const out: Buffer[] = [];
    for (const byte of stream) out.push(...r.push(Buffer.from([byte])));
    expect(hex(out)).toEqual(hex(frames));
  });

  it('holds a partial frame until the rest comes, split inside the length too', () => {
    const r = new FrameReader();
    const one = encodeFrame(Buffer.from('hello'));
    expect(r.push(one.subarray(0, 2))).toEqual([]);
    expect(r.pending).toBe(2);
    expect(r.push(one.subarray(2, 6))).toEqual([]);
    expect(r.push(one.subarray(6))).toEqual([Buffer.from('hello')]);
    expect(r.pending).toBe(0);
  });

  it('returns copies, not views of the read buffer', () => {
    const chunk = Buffer.from(encodeFrame(Buffer.from('xyz')));
    const [f] = new FrameReader().push(chunk);
    chunk.fill(0);
    expect(f.toString()).toBe('xyz');
  });

  it('refuses a length above MAX_FRAME (the stream is not QEMU framing)', () => {
    const bad = Buffer.alloc(4);
    bad.writeUInt32BE(MAX_FRAME + 1);
    expect(() => new FrameReader().push(bad)).toThrow(FramingError);
    const ok = Buffer.alloc(4);
    ok.writeUInt32BE(MAX_FRAME);
    expect(new FrameReader().push(ok)).toEqual([]);
  });
});

describe('pcap', () => {
  it('writes the classic global header: magic, 2.4, snaplen, Ethernet', () => {
    const h = pcapHeader();
    expect(h.length).toBe(24);
    expect(h.toString('hex')).toBe('d4c3b2a1' + '0200' + '0400' + '00000000' + '00000000' + '00000400' + '01000000');
  });

  it('writes records with seconds and microseconds, and reads them back', () => {
    const ts = 1_764_576_000_123_456; // µs
    const rec = pcapRecord(ts, Buffer.from('frame'));
    expect(rec.readUInt32LE(0)).toBe(1_764_576_000);
    expect(rec.readUInt32LE(4)).toBe(123_456);
    expect(rec.readUInt32LE(8)).toBe(5);
    expect(rec.readUInt32LE(12)).toBe(5);
    const file = Buffer.concat([pcapHeader(), rec, pcapRecord(ts + 1_000_001, Buffer.alloc(60, 1))]);
    const p = parsePcap(file);
    expect(p.linktype).toBe(LINKTYPE_ETHERNET);
    expect(p.records.map((r) => r.tsUs)).toEqual([ts, ts + 1_000_001]);
    expect(p.records[1].frame).toEqual(Buffer.alloc(60, 1));
  });

  it('cuts a frame at the snaplen and keeps its real length', () => {
    const rec = pcapRecord(0, Buffer.alloc(100), 64);
    expect(rec.readUInt32LE(8)).toBe(64);
    expect(rec.readUInt32LE(12)).toBe(100);
    expect(rec.length).toBe(16 + 64);
  });

  it('ignores a last record cut short', () => {
    const file = Buffer.concat([pcapHeader(), pcapRecord(5, Buffer.from('ab')), pcapRecord(6, Buffer.from('cdef')).subarray(0, 18)]);
    expect(parsePcap(file).records).toHaveLength(1);
  });
});

describe('relay control protocol and identity', () => {
  it('splits lines across chunks', () => {
    const r = new LineReader();
    expect(r.push('{"a":1}\n{"b"')).toEqual(['{"a":1}']);
    expect(r.push(':2}\n\n')).toEqual(['{"b":2}']);
  });

  it('checks impairments it is sent', () => {
    expect(checkImpairment({ delayMs: 80, jitterMs: 5, lossPct: 1, rateBps: 1e7 }, 'x')).toEqual({ delayMs: 80, jitterMs: 5, lossPct: 1, rateBps: 1e7 });
    expect(() => checkImpairment({ delayMs: 80, jitterMs: 0, lossPct: 101 }, 'x')).toThrow(/lossPct 101/);
    expect(() => checkImpairment({ delayMs: '80', jitterMs: 0, lossPct: 0 }, 'x')).toThrow(/delayMs "80"/);
    expect(() => checkImpairment({ delayMs: 1, jitterMs: 0, lossPct: 0, rateBps: 10 }, 'x')).toThrow(/rateBps 10/);
  });

  it('connects only to guests\' link sockets', () => {
    expect(isLinkSocketPath('/run/qkvm/vms/r1/net0.sock')).toBe(true);
    expect(isLinkSocketPath('/run/qkvm/vms/r1/net15.sock')).toBe(true);
    expect(isLinkSocketPath('/run/qkvm/vms/r1/qmp.sock')).toBe(false);
    expect(isLinkSocketPath('/run/qkvm/net/r1/net0.sock')).toBe(false);
    expect(isLinkSocketPath('run/qkvm/vms/r1/net0.sock')).toBe(false);
  });

  it('knows its relay by the whole control-socket argument of relay-main.js under node', () => {
    const sock = '/run/qkvm/labs/routed/relay.sock';
    const argv = ['/usr/bin/node', '/usr/lib/qkvm/dist/src/lab/relay-main.js', sock];
    expect(isLabRelay({ exe: '/usr/bin/node', argv }, sock)).toBe(true);
    expect(isLabRelay({ exe: '/usr/bin/node (deleted)', argv }, sock)).toBe(true);
    expect(isLabRelay({ exe: '/usr/bin/node', argv }, '/run/qkvm/labs/rout/relay.sock')).toBe(false);
    expect(isLabRelay({ exe: '/usr/bin/node', argv: [...argv.slice(0, 2), `${sock}x`] }, sock)).toBe(false);
    expect(isLabRelay({ exe: '/usr/bin/node', argv: [...argv, 'extra'] }, sock)).toBe(false);
    expect(isLabRelay({ exe: '/usr/bin/python3', argv }, sock)).toBe(false);
    expect(isLabRelay({ exe: '/usr/bin/node', argv: ['/usr/bin/node', '/tmp/evil.js', sock] }, sock)).toBe(false);
    expect(isLabRelay(undefined, sock)).toBe(false);
  });
});
