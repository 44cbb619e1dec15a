// The QEMU guest agent's channel: a virtio-serial controller, a UNIX-socket
// chardev in the guest's run directory, and the port qemu-ga looks for by name.
import { invalidField, props, transportOf, virtioDevice, type Device, type MachineType, type Option } from './option.js';

/** The port name qemu-ga opens inside the guest (/dev/virtio-ports/org.qemu.guest_agent.0). */
export const AGENT_PORT_NAME = 'org.qemu.guest_agent.0';

export class GuestAgent implements Device {
  /** socket undefined: no qkvm-managed run directory (a displayed command), so no channel. */
  constructor(readonly enabled: boolean, readonly machine: MachineType, readonly socket?: string) {}

  validate(): void {
    if (this.enabled && this.socket === '') throw invalidField('run.agentSocket', this.socket, 'must be a path');
  }

  toArgs(): Option[] {
    if (!this.enabled || this.socket === undefined) return [];
    return [
      {
        opt: '-device',
        value: props([['', virtioDevice('serial', transportOf(this.machine))], ['id', 'virtio-serial0']]),
        explain: 'adds a virtio-serial controller: a bus of named byte channels between host and guest, which the guest agent\'s port sits on',
      },
      {
        opt: '-chardev',
        value: props([['', 'socket'], ['id', 'qga0'], ['path', this.socket], ['server', true], ['wait', false]]),
        explain: `creates a character device qga0: a UNIX socket that QEMU listens on without waiting for a client; qkvm agent connects to it and speaks the guest agent's JSON protocol (QGA)`,
      },
      {
        opt: '-device',
        value: props([['', 'virtserialport'], ['bus', 'virtio-serial0.0'], ['chardev', 'qga0'], ['name', AGENT_PORT_NAME]]),
        explain: `adds the port named ${AGENT_PORT_NAME} on that bus, joined to qga0: qemu-ga in the guest opens it by that name, and answers ping, exec, fsfreeze, shutdown and the like`,
      },
    ];
  }
}
