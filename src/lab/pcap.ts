// The classic pcap file format (what tcpdump -w writes): a 24-byte global
// header, then per frame a 16-byte record header and the frame. Ethernet link
// type, microsecond timestamps, little-endian (readers detect the byte order by
// the magic number). Pure.

export const LINKTYPE_ETHERNET = 1;
export const PCAP_MAGIC_US = 0xa1b2c3d4;
export const SNAPLEN = 262144;

export function pcapHeader(linktype = LINKTYPE_ETHERNET, snaplen = SNAPLEN): Buffer {
  const b = Buffer.alloc(24);
  b.writeUInt32LE(PCAP_MAGIC_US, 0);
  b.writeUInt16LE(2, 4); // version 2.4
  b.writeUInt16LE(4, 6);
  b.writeInt32LE(0, 8); // thiszone: timestamps are UTC
  b.writeUInt32LE(0, 12); // sigfigs
  b.writeUInt32LE(snaplen, 16);
  b.writeUInt32LE(linktype, 20);
  return b;
}

/** One record: `tsUs` is microseconds since the Unix epoch. Frames longer than snaplen are cut, with their real length kept. */
export function pcapRecord(tsUs: number, frame: Buffer, snaplen = SNAPLEN): Buffer {
  const incl = Math.min(frame.length, snaplen);
  const h = Buffer.alloc(16);
  const us = Math.max(0, Math.round(tsUs));
  h.writeUInt32LE(Math.floor(us / 1e6), 0);
  h.writeUInt32LE(us % 1e6, 4);
  h.writeUInt32LE(incl, 8);
  h.writeUInt32LE(frame.length, 12);
  return Buffer.concat([h, frame.subarray(0, incl)]);
}

/** Reads a pcap written by pcapHeader/pcapRecord back (for tests and `lab capture` summaries). */
export function parsePcap(buf: Buffer): { linktype: number; records: { tsUs: number; origLen: number; frame: Buffer }[] } {
  if (buf.length < 24 || buf.readUInt32LE(0) !== PCAP_MAGIC_US) throw new Error('not a little-endian microsecond pcap file');
  const linktype = buf.readUInt32LE(20);
  const records: { tsUs: number; origLen: number; frame: Buffer }[] = [];
  let off = 24;
  while (off + 16 <= buf.length) {
    const incl = buf.readUInt32LE(off + 8);
    if (off + 16 + incl > buf.length) break; // a record cut short by a crash: ignore it, like tcpdump
    records.push({ tsUs: buf.readUInt32LE(off) * 1e6 + buf.readUInt32LE(off + 4), origLen: buf.readUInt32LE(off + 12), frame: buf.subarray(off + 16, off + 16 + incl) });
    off += 16 + incl;
  }
  return { linktype, records };
}
