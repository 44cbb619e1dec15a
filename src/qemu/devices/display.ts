// What a person sees of the guest: the display backend (-display none|vnc) and
// the emulated graphics card (-device VGA and friends).
import { invalidField, props, type Device, type MachineType, type Option } from './option.js';

export interface DisplayDef {
  type: 'none' | 'vnc';
  listen: string;
  display: number;
  password: boolean;
}

export class Display implements Device {
  constructor(readonly d: DisplayDef) {}

  /** host:N as -display vnc= takes it; IPv6 addresses go in brackets. */
  get vncAddress(): string {
    const host = this.d.listen.includes(':') ? `[${this.d.listen}]` : this.d.listen;
    return `${host}:${this.d.display}`;
  }

  validate(): void {
    const d = this.d;
    if (d.type !== 'none' && d.type !== 'vnc') throw invalidField('display.type', d.type, 'must be none or vnc');
    if (d.type !== 'vnc') return;
    if (!Number.isInteger(d.display) || d.display < 0 || d.display > 99) throw invalidField('display.display', d.display, 'must be a VNC display number 0-99 (port 5900+N)');
    if (!/^[0-9.]+$|^[0-9a-f:]+$/i.test(d.listen)) throw invalidField('display.listen', d.listen, 'must be an IP address');
  }

  toArgs(): Option[] {
    const d = this.d;
    if (d.type === 'none') {
      return [{ opt: '-display', value: 'none', explain: 'opens no window and no VNC server: the guest runs headless (its screen, if it has a card, is still there for QMP screendump)' }];
    }
    const open = d.listen === '0.0.0.0' || d.listen === '::';
    return [{
      opt: '-display',
      value: props([['vnc', this.vncAddress], ['password', d.password || undefined]]),
      explain: `serves the guest's screen over VNC on ${d.listen} port ${5900 + d.display} (display :${d.display})${open ? ', reachable from other hosts' : ', from this host only'}${d.password ? '; password=on refuses clients until a password is set over QMP (qkvm vnc NAME --password): it never appears on the command line' : ''}`,
    }];
  }
}

export type VgaModel = 'std' | 'cirrus' | 'vmware' | 'qxl' | 'virtio' | 'none';

const VGA: Record<Exclude<VgaModel, 'none'>, { driver: string; says: string }> = {
  std: { driver: 'VGA', says: 'the standard VGA card with Bochs VBE extensions (high resolutions, works with most guests)' },
  cirrus: { driver: 'cirrus-vga', says: 'a Cirrus Logic GD5446 card (for old guests such as Windows 95-XP)' },
  vmware: { driver: 'vmware-svga', says: 'a VMware SVGA-II card (for guests with VMware video drivers)' },
  qxl: { driver: 'qxl-vga', says: 'a QXL paravirtual card (made for SPICE; a VGA card otherwise)' },
  virtio: { driver: 'virtio-vga', says: 'a virtio-gpu card with VGA compatibility (modern Linux guests)' },
};

export class Vga implements Device {
  /** model undefined: a std card when there is a VNC display, none otherwise. */
  constructor(readonly model: VgaModel | undefined, readonly display: DisplayDef['type'], readonly machine: MachineType) {}

  get effective(): VgaModel {
    return this.model ?? (this.display === 'vnc' ? 'std' : 'none');
  }

  validate(): void {
    const m = this.effective;
    if (m !== 'none' && !(m in VGA)) throw invalidField('vga', m, 'must be one of std, cirrus, vmware, qxl, virtio, none');
    if (m !== 'none' && this.machine === 'microvm') {
      throw invalidField(this.model ? 'vga' : 'display.type', this.model ?? this.display, 'the microvm machine has no PCI for a graphics card', 'use display none and the serial console');
    }
  }

  toArgs(): Option[] {
    const m = this.effective;
    if (m === 'none') return [];
    return [{
      opt: '-device',
      value: props([['', VGA[m].driver], ['id', 'video0']]),
      explain: `adds ${VGA[m].says}${this.model ? '' : ', the default card when there is a VNC display'}`,
    }];
  }
}
