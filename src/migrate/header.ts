// The save file: a small header that holds the definition, then QEMU's own
// migration stream, unchanged. `head -c 200 FILE` shows the header; `tail -c
// +OFFSET FILE` is the stream QEMU reads back (migrate-incoming exec:).
//
//   QKVMSAVE1\n
//   LLLLLLLLLL\n          the JSON's length in bytes, 10 decimal digits
//   {"version":1,...}\n   name, time, QEMU version, the definition
//   QEVM...               the migration stream (QEMU's magic first)
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parseVmSpec, type VmSpec } from '../config/schema.js';
import { QkvmError } from '../errors.js';

export const SAVE_MAGIC = 'QKVMSAVE1\n';
/** QEMU_VM_FILE_MAGIC, the first four bytes of every migration stream. */
export const QEMU_STREAM_MAGIC = Buffer.from('QEVM', 'latin1');
const LEN_DIGITS = 10;
const MAX_JSON = 1024 * 1024;

export interface SaveHeader {
  version: 1;
  name: string;
  savedAt: string;
  qemuVersion?: string;
  /** QEMU's run state when it was saved: a restore resumes a guest that was running. */
  wasRunning: boolean;
  spec: VmSpec;
}

export function encodeHeader(h: SaveHeader): Buffer {
  const json = Buffer.from(JSON.stringify(h), 'utf8');
  if (json.length > MAX_JSON) throw new QkvmError('INVALID', 'save header: the definition is too large');
  return Buffer.concat([Buffer.from(SAVE_MAGIC + String(json.length).padStart(LEN_DIGITS, '0') + '\n', 'latin1'), json, Buffer.from('\n')]);
}

const corrupt = (file: string, why: string) =>
  new QkvmError('INVALID', `${file}: not a usable qkvm save file: ${why}`, { hint: 'a save file is written by `qkvm save NAME FILE`; a copy cut short or edited cannot be restored' });

/**
 * Parses the start of a save file. `head` is its first bytes (at least the whole
 * header and 4 bytes more); `size` the file's size. Returns the header and the
 * offset where QEMU's stream starts.
 */
export function parseHeader(head: Buffer, size: number, file = 'save file'): { header: SaveHeader; offset: number } {
  const prefix = SAVE_MAGIC.length + LEN_DIGITS + 1;
  if (head.length < SAVE_MAGIC.length || head.subarray(0, SAVE_MAGIC.length).toString('latin1') !== SAVE_MAGIC) {
    throw corrupt(file, `it does not start with ${JSON.stringify(SAVE_MAGIC.trim())}`);
  }
  const lenText = head.subarray(SAVE_MAGIC.length, prefix).toString('latin1');
  if (!/^\d{10}\n$/.test(lenText)) throw corrupt(file, 'the header length is damaged');
  const len = Number(lenText.trim());
  if (len < 2 || len > MAX_JSON) throw corrupt(file, `the header length ${len} is out of range`);
  const offset = prefix + len + 1;
  if (size < offset || head.length < offset) throw corrupt(file, 'it ends inside its header (truncated)');
  if (head[prefix + len] !== 0x0a) throw corrupt(file, 'the header is damaged (no newline after the JSON)');
  let doc: any;
  try { doc = JSON.parse(head.subarray(prefix, prefix + len).toString('utf8')); } catch (e) {
    throw corrupt(file, `the header's JSON is damaged (${(e as Error).message})`);
  }
  if (doc?.version !== 1) throw corrupt(file, `unsupported header version ${JSON.stringify(doc?.version)}`);
  if (typeof doc.name !== 'string' || typeof doc.spec !== 'object' || doc.spec === null) throw corrupt(file, 'the header has no name or definition');
  const spec = parseVmSpec(doc.spec, `${file} (saved definition)`);
  if (size < offset + QEMU_STREAM_MAGIC.length || head.length < offset + QEMU_STREAM_MAGIC.length) {
    throw corrupt(file, 'it holds no migration stream after the header (truncated)');
  }
  if (!head.subarray(offset, offset + 4).equals(QEMU_STREAM_MAGIC)) throw corrupt(file, 'the migration stream does not start with QEMU\'s magic "QEVM"');
  return { header: { version: 1, name: doc.name, savedAt: String(doc.savedAt ?? ''), qemuVersion: doc.qemuVersion, wasRunning: doc.wasRunning !== false, spec }, offset };
}

/** Reads and validates a save file's header from disk. */
export function readHeader(file: string): { header: SaveHeader; offset: number; size: number } {
  let fd: number;
  try { fd = openSync(file, 'r'); } catch (e: any) {
    throw new QkvmError('NOT_FOUND', `${file}: cannot open the save file (${e.code ?? e.message})`);
  }
  try {
    const size = fstatSync(fd).size;
    const prefix = SAVE_MAGIC.length + LEN_DIGITS + 1;
    const first = Buffer.alloc(Math.min(size, prefix));
    readSync(fd, first, 0, first.length, 0);
    let want = prefix;
    const m = /^\d{10}$/.exec(first.subarray(SAVE_MAGIC.length, SAVE_MAGIC.length + LEN_DIGITS).toString('latin1'));
    if (m) want = prefix + Math.min(Number(m[0]), MAX_JSON) + 1 + QEMU_STREAM_MAGIC.length;
    const head = Buffer.alloc(Math.min(size, want));
    readSync(fd, head, 0, head.length, 0);
    return { ...parseHeader(head, size, file), size };
  } finally {
    closeSync(fd);
  }
}
