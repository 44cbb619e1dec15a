// The guest's processors: -cpu (model) and -smp (how many, in what topology).
import { invalidField, props, type Device, type Option } from './option.js';

export class Cpu implements Device {
  constructor(readonly model: string | undefined, readonly accel: 'kvm' | 'tcg') {}

  validate(): void {
    if (this.model !== undefined && !/^[A-Za-z0-9_.,+=-]+$/.test(this.model)) {
      throw invalidField('cpu', this.model, 'must be a CPU model such as qemu64, max or host');
    }
    if (this.model?.split(',')[0] === 'host' && this.accel !== 'kvm') {
      throw invalidField('cpu', this.model, '-cpu host needs KVM, but this guest runs under TCG', 'use "max" for the most features TCG can emulate');
    }
  }

  toArgs(): Option[] {
    if (this.model === undefined) return [];
    const name = this.model.split(',')[0];
    const explain = name === 'host'
      ? 'gives the guest the host CPU\'s own model and features (KVM only; the guest cannot migrate to a different CPU)'
      : name === 'max'
        ? 'gives the guest every CPU feature this accelerator can provide'
        : `sets the CPU model the guest sees to ${name} (features beyond it are hidden, which keeps migration between hosts safe)`;
    return [{ opt: '-cpu', value: this.model, explain }];
  }
}

export interface SmpInit {
  cpus: number;
  maxcpus: number;
  sockets?: number;
  cores?: number;
  threads?: number;
}

export class Smp implements Device {
  constructor(readonly s: SmpInit) {}

  validate(): void {
    const { cpus, maxcpus, sockets, cores, threads } = this.s;
    for (const [k, v] of Object.entries({ cpus, maxcpus, sockets, cores, threads })) {
      if (v !== undefined && (!Number.isInteger(v) || v < 1)) throw invalidField(`smp.${k}`, v, 'must be a whole number of at least 1');
    }
    if (cpus > maxcpus) throw invalidField('smp.cpus', cpus, `must not exceed maxcpus (${maxcpus})`);
    if (sockets !== undefined || cores !== undefined || threads !== undefined) {
      const topo = (sockets ?? 1) * (cores ?? 1) * (threads ?? 1);
      if (topo !== maxcpus) throw invalidField('smp', this.s, `sockets*cores*threads (${topo}) must equal maxcpus (${maxcpus}): QEMU 7.2 refuses anything else`);
    }
  }

  toArgs(): Option[] {
    const { cpus, maxcpus, sockets, cores, threads } = this.s;
    const value = props([
      ['cpus', cpus],
      ['maxcpus', maxcpus !== cpus ? maxcpus : undefined],
      ['sockets', sockets],
      ['cores', cores],
      ['threads', threads],
    ]);
    let explain = `gives the guest ${cpus} virtual CPU${cpus === 1 ? '' : 's'}`;
    if (maxcpus !== cpus) explain += `, with room to hot-plug up to ${maxcpus}`;
    if (sockets !== undefined || cores !== undefined || threads !== undefined) {
      explain += `, shown to the guest as ${sockets ?? 1} socket(s) x ${cores ?? 1} core(s) x ${threads ?? 1} thread(s)`;
    }
    return [{ opt: '-smp', value, explain }];
  }
}
