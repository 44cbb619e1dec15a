// What an exporter refuses and what it notes. A field a format cannot express is
// refused (exit 2, naming the field), never dropped; a host-side setting that has
// no meaning in the other tool is named in a note. Importers list what they left.
import { invalid } from '../errors.js';

export interface Refusal { field: string; why: string }

export class Findings {
  readonly refused: Refusal[] = [];
  readonly notes: string[] = [];

  refuse(field: string, why: string): void { this.refused.push({ field, why }); }
  note(line: string): void { this.notes.push(line); }

  /** Throws INVALID listing every refused field, so one run shows them all. */
  check(what: string, hint: string): void {
    if (!this.refused.length) return;
    const lines = this.refused.map((r) => `  ${r.field}: ${r.why}`).join('\n');
    throw invalid(`${what}:\n${lines}`, hint);
  }
}

/** The definition's fields as of this exporter: a field added later must be mapped here before it can be exported. */
export const KNOWN_FIELDS = ['name', 'memory', 'maxMemory', 'memorySlots', 'cpu', 'smp', 'machine', 'accel', 'boot', 'kernel', 'initrd', 'append',
  'disks', 'nics', 'display', 'vga', 'balloon', 'tablet', 'serial', 'numa', 'hugepages', 'memMerge', 'autostart', 'vcpupin', 'extraArgs', 'description', 'agent'] as const;

const isSet = (v: unknown) => v !== undefined && v !== false && !(Array.isArray(v) && !v.length) && !(v && typeof v === 'object' && !Array.isArray(v) && !Object.keys(v).length);

/**
 * Refuses a set field that this exporter does not know (one added to the
 * definition after it was written), and a NIC type it does not know, so that
 * nothing is dropped silently.
 */
export function refuseUnknown(f: Findings, spec: object, format: string): void {
  for (const [k, v] of Object.entries(spec)) {
    if (!(KNOWN_FIELDS as readonly string[]).includes(k) && isSet(v)) f.refuse(k, `the ${format} export does not map this field yet`);
  }
  for (const [i, n] of ((spec as { nics?: { type?: string }[] }).nics ?? []).entries()) {
    if (n.type !== 'user' && n.type !== 'network') f.refuse(`nics[${i}].type`, `a ${n.type} NIC has no ${format} form in this exporter`);
  }
}
