// The qemu binary probe: parsers on captured output, the cache on a fake binary,
// and one real probe of QEMU when it is installed.
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync, utimesSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  compareVersions, hasAccel, hasDevice, hasMachine, hasNetdev, parseAccelHelp, parseDeviceHelp, parseMachineHelp,
  parseVersion, probeCacheFile, probeQemu, resolveBinary, versionAtLeast, assertMinVersion,
} from '../../src/qemu/probe.js';
import { QkvmError } from '../../src/errors.js';

const DEVICE_HELP = `Controller/Bridge/Hub devices:
name "pcie-root-port", bus PCI, desc "PCI Express Root Port"

Storage devices:
name "ich9-ahci", bus PCI, alias "ahci"
name "virtio-blk-pci", bus PCI, alias "virtio-blk"
`;
const MACHINE_HELP = `Supported machines are:
microvm              microvm (i386)
pc                   Standard PC (i440FX + PIIX, 1996) (alias of pc-i440fx-7.2)
pc-i440fx-7.2        Standard PC (i440FX + PIIX, 1996) (default)
q35                  Standard PC (Q35 + ICH9, 2009) (alias of pc-q35-7.2)
pc-q35-7.2           Standard PC (Q35 + ICH9, 2009)
none                 empty machine
`;

describe('parsers', () => {
  it('reads the version', () => {
    expect(parseVersion('QEMU emulator version 7.2.22 (Debian 1:7.2+dfsg-7+deb12u18+b3)\nCopyright')).toBe('7.2.22');
    expect(() => parseVersion('garbage')).toThrow(QkvmError);
  });

  it('reads devices with their aliases', () => {
    const d = parseDeviceHelp(DEVICE_HELP);
    expect(d).toEqual(['ahci', 'ich9-ahci', 'pcie-root-port', 'virtio-blk', 'virtio-blk-pci']);
    expect(hasDevice({ devices: d }, 'ahci')).toBe(true);
    expect(hasDevice({ devices: d }, 'virtio-net-pci')).toBe(false);
  });

  it('reads machines with their aliases', () => {
    const m = parseMachineHelp(MACHINE_HELP);
    for (const x of ['pc', 'q35', 'microvm', 'pc-i440fx-7.2', 'pc-q35-7.2', 'none']) expect(hasMachine({ machines: m }, x)).toBe(true);
    expect(m).not.toContain('Supported');
  });

  it('reads accelerators', () => {
    const a = parseAccelHelp('Accelerators supported in QEMU binary:\ntcg\nkvm\n');
    expect(a).toEqual(['tcg', 'kvm']);
    expect(hasAccel({ accels: a }, 'kvm')).toBe(true);
  });

  it('compares versions', () => {
    expect(compareVersions('7.2.22', '7.2')).toBe(1);
    expect(compareVersions('7.2', '7.2.0')).toBe(0);
    expect(compareVersions('6.2.0', '7.2.0')).toBe(-1);
    expect(versionAtLeast({ version: '8.0.0' }, '7.2')).toBe(true);
    expect(() => assertMinVersion({ version: '6.2.0', path: '/x' })).toThrow(/older than/);
  });
});

