// The virsh and virt-clone commands qkvm had no command for: thin wrappers over
// the API. The spellings (--domain, --config...) are in virsh.ts.
import type { Argv, CommandModule } from 'yargs';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { action } from './action.js';
import { keyValues, note, print, printJson, progressBar, table } from './output.js';
import { invalid } from '../errors.js';

const name = (y: Argv) => y.positional('name', { type: 'string', demandOption: true, describe: 'guest name' });
const json = (y: Argv) => y.option('json', { type: 'boolean', default: false, describe: 'print JSON' });

const virtClone: CommandModule<any, any> = {
  command: 'virt-clone',
  describe: 'virt-clone: a full copy of a shut off (or paused) guest under a new name',
  builder: (y) => y
    .option('original', { alias: 'o', type: 'string', demandOption: true, describe: 'the guest to copy' })
    .option('name', { alias: 'n', type: 'string', describe: 'the new guest (default: ORIGINAL-clone)' })
    .option('file', { alias: 'f', type: 'string', array: true, describe: 'where each copied disk goes, in order (one per writable disk)' })
    .option('auto-clone', { type: 'boolean', default: false, describe: 'name the copies NAME.qcow2, NAME-1.qcow2... beside the originals' })
    .option('mac', { alias: 'm', type: 'string', array: true, describe: 'MAC of each NIC, in order; RANDOM (the default) gives a new one' })
    .option('replace', { type: 'boolean', default: false, describe: 'replace a shut off guest of that name (its definition; its disks are kept)' })
    .option('original-xml', { type: 'string', hidden: true })
    .option('connect', { type: 'string', hidden: true })
    .example('qkvm virt-clone --original vm1 --name vm2 --file /var/lib/libvirt/images/vm2.qcow2', 'copy vm1\'s disk to that file')
    .example('qkvm virt-clone --original vm1 --name vm2 --auto-clone', 'vm2.qcow2 beside vm1\'s disk'),
  handler: action(async (a: any) => {
    if (a.originalXml !== undefined) throw invalid('virt-clone --original-xml: qkvm does not read libvirt XML', 'name the guest: --original NAME');
    if (a.connect !== undefined) note(`note: --connect ${a.connect}: qkvm runs QEMU on this host directly; ignored`);
    const newName: string = a.name ?? `${a.original}-clone`;
    const files: string[] | undefined = a.file?.map((f: string) => path.resolve(process.cwd(), f));
    if (!files && !a.autoClone) throw invalid('virt-clone: give --file PATH for each disk, or --auto-clone', `qkvm virt-clone --original ${a.original} --name ${newName} --auto-clone`);
    const macs: string[] | undefined = a.mac?.map((m: string) => m);
    if (macs?.every((m) => m.toUpperCase() === 'RANDOM') === false && macs.some((m) => m.toUpperCase() === 'RANDOM')) {
      throw invalid('virt-clone --mac: give RANDOM for every NIC, or a MAC for every NIC');
    }
    const { validateMac } = await import('../net/mac.js');
    const fixed = macs && macs.every((m) => m.toUpperCase() === 'RANDOM') ? undefined : macs?.map((m) => validateMac(m, '--mac'));
    const api = await import('../api.js');
    const { validateName } = await import('../config/name.js');
    validateName(newName, 'new guest name');
    if (a.replace && api.vmExists(newName)) {
      const st = await api.guestStatus(newName);
      if (st.state !== 'shut off') throw invalid(`virt-clone --replace: guest "${newName}" is ${st.state}`, `qkvm destroy ${newName}, then run this again`);
      await api.undefineGuest(newName, { removeStorage: false });
      note(`replaced the definition of "${newName}" (its disks were kept)`);
    }
    const bars = new Map<string, ReturnType<typeof progressBar>>();
    const r = await api.cloneGuest(a.original, newName, {
      files, macs: fixed, autoNames: files ? undefined : 'virt-clone',
      onProgress: (disk, f) => {
        if (!bars.has(disk)) bars.set(disk, progressBar(`copy ${disk}`));
        bars.get(disk)!.update(f);
      },
    });
    for (const b of bars.values()) b.done();
    for (const d of r.disks) print(d.shared ? `shared ${d.from}` : `copy ${d.to}`);
    print(`Clone '${r.name}' created successfully.`);
  }),
};

