// `qkvm virt-install`: virt-install's own flags, as tutorials write them. Its
// argv is read by src/tutorial/virt-install.ts (not yargs: virt-install's
// grammar has short options, optional values and option lists yargs would
// misread); this file prints, and attaches the console as virt-install does.
import type { CommandModule } from 'yargs';
import { action } from './action.js';
import { note, print, warn } from './output.js';

export const VIRT_INSTALL_HELP = `Usage: qkvm virt-install --name NAME [virt-install options]

Defines AND starts a guest from virt-install's flags, as tutorials write them
(--flag=value and --flag value both work; so does an en dash typed for --).

  -n, --name NAME             guest name (required)
  -r, --ram MiB / --memory MiB[,maxmemory=]      memory in MiB
  --vcpus N[,maxvcpus=,sockets=,cores=,threads=] vCPUs and topology
  --cpu host|host-passthrough|MODEL              (host* -> QEMU's "max")
  -c, --cdrom ISO             boot an installer ISO (first boot only, then the disk)
  -l, --location ISO|DIR      boot the kernel+initrd found in an ISO (read with
                              xorriso) or a tree (casper/, install.amd/, images/pxeboot/...)
  -x, --extra-args "ARGS"     kernel command line, with --location (e.g. console=ttyS0)
  --pxe | --import            network boot | boot an existing disk
  --boot cdrom,hd,network | --boot kernel=PATH,initrd=PATH,kernel_args="..."
  --os-variant NAME           device defaults (virtio for modern Linux; sata+e1000
                              for Windows 7+; ide+rtl8139 for XP); unknown -> noted
  --disk PATH | path=FILE,size=GiB[,format=qcow2|raw,bus=virtio|ide|sata|scsi,
         device=disk|cdrom,perms=ro|sh|rw,cache=MODE,sparse=yes|no]
  --disk pool=NAME,size=GiB | --disk vol=POOL/VOL | --nodisks
  --network network=NAME|bridge=BR|user|none[,model=virtio|e1000|rtl8139,mac=]
  -w, --bridge BR | --nonetworks
  --graphics vnc[,listen=,port=,password=]|spice|none, --nographics, --vnc,
  --vncport N, --vnclisten ADDR  (VNC listens on 127.0.0.1 unless told)
  --noautoconsole             do not attach the serial console after start
  --serial pty, --console pty, --video MODEL, --virt-type kvm|qemu,
  --accelerate, --hvm, --autostart, --description TEXT
  --print-xml                 print the qkvm definition (YAML) and define nothing
  --dry-run                   check everything, create nothing
  --force, -d/--debug, --connect qemu:///system   (notes: see docs/tutorials.md)

Without --noautoconsole, on a terminal the serial console is attached (Ctrl-]
detaches); without a terminal qkvm prints how to attach and returns.
A flag that means nothing here is named in a one-line note; an unknown flag is
an error (exit 2). A VNC password is set over QMP after start, never on QEMU's
command line.

Examples:
  qkvm virt-install --name=web --ram 2048 --vcpus 2 \\
      --disk path=/var/lib/libvirt/images/web.qcow2,size=20 \\
      --cdrom /var/lib/libvirt/images/debian-12.iso --os-variant debian12
  qkvm virt-install -n deb -r 1024 --location debian-12-netinst.iso \\
      --extra-args "console=ttyS0" --graphics none --disk size=8
  qkvm virt-install --name old --memory 512 --import --disk old.qcow2 --noautoconsole
  qkvm virt-install --name lab --ram 512 --pxe --network network=default --nodisks --print-xml
`;

/** `qkvm virt-install ARGS...` (argv after the command word). */
export async function virtInstallCommand(argv: string[]): Promise<void> {
  if (argv.includes('--help') || argv.includes('-h')) { process.stdout.write(VIRT_INSTALL_HELP); return; }
  await action(async () => {
    const { virtInstall } = await import('../tutorial/virt-install-run.js');
    const r = await virtInstall(argv, { onNote: note, onWarning: warn });
    const plan = r.plan;
    if (r.yaml !== undefined) return print(r.yaml);
    if (r.dryRun) {
      print(`dry run: nothing was created. Would:`);
      for (const s of r.dryRun) print(`  ${s}`);
      return;
    }
    if (plan.debug) {
      const YAML = (await import('yaml')).default;
      note(YAML.stringify(r.spec));
    }
    const name = r.spec.name;
    note(`guest "${name}" is running`);
    const vnc = r.spec.display.type === 'vnc' ? `${r.spec.display.listen}:${r.spec.display.display} (port ${5900 + r.spec.display.display})` : undefined;
    if (vnc) note(`VNC display: ${vnc}${r.plan.vncPassword !== undefined ? ', password set' : ''}`);
    if (!plan.autoconsole) {
      note(`Domain installation still in progress: connect with \`qkvm console ${name}\`${vnc ? ` or a VNC viewer on ${vnc}` : ''}`);
      return;
    }
    if (process.stdin.isTTY && process.stdout.isTTY) {
      const { attachConsole } = await import('./vm.js');
      await attachConsole(name, {});
      return;
    }
    // virt-install attaches its console; without a terminal there is nobody to type, so say how.
    note(`not a terminal: the console is not attached; follow the guest with \`qkvm console ${name}\` (or \`qkvm console ${name} --replay\`)`);
  })({});
}

/** Listed in `qkvm --help`; runCli hands `virt-install` argv to virtInstallCommand before yargs parses it. */
export const virtInstallCommands: CommandModule<any, any>[] = [
  {
    command: 'virt-install',
    describe: "Define and start a guest from virt-install's flags, as tutorials write them (see `qkvm virt-install --help`)",
    builder: (y) => y.strict(false),
    handler: async () => { await virtInstallCommand(process.argv.slice(3)); },
  },
];
