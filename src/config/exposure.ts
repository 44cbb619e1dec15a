// Settings that expose a guest to the network, worth a warning at define and at
// start: VNC on a public address without a password, hostfwd on every address.
import type { VmSpec } from './schema.js';

/** 127.0.0.0/8 and ::1: only this host can connect. */
export function isLoopback(addr: string): boolean {
  return /^127\.\d+\.\d+\.\d+$/.test(addr) || addr === '::1' || addr === 'localhost';
}

const ALL_ADDRESSES = ['', '0.0.0.0', '::', '[::]'];

/** One line per exposure, each naming the field and the value and saying what to do. */
export function exposureWarnings(spec: Pick<VmSpec, 'name' | 'display' | 'nics'>): string[] {
  const out: string[] = [];
  const d = spec.display;
  if (d?.type === 'vnc' && !isLoopback(d.listen) && !d.password) {
    out.push(`guest "${spec.name}": VNC listens on ${d.listen}:${5900 + d.display} (display.listen ${d.listen}) with no password: anyone who can reach that port controls the guest's screen and keyboard; `
      + `set display.listen: 127.0.0.1 (and use an SSH tunnel), or display.password: true and \`qkvm vnc ${spec.name} --password\``);
  }
  for (const [i, nic] of (spec.nics ?? []).entries()) {
    for (const rule of nic.hostfwd ?? []) {
      const m = /^(tcp|udp):([^:]*):(\d+)-/.exec(rule);
      if (m && ALL_ADDRESSES.includes(m[2])) {
        out.push(`guest "${spec.name}": nics[${i}].hostfwd "${rule}" forwards ${m[1]} port ${m[3]} on every address of this host into the guest; `
          + `write ${m[1]}:127.0.0.1:${m[3]}-${rule.slice(rule.indexOf('-') + 1)} to keep it to this host`);
      }
    }
  }
  return out;
}
