// The .ova container: a POSIX ustar archive (OVF 1.1, DSP0243 section 5.3), the
// descriptor first. Written and read here, in-process, so that an archive from
// anywhere is never handed to tar(1): only regular files with plain names are
// read, and nothing is extracted outside the directory qkvm chose.
import { closeSync, createReadStream, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { invalid } from '../errors.js';

const BLOCK = 512;

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** One ustar header for a regular file (name at most 100 bytes, size below 8 GiB). */
export function tarHeader(name: string, size: number, mtime = 0): Buffer {
  if (Buffer.byteLength(name) > 100 || !/^[A-Za-z0-9._+-]+$/.test(name)) throw invalid(`tar member name ${JSON.stringify(name)}: must be a plain file name of at most 100 characters`);
  if (!Number.isSafeInteger(size) || size < 0 || size >= 8 ** 11) throw invalid(`tar member ${name}: size ${size} does not fit a ustar header (8 GiB)`);
  const h = Buffer.alloc(BLOCK, 0);
  h.write(name, 0, 100, 'utf8');
  h.write(octal(0o644, 8), 100, 'ascii');
  h.write(octal(0, 8), 108, 'ascii');
  h.write(octal(0, 8), 116, 'ascii');
  h.write(octal(size, 12), 124, 'ascii');
  h.write(octal(Math.floor(mtime), 12), 136, 'ascii');
  h.write('        ', 148, 'ascii');
  h.write('0', 156, 'ascii');
  h.write('ustar\0', 257, 'ascii');
  h.write('00', 263, 'ascii');
  h.write('root', 265, 'ascii');
  h.write('root', 297, 'ascii');
  let sum = 0;
  for (const b of h) sum += b;
  h.write(octal(sum, 7) + ' ', 148, 'ascii');
  return h;
}

const pad = (size: number) => (BLOCK - (size % BLOCK)) % BLOCK;

export interface TarSource { name: string; path: string; size: number }

/** Writes `sources` (in order) into a new ustar file at `out`, then the two zero blocks. */
export async function writeTar(out: string, sources: TarSource[], onProgress?: (done: number, total: number) => void): Promise<void> {
  const total = sources.reduce((a, s) => a + s.size, 0);
  let done = 0;
  // Opened first, so that an existing file (EEXIST) is this promise's rejection, not a stream's unhandled error.
  const fh = await open(out, 'wx', 0o644);
  const ws = fh.createWriteStream();
  // Write errors reach each write's callback below; the stream's own 'error' event must not escape.
  ws.on('error', () => undefined);
  const write = (b: Buffer) => new Promise<void>((res, rej) => { ws.write(b, (e) => (e ? rej(e) : res())); });
  try {
    for (const s of sources) {
      await write(tarHeader(s.name, s.size, Date.now() / 1000));
      let copied = 0;
      for await (const chunk of createReadStream(s.path)) {
        const c = chunk as Buffer;
        copied += c.length;
        if (copied > s.size) throw new Error(`${s.path} grew while it was archived`);
        await write(c);
        done += c.length;
        onProgress?.(done, total);
      }
      if (copied !== s.size) throw new Error(`${s.path} changed size while it was archived`);
      await write(Buffer.alloc(pad(s.size)));
    }
    await write(Buffer.alloc(BLOCK * 2));
  } finally {
    await new Promise<void>((res) => ws.end(res));
  }
}

export interface TarMember { name: string; offset: number; size: number }

function parseOctal(b: Buffer, start: number, len: number): number {
  const s = b.subarray(start, start + len).toString('ascii').replace(/\0.*$/s, '').trim();
  if (!/^[0-7]*$/.test(s)) return NaN;
  return s ? parseInt(s, 8) : 0;
}

/**
 * The members of a ustar file: regular files with plain names only. A link,
 * device, directory, a name with a slash or "..", a bad checksum, or a member
 * past the end of the file is refused, naming it.
 */
export function listTar(path: string): TarMember[] {
  const fd = openSync(path, 'r');
  try {
    const fileSize = fstatSync(fd).size;
    const members: TarMember[] = [];
    const h = Buffer.alloc(BLOCK);
    let pos = 0;
    while (pos + BLOCK <= fileSize) {
      readSync(fd, h, 0, BLOCK, pos);
      if (h.every((b) => b === 0)) break;
      let sum = 0;
      for (let i = 0; i < BLOCK; i++) sum += i >= 148 && i < 156 ? 32 : h[i];
      if (parseOctal(h, 148, 8) !== sum) throw invalid(`${path}: not a tar archive (bad header checksum at byte ${pos})`);
      const prefix = h.subarray(345, 500).toString('utf8').replace(/\0.*$/s, '');
      const name = (prefix ? `${prefix}/` : '') + h.subarray(0, 100).toString('utf8').replace(/\0.*$/s, '');
      const type = String.fromCharCode(h[156] || 48);
      const size = parseOctal(h, 124, 12);
      if (!Number.isSafeInteger(size)) throw invalid(`${path}: member ${JSON.stringify(name)} has an unreadable size`);
      if (type === 'x' || type === 'g') { pos += BLOCK + size + pad(size); continue; } // pax headers: metadata only
      if (type !== '0') throw invalid(`${path}: member ${JSON.stringify(name)} is not a regular file (tar type '${type}'): links, devices and directories are refused`);
      if (!/^[A-Za-z0-9._+-][A-Za-z0-9._+ -]*$/.test(name) || name === '.' || name === '..' || name.length > 255) {
        throw invalid(`${path}: member name ${JSON.stringify(name)} is not a plain file name (no directories, no "..", no absolute path)`);
      }
      if (members.some((m) => m.name === name)) throw invalid(`${path}: member ${JSON.stringify(name)} appears twice`);
      if (pos + BLOCK + size > fileSize) throw invalid(`${path}: member ${JSON.stringify(name)} runs past the end of the archive (truncated?)`);
      members.push({ name, offset: pos + BLOCK, size });
      pos += BLOCK + size + pad(size);
    }
    return members;
  } finally {
    closeSync(fd);
  }
}

/** Copies one member's bytes into a new file (`wx`: never over an existing one). */
export async function extractMember(archive: string, m: TarMember, out: string, onProgress?: (done: number) => void): Promise<void> {
  const fh = await open(out, 'wx', 0o600);
  const ws = fh.createWriteStream();
  ws.on('error', () => undefined); // errors reach each write's callback
  let done = 0;
  try {
    if (m.size > 0) {
      for await (const chunk of createReadStream(archive, { start: m.offset, end: m.offset + m.size - 1 })) {
        await new Promise<void>((res, rej) => ws.write(chunk as Buffer, (e) => (e ? rej(e) : res())));
        done += (chunk as Buffer).length;
        onProgress?.(done);
      }
    }
  } finally {
    await new Promise<void>((res) => ws.end(res));
  }
}

/** Reads a small member (the descriptor, the manifest) as text, at most `max` bytes. */
export function readMemberText(archive: string, m: TarMember, max = 4 * 1024 * 1024): string {
  if (m.size > max) throw invalid(`${archive}: ${m.name} is ${m.size} bytes, more than the ${max} a descriptor may have`);
  const fd = openSync(archive, 'r');
  try {
    const b = Buffer.alloc(m.size);
    readSync(fd, b, 0, m.size, m.offset);
    return b.toString('utf8');
  } finally { closeSync(fd); }
}
