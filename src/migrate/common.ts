// What save, restore and live migration share: the definition a running guest
// was started from, made self-contained (resolved MACs kept, so that the
// guest's NICs keep their addresses wherever it lands).
import { readFileSync } from 'node:fs';
import { run } from '../config/paths.js';
import type { VmSpec } from '../config/schema.js';
import { QkvmError } from '../errors.js';
import { requireActive, startedSpec, type GuestStatus } from '../runtime/state.js';

export function portableSpec(name: string): VmSpec {
  const s = startedSpec(name);
  if (!s) throw new QkvmError('STATE', `guest "${name}": its started definition (spec.json) is missing`);
  const { _nics, ...spec } = s;
  return { ...spec, nics: spec.nics.map((n, i) => ({ ...n, mac: n.mac ?? _nics?.[i]?.mac })) } as VmSpec;
}

export async function requireMigratable(name: string): Promise<GuestStatus> {
  const st = await requireActive(name);
  if (st.state === 'incoming') throw new QkvmError('STATE', `guest "${name}" is itself waiting for an incoming migration`);
  if (st.state === 'starting' || st.state === 'shutting down') throw new QkvmError('STATE', `guest "${name}" is ${st.state}`);
  return st;
}

/** The last lines of the guest's qemu.log: why QEMU failed or exited. */
export function qemuLogTail(name: string, lines = 5): string {
  try {
    return readFileSync(run.qemuLog(name), 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch { return ''; }
}
