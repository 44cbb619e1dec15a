// Every file name of qkvm's state layout lives here, so that no other module
// builds a state path by hand (see DESIGN.md, "State on disk").
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { validateName } from './name.js';

const isRoot = () => process.getuid?.() === 0;

export function qkvmHome(): string {
  if (process.env.QKVM_HOME) return resolve(process.env.QKVM_HOME);
  if (isRoot()) return '/var/lib/qkvm';
  const data = process.env.XDG_DATA_HOME ?? join(process.env.HOME ?? '/tmp', '.local/share');
  return join(data, 'qkvm');
}

export function qkvmRun(): string {
  if (process.env.QKVM_RUN) return resolve(process.env.QKVM_RUN);
  if (isRoot()) return '/run/qkvm';
  return join(process.env.XDG_RUNTIME_DIR ?? `/tmp/qkvm-${process.getuid?.() ?? 'user'}`, 'qkvm');
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

// Every builder that takes a name validates it: a name never becomes a path unchecked.
const vm = (name: string) => validateName(name, 'guest name');
const net = (name: string) => validateName(name, 'network name');
const pool = (name: string) => validateName(name, 'pool name');

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
  pidFile: (name: string) => join(run.vmDir(name), 'qemu.pid'),
  qemuLog: (name: string) => join(run.vmDir(name), 'qemu.log'),
  /** The definition as it was started; the running guest is described by this, not by vms/. */
  startedSpec: (name: string) => join(run.vmDir(name), 'spec.json'),
  vncPasswordFile: (name: string) => join(run.vmDir(name), 'vnc.password'),
  netDir: () => join(qkvmRun(), 'net'),
  netStateDir: (name: string) => join(qkvmRun(), 'net', net(name)),
  /** Per-tap facts that scripts/qemu-ifup reads: QEMU passes it only the tap name. */
  tapFile: (tap: string) => join(qkvmRun(), 'taps', `${tap}.env`),
  tapsDir: () => join(qkvmRun(), 'taps'),
  poolsDir: () => join(qkvmRun(), 'pools'),
  /** Per-name locks live in the run tree (tmpfs on most hosts), so stopping a guest never needs a free byte in QKVM_HOME. */
  locksDir: () => join(qkvmRun(), 'locks'),
};

export const scripts = {
  ifup: () => join(projectRoot, 'scripts', 'qemu-ifup'),
  ifdown: () => join(projectRoot, 'scripts', 'qemu-ifdown'),
  setupHost: () => join(projectRoot, 'scripts', 'setup-host.sh'),
  buildDemoGuest: () => join(projectRoot, 'scripts', 'build-demo-guest.sh'),
};

export const templatesDir = () => join(projectRoot, 'templates');
