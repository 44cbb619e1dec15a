// Issue 12's image benchmark: boot to a working `qkvm ssh` of qkvm's debian-12
// image, against the same packages left as mmdebstrap leaves them
// (bench/build-plain-debian.sh), side by side in the same run.
//
// Both guests come from the same definition: `qkvm create --template debian-12
// --ssh-key KEY --hostname H`, and for the plain one the same YAML with that
// image's kernel, initrd and an overlay on its disk. So the QEMU arguments,
// the seed's user, key and hostname, and the client (`qkvm ssh NAME --
// hostname`) are the same; only the image differs. Each round boots each image
// twice, alternating: a first boot (a new instance: cloud-init makes the user,
// the keys, the hostname) and a later boot (after `qkvm shutdown`).
//
//   npm run build && node dist/bench/run.js image      (QKVM_BENCH_ROUNDS=3)
//
// Both images are built once per machine and cached: qkvm's in the tests'
// cache (test/image/debian.ts), the plain one beside it, keyed by its script.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import YAML from 'yaml';
import { DEBIAN_CACHE, ensureDebianImage } from '../test/image/debian.js';
import { CLI, REPO } from '../test/net/lab.js';
import { median, type BenchResult, type BenchRow } from './types.js';

const ROUNDS = Number(process.env.QKVM_BENCH_ROUNDS ?? 3);
const HOSTNAME = 'bench-debian';
const PLAIN_SCRIPT = join(REPO, 'bench/build-plain-debian.sh');
const SIZE = '4G';

/** The plain image, built once per version of its script and package list. */
export function ensurePlainImage(): string {
  const key = createHash('sha256').update(readFileSync(PLAIN_SCRIPT)).update(readFileSync(join(REPO, 'scripts/debian-image/packages'))).update(SIZE).digest('hex').slice(0, 12);
  const dir = join(DEBIAN_CACHE, '..', `debian-12-plain-${key}`);
  if (existsSync(join(dir, 'kernel-version'))) return dir;
  const partial = `${dir}.partial`;
  rmSync(partial, { recursive: true, force: true });
  process.stderr.write(`bench image: building the plain image (mmdebstrap, a few minutes) into ${dir}\n`);
  const r = spawnSync('bash', [PLAIN_SCRIPT, partial, SIZE], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) { rmSync(partial, { recursive: true, force: true }); throw new Error(`bench/build-plain-debian.sh failed (exit ${r.status})`); }
  renameSync(partial, dir);
  // Builds of earlier versions of the script or the package list are of no more use.
  for (const e of readdirSync(join(DEBIAN_CACHE, '..'))) {
    if (/^debian-12-plain-[0-9a-f]{12}(\.partial)?$/.test(e) && join(DEBIAN_CACHE, '..', e) !== dir) rmSync(join(DEBIAN_CACHE, '..', e), { recursive: true, force: true });
  }
  return dir;
}

/**
 * Seconds from QEMU's start to the kernel's `Run /init` on the serial line:
 * the part of a boot that direct kernel boot and grub do differently (the
 * firmware, the boot loader, loading the kernel and initrd). Everything after
 * /init is the same for both, so the guest is killed there.
 */
function timeToInit(args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const q = spawn('qemu-system-x86_64', ['-machine', 'pc', '-accel', 'tcg', '-m', '1G', '-smp', '2', '-display', 'none', '-nodefaults', '-serial', 'stdio', '-no-reboot', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => { q.kill('SIGKILL'); reject(new Error(`no "Run /init" within 300 s: ${out.slice(-300)}`)); }, 300_000);
    q.stdout.on('data', (d: Buffer) => {
      out += d.toString('latin1');
      if (out.includes('Run /init')) { clearTimeout(timer); q.kill('SIGKILL'); resolve((performance.now() - t0) / 1000); }
    });
    q.on('error', (e) => { clearTimeout(timer); reject(e); });
  });
}

/**
 * Direct kernel boot (what the template does) against SeaBIOS + grub loading
 * the same kernel and initrd through the BIOS: grub-mkrescue's El Torito image,
 * grub.cfg with no menu timeout. The same kernel command line on both.
 */
export async function bootLoaderRows(image: { dir: string }, work: string, rounds: number): Promise<BenchRow> {
  const tree = join(work, 'grub-tree');
  mkdirSync(join(tree, 'boot', 'grub'), { recursive: true });
  copyFileSync(join(image.dir, 'vmlinuz'), join(tree, 'boot', 'vmlinuz'));
  copyFileSync(join(image.dir, 'initrd.img'), join(tree, 'boot', 'initrd.img'));
  const append = 'root=/dev/vda rw console=ttyS0';
  writeFileSync(join(tree, 'boot', 'grub', 'grub.cfg'), [
    'serial --unit=0 --speed=115200', 'terminal_input serial', 'terminal_output serial', 'set timeout=0', 'set default=0',
    `menuentry qkvm { linux /boot/vmlinuz ${append}`, '  initrd /boot/initrd.img', '}', '',
  ].join('\n'));
  const iso = join(work, 'grub.iso');
  const r = spawnSync('grub-mkrescue', ['-o', iso, tree], { stdio: ['ignore', 'ignore', 'pipe'] });
  if (r.status !== 0) throw new Error(`grub-mkrescue failed (run scripts/setup-host.sh: grub-pc-bin, xorriso): ${String(r.stderr).trim().split('\n').pop()}`);
  const direct: number[] = [], grub: number[] = [];
  for (let i = 0; i < rounds; i++) {
    direct.push(await timeToInit(['-kernel', join(image.dir, 'vmlinuz'), '-initrd', join(image.dir, 'initrd.img'), '-append', append]));
    grub.push(await timeToInit(['-cdrom', iso, '-boot', 'd']));
  }
  process.stderr.write(`bench image: QEMU start to "Run /init": direct ${direct.map((x) => x.toFixed(2)).join(', ')} s; grub ${grub.map((x) => x.toFixed(2)).join(', ')} s\n`);
  return { label: 'QEMU start to the kernel\'s `Run /init`: direct kernel boot vs SeaBIOS + grub (median)', qkvm: median(direct), raw: median(grub), unit: 's' };
}

