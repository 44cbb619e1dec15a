// Backing chains read from the qcow2 header itself (no qemu-img spawn), and the
// question they answer: which images are built on this file? Files are compared
// by device and inode, so a second name (symlink, hard link, ../) is the same file.
import { closeSync, constants, existsSync, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { listPoolNames, loadPool } from './pool.js';
import { readOwned } from './owned.js';
import { definedDisks, realPath } from './usage.js';

const QCOW2_MAGIC = 0x514649fb;
const MAX_DEPTH = 32;

/** The backing file named in a qcow2 header, as a host path; undefined for raw, other formats, or protocols (nbd:, json:). */
export function backingFileOf(image: string): string | undefined {
  let st;
  try { st = statSync(image); } catch { return undefined; }
  // Never open a FIFO or a device to read a header.
  if (!st.isFile()) return undefined;
  let fd: number;
  try { fd = openSync(image, constants.O_RDONLY | constants.O_NONBLOCK); } catch { return undefined; }
  try {
    const head = Buffer.alloc(20);
    if (readSync(fd, head, 0, 20, 0) < 20 || head.readUInt32BE(0) !== QCOW2_MAGIC) return undefined;
    const offset = head.readBigUInt64BE(8);
    const size = head.readUInt32BE(16);
    if (offset === 0n || size === 0 || size > 4096) return undefined;
    const name = Buffer.alloc(size);
    if (readSync(fd, name, 0, size, Number(offset)) < size) return undefined;
    const file = name.toString('utf8');
    if (/^[a-z][a-z0-9+.-]*:/i.test(file) && !file.startsWith('file:')) return undefined;
    const plain = file.startsWith('file:') ? file.slice(5) : file;
    // QEMU resolves a relative backing name against the overlay's directory.
    return isAbsolute(plain) ? plain : resolve(dirname(image), plain);
  } finally {
    closeSync(fd);
  }
}

/** The backing files below `image`, nearest first (the image itself not included). */
export function backingChain(image: string): string[] {
  const out: string[] = [];
  let cur = image;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const next = backingFileOf(cur);
    if (!next) break;
    out.push(next);
    cur = next;
  }
  return out;
}

const fileId = (path: string): string | undefined => {
  try { const st = statSync(path, { bigint: true }); return `${st.dev}:${st.ino}`; } catch { return undefined; }
};

/** Image files qkvm knows of: every guest's disks, every pool's files, and every image it recorded. */
export function knownImages(): string[] {
  const set = new Set(definedDisks().map((d) => d.path));
  for (const name of listPoolNames()) {
    let target: string;
    try { target = loadPool(name).target; } catch { continue; }
    let files: string[] = [];
    try { files = readdirSync(target); } catch { continue; }
    for (const f of files) if (!f.startsWith('.')) set.add(realPath(join(target, f)));
  }
  for (const r of readOwned()) set.add(r.path);
  return [...set].filter((p) => existsSync(p));
}

/** Images whose backing chain (at any depth) holds the very file `path` is (same device and inode). */
export function imagesBackedBy(path: string, images: string[] = knownImages()): string[] {
  const id = fileId(path);
  if (!id) return [];
  const out: string[] = [];
  for (const img of images) {
    if (fileId(img) === id) continue;
    if (backingChain(img).some((b) => fileId(b) === id)) out.push(img);
  }
  return out.sort();
}
