// The vocabulary shared by every device: one command-line option with its
// plain-English explanation, and the helpers that write QEMU's key=value lists.
import { invalid } from '../../errors.js';

/** One option of the command line: `-opt value`, plus one sentence for learners. */
export interface Option {
  opt: string;
  value?: string;
  explain: string;
}

/** A device kind (after Kata's govmm): checks itself, then renders its options. */
export interface Device {
  /** Throws QkvmError INVALID naming the field and value at fault. */
  validate(): void;
  toArgs(): Option[];
}

/** Which way virtio devices attach: PCI on pc/q35, virtio-mmio on microvm. */
export type Transport = 'pci' | 'mmio';

export type MachineType = 'pc' | 'q35' | 'microvm';

export const transportOf = (machine: MachineType): Transport => (machine === 'microvm' ? 'mmio' : 'pci');

/** virtio-net-pci on PCI machines, virtio-net-device on microvm. */
export const virtioDevice = (kind: string, transport: Transport): string =>
  `virtio-${kind}-${transport === 'pci' ? 'pci' : 'device'}`;

/** QEMU's escape for a comma inside a key=value list is a doubled comma. */
export const escapeValue = (v: string): string => v.replace(/,/g, ',,');

export type Prop = [key: string, value: string | number | boolean | undefined];

/**
 * Renders `key=value,key=value`; undefined values are left out and booleans
 * become on/off. A leading entry with an empty key is written bare (a driver name).
 */
export function props(list: Prop[]): string {
  return list
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => {
      const text = typeof v === 'boolean' ? (v ? 'on' : 'off') : escapeValue(String(v));
      return k === '' ? text : `${k}=${text}`;
    })
    .join(',');
}

/** The INVALID error every validate() throws: `field = "value": reason`. */
export function invalidField(field: string, value: unknown, reason: string, hint?: string) {
  return invalid(`${field} = ${JSON.stringify(value)}: ${reason}`, hint);
}
