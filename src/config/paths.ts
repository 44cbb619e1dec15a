// Every file name of qkvm's state layout lives here, so that no other module
// builds a state path by hand (see DESIGN.md, "State on disk").
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

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

export const home = {
  root: () => qkvmHome(),
  vmsDir: () => join(qkvmHome(), 'vms'),
  vmFile: (name: string) => join(qkvmHome(), 'vms', `${name}.yaml`),
  /** Snapshot metadata (description, parent, current) kept beside the definition. */
  snapshotsFile: (name: string) => join(qkvmHome(), 'vms', `${name}.snapshots.json`),
  networksDir: () => join(qkvmHome(), 'networks'),
  networkFile: (name: string) => join(qkvmHome(), 'networks', `${name}.yaml`),
  poolsDir: () => join(qkvmHome(), 'pools'),
  poolFile: (name: string) => join(qkvmHome(), 'pools', `${name}.yaml`),
  imagesDir: () => join(qkvmHome(), 'images'),
  cacheDir: () => join(qkvmHome(), 'cache'),
  demoDir: () => join(qkvmHome(), 'cache', 'demo'),
  locksDir: () => join(qkvmHome(), 'locks'),
};

export const run = {
  root: () => qkvmRun(),
  vmDir: (name: string) => join(qkvmRun(), name),
  qmpSocket: (name: string) => join(qkvmRun(), name, 'qmp.sock'),
  serialSocket: (name: string) => join(qkvmRun(), name, 'serial.sock'),
  serialLog: (name: string) => join(qkvmRun(), name, 'serial.log'),
  pidFile: (name: string) => join(qkvmRun(), name, 'qemu.pid'),
  qemuLog: (name: string) => join(qkvmRun(), name, 'qemu.log'),
  /** The definition as it was started; the running guest is described by this, not by vms/. */
  startedSpec: (name: string) => join(qkvmRun(), name, 'spec.json'),
  vncPasswordFile: (name: string) => join(qkvmRun(), name, 'vnc.password'),
  netDir: () => join(qkvmRun(), 'net'),
  /** Per-tap facts that scripts/qemu-ifup reads: QEMU passes it only the tap name. */
  tapFile: (tap: string) => join(qkvmRun(), 'taps', `${tap}.env`),
  tapsDir: () => join(qkvmRun(), 'taps'),
};

export const scripts = {
  ifup: () => join(projectRoot, 'scripts', 'qemu-ifup'),
  ifdown: () => join(projectRoot, 'scripts', 'qemu-ifdown'),
  setupHost: () => join(projectRoot, 'scripts', 'setup-host.sh'),
  buildDemoGuest: () => join(projectRoot, 'scripts', 'build-demo-guest.sh'),
};

export const templatesDir = () => join(projectRoot, 'templates');
