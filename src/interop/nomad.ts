// A Nomad job for the qemu task driver, as a pure function. It follows the
// driver's documented task configuration (developer.hashicorp.com/nomad/docs/drivers/qemu,
// and the driver source drivers/qemu/driver.go: image_path, drive_interface,
// accelerator, graceful_shutdown, guest_agent, args, port_map). The driver
// makes the QEMU command itself: -machine type=pc,accel=..., -m from the task's
// memory, one -drive for image_path, -nographic, and, for mapped ports, one
// `-netdev user` with a virtio-net NIC forwarding each port for tcp and udp.
// What a qkvm guest has beyond that goes into `args`, or is refused.
import type { VmSpec } from '../config/schema.js';
import { parseSize } from '../config/size.js';
import { smpOf } from '../config/smp.js';
import { formatOf } from '../qemu/devices/block.js';
import { Findings, refuseUnknown } from './findings.js';

/** The driver's task config keys (drivers/qemu/driver.go taskConfigSpec). */
export const NOMAD_QEMU_CONFIG_KEYS = ['image_path', 'drive_interface', 'accelerator', 'graceful_shutdown', 'guest_agent', 'args', 'port_map'] as const;
/** drive_interface values the driver accepts (allowedDriveInterfaces). */
export const NOMAD_DRIVE_INTERFACES = ['ide', 'scsi', 'sd', 'mtd', 'floppy', 'pflash', 'virtio', 'none'] as const;

export interface NomadOptions {
  /** Datacenters the job may run in (default ["dc1"]). */
  datacenters?: string[];
  /** Where the Nomad client downloads the disk images from (go-getter URL of the directory holding them); without it, no artifact blocks. */
  artifactBase?: string;
  /** Accept that Nomad's forwards listen on every host address (qkvm's hostfwd may bind one). */
  anyAddress?: boolean;
}

export interface NomadPort { label: string; host: number; guest: number }

export interface NomadJob {
  Job: {
    ID: string; Name: string; Type: 'service'; Datacenters: string[];
    TaskGroups: {
      Name: string; Count: 1;
      Networks?: { ReservedPorts: { Label: string; Value: number }[] }[];
      Tasks: {
        Name: string; Driver: 'qemu';
        Config: { image_path: string; drive_interface: string; accelerator: 'kvm' | 'tcg'; graceful_shutdown: boolean; guest_agent: boolean; args: string[]; port_map?: Record<string, number>[] };
        Resources: { CPU: number; MemoryMB: number };
        Artifacts?: { GetterSource: string; RelativeDest: string }[];
        KillTimeout: number;
      }[];
    }[];
  };
}

const local = (path: string) => `local/${path.split('/').pop()}`;

