// A base image build as `qkvm image build` leaves it, made in a moment with
// qemu-img (no mmdebstrap): for the tests of image list/info/rm and of
// create's linked clones, which never boot it.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** A new private QKVM_HOME (and QKVM_RUN in it), set in process.env; no shared base images. */
export function privateHome(tag: string): string {
  const home = mkdtempSync(path.join(os.tmpdir(), `qkvm-${tag}-`));
  process.env.QKVM_HOME = home;
  process.env.QKVM_RUN = path.join(home, 'run');
  delete process.env.QKVM_BASE_IMAGES;
  return home;
}

/** debian-12-KEY under HOME/images/base: a qcow2 disk of `size`, kernel and initrd files, its manifest. Returns its directory. */
export function fakeBuild(home: string, key: string, built: string, size = '64M'): string {
  const dir = path.join(home, 'images', 'base', `debian-12-${key}`);
  mkdirSync(dir, { recursive: true });
  execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(dir, 'disk.qcow2'), size]);
  for (const f of ['vmlinuz', 'initrd.img', 'packages.txt', 'kernel-version']) writeFileSync(path.join(dir, f), 'x');
  writeFileSync(path.join(dir, 'manifest.json'), JSON.stringify({ image: 'debian-12', key, id: `debian-12-${key}`, dir, inputs: { image: 'debian-12', suite: 'bookworm', size: 4 << 30, packages: [], scripts: 'x', version: 1 }, kernelVersion: '6.1.0-1-cloud-amd64', built, buildSeconds: 1 }));
  return dir;
}
