// Every file name of qkvm's state layout lives here, so that no other module
// builds a state path by hand (see DESIGN.md, "State on disk").
import { existsSync, lstatSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateName } from './name.js';
import { QkvmError } from '../errors.js';

const isRoot = () => process.getuid?.() === 0;

export function qkvmHome(): string {
  if (process.env.QKVM_HOME) return checkedDir(resolve(process.env.QKVM_HOME), 'QKVM_HOME');
  if (isRoot()) return checkedDir('/var/lib/qkvm', 'QKVM_HOME');
  const data = process.env.XDG_DATA_HOME ?? join(process.env.HOME ?? '/tmp', '.local/share');
  return checkedDir(join(data, 'qkvm'), 'QKVM_HOME');
}

export function qkvmRun(): string {
  if (process.env.QKVM_RUN) return checkedDir(resolve(process.env.QKVM_RUN), 'QKVM_RUN');
  if (isRoot()) return checkedDir('/run/qkvm', 'QKVM_RUN');
  if (process.env.XDG_RUNTIME_DIR) return checkedDir(join(process.env.XDG_RUNTIME_DIR, 'qkvm'), 'QKVM_RUN');
  // A shared /tmp: the directory is made by its user, 0700, and checked on every use.
  return checkedDir(`/tmp/qkvm-${process.getuid?.()}`, 'QKVM_RUN', { create: true, private: true });
}

// A state directory is checked once per process (one command): cheap enough for every use.
const checked = new Map<string, string>();

/**
 * Refuses a state directory that another user could have planted: it must be a
 * real directory (not a symlink), owned by this user, and not writable by group
 * or others; `private` (the /tmp fallback) allows no group/other access at all.
 * A missing directory is fine (made later with 0700), or made now with `create`.
 */
export function checkStateDir(dir: string, what: string, opts: { create?: boolean; private?: boolean } = {}): string {
  let st;
  try {
    st = lstatSync(dir);
  } catch (e: any) {
    if (e.code !== 'ENOENT') throw stateDirError(dir, what, `cannot be read (${e.code})`);
    if (!opts.create) return dir;
    try { mkdirSync(dir, { mode: 0o700 }); } catch (e2: any) {
      if (e2.code !== 'EEXIST') throw stateDirError(dir, what, `cannot be created (${e2.code})`);
    }
    st = lstatSync(dir);
  }
  const uid = process.getuid?.() ?? 0;
  if (st.isSymbolicLink()) throw stateDirError(dir, what, 'is a symbolic link');
  if (!st.isDirectory()) throw stateDirError(dir, what, 'is not a directory');
  if (st.uid !== uid) throw stateDirError(dir, what, `is owned by uid ${st.uid}, not by this user (uid ${uid})`);
  const loose = st.mode & (opts.private ? 0o077 : 0o022);
  if (loose) throw stateDirError(dir, what, `has mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}: it must not be ${opts.private ? 'accessible' : 'writable'} by group or others`);
  return dir;
}

/**
 * The host-wide cache (the KVM verdict, QEMU's probed facts): those are the
 * host's, not a home's, so a new QKVM_HOME does not pay the probes again. /var/cache/qkvm for root,
 * /var/tmp/qkvm-cache-UID otherwise (QKVM_HOST_CACHE overrides); owned by this
 * user and 0700, checked like the state directories. Undefined when unsafe:
 * then nothing is cached and the probe runs.
 */
export function hostCacheDir(): string | undefined {
  const uid = process.getuid?.() ?? 0;
  const dir = process.env.QKVM_HOST_CACHE ?? (uid === 0 ? '/var/cache/qkvm' : `/var/tmp/qkvm-cache-${uid}`);
  try { return checkStateDir(dir, 'the host cache', { create: true, private: true }); } catch { return undefined; }
}

function stateDirError(dir: string, what: string, wrong: string): QkvmError {
  return new QkvmError('HOST', `${what} ${dir} ${wrong}; qkvm refuses to use it`, {
    hint: 'another user could plant files or links there: use a directory of your own (mode 0700), or set QKVM_RUN / QKVM_HOME',
  });
}

function checkedDir(dir: string, what: string, opts: { create?: boolean; private?: boolean } = {}): string {
  if (checked.get(dir) === what) return dir;
  checkStateDir(dir, what, opts);
  if (existsSync(dir)) checked.set(dir, what);
  return dir;
}

/** The repository (or installed package) root: where scripts/ and templates/ are. */
export const projectRoot: string = (() => {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg) && JSON.parse(readFileSync(pkg, 'utf8')).name === 'qkvm') return dir;
    const up = dirname(dir);
    if (up === dir) throw new Error('qkvm: cannot find the package root');
    dir = up;
  }
})();

/** qkvm's own version, from its package.json (not the one in the current directory, which yargs would find). */
export const qkvmVersion = (): string => JSON.parse(readFileSync(join(projectRoot, 'package.json'), 'utf8')).version;

// Every builder that takes a name validates it: a name never becomes a path unchecked.
const vm = (name: string) => validateName(name, 'guest name');
const net = (name: string) => validateName(name, 'network name');
const pool = (name: string) => validateName(name, 'pool name');
const lab = (name: string) => validateName(name, 'lab name');

