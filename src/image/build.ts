// Base images: `qkvm image build debian-12` runs scripts/build-debian-image.sh
// (mmdebstrap, mke2fs -d, qemu-img convert) and keeps the result in
// QKVM_HOME/images/base/NAME-KEY/, KEY being a hash of every input (suite, size,
// packages, the build scripts). The same inputs reuse the build; new inputs make
// a new one beside it. A guest is a qcow2 overlay on its base (templates/debian-12.yaml).
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, renameSync, rmSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDir, writeFileAtomic } from '../config/atomic.js';
import { loadExeca } from '../config/lazy.js';
import { ownerAlive, readLock, startTimeOf, withLock } from '../config/lock.js';
import { home, projectRoot } from '../config/paths.js';
import { parseSize } from '../config/size.js';
import { QkvmError, invalid, notFound } from '../errors.js';

/** The images qkvm knows how to build. */
export const IMAGES = {
  'debian-12': { suite: 'bookworm', script: 'build-debian-image.sh', files: 'debian-image', describe: 'Debian 12 (bookworm): systemd, sshd, cloud-init, qemu-guest-agent, the cloud kernel' },
} as const;
export type ImageName = keyof typeof IMAGES;

/** Bump when the build changes in a way its scripts' text does not show. */
const BUILD_VERSION = 1;
const PACKAGE_RE = /^[a-z0-9][a-z0-9+.-]+$/;
const MIN_SIZE = 1024 ** 3;

export interface ImageInputs { image: ImageName; suite: string; size: number; packages: string[]; scripts: string; version: number }

export interface ImageManifest {
  image: ImageName;
  key: string;
  /** The directory's name: IMAGE-KEY. */
  id: string;
  dir: string;
  inputs: ImageInputs;
  kernelVersion: string;
  built: string;
  buildSeconds: number;
}

export interface BuildOptions {
  size?: string;
  packages?: string[];
  /** Where builds are kept (default QKVM_HOME/images/base); tests use a host-wide cache. */
  baseDir?: string;
  /** Record the disk in owned.json (default true; false for a cache outside QKVM_HOME). */
  record?: boolean;
  /** step (1-based), of steps, what: the script's "step N/M: ..." lines. */
  onProgress?: (step: number, of: number, what: string) => void;
  /** Every other line the build prints (mmdebstrap's, mke2fs's). */
  onLine?: (line: string) => void;
}

export function checkImageName(name: string): ImageName {
  if (!(name in IMAGES)) throw invalid(`image: unknown image "${name}"`, `images qkvm builds: ${Object.keys(IMAGES).join(', ')}`);
  return name as ImageName;
}

/** A checksum of the build script and its files: a changed script is a new image. */
function scriptsHash(image: ImageName): string {
  const dir = join(projectRoot, 'scripts');
  const h = createHash('sha256');
  const files = [IMAGES[image].script, ...readdirSync(join(dir, IMAGES[image].files)).sort().map((f) => `${IMAGES[image].files}/${f}`)];
  for (const f of files) h.update(`${f}\0`).update(readFileSync(join(dir, f))).update('\0');
  return h.digest('hex').slice(0, 16);
}

/** The inputs of a build and their key, after every option was checked (exit 2 on a bad one). */
export function imageInputs(name: string, o: { size?: string; packages?: string[] } = {}): { inputs: ImageInputs; key: string } {
  const image = checkImageName(name);
  const size = parseSize(o.size ?? '4G', '--size', 'B');
  if (size < MIN_SIZE) throw invalid(`--size: ${o.size} is too small for ${image}`, 'give at least 1G, e.g. --size 4G');
  for (const p of o.packages ?? []) {
    if (!PACKAGE_RE.test(p)) throw invalid(`--packages: "${p}" is not a Debian package name`, 'write names like htop,curl');
  }
  const packages = [...new Set(o.packages ?? [])].sort();
  const inputs: ImageInputs = { image, suite: IMAGES[image].suite, size, packages, scripts: scriptsHash(image), version: BUILD_VERSION };
  const key = createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 12);
  return { inputs, key };
}

const FILES = ['disk.qcow2', 'vmlinuz', 'initrd.img', 'packages.txt', 'kernel-version', 'manifest.json'];

function readManifest(dir: string): ImageManifest | undefined {
  try {
    if (!lstatSync(dir).isDirectory()) return undefined;
    const m = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as ImageManifest;
    if (!existsSync(join(dir, 'disk.qcow2'))) return undefined;
    return { ...m, dir };
  } catch { return undefined; }
}

