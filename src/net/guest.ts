// Hooks the runtime calls around a guest's QEMU process. (Stub: the networking
// work replaces this with real tap files, network start-up and cleanup.)
import type { VmSpec } from '../config/schema.js';
import type { HostCaps } from '../qemu/caps.js';

export interface ResolvedNic { tap?: string; mac: string }

/** Before QEMU starts: make sure each NIC's network is up and write its per-tap file. */
export async function prepareGuestNetworking(name: string, spec: VmSpec, caps: HostCaps): Promise<ResolvedNic[] | undefined> {
  void name; void spec; void caps;
  return undefined;
}

/** After QEMU is gone (clean exit, destroy, or a crash found later): remove what its NICs left. */
export async function releaseGuestNetworking(name: string, spec: VmSpec): Promise<void> {
  void name; void spec;
}
