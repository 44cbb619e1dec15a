// Work done over QMP after QEMU is up and before the vCPUs run (they start with -S).
// A feature that needs such a step (vCPU pinning, overcommit warnings) adds its
// hook to the list below.
import type { VmSpec } from '../config/schema.js';
import type { QmpClient } from '../qmp/index.js';
import { overcommitHook, vcpupinHook } from './vcpu.js';

export type LaunchHook = (name: string, spec: VmSpec, qmp: QmpClient, note?: (line: string) => void) => Promise<void>;

const hooks: LaunchHook[] = [vcpupinHook, overcommitHook];

export async function afterLaunchHooks(name: string, spec: VmSpec, qmp: QmpClient, note?: (line: string) => void): Promise<void> {
  for (const h of hooks) await h(name, spec, qmp, note);
}