export async function benchImage(): Promise<BenchResult> {
  if (process.getuid?.() !== 0) throw new Error('bench image needs root (image builds, QEMU)');
  const ours = await ensureDebianImage((l) => process.stderr.write(`${l}\n`));
  const plain = ensurePlainImage();
  const work = mkdtempSync(join(tmpdir(), 'qkvm-bench-image-'));
  const env = { ...process.env, QKVM_HOME: join(work, 'home'), QKVM_RUN: join(work, 'run'), QKVM_BASE_IMAGES: DEBIAN_CACHE };
  const qkvm = (...args: string[]) => execFileSync('node', [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 }).toString();
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(work, 'key')]);

  /** A new instance of each image: qkvm's by its template, the plain one by the same YAML. */
  const create = (name: string, image: 'ours' | 'plain') => {
    qkvm('create', name, '--template', 'debian-12', '--ssh-key', join(work, 'key.pub'), '--hostname', HOSTNAME);
    if (image === 'ours') return;
    const file = join(env.QKVM_HOME, 'vms', `${name}.yaml`);
    const doc = YAML.parse(readFileSync(file, 'utf8'));
    doc.kernel = join(plain, 'vmlinuz');
    doc.initrd = join(plain, 'initrd.img');
    const disk = join(env.QKVM_HOME, 'images', doc.disks[0].file);
    // Replaces the overlay on qkvm's base with one on the plain image (this benchmark's own file).
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'qcow2', '-b', join(plain, 'disk.qcow2'), disk]);
    writeFileSync(file, YAML.stringify(doc));
  };
  const remove = (name: string) => {
    spawnSync('node', [CLI, 'destroy', name], { env, stdio: 'ignore' });
    spawnSync('node', [CLI, 'undefine', name, '--remove-storage'], { env, stdio: 'ignore' });
    rmSync(join(env.QKVM_HOME, 'images', `${name}.qcow2`), { force: true });
  };
  /** Seconds from `qkvm start` to `qkvm ssh NAME -- hostname` printing the hostname. */
  const boot = (name: string) => {
    const t0 = performance.now();
    qkvm('start', name);
    const out = qkvm('ssh', name, '--wait', '600', '--', 'hostname').trim();
    const s = (performance.now() - t0) / 1000;
    if (out !== HOSTNAME) throw new Error(`${name}: ssh printed "${out}", not ${HOSTNAME}`);
    return s;
  };
  const times = { ours: { first: [] as number[], later: [] as number[] }, plain: { first: [] as number[], later: [] as number[] } };
  try {
    for (let round = 1; round <= ROUNDS; round++) {
      // Alternating which goes first, so that a drift of the host's load hits both.
      const order: ('ours' | 'plain')[] = round % 2 ? ['ours', 'plain'] : ['plain', 'ours'];
      for (const image of order) {
        const name = `b-${image}-${randomBytes(3).toString('hex')}`;
        create(name, image);
        try {
          const first = boot(name);
          qkvm('shutdown', name, '--timeout', '120');
          const later = boot(name);
          times[image].first.push(first);
          times[image].later.push(later);
          process.stderr.write(`bench image: round ${round} ${image}: first boot ${first.toFixed(1)} s, later boot ${later.toFixed(1)} s\n`);
        } finally { remove(name); }
      }
    }
  } finally { rmSync(work, { recursive: true, force: true }); }
  const loader = await (async () => {
    const w = mkdtempSync(join(tmpdir(), 'qkvm-bench-grub-'));
    try { return await bootLoaderRows(ours, w, ROUNDS); } finally { rmSync(w, { recursive: true, force: true }); }
  })();
  const row = (label: string, k: 'first' | 'later', target?: string): BenchRow => ({ label, qkvm: median(times.ours[k]), raw: median(times.plain[k]), unit: 's', target });
  return {
    name: 'image',
    rows: [row('first boot to a working `qkvm ssh` (median)', 'first', '<= 0.6x'), row('later boot to a working `qkvm ssh` (median)', 'later'), loader],
    notes: [
      `raw: the same packages as mmdebstrap leaves them (${plain.split('/').pop()}), the same QEMU arguments and seed; qkvm: ${ours.id}`,
      `every round (${ROUNDS}), qkvm then plain alternating: ours ${times.ours.first.map((x) => x.toFixed(1)).join(', ')} s first, ${times.ours.later.map((x) => x.toFixed(1)).join(', ')} s later; plain ${times.plain.first.map((x) => x.toFixed(1)).join(', ')} s first, ${times.plain.later.map((x) => x.toFixed(1)).join(', ')} s later`,
      `TCG, ${YAML.parse(readFileSync(join(REPO, 'templates/debian-12.yaml'), 'utf8')).smp} vCPUs; load average at the end ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`,
    ],
  };
}
