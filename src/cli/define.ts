// Definitions and teaching: create, define, dumpconfig, undefine, edit,
// autostart, cmdline and explain.
import type { Argv, CommandModule } from 'yargs';
import { action } from './action.js';
import { note, print, printJson, table, warn } from './output.js';
import { invalid } from '../errors.js';

const api = () => import('../api.js');
const legacy = () => import('../qemu/legacy/index.js');

const name = (y: Argv) => y.positional('name', { type: 'string', demandOption: true, describe: 'guest name' });

/** The two trust flags (docs/safety.md): recorded for exactly the extraArgs stored. */
const trustFlags = (y: Argv) => y
  .option('allow-extra-args', { type: 'boolean', default: false, describe: "allow this definition's raw extraArgs (exactly these; any change needs the flag again)" })
  .option('allow-programs', { type: 'boolean', default: false, describe: 'also allow extraArgs that make QEMU run programs as root (exec:, tap scripts, helpers)' });
const grantOf = (a: any) => ({ extraArgs: a.allowExtraArgs, programs: a.allowPrograms });

/** "path,size=10G,format=qcow2,bus=virtio" -> a disk entry and an optional size to create it with. */
export function parseDiskFlag(text: string): { disk: Record<string, unknown>; size?: string } {
  const [file, ...kv] = text.split(',');
  if (!file) throw invalid(`--disk: missing a file in "${text}"`, 'write --disk PATH[,size=10G][,format=qcow2][,bus=virtio][,cache=none][,readonly]');
  const disk: Record<string, unknown> = { file };
  let size: string | undefined;
  for (const item of kv) {
    const [k, v] = item.split('=');
    if (k === 'size') size = v;
    else if (k === 'readonly' || k === 'snapshot' || k === 'external' || k === 'hostDevice') disk[k] = v === undefined ? true : v === 'on' || v === 'true';
    else if (['format', 'bus', 'cache', 'media', 'target'].includes(k) && v) disk[k] = v;
    else throw invalid(`--disk: unknown or empty option "${item}" in "${text}"`, 'options: size, format, bus, cache, media, target, readonly, snapshot, external (a file outside the pools), hostDevice (a block device)');
  }
  return { disk, size };
}

/** "default", "user", "NET,model=e1000,mac=..." -> a NIC entry. */
export function parseNetworkFlag(text: string, hostfwd: string[] = []): Record<string, unknown> {
  const [net, ...kv] = text.split(',');
  const nic: Record<string, unknown> = net === 'user' ? { type: 'user', hostfwd } : { type: 'network', network: net };
  for (const item of kv) {
    const [k, v] = item.split('=');
    if (['model', 'mac', 'vhost'].includes(k) && v) nic[k] = v;
    else throw invalid(`--network: unknown or empty option "${item}" in "${text}"`, 'options: model, mac, vhost');
  }
  return nic;
}

/** The first line of stdin (a password for --password-stdin): never from argv. */
async function readStdinLine(): Promise<string> {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  return text.replace(/\r?\n$/, '');
}