const setmaxmem: CommandModule<any, any> = {
  command: 'setmaxmem <name> <size>',
  describe: "Set a guest's memory size in its definition (next start); virsh reads a bare number as KiB",
  builder: (y) => name(y).positional('size', { type: 'string', demandOption: true, describe: 'e.g. 2G, or 2097152 (KiB, as virsh)' })
    .example('qkvm setmaxmem vm1 2G --config', ''),
  handler: action(async (a: any) => {
    const { parseMemory, formatSize } = await import('../config/size.js');
    const { kib } = await import('./virsh.js');
    const bytes = parseMemory(kib(String(a.size)), 'setmaxmem size');
    const api = await import('../api.js');
    await api.updateDefinition(a.name, (s) => { s.memory = formatSize(bytes); });
    const running = (await api.guestStatus(a.name)).state !== 'shut off';
    note(`guest "${a.name}": memory ${formatSize(bytes)} in the definition${running ? '; it takes effect at the next start' : ''}`);
  }),
};

const snapshotCurrent: CommandModule<any, any> = {
  command: 'snapshot-current <name>',
  describe: "Print the name of a guest's current snapshot",
  builder: (y) => name(y),
  handler: action(async (a: any) => print(await (await import('./snapshot.js')).currentSnapshot(a.name))),
};

const snapshotInfo: CommandModule<any, any> = {
  command: 'snapshot-info <name> [snap]',
  describe: 'Show one snapshot: created, RAM state, parent, description',
  builder: (y) => json(name(y).positional('snap', { type: 'string' }).option('current', { type: 'boolean', default: false })),
  handler: action(async (a: any) => {
    const { listSnapshots } = await import('../storage/index.js');
    const all = await listSnapshots(a.name);
    const s = a.current || !a.snap ? all.find((x) => x.current) : all.find((x) => x.name === a.snap);
    if (!s) throw invalid(`guest "${a.name}" has no snapshot ${a.snap ? `"${a.snap}"` : '(current)'}`, `see \`qkvm snapshot-list ${a.name}\``);
    if (a.json) return printJson(s);
    print(keyValues([
      ['Name', s.name], ['Domain', a.name], ['Current', s.current ? 'yes' : 'no'],
      ['State', s.vmState ? 'running (with RAM state)' : 'disk-only'], ['Created', s.created],
      ['Parent', s.parent ?? '-'], ['Description', s.description],
    ]));
  }),
};

const domblklist: CommandModule<any, any> = {
  command: 'domblklist <name>',
  describe: "A guest's disks: target and source (live from QEMU when it runs, else the definition)",
  builder: (y) => json(name(y)),
  handler: action(async (a: any) => {
    const api = await import('../api.js');
    const { assignTargets } = await import('../qemu/devices/block.js');
    const running = (await api.guestStatus(a.name)).state !== 'shut off';
    let rows: { target: string; source: string }[];
    if (running) {
      const blocks = await api.withQmp(a.name, (q) => q.execute<{ device: string; qdev?: string; inserted?: { file: string } }[]>('query-block', {}, { timeoutMs: 5000 }));
      rows = blocks.map((b) => ({
        target: /\/machine\/peripheral\/([^/]+)/.exec(b.qdev ?? '')?.[1] ?? b.device ?? b.qdev ?? '-',
        source: b.inserted?.file ?? '-',
      }));
    } else {
      const spec = api.loadVm(a.name);
      const { resolveDiskPath } = await import('../storage/resolve.js');
      const t = assignTargets(spec.disks);
      rows = spec.disks.map((d, i) => ({ target: t[i], source: resolveDiskPath(d.file) }));
    }
    if (a.json) return printJson(rows);
    print(table(rows, [{ header: 'Target', get: (r) => r.target }, { header: 'Source', get: (r) => r.source }]));
  }),
};