/** The job, and notes on what did not carry over. Throws INVALID naming every field Nomad's qemu driver cannot take. */
export function toNomad(spec: VmSpec, diskPath: (file: string) => string, o: NomadOptions = {}): { job: NomadJob; notes: string[] } {
  const f = new Findings();
  refuseUnknown(f, spec, 'Nomad');
  const smp = smpOf(spec);
  if (!spec.disks.length || spec.disks[0].media !== 'disk') f.refuse('disks[0]', 'Nomad\'s qemu driver needs image_path: the guest\'s first disk must be a hard disk');
  if (spec.machine !== 'pc') f.refuse('machine', 'the driver always runs -machine type=pc');
  if (spec.extraArgs.length) f.refuse('extraArgs', 'raw arguments are not carried: write them into the job\'s args yourself, if the client\'s args_allowlist lets them');
  if (spec.nics.length > 1) f.refuse('nics', 'the driver makes exactly one user-mode NIC');
  const ports: NomadPort[] = [];
  for (const [i, n] of spec.nics.entries()) {
    if (n.type !== 'user') f.refuse(`nics[${i}].type`, `a tap on qkvm network "${n.network}": the driver has user-mode networking only`);
    if (n.model !== 'virtio') f.refuse(`nics[${i}].model`, 'the driver\'s NIC is always virtio-net');
    if (n.mac) f.refuse(`nics[${i}].mac`, 'the driver gives the NIC QEMU\'s default MAC');
    for (const k of ['net', 'host', 'dhcpstart', 'dns', 'tftp', 'bootfile'] as const) if (n[k] !== undefined) f.refuse(`nics[${i}].${k}`, 'the driver\'s -netdev user takes only port forwards and DNS from Nomad');
    for (const h of n.hostfwd) {
      const m = /^(tcp|udp):([0-9.]*):(\d+)-[0-9.]*:(\d+)$/.exec(h)!;
      if (m[2] && !o.anyAddress) f.refuse(`nics[${i}].hostfwd`, `${h} listens on ${m[2]} only; Nomad's forward listens on every address (say --any-address to accept that)`);
      if (ports.some((p) => p.guest === Number(m[4]))) continue; // the driver forwards tcp and udp of each port anyway
      ports.push({ label: `${m[1]}${m[3]}`, host: Number(m[3]), guest: Number(m[4]) });
      if (m[1] === 'tcp') f.note(`nics[${i}].hostfwd ${h}: the driver forwards udp of that port too`);
    }
  }
  if (ports.length && !spec.nics.length) f.refuse('nics', 'ports need a NIC');
  if (spec.nics.length && !ports.length) f.note('nics[0]: the driver adds its NIC only when the job maps a port; this guest has no hostfwd, so it runs without one');
  for (const [i, d] of spec.disks.entries()) {
    if (d.snapshot) f.refuse(`disks[${i}].snapshot`, 'throwaway writes (snapshot=on) would need raw -drive options');
    if (d.hostDevice) f.refuse(`disks[${i}].hostDevice`, 'Nomad ships disk images as artifacts, not host devices');
    if (i > 0 && !['virtio', 'ide', 'scsi'].includes(d.bus)) f.refuse(`disks[${i}].bus`, 'extra disks go through -drive if=, which has no sata');
  }
  const first = spec.disks[0];
  if (first && first.bus === 'sata') f.refuse('disks[0].bus', 'drive_interface has no sata');
  if (first && first.bus === 'scsi') f.refuse('disks[0].bus', 'drive_interface scsi is QEMU\'s lsi controller, not qkvm\'s virtio-scsi');
  if (spec.display.password) f.refuse('display.password', 'the password is set over QMP, which the driver does not offer');
  if (spec.numa.length) f.refuse('numa', 'the driver sets -m itself; NUMA nodes would need to match it through raw args');
  if (spec.maxMemory) f.refuse('maxMemory', 'the driver sets -m itself, without maxmem');
  if (spec.hugepages) f.refuse('hugepages', 'the driver sets the memory backend itself');
  const mb = Math.ceil(parseSize(spec.memory, 'memory', 'M') / 1024 ** 2);
  if (mb < 128) f.refuse('memory', 'the driver refuses less than 128 MB');
  f.check(`guest "${spec.name}" cannot be written as a Nomad qemu job`, 'change those fields, or write the job by hand from the output of `qkvm cmdline`');

  const args: string[] = [];
  if (smp.cpus !== 1 || smp.maxcpus !== 1) {
    const topo = [`cpus=${smp.cpus}`, `maxcpus=${smp.maxcpus}`, ...(smp.sockets ? [`sockets=${smp.sockets}`] : []), ...(smp.cores ? [`cores=${smp.cores}`] : []), ...(smp.threads ? [`threads=${smp.threads}`] : [])];
    args.push('-smp', topo.join(','));
  }
  if (spec.cpu) args.push('-cpu', spec.cpu);
  if (spec.kernel) args.push('-kernel', local(spec.kernel));
  if (spec.initrd) args.push('-initrd', local(spec.initrd));
  if (spec.append !== undefined) args.push('-append', spec.append);
  if (spec.boot?.order || spec.boot?.menu !== undefined) args.push('-boot', [spec.boot.order && `order=${spec.boot.order}`, spec.boot.menu !== undefined && `menu=${spec.boot.menu ? 'on' : 'off'}`].filter(Boolean).join(','));
  for (const d of spec.disks.slice(1)) {
    const p = diskPath(d.file);
    args.push('-drive', [`file=${local(p)}`, `format=${formatOf({ file: p, format: d.format })}`, `if=${d.bus === 'scsi' ? 'scsi' : d.bus}`, ...(d.media === 'cdrom' ? ['media=cdrom'] : []), ...(d.readonly ? ['readonly=on'] : []), ...(d.cache ? [`cache=${d.cache}`] : [])].join(','));
  }
  if (spec.balloon) args.push('-device', 'virtio-balloon-pci');
  if (spec.display.type === 'vnc') args.push('-vnc', `${spec.display.listen}:${spec.display.display}`);

  if (first?.format === undefined && first) f.note('disks[0]: the driver opens image_path without format=, so QEMU probes it (give the artifact a .qcow2 name)');
  if (first?.readonly) f.note('disks[0]: image_path is always opened writable by the driver');
  if (spec.serial) f.note('serial: the driver runs -nographic, so the serial console goes to the task\'s stdout log');
  if (spec.vcpupin) f.note('vcpupin: not carried; Nomad pins with its own cpuset (resources.cores)');
  if (spec.tablet || spec.vga) f.note('tablet, vga: not carried (the driver runs -nographic)');
  if (spec.autostart) f.note('autostart: a Nomad service job is restarted by Nomad itself');
  f.note('not carried: taps and qkvm networks, snapshots, save/restore and migration (Nomad reschedules a job; it does not move a running guest)');

  const mainImage = first ? local(diskPath(first.file)) : '';
  const sources = [...spec.disks.map((d) => diskPath(d.file)), ...(spec.kernel ? [spec.kernel] : []), ...(spec.initrd ? [spec.initrd] : [])];
  const artifacts = o.artifactBase ? sources.map((p) => ({ GetterSource: `${o.artifactBase!.replace(/\/$/, '')}/${p.split('/').pop()}`, RelativeDest: 'local/' })) : undefined;
  if (!o.artifactBase) f.note(`no --artifact-base: add an artifact block for each image (${sources.map((p) => p.split('/').pop()).join(', ')}) before running the job`);
  const agent = (spec as { agent?: boolean }).agent === true;

  const job: NomadJob = {
    Job: {
      ID: spec.name, Name: spec.name, Type: 'service', Datacenters: o.datacenters ?? ['dc1'],
      TaskGroups: [{
        Name: spec.name, Count: 1,
        ...(ports.length ? { Networks: [{ ReservedPorts: ports.map((p) => ({ Label: p.label, Value: p.host })) }] } : {}),
        Tasks: [{
          Name: spec.name, Driver: 'qemu',
          Config: {
            image_path: mainImage,
            drive_interface: first?.bus ?? 'virtio',
            accelerator: spec.accel === 'tcg' ? 'tcg' : 'kvm',
            graceful_shutdown: true,
            guest_agent: agent,
            args,
            ...(ports.length ? { port_map: [Object.fromEntries(ports.map((p) => [p.label, p.guest]))] } : {}),
          },
          Resources: { CPU: 500 * smp.cpus, MemoryMB: mb },
          ...(artifacts ? { Artifacts: artifacts } : {}),
          KillTimeout: 30_000_000_000,
        }],
      }],
    },
  };
  return { job, notes: f.notes };
}

