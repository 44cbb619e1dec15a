// A guest NIC: both halves, the host side (-netdev tap|user) and the card the
// guest sees (-device virtio-net-pci|e1000|rtl8139). Both take the id netN.
import { normalizeMac, validateMac } from '../../net/mac.js';
import { validateTapName } from '../../net/tapname.js';
import { invalidField, props, transportOf, virtioDevice, type Device, type MachineType, type Option } from './option.js';

export interface NicDef {
  type: 'network' | 'user' | 'link';
  network?: string;
  hostfwd: string[];
  model: 'virtio' | 'e1000' | 'rtl8139';
  vhost: 'auto' | 'on' | 'off';
  /** User-mode options (see the schema): subnet, addresses, PXE. */
  net?: string; host?: string; dhcpstart?: string; dns?: string; tftp?: string; bootfile?: string;
}

const USER_KEYS = ['net', 'host', 'dhcpstart', 'dns', 'tftp', 'bootfile'] as const;

export interface NetDeviceInit {
  /** Where in the definition, for errors: nics[0]. */
  field: string;
  index: number;
  nic: NicDef;
  mac: string;
  /** The host tap for type network. */
  tap?: string;
  /** The UNIX socket QEMU listens on for type link (run.linkSocket): derived, never from the definition. */
  linkSocket?: string;
  scripts?: { ifup: string; ifdown: string };
  machine: MachineType;
  /** /dev/vhost-net is usable on this host. */
  vhostNet: boolean;
}

const MODEL_WORDS: Record<NicDef['model'], string> = {
  virtio: 'a paravirtual virtio-net NIC (fastest; Linux has the driver built in, Windows needs virtio-win)',
  e1000: 'an emulated Intel e1000 NIC (drivers in nearly every OS)',
  rtl8139: 'an emulated Realtek RTL8139 NIC (drivers even in very old guests)',
};

/** netdev and device id of the NIC at this index. */
export const nicId = (index: number) => `net${index}`;

export class NetDevice implements Device {
  constructor(readonly n: NetDeviceInit) {}

  /** The MAC as QEMU gets it: lower case with colons. */
  get mac(): string {
    return normalizeMac(this.n.mac, `${this.n.field}.mac`);
  }

  get id(): string {
    return nicId(this.n.index);
  }

  /** vhost=on is emitted for virtio taps when the host has vhost-net, unless turned off. */
  get vhost(): boolean {
    const { nic, vhostNet } = this.n;
    return nic.type === 'network' && nic.model === 'virtio' && nic.vhost !== 'off' && vhostNet;
  }

  validate(): void {
    const { field, nic, machine } = this.n;
    validateMac(this.n.mac, `${field}.mac`);
    if (machine === 'microvm' && nic.model !== 'virtio') {
      throw invalidField(`${field}.model`, nic.model, 'the microvm machine has no PCI: only virtio NICs (virtio-net-device)');
    }
    if (nic.vhost === 'on') {
      if (nic.type !== 'network') throw invalidField(`${field}.vhost`, nic.vhost, `vhost-net only serves tap NICs, not ${nic.type === 'link' ? 'link NICs' : 'user-mode networking'}`);
      if (nic.model !== 'virtio') throw invalidField(`${field}.vhost`, nic.vhost, `vhost-net only serves virtio NICs, not ${nic.model}`);
      if (!this.n.vhostNet) {
        throw invalidField(`${field}.vhost`, nic.vhost, '/dev/vhost-net is missing on this host', 'modprobe vhost_net, or set vhost: auto to fall back to QEMU\'s own packet path');
      }
    }
    if (nic.type === 'network') {
      if (!nic.network) throw invalidField(`${field}.network`, nic.network, 'a network NIC needs a network name');
      if (this.n.tap === undefined) throw invalidField(`${field}.tap`, this.n.tap, 'a network NIC needs a tap name');
      validateTapName(this.n.tap, `${field}.tap`);
      if (!this.n.scripts) throw invalidField(`${field}.network`, nic.network, 'a network NIC needs the ifup/ifdown scripts');
      if (nic.hostfwd.length) throw invalidField(`${field}.hostfwd`, nic.hostfwd, 'hostfwd only applies to user-mode NICs');
    }
    if (nic.type === 'link') {
      if (nic.network) throw invalidField(`${field}.network`, nic.network, 'a link NIC takes no network name');
      if (nic.hostfwd.length) throw invalidField(`${field}.hostfwd`, nic.hostfwd, 'hostfwd only applies to user-mode NICs');
      // The path reaches QEMU's option parser inside a comma-separated value: it must not carry a comma.
      if (!this.n.linkSocket || !this.n.linkSocket.startsWith('/') || /[,\0]/.test(this.n.linkSocket)) {
        throw invalidField(`${field}.type`, nic.type, `a link NIC needs qkvm's run directory for its socket (got ${JSON.stringify(this.n.linkSocket)})`, 'start the guest with `qkvm start`, or see `qkvm cmdline NAME`');
      }
    }
    for (const [i, f] of nic.hostfwd.entries()) {
      if (!/^(tcp|udp):[0-9.]*:\d{1,5}-[0-9.]*:\d{1,5}$/.test(f)) throw invalidField(`${field}.hostfwd[${i}]`, f, 'must look like tcp:127.0.0.1:2222-:22');
    }
  }

