// Host capabilities for a start: which binary, which accelerator, vhost-net.
import { accessSync, constants } from 'node:fs';
import type { HostCaps } from '../qemu/caps.js';
import { probeQemu } from '../qemu/probe.js';
import { probeKvm } from '../host/kvm-probe.js';
import { QkvmError } from '../errors.js';

export const qemuBinary = () => process.env.QKVM_QEMU ?? 'qemu-system-x86_64';

export function hasVhostNet(): boolean {
  try {
    accessSync('/dev/vhost-net', constants.R_OK | constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/** Resolves `accel` for this host; `note` receives the one line that says why TCG was chosen. */
export async function resolveCaps(accel: 'auto' | 'kvm' | 'tcg', note?: (line: string) => void): Promise<HostCaps> {
  const binary = qemuBinary();
  let probe;
  try {
    probe = await probeQemu(binary);
  } catch (e) {
    throw new QkvmError('HOST', `cannot run ${binary}: ${(e as Error).message}`, {
      hint: 'install QEMU: `bash scripts/setup-host.sh` (or apt-get install qemu-system-x86)', cause: e,
    });
  }
  const base = { binary, version: probe.version, vhostNet: hasVhostNet() };
  if (accel === 'tcg') return { ...base, accel: 'tcg', accelReason: 'the definition asks for TCG' };
  const verdict = await probeKvm(binary, probe.version);
  if (accel === 'kvm') {
    if (!verdict.usable) note?.(`warning: accel is kvm, but ${verdict.reason}`);
    return { ...base, accel: 'kvm', accelReason: 'the definition asks for KVM' };
  }
  if (verdict.usable) return { ...base, accel: 'kvm', accelReason: verdict.reason };
  note?.(`using TCG (software emulation): ${verdict.reason}`);
  return { ...base, accel: 'tcg', accelReason: verdict.reason };
}