describe('probeQemu with a fake binary', () => {
  let dir: string;
  let saved: string | undefined;

  beforeEach(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'qkvm-probe-test-'));
    saved = process.env.QKVM_HOME;
    process.env.QKVM_HOME = path.join(dir, 'home');
    // The probe cache is host-wide: this test's own.
    process.env.QKVM_HOST_CACHE = path.join(dir, 'host-cache');
  });
  afterEach(() => {
    delete process.env.QKVM_HOST_CACHE;
    if (saved === undefined) delete process.env.QKVM_HOME;
    else process.env.QKVM_HOME = saved;
    rmSync(dir, { recursive: true, force: true });
  });

  function fakeQemu(version: string): string {
    const bin = path.join(dir, 'qemu-fake');
    const count = path.join(dir, 'runs');
    writeFileSync(bin, `#!/bin/sh
echo run >> ${count}
case "$1 $2" in
  "--version ") echo "QEMU emulator version ${version}" ;;
  "-accel help") printf 'Accelerators supported in QEMU binary:\\ntcg\\n' ;;
  "-machine help") printf '%s' '${MACHINE_HELP}' ;;
  "-device help") printf '%s' '${DEVICE_HELP}' ;;
  "-netdev help") printf 'Available netdev backend types:\\nuser\\ntap\\n' ;;
  *) exit 1 ;;
esac
`);
    chmodSync(bin, 0o755);
    return bin;
  }
  const runs = () => readFileSync(path.join(dir, 'runs'), 'utf8').split('\n').filter(Boolean).length;

  it('probes once, then answers from the cache file until the binary changes', async () => {
    const bin = fakeQemu('7.2.5');
    const p = await probeQemu(bin);
    expect(p.version).toBe('7.2.5');
    expect(p.accels).toEqual(['tcg']);
    expect(hasNetdev(p, 'tap')).toBe(true);
    expect(hasDevice(p, 'ahci')).toBe(true);
    expect(runs()).toBe(5);
    const cached = JSON.parse(readFileSync(probeCacheFile(), 'utf8'));
    expect(Object.keys(cached.entries)).toHaveLength(1);
    await probeQemu(bin);
    expect(runs()).toBe(5);

    // A new binary (size and mtime change) is probed again and replaces the old entry.
    fakeQemu('8.0.1');
    utimesSync(bin, new Date(), new Date(Date.now() + 5000));
    expect((await probeQemu(bin)).version).toBe('8.0.1');
    expect(runs()).toBe(10);
    expect(Object.keys(JSON.parse(readFileSync(probeCacheFile(), 'utf8')).entries)).toHaveLength(1);
  });

  it('refresh probes again', async () => {
    const bin = fakeQemu('7.2.5');
    await probeQemu(bin);
    await probeQemu(bin, { refresh: true });
    expect(runs()).toBe(10);
  });

  it('fails with HOST when the binary is missing', async () => {
    await expect(probeQemu(path.join(dir, 'nope'))).rejects.toMatchObject({ code: 'HOST' });
    expect(() => resolveBinary('qkvm-no-such-qemu', { PATH: dir })).toThrow(/not found on PATH/);
  });
});

const haveQemu = spawnSync('sh', ['-c', 'command -v qemu-system-x86_64'], { stdio: 'ignore' }).status === 0;
if (!haveQemu && !process.env.CI) console.warn('probe test of the real QEMU skipped: qemu-system-x86_64 is not installed');

describe.skipIf(!haveQemu && !process.env.CI)('probeQemu on the real binary', () => {
  it('finds every device, machine and accelerator the builder emits', async () => {
    const saved = process.env.QKVM_HOME;
    const home = mkdtempSync(path.join(os.tmpdir(), 'qkvm-probe-real-'));
    process.env.QKVM_HOME = home;
    try {
      const p = await probeQemu();
      assertMinVersion(p);
      for (const m of ['pc', 'q35', 'microvm']) expect(hasMachine(p, m), m).toBe(true);
      for (const a of ['tcg', 'kvm']) expect(hasAccel(p, a), a).toBe(true);
      for (const n of ['user', 'tap']) expect(hasNetdev(p, n), n).toBe(true);
      const devices = [
        'virtio-net-pci', 'virtio-net-device', 'e1000', 'rtl8139', 'virtio-blk-pci', 'virtio-blk-device',
        'virtio-scsi-pci', 'virtio-scsi-device', 'scsi-hd', 'scsi-cd', 'ide-hd', 'ide-cd', 'ahci',
        'virtio-balloon-pci', 'virtio-balloon-device', 'qemu-xhci', 'usb-tablet', 'pcie-root-port',
        'VGA', 'cirrus-vga', 'vmware-svga', 'qxl-vga', 'virtio-vga',
      ];
      expect(devices.filter((d) => !hasDevice(p, d))).toEqual([]);
    } finally {
      if (saved === undefined) delete process.env.QKVM_HOME;
      else process.env.QKVM_HOME = saved;
      rmSync(home, { recursive: true, force: true });
    }
  });
});
