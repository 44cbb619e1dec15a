// The guest's identity and the board it is built on: -name, -nodefaults, -machine, -accel.
import { validateName } from '../../config/schema.js';
import { invalidField, props, type Device, type MachineType, type Option } from './option.js';

export class Name implements Device {
  constructor(readonly name: string) {}

  validate(): void {
    validateName(this.name);
  }

  toArgs(): Option[] {
    return [{
      opt: '-name',
      value: props([['', this.name], ['debug-threads', true]]),
      explain: `names the guest "${this.name}" (in ps and QMP), and debug-threads=on names each vCPU thread ("CPU 0/TCG", "CPU 1/KVM"...) so its host thread can be found and pinned`,
    }];
  }
}

export class NoDefaults implements Device {
  validate(): void {}

  toArgs(): Option[] {
    return [{
      opt: '-nodefaults',
      explain: 'starts from an empty board: no default VGA card, NIC, CD-ROM, floppy, serial or parallel port, so every device below is one that was asked for',
    }];
  }
}

const MACHINE_EXPLAIN: Record<MachineType, string> = {
  pc: 'emulates a classic i440FX + PIIX PC (1996 chipset, PCI, IDE): the most compatible board, even for old guests',
  q35: 'emulates a Q35 + ICH9 PC (PCI Express, AHCI SATA built in): the modern board for current guests',
  microvm: 'emulates a minimal board without PCI or firmware: devices are virtio-mmio, it boots a Linux kernel directly and fast',
};

export interface MachineInit {
  type: MachineType;
  /** KSM page merging; set on the machine only when no memory backend carries it. */
  memMerge?: boolean;
  /** id of the -object memory-backend-* that holds all guest RAM (without NUMA). */
  memoryBackend?: string;
}

export class Machine implements Device {
  constructor(readonly m: MachineInit) {}

  validate(): void {
    if (!['pc', 'q35', 'microvm'].includes(this.m.type)) {
      throw invalidField('machine', this.m.type, 'must be one of pc, q35, microvm');
    }
  }

  toArgs(): Option[] {
    let explain = MACHINE_EXPLAIN[this.m.type];
    if (this.m.memMerge !== undefined) {
      explain += `; mem-merge=${this.m.memMerge ? 'on lets' : 'off stops'} the host's KSM ${this.m.memMerge ? 'merge' : 'from merging'} identical guest pages`;
    }
    if (this.m.memoryBackend) explain += `; memory-backend=${this.m.memoryBackend} takes guest RAM from the -object of that id`;
    return [{
      opt: '-machine',
      value: props([['', this.m.type], ['mem-merge', this.m.memMerge], ['memory-backend', this.m.memoryBackend]]),
      explain,
    }];
  }
}

export class Accel implements Device {
  constructor(readonly accel: 'kvm' | 'tcg', readonly reason?: string) {}

  validate(): void {
    if (this.accel !== 'kvm' && this.accel !== 'tcg') throw invalidField('accel', this.accel, 'must be kvm or tcg once resolved');
  }

  toArgs(): Option[] {
    const what = this.accel === 'kvm'
      ? 'runs guest code directly on the host CPU through /dev/kvm (hardware virtualization: near native speed)'
      : 'runs guest code through TCG, QEMU\'s software translator: slower than KVM but works on any host';
    return [{ opt: '-accel', value: this.accel, explain: what + (this.reason ? ` (${this.reason})` : '') }];
  }
}

/**
 * Spare PCI Express root ports on q35. Its root bus takes no hot-plugged devices,
 * so `device_add` (disk and NIC attach) needs a free port; ids hotplug1, hotplug2...
 */
export class PcieRootPorts implements Device {
  constructor(readonly count: number) {}

  validate(): void {}

  toArgs(): Option[] {
    return Array.from({ length: this.count }, (_, i) => ({
      opt: '-device',
      value: props([['', 'pcie-root-port'], ['id', `hotplug${i + 1}`], ['chassis', i + 1]]),
      explain: `adds an empty PCI Express root port (hotplug${i + 1}) so a disk or NIC can be plugged in while the guest runs: q35's root bus itself takes no hot-plugged devices`,
    }));
  }
}
