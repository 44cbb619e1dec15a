// qkvm export NAME --format libvirt|ovf|ova|nomad, and qkvm import FILE: the ways
// out to libvirt, VMware/VirtualBox and Nomad, and the ways in from them.
import type { CommandModule } from 'yargs';
import { action } from './action.js';
import { note, print, printJson, progressBar } from './output.js';

/** One bar per label (one disk at a time), closed when the next one starts. */
function bars() {
  let current: { label: string; bar: ReturnType<typeof progressBar> } | undefined;
  return {
    update(label: string, f: number) {
      if (current?.label !== label) { current?.bar.done(); current = { label, bar: progressBar(label) }; }
      current.bar.update(f);
    },
    done() { current?.bar.done(); current = undefined; },
  };
}

export const interopCommands: CommandModule<any, any>[] = [
  {
    command: 'export <name>',
    describe: 'Write a guest as libvirt domain XML, an OVF directory, an OVA file or a Nomad job',
    builder: (y) => y.positional('name', { type: 'string', demandOption: true, describe: 'guest name' })
      .option('format', { type: 'string', choices: ['libvirt', 'ovf', 'ova', 'nomad'], demandOption: true, describe: 'what to write' })
      .option('o', { alias: 'output', type: 'string', describe: 'libvirt/nomad: a new file (default: stdout); ovf: a new directory (default ./NAME); ova: a new file (default ./NAME.ova)' })
      .option('virt-type', { type: 'string', choices: ['kvm', 'qemu'], describe: 'libvirt: the domain type for accel auto (default kvm; accel tcg is always qemu)' })
      .option('serial-log', { type: 'string', describe: 'libvirt: an absolute path where libvirt\'s QEMU logs the serial console' })
      .option('disk-bus', { type: 'string', choices: ['sata', 'scsi', 'ide'], describe: 'ovf/ova: the controller for virtio disks (OVF has no virtio-blk)' })
      .option('json', { type: 'boolean', default: false, describe: 'nomad: the job as JSON (the HTTP API\'s form) instead of HCL; others: the result as JSON' })
      .option('artifact-base', { type: 'string', describe: 'nomad: the URL the Nomad client downloads the images from (an artifact block per image)' })
      .option('any-address', { type: 'boolean', default: false, describe: 'nomad: accept that the driver\'s port forwards listen on every host address' })
      .option('datacenter', { type: 'string', array: true, describe: 'nomad: datacenters (default dc1)' })
      .example('qkvm export web --format libvirt -o web.xml && virsh define web.xml', 'hand a guest to libvirt')
      .example('qkvm export web --format ova --disk-bus sata', 'web.ova for VirtualBox or VMware')
      .example('qkvm export web --format nomad --artifact-base https://files.example/images', 'a Nomad job (HCL)'),
    handler: action(async (a: any) => {
      const { exportGuest } = await import('../interop/export.js');
      const b = bars();
      const r = await exportGuest(a.name, {
        format: a.format, out: a.o, domainType: a.virtType, serialLog: a.serialLog, diskBus: a.diskBus,
        json: a.format === 'nomad' ? a.json : false, artifactBase: a.artifactBase, anyAddress: a.anyAddress, datacenters: a.datacenter,
        onProgress: (l, f) => b.update(l, f),
      });
      b.done();
      if (r.text !== undefined) process.stdout.write(r.text);
      else if (a.json) printJson(r);
      else for (const f of r.files) print(`wrote ${f}`);
      for (const n of r.notes) note(`note: ${n}`);
    }),
  },
  {
    command: 'import <file>',
    describe: 'Define a guest from libvirt domain XML (virsh dumpxml), an .ovf or an .ova',
    builder: (y) => y.positional('file', { type: 'string', demandOption: true, describe: 'domain XML, .ovf or .ova' })
      .option('name', { type: 'string', describe: 'the new guest\'s name (default: the name in the file)' })
      .option('json', { type: 'boolean', default: false, describe: 'print the result as JSON' })
      .example('virsh dumpxml web > web.xml && qkvm import web.xml', 'take over a libvirt guest (its disks stay where they are)')
      .example('qkvm import appliance.ova --name app', 'VirtualBox/VMware appliance: disks converted to qcow2 in the default pool'),
    handler: action(async (a: any) => {
      const { importFile } = await import('../interop/import.js');
      const b = bars();
      const r = await importFile(a.file, { name: a.name, onProgress: (l, f) => b.update(l, f) });
      b.done();
      if (a.json) return printJson(r);
      for (const i of r.images) print(`image ${i}`);
      print(`guest ${r.name} defined from ${r.kind === 'libvirt' ? 'libvirt domain XML' : r.kind.toUpperCase()}`);
      for (const n of r.notes) note(`note: ${n}`);
      if (r.unmapped.length) {
        note(`not mapped (${r.unmapped.length}):`);
        for (const u of r.unmapped) note(`  ${u}`);
      }
    }),
  },
];
