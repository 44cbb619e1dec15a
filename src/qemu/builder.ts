// The pure command-line builder: a VM definition plus host facts in, QEMU's argv
// out. No files, no environment, no clock: the same inputs give the same command,
// for `qkvm start` and for `qkvm cmdline` alike. Devices come in a fixed order.
import { scripts as defaultScripts } from '../config/paths.js';
import { smpOf, type VmSpec } from '../config/schema.js';
import { generateMac } from '../net/mac.js';
import { tapName } from '../net/tapname.js';
import type { HostCaps } from './caps.js';
import { assignTargets } from './devices/block.js';
import { Boot, KernelBoot } from './devices/boot.js';
import { Cpu, Smp } from './devices/cpu.js';
import { Display, Vga } from './devices/display.js';
import { Accel, Machine, Name, NoDefaults, PcieRootPorts } from './devices/machine.js';
import { Memory } from './devices/memory.js';
import { Balloon, Serial, UsbTablet } from './devices/misc.js';
import { GuestAgent } from './devices/agent.js';
import { NetDevice } from './devices/net.js';
import type { Device, Option } from './devices/option.js';
import { Storage } from './devices/block.js';
import { Daemon, Extra, Qmp, RunState } from './devices/runtime.js';
import { Sandbox } from './devices/sandbox.js';

import { explainSeed, seedDisk } from './devices/seed.js';

export type { Option } from './devices/option.js';

/** The per-guest files of a started guest (see config/paths.ts, `run`). */
export interface RunPaths {
  qmpSocket: string;
  serialSocket: string;
  serialLog: string;
  /** The guest agent's socket (used when the definition sets `agent`). */
  agentSocket?: string;
  pidFile: string;
  qemuLog: string;
  /** Where a NIC of type link listens (config/paths.ts run.linkSocket). */
  linkSocket?: (index: number) => string;
}

export interface BuildContext {
  caps: HostCaps;
  /** Present when qkvm starts the guest: -daemonize, -pidfile, -qmp, the serial socket, -D. */
  run?: RunPaths;
  /** -S: create the guest with its CPUs stopped. */
  paused?: boolean;
  /** -incoming: wait for a migration instead of booting. */
  incoming?: string;
  /** Turns a disk's `file` (a path or POOL/VOLUME) into a host path. */
  resolveDisk?: (file: string) => string;
  /** Tap and MAC per NIC, as resolved by net/; when absent they are derived from the name. */
  nics?: { tap?: string; mac: string }[];
  scripts?: { ifup: string; ifdown: string };
  /** Where hugetlbfs is mounted (default /dev/hugepages). */
  hugepagesPath?: string;
  /** The cloud-init seed ISO of a definition with a cloudInit block (src/image/seed.ts `seedFile`). */
  seed?: string;
}

export interface QemuCommand {
  binary: string;
  args: string[];
  options: Option[];
}

/** Q35's spare PCI Express ports for hot-plugged disks and NICs (ids hotplug1..N). */
export const Q35_HOTPLUG_PORTS = 4;

/** The guest's devices in command-line order, not yet validated. */
export function buildDevices(spec: VmSpec, ctx: BuildContext): Device[] {
  const machine = spec.machine;
  const accel = spec.accel === 'auto' ? ctx.caps.accel : spec.accel;
  const accelReason = spec.accel === 'auto'
    ? `accel: auto chose it${ctx.caps.accelReason ? `: ${ctx.caps.accelReason}` : ''}`
    : `accel: ${spec.accel} in the definition`;
  const smp = smpOf(spec);
  const memory = new Memory({
    size: spec.memory,
    numa: spec.numa,
    hugepages: spec.hugepages,
    memMerge: spec.memMerge,
    machine,
    maxcpus: smp.maxcpus,
    hugepagesPath: ctx.hugepagesPath,
    maxMemory: spec.maxMemory,
    slots: spec.memorySlots,
  });
  // The cloud-init seed is one more CD-ROM after the definition's own disks.
  const seed = spec.cloudInit ? seedDisk(machine, ctx.seed ?? 'cidata.iso') : undefined;
  const disks = seed ? [...spec.disks, seed] : spec.disks;
  const targets = assignTargets(disks);
  const storage = new Storage(disks.map((disk, i) => ({
    field: disk === seed ? 'cloudInit' : `disks[${i}]`,
    disk,
    target: targets[i],
    path: disk === seed || !ctx.resolveDisk ? disk.file : ctx.resolveDisk(disk.file),
    machine,
  })), machine);
  const nics = spec.nics.map((nic, i) => new NetDevice({
    field: `nics[${i}]`,
    index: i,
    nic,
    mac: ctx.nics?.[i]?.mac ?? nic.mac ?? generateMac(spec.name, i),
    tap: nic.type === 'network' ? ctx.nics?.[i]?.tap ?? tapName(spec.name, i) : undefined,
    linkSocket: nic.type === 'link' ? ctx.run?.linkSocket?.(i) : undefined,
    scripts: ctx.scripts ?? { ifup: defaultScripts.ifup(), ifdown: defaultScripts.ifdown() },
    machine,
    vhostNet: ctx.caps.vhostNet,
  }));
  return [
    new Name(spec.name),
    new NoDefaults(),
    new Machine({ type: machine, ...memory.machineProps() }),
    new Accel(accel, accelReason),
    new Cpu(spec.cpu, accel),
    new Smp(smp),
    memory,
    new Boot(spec.boot, machine),
    new KernelBoot({ kernel: spec.kernel, initrd: spec.initrd, append: spec.append }, machine),
    new PcieRootPorts(machine === 'q35' ? Q35_HOTPLUG_PORTS : 0),
    storage,
    ...nics,
    new Display(spec.display),
    new Vga(spec.vga, spec.display.type, machine),
    new Balloon(spec.balloon, machine),
    new UsbTablet(spec.tablet, machine),
    new Serial(spec.serial, ctx.run),
    new GuestAgent(spec.agent, machine, ctx.run?.agentSocket),
    ...(ctx.run ? [new Qmp(ctx.run.qmpSocket), new Daemon(ctx.run)] : []),
    new RunState(ctx.paused ?? false, ctx.incoming),
    ...(ctx.caps.sandbox === false ? [] : [new Sandbox()]),
    new Extra(spec.extraArgs),
  ];
}

/** Builds QEMU's command for a parsed definition. Throws QkvmError INVALID naming the field at fault. */
export function buildCommand(spec: VmSpec, ctx: BuildContext): QemuCommand {
  const devices = buildDevices(spec, ctx);
  for (const d of devices) d.validate();
  const options = devices.flatMap((d) => d.toArgs());
  if (spec.cloudInit) explainSeed(options, ctx.seed ?? 'cidata.iso');
  const args = options.flatMap((o) => (o.value === undefined ? [o.opt] : [o.opt, o.value]));
  return { binary: ctx.caps.binary, args, options };
}