/** Builds the image, or returns the build already made from the same inputs. */
export async function buildImage(name: string, o: BuildOptions = {}): Promise<{ manifest: ImageManifest; cached: boolean }> {
  const { inputs, key } = imageInputs(name, o);
  const baseDir = o.baseDir ?? home.baseImagesDir();
  const id = `${inputs.image}-${key}`;
  const dir = join(baseDir, id);
  const have = readManifest(dir);
  if (have) return { manifest: have, cached: true };
  if (process.getuid?.() !== 0) throw new QkvmError('HOST', 'image build needs root (mmdebstrap --mode=root, mke2fs -d keeps the files\' owners)', { hint: `sudo qkvm image build ${name}` });
  ensureDir(baseDir);
  // The lock lives beside the builds: homes that share a base directory (QKVM_BASE_IMAGES) share it.
  return withBuildLock(join(baseDir, `.${id}.lock`), async () => {
    const again = readManifest(dir);
    if (again) return { manifest: again, cached: true };
    const partial = join(baseDir, `.${id}.partial`);
    rmSync(partial, { recursive: true, force: true });
    const started = Date.now();
    const { execa } = await loadExeca();
    const child = execa('bash', [join(projectRoot, 'scripts', IMAGES[inputs.image].script), partial, String(inputs.size), ...inputs.packages], {
      reject: false, stdin: 'ignore', stdout: 'pipe', stderr: 'pipe', all: true,
    });
    let tail: string[] = [];
    let buf = '';
    child.all?.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const line of lines) {
        const m = /^step (\d+)\/(\d+): (.*)$/.exec(line);
        if (m) o.onProgress?.(Number(m[1]), Number(m[2]), m[3]);
        else o.onLine?.(line);
        tail = [...tail.slice(-19), line];
      }
    });
    const r = await child;
    if (r.exitCode !== 0) {
      rmSync(partial, { recursive: true, force: true });
      throw new QkvmError('HOST', `building ${inputs.image} failed (exit ${r.exitCode}); its last lines:\n${tail.join('\n')}`, { hint: 'run scripts/setup-host.sh (mmdebstrap, e2fsprogs, qemu-utils) and check that a Debian mirror is reachable' });
    }
    const manifest: ImageManifest = {
      image: inputs.image, key, id, dir, inputs,
      kernelVersion: readFileSync(join(partial, 'kernel-version'), 'utf8').trim(),
      built: new Date().toISOString(),
      buildSeconds: Math.round((Date.now() - started) / 100) / 10,
    };
    writeFileAtomic(join(partial, 'manifest.json'), JSON.stringify(manifest, null, 2) + '\n', 0o644);
    renameSync(partial, dir);
    if (o.record !== false) {
      const { recordOwned } = await import('../storage/owned.js');
      await recordOwned(join(dir, 'disk.qcow2'), { by: 'image build' });
    }
    return { manifest, cached: false };
  });
}

/**
 * One build of an id at a time, across processes and homes: a lock file made
 * with O_EXCL holding our pid and start time; a dead owner's lock is taken over.
 */
async function withBuildLock<T>(path: string, fn: () => Promise<T>): Promise<T> {
  const me = JSON.stringify({ pid: process.pid, start: startTimeOf(process.pid), token: randomBytes(8).toString('hex'), reason: 'building the image' });
  for (let waited = 0; ; waited++) {
    try {
      writeFileSync(path, me, { flag: 'wx', mode: 0o600 });
      break;
    } catch (e: any) {
      if (e.code !== 'EEXIST') throw e;
      if (!ownerAlive(readLock(path).info)) { try { unlinkSync(path); } catch { /* raced */ } continue; }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }
  try { return await fn(); } finally {
    try { if (readFileSync(path, 'utf8') === me) unlinkSync(path); } catch { /* gone */ }
  }
}

/** Every build under the base directory, newest first. Reads only. */
export function listImages(baseDir = home.baseImagesDir()): ImageManifest[] {
  let entries: string[];
  try { entries = readdirSync(baseDir); } catch { return []; }
  return entries.filter((e) => !e.startsWith('.')).map((e) => readManifest(join(baseDir, e)))
    .filter((m): m is ImageManifest => !!m)
    .sort((a, b) => b.built.localeCompare(a.built));
}

/** IMAGE (its newest build) or IMAGE-KEY (that build). */
export function findImage(ref: string, baseDir = home.baseImagesDir()): ImageManifest {
  const all = listImages(baseDir);
  const m = all.find((i) => i.id === ref) ?? all.find((i) => i.image === ref);
  if (!m) {
    if (!/^[a-z0-9][a-z0-9.-]{0,80}$/.test(ref)) throw invalid(`image: invalid image name "${ref}"`, 'write debian-12, or an id from `qkvm image list`');
    throw notFound(`no image "${ref}" is built`, ref in IMAGES ? `build it: qkvm image build ${ref}` : `see \`qkvm image list\``);
  }
  return m;
}

/** `qkvm image rm`: only a build qkvm recorded, and only when no guest's overlay is built on it. */
export async function removeImage(ref: string): Promise<{ removed: string }> {
  const m = findImage(ref);
  const disk = join(m.dir, 'disk.qcow2');
  const { imagesBackedBy } = await import('../storage/backing.js');
  const { forgetOwned, ownedRecord } = await import('../storage/owned.js');
  const users = imagesBackedBy(disk);
  if (users.length) throw new QkvmError('STATE', `image ${m.id} is the base of ${users.join(', ')}`, { hint: 'remove those guests first: qkvm undefine NAME --remove-storage' });
  const own = ownedRecord(disk);
  if (!own.rec || own.replaced) throw new QkvmError('STATE', `${disk} is not an image qkvm recorded as built (or it was replaced): qkvm leaves it alone`);
  return withLock('image', m.id, 'removing the image', async () => {
    for (const f of FILES) {
      const p = join(m.dir, f);
      try { if (lstatSync(p).isFile()) unlinkSync(p); } catch { /* absent */ }
    }
    await forgetOwned([own.rec!.path]);
    try { rmdirSync(m.dir); } catch (e: any) {
      throw new QkvmError('STATE', `${m.dir} holds files qkvm did not make; they were left there (${e.code})`);
    }
    return { removed: m.dir };
  });
}
