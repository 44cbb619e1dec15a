// The Nomad job, checked against the qemu task driver's documented fields
// (drivers/qemu/driver.go taskConfigSpec; developer.hashicorp.com/nomad/docs/drivers/qemu).
// There is no nomad binary here (not packaged for Debian 12), so the HCL's shape
// is checked by a small HCL reader below: blocks, labels, attributes and values.
import { describe, expect, it } from 'vitest';
import { parseVmSpec, type VmSpecInput } from '../../src/config/schema.js';
import { QkvmError } from '../../src/errors.js';
import { NOMAD_DRIVE_INTERFACES, NOMAD_QEMU_CONFIG_KEYS, nomadHcl, toNomad } from '../../src/interop/nomad.js';

interface Block { type: string; labels: string[]; attrs: Record<string, unknown>; blocks: Block[] }

/** Reads the HCL subset the exporter writes: `name "label" {`, `key = value`, `}`; values are JSON-compatible. */
function readHcl(text: string): Block {
  const root: Block = { type: '', labels: [], attrs: {}, blocks: [] };
  const stack = [root];
  for (const [n, raw] of text.split('\n').entries()) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    let m: RegExpExecArray | null;
    if ((m = /^([a-z_]+)((?:\s+"(?:[^"\\]|\\.)*")*)\s*\{$/.exec(line))) {
      const b: Block = { type: m[1], labels: [...m[2].matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((x) => JSON.parse(`"${x[1]}"`)), attrs: {}, blocks: [] };
      stack.at(-1)!.blocks.push(b);
      stack.push(b);
    } else if (line === '}') {
      if (stack.length === 1) throw new Error(`line ${n + 1}: unbalanced }`);
      stack.pop();
    } else if ((m = /^([a-z_][a-z0-9_]*)\s*=\s*(.+)$/.exec(line))) {
      const cur = stack.at(-1)!;
      if (m[1] in cur.attrs) throw new Error(`line ${n + 1}: ${m[1]} given twice`);
      cur.attrs[m[1]] = JSON.parse(m[2].replace(/\$\$\{/g, '${'));
    } else throw new Error(`line ${n + 1}: not HCL the reader knows: ${line}`);
  }
  if (stack.length !== 1) throw new Error('unclosed block');
  return root;
}

const find = (b: Block, type: string) => b.blocks.filter((x) => x.type === type);

const guest: VmSpecInput = {
  name: 'web', accel: 'tcg', memory: '512M', smp: 2, cpu: 'max',
  kernel: '/var/lib/k/vmlinuz', initrd: '/var/lib/k/initrd.img', append: 'console=ttyS0 x=${HOME}',
  disks: [{ file: '/var/lib/qkvm/images/web.qcow2', format: 'qcow2', bus: 'virtio' }, { file: '/var/lib/qkvm/images/data.raw', format: 'raw', bus: 'virtio' }],
  nics: [{ type: 'user', model: 'virtio', hostfwd: ['tcp::2222-:22', 'tcp::8080-:80'] }],
};
const path = (f: string) => f;

describe('toNomad', () => {
  const { job, notes } = toNomad(parseVmSpec(guest), path, { artifactBase: 'https://files.example/img/' });
  const task = job.Job.TaskGroups[0].Tasks[0];

  it('uses only the qemu driver\'s documented task config keys, with valid values', () => {
    expect(task.Driver).toBe('qemu');
    for (const k of Object.keys(task.Config)) expect(NOMAD_QEMU_CONFIG_KEYS).toContain(k);
    expect(task.Config.image_path).toBe('local/web.qcow2');
    expect(NOMAD_DRIVE_INTERFACES).toContain(task.Config.drive_interface);
    expect(task.Config.drive_interface).toBe('virtio');
    expect(task.Config.accelerator).toBe('tcg');
    expect(task.Config.graceful_shutdown).toBe(true);
    expect(task.Config.guest_agent).toBe(false);
    expect(task.Resources.MemoryMB).toBe(512);
  });

  it('maps each hostfwd to a port label, a reserved host port and port_map to the guest port', () => {
    expect(job.Job.TaskGroups[0].Networks).toEqual([{ ReservedPorts: [{ Label: 'tcp2222', Value: 2222 }, { Label: 'tcp8080', Value: 8080 }] }]);
    expect(task.Config.port_map).toEqual([{ tcp2222: 22, tcp8080: 80 }]);
    expect(notes.join('\n')).toMatch(/forwards udp of that port too/);
  });

  it('puts what the driver does not set in args: -smp, -cpu, kernel boot, more disks, the balloon', () => {
    expect(task.Config.args).toEqual([
      '-smp', 'cpus=2,maxcpus=2', '-cpu', 'max', '-kernel', 'local/vmlinuz', '-initrd', 'local/initrd.img', '-append', 'console=ttyS0 x=${HOME}',
      '-drive', 'file=local/data.raw,format=raw,if=virtio', '-device', 'virtio-balloon-pci',
    ]);
    expect(task.Artifacts!.map((a) => a.GetterSource)).toEqual(['web.qcow2', 'data.raw', 'vmlinuz', 'initrd.img'].map((f) => `https://files.example/img/${f}`));
  });

  it('says what does not carry over', () => {
    expect(notes.join('\n')).toMatch(/not carried: taps and qkvm networks, snapshots, save\/restore and migration/);
    expect(notes.join('\n')).toMatch(/serial console goes to the task's stdout/);
  });

  it('writes HCL of the right shape: job > group > (network > port) + task > config + resources + artifact', () => {
    const hcl = nomadHcl(job);
    const root = readHcl(hcl);
    const [j] = find(root, 'job');
    expect(j.labels).toEqual(['web']);
    expect(j.attrs).toEqual({ datacenters: ['dc1'], type: 'service' });
    const [g] = find(j, 'group');
    const [net] = find(g, 'network');
    expect(find(net, 'port').map((p) => [p.labels[0], p.attrs.static])).toEqual([['tcp2222', 2222], ['tcp8080', 8080]]);
    const [t] = find(g, 'task');
    expect(t.attrs.driver).toBe('qemu');
    const [c] = find(t, 'config');
    for (const k of Object.keys(c.attrs)) expect(NOMAD_QEMU_CONFIG_KEYS).toContain(k);
    expect(c.attrs.image_path).toBe('local/web.qcow2');
    expect(c.attrs.args).toEqual(task.Config.args);
    expect(find(c, 'port_map')[0].attrs).toEqual({ tcp2222: 22, tcp8080: 80 });
    expect(find(t, 'resources')[0].attrs).toEqual({ cpu: 1000, memory: 512 });
    expect(find(t, 'artifact')).toHaveLength(4);
    // ${ in a value is escaped, so Nomad does not interpolate the guest's kernel command line.
    expect(hcl).toContain('x=$${HOME}');
  });

  it('writes JSON in the HTTP API\'s shape (Job.TaskGroups[].Tasks[].Config)', () => {
    const back = JSON.parse(JSON.stringify(job));
    expect(Object.keys(back.Job)).toEqual(['ID', 'Name', 'Type', 'Datacenters', 'TaskGroups']);
    expect(back.Job.TaskGroups[0].Tasks[0].Driver).toBe('qemu');
  });
});

describe('toNomad refuses what the qemu driver cannot take, naming each field', () => {
  const refused = (input: VmSpecInput, o = {}): string => {
    try { toNomad(parseVmSpec(input), path, o); } catch (e) {
      expect((e as QkvmError).code).toBe('INVALID');
      return (e as Error).message;
    }
    throw new Error('expected a refusal');
  };
  const disk = [{ file: '/i/a.qcow2', format: 'qcow2' as const }];
  it.each<[string, VmSpecInput, RegExp, object?]>([
    ['no disk', { name: 'a', kernel: '/k' }, /disks\[0\]: Nomad's qemu driver needs image_path/],
    ['a tap NIC', { name: 'a', disks: disk, nics: [{ type: 'network', network: 'lan' }] }, /nics\[0\]\.type: a tap on qkvm network "lan"/],
    ['two NICs', { name: 'a', disks: disk, nics: [{ type: 'user' }, { type: 'user' }] }, /nics: the driver makes exactly one user-mode NIC/],
    ['an e1000 NIC', { name: 'a', disks: disk, nics: [{ type: 'user', model: 'e1000' }] }, /nics\[0\]\.model/],
    ['a fixed MAC', { name: 'a', disks: disk, nics: [{ type: 'user', mac: '52:54:00:00:00:01' }] }, /nics\[0\]\.mac/],
    ['q35', { name: 'a', machine: 'q35', disks: disk }, /machine: the driver always runs -machine type=pc/],
    ['a hostfwd bound to one address', { name: 'a', disks: disk, nics: [{ type: 'user', hostfwd: ['tcp:127.0.0.1:2222-:22'] }] }, /listens on 127\.0\.0\.1 only.*--any-address/],
    ['a SATA first disk', { name: 'a', disks: [{ file: '/i/a.qcow2', bus: 'sata' }] }, /disks\[0\]\.bus: drive_interface has no sata/],
    ['extraArgs', { name: 'a', disks: disk, extraArgs: ['-S'] }, /extraArgs/],
    ['too little memory', { name: 'a', disks: disk, memory: '64M' }, /memory: the driver refuses less than 128 MB/],
  ])('%s', (_n, input, re, o) => expect(refused(input, o)).toMatch(re));

  it('accepts a hostfwd bound to one address with --any-address', () => {
    const { job } = toNomad(parseVmSpec({ name: 'a', disks: disk, nics: [{ type: 'user', hostfwd: ['tcp:127.0.0.1:2222-:22'] }] }), path, { anyAddress: true });
    expect(job.Job.TaskGroups[0].Tasks[0].Config.port_map).toEqual([{ tcp2222: 22 }]);
  });
});
