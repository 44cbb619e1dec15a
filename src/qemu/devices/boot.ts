// How the guest starts: the firmware's boot order (-boot), or a Linux kernel
// loaded directly by QEMU (-kernel, -initrd, -append).
import { invalidField, props, type Device, type MachineType, type Option } from './option.js';

const DEVICE_WORDS: Record<string, string> = { a: 'floppy', c: 'first disk', d: 'CD-ROM', n: 'network (PXE)' };
const words = (letters: string) => letters.split('').map((l) => DEVICE_WORDS[l]).join(', then ');

export interface BootInit {
  order?: string;
  once?: string;
  menu?: boolean;
}

export class Boot implements Device {
  constructor(readonly b: BootInit | undefined, readonly machine: MachineType) {}

  validate(): void {
    if (!this.b) return;
    for (const k of ['order', 'once'] as const) {
      const v = this.b[k];
      if (v !== undefined && !/^[a-dn]{1,4}$/.test(v)) throw invalidField(`boot.${k}`, v, 'must be letters of a (floppy) c (disk) d (cdrom) n (network)');
    }
    if (this.machine === 'microvm' && (this.b.order || this.b.once || this.b.menu !== undefined)) {
      throw invalidField('boot', this.b, 'the microvm machine has no firmware boot order: it always boots its kernel');
    }
  }

  toArgs(): Option[] {
    const b = this.b;
    if (!b || (b.order === undefined && b.once === undefined && b.menu === undefined)) return [];
    const parts: string[] = [];
    if (b.order) parts.push(`tries ${words(b.order)}`);
    if (b.once) parts.push(`for the first boot only tries ${words(b.once)} (a reboot goes back to the order)`);
    if (b.menu !== undefined) parts.push(b.menu ? 'shows the firmware\'s boot menu (press Esc)' : 'hides the firmware\'s boot menu');
    return [{
      opt: '-boot',
      value: props([['order', b.order], ['once', b.once], ['menu', b.menu]]),
      explain: `sets the firmware's boot order: ${parts.join('; ')}`,
    }];
  }
}

export interface KernelBootInit {
  kernel?: string;
  initrd?: string;
  append?: string;
}

export class KernelBoot implements Device {
  constructor(readonly k: KernelBootInit, readonly machine: MachineType) {}

  validate(): void {
    if ((this.k.initrd !== undefined || this.k.append !== undefined) && this.k.kernel === undefined) {
      throw invalidField(this.k.initrd !== undefined ? 'initrd' : 'append', this.k.initrd ?? this.k.append, 'needs a kernel');
    }
    if (this.machine === 'microvm' && !this.k.kernel) {
      throw invalidField('kernel', this.k.kernel, 'the microvm machine has no firmware boot: it needs a kernel');
    }
  }

  toArgs(): Option[] {
    const out: Option[] = [];
    if (this.k.kernel) out.push({ opt: '-kernel', value: this.k.kernel, explain: 'loads this Linux kernel directly into the guest and starts it, skipping the firmware\'s disk boot' });
    if (this.k.initrd) out.push({ opt: '-initrd', value: this.k.initrd, explain: 'hands the kernel this initial RAM disk (its first root file system)' });
    if (this.k.append !== undefined) out.push({ opt: '-append', value: this.k.append, explain: 'sets the kernel command line' });
    return out;
  }
}
