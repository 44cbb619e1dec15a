// The one Debian test image: built once per machine into
// /var/tmp/qkvm-test-cache/debian-12 (or $QKVM_TEST_CACHE/debian-12), keyed by
// the build's inputs like `qkvm image build`, and reused by every test that
// boots a real Debian guest (the image and agent integration tests).
// Run qkvm with QKVM_BASE_IMAGES=DEBIAN_CACHE (and a private QKVM_HOME/QKVM_RUN):
// then `qkvm create NAME --template debian-12 --ssh-key KEY.pub` makes an overlay
// on this build, and `qkvm ssh NAME -- CMD` reaches it (test/image/debian.test.ts).
import { execa } from 'execa';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildImage, imageInputs, type ImageManifest } from '../../src/image/build.js';
import { CLI, Netns, type RunResult } from '../net/lab.js';

export const DEBIAN_CACHE = path.join(process.env.QKVM_TEST_CACHE ?? '/var/tmp/qkvm-test-cache', 'debian-12');
/** The size every test build uses: one size, one cached build. */
export const TEST_IMAGE_SIZE = '4G';

/**
 * The built image (disk.qcow2, vmlinuz, initrd.img in `manifest.dir`), built
 * here when the cache has no build of the current inputs (a few minutes under
 * mmdebstrap; needs root and a Debian mirror). Older builds in the cache are removed.
 */
export async function ensureDebianImage(onLine?: (line: string) => void): Promise<ImageManifest> {
  const { manifest } = await buildImage('debian-12', {
    size: TEST_IMAGE_SIZE, baseDir: DEBIAN_CACHE, record: false,
    onProgress: (n, of, what) => onLine?.(`debian-12 build step ${n}/${of}: ${what}`),
  });
  const { key } = imageInputs('debian-12', { size: TEST_IMAGE_SIZE });
  for (const e of readdirSync(DEBIAN_CACHE)) {
    if (e !== `debian-12-${key}` && /^\.?debian-12-[0-9a-f]{12}(\.partial)?$/.test(e)) rmSync(path.join(DEBIAN_CACHE, e), { recursive: true, force: true });
  }
  return manifest;
}

/** A cold build takes minutes (more on a busy host); a TCG boot of systemd and cloud-init, a few. */
export const BUILD_MS = 40 * 60_000;
export const BOOT_MS = 15 * 60_000;

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v "$1"`, 'sh', cmd], { stdio: 'ignore' }).status === 0;

/** Why a test of a real Debian guest cannot run here ('' when it can): root, the tools, the built CLI. */
export function debianTestMissing(): string {
  if (process.getuid?.() !== 0) return 'needs root (mmdebstrap --mode=root, network namespaces)';
  const tools = ['qemu-system-x86_64', 'qemu-img', 'mmdebstrap', 'mke2fs', 'xorriso', 'ssh', 'ssh-keygen', 'ip'].filter((c) => !has(c));
  if (tools.length) return `missing on this host: ${tools.join(', ')} (run scripts/setup-host.sh)`;
  if (!existsSync(CLI)) return `${CLI} is missing: run \`npm run build\` first`;
  return '';
}

/**
 * What a test of a real Debian guest stands on: a network namespace of its own
 * (the guest's networks reach nothing but it), a private QKVM_HOME and QKVM_RUN
 * with QKVM_BASE_IMAGES on the cached build, an ssh key pair, and qkvm run
 * inside the namespace. setUp in beforeAll, tearDown in afterAll.
 */
export class DebianWorld {
  readonly ns = new Netns();
  readonly home: string;
  readonly run: string;
  readonly keys: string;
  readonly env: Record<string, string>;

  constructor(tag: string) {
    this.home = mkdtempSync(path.join(os.tmpdir(), `qkvm-${tag}-home-`));
    this.run = mkdtempSync(path.join(os.tmpdir(), `qkvm-${tag}-run-`));
    this.keys = mkdtempSync(path.join(os.tmpdir(), `qkvm-${tag}-key-`));
    this.env = { QKVM_HOME: this.home, QKVM_RUN: this.run, QKVM_BASE_IMAGES: DEBIAN_CACHE, HOME: this.keys, PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
  }

  /** The public key to give `create --ssh-key`; its private key sits beside it. */
  get pubKey(): string { return path.join(this.keys, 'id_ed25519.pub'); }

  /** Builds or finds the image, makes the namespace and the key pair. */
  async setUp(): Promise<void> {
    const why = debianTestMissing();
    if (why) throw new Error(why);
    await ensureDebianImage((l) => console.log(l));
    await this.ns.create();
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'qkvm-test', '-f', path.join(this.keys, 'id_ed25519')], { stdio: 'ignore' });
  }

  /**
   * qkvm inside the namespace with the private state. Throws on a non-zero exit
   * unless reject is false; `timeout` for the long waits (default 180 s).
   */
  async qkvm(args: string[], o: { reject?: boolean; timeout?: number; stripFinalNewline?: boolean } = {}): Promise<RunResult> {
    const r = await execa('ip', ['netns', 'exec', this.ns.name, 'node', CLI, ...args], { env: this.env, reject: false, timeout: o.timeout ?? 180_000, stdin: 'ignore', stripFinalNewline: o.stripFinalNewline ?? true });
    const out = { code: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
    if (o.reject !== false && out.code !== 0) throw new Error(`qkvm ${args.join(' ')} failed (${out.code}):\n${out.stdout}\n${out.stderr}`);
    return out;
  }

  /** Destroys the guests, then the namespace (and whatever still runs in it), then the directories. */
  async tearDown(guests: string[]): Promise<void> {
    for (const g of guests) await this.qkvm(['destroy', g], { reject: false });
    await this.ns.destroy();
    for (const d of [this.home, this.run, this.keys]) rmSync(d, { recursive: true, force: true });
  }
}