export const defineCommands: CommandModule<any, any>[] = [
  {
    command: 'create <name>',
    describe: 'Create a guest definition from flags, a template, or a raw QEMU command line',
    builder: (y) => name(y)
      .option('template', { alias: 't', type: 'string', describe: 'start from templates/T.yaml (see `qkvm templates`)' })
      .option('from-cmdline', { type: 'boolean', default: false, describe: 'translate the raw qemu-kvm command line after --' })
      .option('memory', { alias: 'm', type: 'string', describe: 'memory, e.g. 512M or 2G' })
      .option('vcpus', { type: 'number', describe: 'number of vCPUs' })
      .option('cpu', { type: 'string', describe: 'CPU model (qemu64, max, host...)' })
      .option('machine', { type: 'string', choices: ['pc', 'q35', 'microvm'] })
      .option('accel', { type: 'string', choices: ['auto', 'kvm', 'tcg'] })
      .option('disk', { type: 'string', array: true, describe: 'PATH[,size=10G][,format=qcow2][,bus=virtio][,cache=none][,readonly]; created when missing and a size is given' })
      .option('disk-size', { type: 'string', describe: "the first disk's size when it is created, e.g. 20G; with a linked-clone template (debian-12), the overlay's size, which cloud-init grows the root file system to" })
      .option('cdrom', { type: 'string', describe: 'an ISO image to boot from' })
      .option('network', { type: 'string', array: true, describe: 'NET or user, with [,model=virtio][,mac=52:54:00:..]' })
      .option('hostfwd', { type: 'string', array: true, describe: 'for --network user: tcp:127.0.0.1:2222-:22' })
      .option('vnc', { type: 'string', describe: 'a VNC display: N, or ADDR:N (default address 127.0.0.1)' })
      .option('kernel', { type: 'string' }).option('initrd', { type: 'string' }).option('append', { type: 'string' })
      .option('boot', { type: 'string', describe: 'boot order, e.g. cd or n' })
      .option('autostart', { type: 'boolean' })
      .option('description', { type: 'string' })
      .option('ssh-key', { type: 'string', array: true, describe: 'cloud-init: a public key file for the user (e.g. ~/.ssh/id_ed25519.pub)' })
      .option('user', { type: 'string', describe: 'cloud-init: the user to create (default debian)' })
      .option('hostname', { type: 'string', describe: "cloud-init: the guest's hostname (default: its name)" })
      .option('cloud-init', { type: 'string', describe: 'cloud-init: a #cloud-config user-data file, merged under the flags above' })
      .option('password-stdin', { type: 'boolean', default: false, describe: "cloud-init: read the user's password from stdin; stored only as a SHA-512 crypt hash" })
      .option('overwrite', { type: 'boolean', default: false, describe: 'replace an existing definition' })
      .option('dry-run', { type: 'boolean', default: false, describe: 'print the definition, save nothing' })
      .option('allow-extra-args', { type: 'boolean', default: false, describe: "allow the definition's raw extraArgs (e.g. from --from-cmdline)" })
      .option('allow-programs', { type: 'boolean', default: false, describe: 'also allow extraArgs that make QEMU run programs as root' })
      .example('qkvm create web --template linux-server --memory 2G', '')
      .example('qkvm create web --template debian-12 --ssh-key ~/.ssh/id_ed25519.pub --hostname web', 'a Debian guest; then qkvm start web && qkvm ssh web')
      .example('qkvm create db --template debian-12 --ssh-key ~/.ssh/id_ed25519.pub --disk-size 20G', 'its root file system grows to 20G at first boot')
      .example('qkvm create lab --disk lab.qcow2,size=10G --cdrom debian.iso --network default --vnc 1', '')
      .example('qkvm create xp --from-cmdline -- qemu-kvm -m 512 -hda xp.qcow2 -net nic -net user', ''),
    handler: action(async (a) => {
      const overrides: Record<string, unknown> = {};
      const diskSizes: Record<number, string> = {};
      if (a.fromCmdline) {
        const raw: string[] = (a['--'] ?? []).map(String);
        if (!raw.length) throw invalid('--from-cmdline: give the command line after --', 'qkvm create NAME --from-cmdline -- qemu-kvm -m 512 ...');
        const r = (await legacy()).specFromCommandLine(raw, a.name);
        for (const w of r.warnings) warn(w);
        Object.assign(overrides, r.spec);
        // -hda disk.img names ./disk.img, as qemu-kvm reads it: recorded absolute, with its probed format.
        const { cliDiskEntry } = await import('../storage/resolve.js');
        if (Array.isArray(r.spec.disks)) overrides.disks = await Promise.all((r.spec.disks as any[]).map((d) => cliDiskEntry(d)));
      }
      if (a.memory) overrides.memory = a.memory;
      if (a.vcpus !== undefined) overrides.smp = a.vcpus;
      for (const k of ['cpu', 'machine', 'accel', 'kernel', 'initrd', 'append', 'autostart', 'description'] as const) if (a[k] !== undefined) overrides[k] = a[k];
      if (a.disk || a.cdrom) {
        const disks: Record<string, unknown>[] = [];
        (a.disk ?? []).forEach((d: string) => {
          const p = parseDiskFlag(d);
          if (p.size) diskSizes[disks.length] = p.size;
          disks.push(p.disk);
        });
        // --cdrom /path names a read-only medium on purpose: a path (not a volume) is stored as external.
        if (a.cdrom) disks.push({ file: a.cdrom, media: 'cdrom', bus: 'ide', ...(/^\.{0,2}\//.test(a.cdrom) ? { external: true } : {}) });
        overrides.disks = disks;
      }
      if (a.diskSize !== undefined) {
        if (Array.isArray(a.diskSize)) throw invalid(`--disk-size: given ${a.diskSize.length} times (${a.diskSize.join(', ')})`, 'give it once; other disks take size= in their --disk');
        if (diskSizes[0] !== undefined) throw invalid(`--disk-size ${a.diskSize}: the first --disk already has size=${diskSizes[0]}`, 'give the size once');
        diskSizes[0] = a.diskSize;
      }
      if (a.network) overrides.nics = a.network.map((n: string) => parseNetworkFlag(n, a.hostfwd ?? []));
      if (a.vnc !== undefined) {
        const m = /^(?:(.+):)?(\d+)$/.exec(a.vnc);
        if (!m) throw invalid(`--vnc: invalid display "${a.vnc}"`, 'write a display number like 1, or ADDR:N like 127.0.0.1:1');
        overrides.display = { type: 'vnc', display: Number(m[2]), ...(m[1] ? { listen: m[1] } : {}) };
      }
      if (a.boot) overrides.boot = { order: a.boot };
      const password = a.passwordStdin ? await readStdinLine() : undefined;
      const ci = await (await import('../image/flags.js')).cloudInitFromFlags({ sshKey: a.sshKey, user: a.user, hostname: a.hostname, cloudInit: a.cloudInit, password });
      if (ci) overrides.cloudInit = ci;
      const { createGuest, templateSpec, parseVmSpec, exposureWarnings } = await api();
      if (a.dryRun) {
        const base = a.template ? templateSpec(a.template, a.name) : { name: a.name };
        const spec: Record<string, unknown> = { ...base, ...overrides, name: a.name };
        const baseCi = (base as { cloudInit?: object }).cloudInit;
        if (baseCi && overrides.cloudInit) spec.cloudInit = { ...baseCi, ...(overrides.cloudInit as object) };
        for (const w of exposureWarnings(parseVmSpec(spec, `guest "${a.name}"`))) warn(w);
        const YAML = (await import('yaml')).default;
        return print(YAML.stringify(spec));
      }
      const r = await createGuest(a.name, { template: a.template, overrides: overrides as any, diskSizes, overwrite: a.overwrite, trust: grantOf(a), onNote: note, onWarning: warn });
      for (const img of r.createdImages) note(`created disk image ${img}`);
      note(`guest "${a.name}" defined; start it with \`qkvm start ${a.name}\``);
    }),
  },
  {
    command: 'define <file>',
    describe: 'Define (or with --overwrite, redefine) a guest from a YAML file',
    builder: (y) => trustFlags(y.positional('file', { type: 'string', demandOption: true })
      .option('overwrite', { type: 'boolean', default: false })),
    handler: action(async (a) => {
      const spec = await (await api()).defineGuest(a.file, { overwrite: a.overwrite, trust: grantOf(a), onNote: note, onWarning: warn });
      note(`guest "${spec.name}" defined`);
    }),
  },
  {
    command: 'dumpconfig <name>',
    aliases: ['dumpxml'],
    describe: "Print a guest's definition (YAML)",
    builder: (y) => name(y).option('json', { type: 'boolean', default: false }),
    handler: action(async (a) => {
      const m = await api();
      if (a.json) return printJson(m.loadVm(a.name));
      process.stdout.write(m.dumpConfig(a.name));
    }),
  },
  {
    command: 'undefine <name>',
    describe: "Remove a guest's definition; disks are kept unless --remove-storage",
    builder: (y) => name(y).option('remove-storage', { type: 'boolean', default: false, describe: "also delete the disk images qkvm created for it inside a pool (others are kept, with the reason)" }),
    handler: action(async (a) => {
      const r = await (await api()).undefineGuest(a.name, { removeStorage: a.removeStorage });
      for (const f of r.removed) note(`removed ${f}`);
      for (const f of r.kept) note(r.why[f] ? `kept ${f}: ${r.why[f]}` : `kept ${f}`);
      note(`guest "${a.name}" undefined`);
    }),
  },
  {
    command: 'edit <name>',
    describe: 'Edit a definition in $EDITOR; an invalid edit leaves the old one in place',
    builder: (y) => trustFlags(name(y)),
    handler: action(async (a) => {
      const r = await (await api()).editGuest(a.name, undefined, { trust: grantOf(a), onNote: note });
      note(r.changed ? `guest "${a.name}" updated (takes effect at the next start)` : 'no change');
    }),
  },
  {
    command: 'trust <name>',
    describe: "Show, allow or revoke a guest's raw extraArgs (see docs/safety.md)",
    builder: (y) => trustFlags(name(y))
      .option('digest', { type: 'string', describe: 'allow only if the stored extraArgs still have this digest (start prints it)' })
      .option('revoke', { type: 'boolean', default: false, describe: 'remove the allowance' })
      .option('json', { type: 'boolean', default: false })
      .example('qkvm trust web --allow-extra-args', 'allow the extraArgs stored for "web" now'),
    handler: action(async (a) => {
      const t = await (await api()).trustGuest(a.name, { allowExtraArgs: a.allowExtraArgs, allowPrograms: a.allowPrograms, digest: a.digest, revoke: a.revoke, onNote: note });
      if (a.json) return printJson(t);
      if (!t.extraArgs.length) return print(`guest "${t.name}" has no extraArgs`);
      print(`guest "${t.name}": extraArgs ${JSON.stringify(t.extraArgs)} are ${t.allowed ? `allowed${t.allowance?.programs ? ', including programs' : ''} (since ${t.allowance?.allowedAt})` : 'not allowed: start refuses them'}`);
      for (const p of t.programs) print(`  runs a program: ${p.value}: ${p.reason}`);
    }),
  },
  {
    command: 'autostart <name>',
    describe: 'Start this guest at host boot (`qkvm autostart-all`); --disable to stop that',
    builder: (y) => name(y).option('disable', { type: 'boolean', default: false }),
    handler: action(async (a) => {
      await (await api()).setAutostart(a.name, !a.disable);
      note(`autostart ${a.disable ? 'disabled' : 'enabled'} for "${a.name}"`);
    }),
  },
  {
    command: 'autostart-all',
    describe: 'Start every autostart network and guest (run at host boot by templates/qkvm-autostart.service)',
    builder: (y) => y,
    handler: action(async () => {
      const { autostartAll } = await import('../runtime/autostart.js');
      const r = await autostartAll({ onNote: note });
      for (const x of r) note(`${x.kind} ${x.name}: ${x.result}`);
      if (r.some((x) => x.result.startsWith('failed'))) process.exitCode = 1;
    }),
  },
  {
    command: 'templates',
    describe: 'List the bundled templates for `qkvm create --template`',
    builder: (y) => y.option('json', { type: 'boolean', default: false }),
    handler: action(async (a) => {
      const { templateNames, templateSpec } = await api();
      const rows = templateNames().map((t) => ({ name: t, description: (templateSpec(t, t) as any).description ?? '' }));
      if (a.json) return printJson(rows);
      print(table(rows, [{ header: 'Template', get: (r) => r.name }, { header: 'Description', get: (r) => r.description }]));
    }),
  },
  {
    command: 'cmdline <name>',
    describe: 'Print the exact QEMU command qkvm runs for a guest; --explain says what each option does',
    builder: (y) => name(y).option('explain', { type: 'boolean', default: false }).option('json', { type: 'boolean', default: false })
      .example('qkvm cmdline demo --explain', ''),
    handler: action(async (a) => {
      const { loadVm, resolveCaps, commandFor, formatCommand, readAllowance, decideExtraArgs, trustCommand } = await api();
      const spec = loadVm(a.name);
      const caps = await resolveCaps(spec.accel, a.explain ? note : undefined);
      const cmd = commandFor(spec, caps);
      if (spec.extraArgs.length) {
        // The raw arguments are the last ones; say whose they are and whether start will run them.
        const d = decideExtraArgs(spec.extraArgs, readAllowance(a.name));
        note(`note: the last ${spec.extraArgs.length} argument(s) are your raw extraArgs ${JSON.stringify(spec.extraArgs)}: ${d.missing.length ? `NOT allowed, start refuses them (allow: ${trustCommand(a.name, d)})` : 'allowed, passed to QEMU unchecked'}`);
      }
      if (a.json) return printJson({ binary: cmd.binary, args: cmd.args });
      process.stdout.write(formatCommand(cmd, { explain: a.explain }));
    }),
  },
  {
    // Listed for --help only: runCli hands `qkvm qemu-kvm ...` to cli/qemu-kvm.ts before yargs, so QEMU's options stay QEMU's.
    command: 'qemu-kvm',
    aliases: ['qemu-system-x86_64'],
    describe: 'Run a pasted qemu-kvm line: define the guest and start it (--dry-run, --name NAME; `qkvm qemu-kvm --help`)',
    handler: action(async () => { await (await import('./qemu-kvm.js')).runQemuKvm('qemu-kvm', process.argv.slice(3)); }),
  },
  {
    command: 'explain',
    describe: 'Explain a raw qemu-kvm command line, flag what QEMU 7.2 rejects, and print a modern equivalent',
    builder: (y) => y.option('json', { type: 'boolean', default: false })
      .example('qkvm explain -- qemu-kvm -m 512 -net nic,vlan=0 -net user -balloon virtio', '')
      .example('qkvm explain -- qemu-kvm -M ?', "this QEMU's machine types"),
    handler: action(async (a) => {
      const raw: string[] = (a['--'] ?? []).map(String);
      if (!raw.length) throw invalid('explain: give the command line after --', 'qkvm explain -- qemu-kvm -m 512 -hda disk.img');
      const l = await legacy();
      // Checked against this host's QEMU (introspection cached per binary) and this host's facts.
      const e = await (await import('../host/explain-here.js')).explainHere(raw);
      if (a.json) return printJson(e);
      process.stdout.write(l.formatExplanation(e));
    }),
  },
];

// `explain -f FILE` and the lines of other tools (virsh, brctl, ip...) go
// through src/cli/explain.ts first; QEMU lines reach the handler above.
import { withOtherTools } from './explain.js';
withOtherTools(defineCommands.find((c) => c.command === 'explain')!);