const q = (s: string) => JSON.stringify(s).replace(/\$\{/g, () => '$${').replace(/%\{/g, () => '%%{');
const hclValue = (v: unknown): string => (typeof v === 'string' ? q(v) : Array.isArray(v) ? `[${v.map(hclValue).join(', ')}]` : String(v));

/** The job as HCL2, the form `nomad job run` takes. Strings are quoted with ${ and %{ escaped, so nothing interpolates. */
export function nomadHcl(job: NomadJob): string {
  const j = job.Job;
  const g = j.TaskGroups[0];
  const t = g.Tasks[0];
  const L: string[] = [];
  L.push(`job ${q(j.ID)} {`, `  datacenters = ${hclValue(j.Datacenters)}`, `  type        = "service"`, '', `  group ${q(g.Name)} {`, `    count = 1`);
  if (g.Networks) {
    L.push('', '    network {');
    for (const p of g.Networks[0].ReservedPorts) L.push(`      port ${q(p.Label)} {`, `        static = ${p.Value}`, '      }');
    L.push('    }');
  }
  L.push('', `    task ${q(t.Name)} {`, `      driver       = "qemu"`, `      kill_timeout = "30s"`, '', '      config {');
  const c = t.Config;
  L.push(`        image_path        = ${q(c.image_path)}`, `        drive_interface   = ${q(c.drive_interface)}`, `        accelerator       = ${q(c.accelerator)}`,
    `        graceful_shutdown = ${c.graceful_shutdown}`, `        guest_agent       = ${c.guest_agent}`, `        args              = ${hclValue(c.args)}`);
  if (c.port_map) {
    L.push('', '        port_map {');
    for (const [k, v] of Object.entries(c.port_map[0])) L.push(`          ${k} = ${v}`);
    L.push('        }');
  }
  L.push('      }', '', '      resources {', `        cpu    = ${t.Resources.CPU}`, `        memory = ${t.Resources.MemoryMB}`, '      }');
  for (const a of t.Artifacts ?? []) L.push('', '      artifact {', `        source      = ${q(a.GetterSource)}`, `        destination = ${q(a.RelativeDest)}`, '      }');
  L.push('    }', '  }', '}');
  return L.join('\n') + '\n';
}