const domiflist: CommandModule<any, any> = {
  command: 'domiflist <name>',
  describe: "A guest's NICs: interface, type, source network, model, MAC",
  builder: (y) => json(name(y)),
  handler: action(async (a: any) => {
    const { guestNics } = await import('../net/addr.js');
    const rows = guestNics(a.name);
    if (a.json) return printJson(rows);
    print(table(rows, [
      { header: 'Interface', get: (r) => r.tap ?? r.id }, { header: 'Type', get: (r) => r.type },
      { header: 'Source', get: (r) => r.network ?? '-' }, { header: 'Model', get: (r) => r.model }, { header: 'MAC', get: (r) => r.mac },
    ]));
  }),
};

const vcpucount: CommandModule<any, any> = {
  command: 'vcpucount <name>',
  describe: "A guest's vCPU counts: maximum and current, in the definition and live",
  builder: (y) => json(name(y)),
  handler: action(async (a: any) => {
    const api = await import('../api.js');
    const spec = api.loadVm(a.name);
    const smp = api.smpOf(spec) as { cpus: number; maxcpus?: number };
    const running = (await api.guestStatus(a.name)).state !== 'shut off';
    const liveCount = running ? (await api.vcpuInfo(a.name)).length : undefined;
    const r = { maximumConfig: smp.maxcpus ?? smp.cpus, currentConfig: smp.cpus, currentLive: liveCount };
    if (a.json) return printJson(r);
    // virsh's layout, so a script that reads it keeps working.
    const rows: [string, number | undefined][] = [['maximum      config', r.maximumConfig], ['current      config', r.currentConfig], ['current      live', r.currentLive]];
    print(rows.filter(([, v]) => v !== undefined).map(([k, v]) => `${k.padEnd(20)}${v}`).join('\n'));
  }),
};

const netDefine: CommandModule<any, any> = {
  command: 'net-define <file>',
  describe: "Define a network from qkvm's network YAML (name, mode, subnet...): virsh net-define's file, in qkvm's format",
  builder: (y) => y.positional('file', { type: 'string', demandOption: true })
    .option('start', { type: 'boolean', default: false, describe: 'start it too (virsh net-create)' })
    .example('qkvm net-define default.yaml', 'default.yaml: "name: default\\nmode: nat"'),
  handler: action(async (a: any) => {
    let doc: any;
    try { doc = parseYaml(readFileSync(a.file, 'utf8')); } catch (e) { throw invalid(`net-define: ${a.file}: ${(e as Error).message.split('\n')[0]}`, 'the file is qkvm network YAML, e.g. "name: default" and "mode: nat" on two lines'); }
    if (!doc || typeof doc !== 'object' || Array.isArray(doc)) throw invalid(`net-define: ${a.file} is not a YAML mapping (libvirt XML is not read)`, 'write qkvm network YAML: name: NAME, mode: nat|isolated|routed|bridge|user, subnet: ...');
    const api = await import('../api.js');
    const spec = await api.defineNetwork(doc, { onNote: note });
    print(`network "${spec.name}" defined (mode ${spec.mode}${spec.subnet ? `, subnet ${spec.subnet}` : ''})`);
    if (a.start) {
      const { showCommand } = await import('./nic.js');
      const st = await api.startNetwork(spec.name, { onCommand: showCommand(false), onNote: note });
      print(`network "${st.name}" is active${st.bridge ? ` on bridge ${st.bridge}` : ''}`);
    }
  }),
};

export const virshCommands: CommandModule<any, any>[] = [virtClone, setmaxmem, snapshotCurrent, snapshotInfo, domblklist, domiflist, vcpucount, netDefine];