export const home = {
  root: () => qkvmHome(),
  vmsDir: () => join(qkvmHome(), 'vms'),
  vmFile: (name: string) => join(qkvmHome(), 'vms', `${vm(name)}.yaml`),
  /** Snapshot metadata (description, parent, current) kept beside the definition. */
  snapshotsFile: (name: string) => join(qkvmHome(), 'vms', `${vm(name)}.snapshots.json`),
  networksDir: () => join(qkvmHome(), 'networks'),
  networkFile: (name: string) => join(qkvmHome(), 'networks', `${net(name)}.yaml`),
  poolsDir: () => join(qkvmHome(), 'pools'),
  poolFile: (name: string) => join(qkvmHome(), 'pools', `${pool(name)}.yaml`),
  imagesDir: () => join(qkvmHome(), 'images'),
  cacheDir: () => join(qkvmHome(), 'cache'),
  demoDir: () => join(qkvmHome(), 'cache', 'demo'),
  /** Named remote hosts (`qkvm remote add`). */
  remotesFile: () => join(qkvmHome(), 'remotes.yaml'),
  labsDir: () => join(qkvmHome(), 'labs'),
  /** A lab's own records: the file it was brought up with and what it created (src/lab/). */
  labDir: (name: string) => join(qkvmHome(), 'labs', lab(name)),
  /** A guest's cloud-init NoCloud seeds (cidata-KEY.iso, keyed by content; src/image/seed.ts). */
  seedDir: (name: string) => join(qkvmHome(), 'seeds', vm(name)),
  /**
   * Base images built by `qkvm image build` (src/image/build.ts), one directory per build.
   * QKVM_BASE_IMAGES shares one set between homes (the tests' host-wide cache); checked like QKVM_HOME.
   */
  baseImagesDir: () => (process.env.QKVM_BASE_IMAGES ? checkedDir(resolve(process.env.QKVM_BASE_IMAGES), 'QKVM_BASE_IMAGES') : join(qkvmHome(), 'images', 'base')),
  /** qkvm's own known_hosts for `qkvm ssh` (host keys keyed by the guest's instance-id). */
  knownHosts: () => join(qkvmHome(), 'ssh', 'known_hosts'),
};

/**
 * The run layout keeps each kind in its own subtree (vms/, net/, taps/, pools/,
 * locks/), so that no name can collide with qkvm's own directories: a guest
 * named "net" lives in vms/net, far from the networks.
 */
export const run = {
  root: () => qkvmRun(),
  vmsDir: () => join(qkvmRun(), 'vms'),
  vmDir: (name: string) => join(qkvmRun(), 'vms', vm(name)),
  qmpSocket: (name: string) => join(run.vmDir(name), 'qmp.sock'),
  serialSocket: (name: string) => join(run.vmDir(name), 'serial.sock'),
  serialLog: (name: string) => join(run.vmDir(name), 'serial.log'),
  /** The guest agent's virtio-serial port (definition field `agent`): qkvm talks QGA here (src/agent/). */
  agentSocket: (name: string) => join(run.vmDir(name), 'qga.sock'),
  pidFile: (name: string) => join(run.vmDir(name), 'qemu.pid'),
  /** `qkvm ssh`'s multiplexing socket: its login probe's connection, reused by the command. */
  sshControl: (name: string) => join(run.vmDir(name), 'ssh.ctl'),
  qemuLog: (name: string) => join(run.vmDir(name), 'qemu.log'),
  /** The definition as it was started; the running guest is described by this, not by vms/. */
  startedSpec: (name: string) => join(run.vmDir(name), 'spec.json'),
  vncPasswordFile: (name: string) => join(run.vmDir(name), 'vnc.password'),
  /** A NIC of type link: QEMU listens here (-netdev stream,server=on) and a lab's link relay connects. */
  linkSocket: (name: string, index: number) => join(run.vmDir(name), `net${index}.sock`),
  netDir: () => join(qkvmRun(), 'net'),
  netStateDir: (name: string) => join(qkvmRun(), 'net', net(name)),
  /** Per-tap facts that scripts/qemu-ifup reads: QEMU passes it only the tap name. */
  tapFile: (tap: string) => join(qkvmRun(), 'taps', `${tap}.env`),
  tapsDir: () => join(qkvmRun(), 'taps'),
  poolsDir: () => join(qkvmRun(), 'pools'),
  /** Per-name locks live in the run tree (tmpfs on most hosts), so stopping a guest never needs a free byte in QKVM_HOME. */
  locksDir: () => join(qkvmRun(), 'locks'),
  /** Host-wide facts qkvm made (hugetlbfs mounts); in the run tree, since a reboot undoes them too. */
  hostDir: () => join(qkvmRun(), 'host'),
  /** What the destination of a migration from another host made (definition, images), so a failed one undoes only that. */
  migrationRecord: (name: string) => join(qkvmRun(), 'migrations', `${vm(name)}.json`),
  labsDir: () => join(qkvmRun(), 'labs'),
  /** A running lab: its link relay's control socket, pidfile and log. */
  labDir: (name: string) => join(qkvmRun(), 'labs', lab(name)),
  hugetlbfsRecord: () => join(qkvmRun(), 'host', 'hugetlbfs.json'),
};

export const scripts = {
  ifup: () => join(projectRoot, 'scripts', 'qemu-ifup'),
  ifdown: () => join(projectRoot, 'scripts', 'qemu-ifdown'),
  setupHost: () => join(projectRoot, 'scripts', 'setup-host.sh'),
  buildDemoGuest: () => join(projectRoot, 'scripts', 'build-demo-guest.sh'),
};

export const templatesDir = () => join(projectRoot, 'templates');
