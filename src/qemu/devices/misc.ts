// The small devices: memory balloon, USB tablet, serial console.
import { props, transportOf, virtioDevice, type Device, type MachineType, type Option } from './option.js';
import { invalidField } from './option.js';

export class Balloon implements Device {
  constructor(readonly enabled: boolean, readonly machine: MachineType) {}

  validate(): void {}

  toArgs(): Option[] {
    if (!this.enabled) return [];
    return [{
      opt: '-device',
      value: props([['', virtioDevice('balloon', transportOf(this.machine))], ['id', 'balloon0']]),
      explain: 'adds a virtio memory balloon, so the host can take memory back from the guest while it runs, and give it back (qkvm balloon)',
    }];
  }
}

export class UsbTablet implements Device {
  constructor(readonly enabled: boolean, readonly machine: MachineType) {}

  validate(): void {
    if (this.enabled && this.machine === 'microvm') {
      throw invalidField('tablet', this.enabled, 'the microvm machine has no PCI for a USB controller');
    }
  }

  toArgs(): Option[] {
    if (!this.enabled) return [];
    return [
      {
        opt: '-device',
        value: props([['', 'qemu-xhci'], ['id', 'xhci']]),
        explain: 'adds a USB 3 (xHCI) controller for the tablet below',
      },
      {
        opt: '-device',
        value: props([['', 'usb-tablet'], ['id', 'tablet0'], ['bus', 'xhci.0']]),
        explain: 'adds a USB tablet: it reports absolute pointer positions, so the mouse over VNC follows the cursor without grabbing',
      },
    ];
  }
}

export interface SerialRun {
  serialSocket: string;
  serialLog: string;
}

export class Serial implements Device {
  /** run undefined: no qkvm-managed socket, so the console goes to QEMU's stdio. */
  constructor(readonly enabled: boolean, readonly run?: SerialRun) {}

  validate(): void {}

  toArgs(): Option[] {
    if (!this.enabled) return [];
    if (!this.run) {
      return [{ opt: '-serial', value: 'stdio', explain: 'connects the guest\'s first serial port (ttyS0, COM1) to this terminal' }];
    }
    const { serialSocket, serialLog } = this.run;
    return [
      {
        opt: '-chardev',
        value: props([['', 'socket'], ['id', 'serial0'], ['path', serialSocket], ['server', true], ['wait', false], ['logfile', serialLog], ['logappend', true]]),
        explain: `creates a character device serial0: a UNIX socket that QEMU listens on without waiting for a client (qkvm console connects to it), with everything written to it also appended to ${serialLog}`,
      },
      {
        opt: '-serial',
        value: 'chardev:serial0',
        explain: 'connects the guest\'s first serial port (ttyS0, COM1) to serial0',
      },
    ];
  }
}