  private netdev(): Option {
    const { nic, tap, scripts } = this.n;
    if (nic.type === 'user') {
      const fwd = nic.hostfwd.map((f) => {
        const [proto, rest] = [f.slice(0, 3), f.slice(4)];
        const [host, guest] = rest.split('-');
        const [haddr, hport] = [host.slice(0, host.lastIndexOf(':')), host.slice(host.lastIndexOf(':') + 1)];
        const gport = guest.slice(guest.lastIndexOf(':') + 1);
        return `${proto} port ${hport} on ${haddr || 'every host address'} to guest port ${gport}`;
      });
      return {
        opt: '-netdev',
        value: [props([['', 'user'], ['id', this.id], ...USER_KEYS.filter((k) => nic[k] !== undefined).map((k) => [k, nic[k]!] as [string, string])]), ...nic.hostfwd.map((f) => `hostfwd=${f}`)].join(','),
        explain: `creates the host side ${this.id} as QEMU's user-mode network (slirp): outgoing NAT through QEMU itself and DHCP (guest ${nic.dhcpstart ?? '10.0.2.15'}${nic.net ? ` on ${nic.net}` : ''}), no root or tap needed${nic.tftp ? `; its TFTP server serves ${nic.tftp}${nic.bootfile ? ` and DHCP offers ${nic.bootfile} for PXE boot` : ''}` : ''}${fwd.length ? `; hostfwd forwards ${fwd.join(', and ')}` : ''}`,
      };
    }
    if (nic.type === 'link') {
      return {
        opt: '-netdev',
        value: props([['', 'stream'], ['id', this.id], ['server', 'on'], ['addr.type', 'unix'], ['addr.path', this.n.linkSocket!]]),
        explain: `creates the host side ${this.id} as one end of a point-to-point link: QEMU listens on the UNIX socket ${this.n.linkSocket} and sends each Ethernet frame to whoever connects (a lab's link relay) with a 4-byte length before it; no tap, bridge or root needed, and frames go nowhere until something connects`,
      };
    }
    let explain = `creates the host side ${this.id} as the tap device ${tap}: QEMU runs ${scripts!.ifup} ${tap} to put it on network "${nic.network}" and ${scripts!.ifdown} when it goes away`;
    if (this.vhost) explain += '; vhost=on moves the packet path into the host kernel (vhost-net): less CPU, lower latency';
    else if (nic.model === 'virtio' && nic.vhost === 'auto') explain += ' (no vhost=on: /dev/vhost-net is missing here, so QEMU moves the packets itself)';
    else if (nic.vhost === 'off' && nic.model === 'virtio') explain += ' (vhost-net turned off in the definition: QEMU moves the packets itself)';
    return {
      opt: '-netdev',
      value: props([['', 'tap'], ['id', this.id], ['ifname', tap], ['script', scripts!.ifup], ['downscript', scripts!.ifdown], ['vhost', this.vhost || undefined]]),
      explain,
    };
  }

  toArgs(): Option[] {
    const { nic, machine } = this.n;
    const mac = this.mac;
    const driver = nic.model === 'virtio' ? virtioDevice('net', transportOf(machine)) : nic.model;
    return [
      this.netdev(),
      {
        opt: '-device',
        value: props([['', driver], ['netdev', this.id], ['mac', mac], ['id', this.id]]),
        explain: `plugs ${MODEL_WORDS[nic.model]} into the guest with MAC address ${mac}, connected to ${this.id}`,
      },
    ];
  }
}
