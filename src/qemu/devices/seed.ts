// The cloud-init NoCloud seed as a drive: a read-only CD-ROM, after the
// definition's own disks, on the bus each machine has for one.
import type { Disk } from '../../config/schema.js';
import type { MachineType, Option } from './option.js';

export function seedDisk(machine: MachineType, file: string): Disk {
  const bus = machine === 'q35' ? 'sata' : machine === 'microvm' ? 'scsi' : 'ide';
  return { file, format: 'raw', bus, media: 'cdrom', readonly: true, snapshot: false };
}

/** Adds what the seed is for to the explanation of the options that open and plug it. */
export function explainSeed(options: Option[], file: string): void {
  for (const o of options) {
    if (o.opt === '-blockdev' && o.value?.includes(`filename=${file.replace(/,/g, ',,')}`)) {
      o.explain += '. This is the cloud-init NoCloud seed (an ISO labelled cidata, rebuilt by qkvm when the cloudInit block changes): cloud-init in the guest reads its user, SSH keys, hostname and instance-id from it';
    }
  }
}
