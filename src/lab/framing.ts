// QEMU's -netdev stream framing: each Ethernet frame is sent as a 4-byte
// big-endian length, then the frame. A socket read may hold part of a frame or
// several frames, so the reader keeps what is left over. Pure.

/** Larger than any frame QEMU sends (NET_BUFSIZE is 4096 + 65536): a longer length means the stream is garbage. */
export const MAX_FRAME = 256 * 1024;

export class FramingError extends Error {}

export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  /** Feeds a chunk; returns the complete frames it finished, in order. Throws FramingError on a length above MAX_FRAME. */
  push(chunk: Buffer): Buffer[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const frames: Buffer[] = [];
    let off = 0;
    while (this.buf.length - off >= 4) {
      const len = this.buf.readUInt32BE(off);
      if (len > MAX_FRAME) throw new FramingError(`frame length ${len} is more than ${MAX_FRAME}`);
      if (this.buf.length - off - 4 < len) break;
      // A copy, so a frame held in a delay queue does not pin the whole read buffer.
      frames.push(Buffer.from(this.buf.subarray(off + 4, off + 4 + len)));
      off += 4 + len;
    }
    this.buf = off === this.buf.length ? Buffer.alloc(0) : this.buf.subarray(off);
    return frames;
  }

  /** Bytes held back, waiting for the rest of a frame. */
  get pending(): number {
    return this.buf.length;
  }
}

/** One frame as QEMU's stream netdev reads it. */
export function encodeFrame(frame: Buffer): Buffer {
  const head = Buffer.alloc(4);
  head.writeUInt32BE(frame.length, 0);
  return Buffer.concat([head, frame]);
}
