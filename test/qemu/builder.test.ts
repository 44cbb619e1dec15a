// Unit tests of the builder and its devices: what is derived, and every
// validate() error (code INVALID, naming the field and the value).
import { describe, expect, it } from 'vitest';
import { parseVmSpec, type VmSpecInput } from '../../src/config/schema.js';
import { QkvmError } from '../../src/errors.js';
import { buildCommand, type BuildContext } from '../../src/qemu/builder.js';
import { assignTargets, formatOf, targetIndex } from '../../src/qemu/devices/block.js';
import { expandCpuList } from '../../src/qemu/devices/memory.js';
import { generateMac } from '../../src/net/mac.js';
import { tapName } from '../../src/net/tapname.js';
import { GOLDEN_CAPS, GOLDEN_SCRIPTS } from './golden/load.js';

const ctx = (over: Partial<BuildContext> = {}): BuildContext => ({ caps: GOLDEN_CAPS, scripts: GOLDEN_SCRIPTS, ...over });
const build = (input: Omit<VmSpecInput, 'name'> & { name?: string }, over: Partial<BuildContext> = {}) =>
  buildCommand(parseVmSpec({ name: 't', ...input }), ctx(over));
const values = (input: Omit<VmSpecInput, 'name'>, opt: string, over: Partial<BuildContext> = {}) =>
  build(input, over).options.filter((o) => o.opt === opt).map((o) => o.value);

/** Expects INVALID with the field and the value in the message. */
function expectInvalid(fn: () => unknown, field: string, value: string, reason?: RegExp) {
  let err: unknown;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  expect(err, 'should have thrown').toBeInstanceOf(QkvmError);
  const e = err as QkvmError;
  expect(e.code).toBe('INVALID');
  expect(e.message).toContain(field);
  expect(e.message).toContain(value);
  if (reason) expect(e.message).toMatch(reason);
}

describe('disk targets and formats', () => {
  it('derives targets per bus, skipping those given', () => {
    expect(assignTargets([
      { bus: 'virtio' }, { bus: 'virtio', target: 'vda' }, { bus: 'scsi' }, { bus: 'sata' },
      { bus: 'ide' }, { bus: 'ide', target: 'hdc' }, { bus: 'ide' }, { bus: 'ide' },
    ])).toEqual(['vdb', 'vda', 'sda', 'sdb', 'hda', 'hdc', 'hdb', 'hdd']);
  });

  it('indexes targets like Linux', () => {
    expect([targetIndex('vda'), targetIndex('sdz'), targetIndex('vdaa'), targetIndex('hdc')]).toEqual([0, 25, 26, 2]);
  });

  it('takes the format from the definition, else from the extension, without probing', () => {
    expect(formatOf({ file: 'a.qcow2' })).toBe('qcow2');
    expect(formatOf({ file: 'a.QCOW2' })).toBe('qcow2');
    expect(formatOf({ file: 'a.img' })).toBe('raw');
    expect(formatOf({ file: 'a.iso' })).toBe('raw');
    expect(formatOf({ file: 'a.img', format: 'qcow2' })).toBe('qcow2');
  });

  it('resolves POOL/VOLUME through the context', () => {
    const v = values({ disks: [{ file: 'pool/v.qcow2' }] }, '-blockdev', { resolveDisk: (f) => `/pools/${f}` });
    expect(v[0]).toBe('driver=file,node-name=drive-vda-file,filename=/pools/pool/v.qcow2');
  });

  it('doubles commas in paths, as QEMU key=value lists need', () => {
    const v = values({ disks: [{ file: '/a,b/c.img' }] }, '-blockdev');
    expect(v[0]).toBe('driver=file,node-name=drive-vda-file,filename=/a,,b/c.img');
  });

  it('puts IDE on pc two to a bus, and on q35 one to an AHCI port; SATA on pc gets its own AHCI', () => {
    const disks = [{ file: 'a', bus: 'ide' as const, target: 'hdd' }, { file: 'b', bus: 'sata' as const }];
    expect(values({ disks }, '-device')).toEqual([
      'ahci,id=ahci0',
      'ide-hd,drive=drive-hdd,id=hdd,bus=ide.1,unit=1',
      'ide-hd,drive=drive-sda,id=sda,bus=ahci0.0',
      'virtio-balloon-pci,id=balloon0',
    ]);
    expect(values({ machine: 'q35', disks }, '-device').filter((v) => v!.startsWith('ide-'))).toEqual([
      'ide-hd,drive=drive-hdd,id=hdd,bus=ide.3',
      'ide-hd,drive=drive-sda,id=sda,bus=ide.0',
    ]);
  });
});

describe('accelerator and CPU', () => {
  it('uses the resolved accelerator for auto, the definition\'s otherwise', () => {
    expect(values({}, '-accel', { caps: { ...GOLDEN_CAPS, accel: 'kvm' } })).toEqual(['kvm']);
    expect(values({ accel: 'tcg' }, '-accel', { caps: { ...GOLDEN_CAPS, accel: 'kvm' } })).toEqual(['tcg']);
    const o = build({}, {}).options.find((x) => x.opt === '-accel')!;
    expect(o.explain).toContain('KVM guests hang on this host');
  });

  it('emits -cpu only when set', () => {
    expect(values({}, '-cpu')).toEqual([]);
    expect(values({ cpu: 'max' }, '-cpu')).toEqual(['max']);
  });

  it('refuses -cpu host under TCG', () => {
    expectInvalid(() => build({ cpu: 'host' }), 'cpu', '"host"', /KVM/);
    expect(values({ cpu: 'host', accel: 'kvm' }, '-cpu')).toEqual(['host']);
  });
});

describe('NICs', () => {
  it('derives a stable MAC and tap from the guest name and index', () => {
    const v = values({ nics: [{ network: 'n' }, { network: 'n' }] }, '-netdev');
    expect(v[0]).toContain(`ifname=${tapName('t', 0)},`);
    expect(v[1]).toContain(`ifname=${tapName('t', 1)},`);
    expect(values({ nics: [{ network: 'n' }] }, '-device')[0]).toContain(`mac=${generateMac('t', 0)}`);
  });

  it('turns vhost on only for virtio taps on hosts with vhost-net, unless off', () => {
    const withVhost = { caps: { ...GOLDEN_CAPS, vhostNet: true } };
    const nics = [{ network: 'n' }, { network: 'n', vhost: 'off' as const }, { network: 'n', model: 'e1000' as const }, {}];
    const v = values({ nics }, '-netdev', withVhost);
    expect(v.map((x) => x!.includes('vhost=on'))).toEqual([true, false, false, false]);
    expect(values({ nics }, '-netdev').some((x) => x!.includes('vhost'))).toBe(false);
  });

  it('refuses vhost: on without /dev/vhost-net, for e1000 and for user NICs', () => {
    expectInvalid(() => build({ nics: [{ network: 'n', vhost: 'on' }] }), 'nics[0].vhost', '"on"', /\/dev\/vhost-net is missing/);
    const caps = { ...GOLDEN_CAPS, vhostNet: true };
    expectInvalid(() => build({ nics: [{ network: 'n', vhost: 'on', model: 'e1000' }] }, { caps }), 'nics[0].vhost', '"on"', /virtio/);
    expectInvalid(() => build({ nics: [{ vhost: 'on' }] }, { caps }), 'nics[0].vhost', '"on"', /tap/);
  });

  it('refuses bad MACs from the context', () => {
    expectInvalid(() => build({ nics: [{}] }, { nics: [{ mac: '01:00:5e:00:00:01' }] }), 'nics[0].mac', '01:00:5e:00:00:01', /multicast/);
    expectInvalid(() => build({ nics: [{}] }, { nics: [{ mac: 'nope' }] }), 'nics[0].mac', 'nope');
  });

  it('refuses a bad tap name from the context', () => {
    expectInvalid(() => build({ nics: [{ network: 'n' }] }, { nics: [{ mac: generateMac('t', 0), tap: 'much-too-long-name' }] }), 'nics[0].tap', 'much-too-long-name');
  });

  it('uses mmio virtio on microvm and refuses emulated cards there', () => {
    const micro = { machine: 'microvm' as const, kernel: '/k' };
    expect(values({ ...micro, nics: [{}] }, '-device')[0]).toMatch(/^virtio-net-device,/);
    expectInvalid(() => build({ ...micro, nics: [{ model: 'rtl8139' }] }), 'nics[0].model', '"rtl8139"', /microvm/);
  });
});

describe('validation of disks', () => {
  it('refuses read-only IDE and SATA hard disks (QEMU cannot do them)', () => {
    expectInvalid(() => build({ disks: [{ file: 'a', bus: 'ide', readonly: true }] }), 'disks[0].readonly', 'true', /ide/);
    expectInvalid(() => build({ disks: [{ file: 'a', bus: 'sata', readonly: true }] }), 'disks[0].readonly', 'true', /sata/);
    expect(values({ disks: [{ file: 'a', bus: 'scsi', readonly: true }] }, '-blockdev')[1]).toContain('read-only=on');
  });

  it('refuses a virtio CD-ROM and a snapshot CD-ROM', () => {
    expectInvalid(() => build({ disks: [{ file: 'a.iso', media: 'cdrom' }] }), 'disks[0].bus', '"virtio"', /CD-ROM/);
    expectInvalid(() => build({ disks: [{ file: 'a.iso', media: 'cdrom', bus: 'ide', snapshot: true }] }), 'disks[0].snapshot', 'true');
  });

  it('refuses a target that does not match its bus, and duplicates', () => {
    expectInvalid(() => build({ disks: [{ file: 'a', bus: 'ide', target: 'vda' }] }), 'disks[0].target', '"vda"', /"hd"/);
    expectInvalid(() => build({ disks: [{ file: 'a', target: 'vda' }, { file: 'b', target: 'vda' }] }), 'disks[1].target', '"vda"', /disks\[0\]/);
    expectInvalid(() => build({ disks: [{ file: 'a', bus: 'scsi', target: 'sda' }, { file: 'b', bus: 'sata', target: 'sda' }] }), 'disks[1].target', '"sda"');
  });

  it('refuses a fifth IDE disk on pc and a seventh AHCI port', () => {
    expectInvalid(() => build({ disks: [{ file: 'a', bus: 'ide', target: 'hde' }] }), 'disks[0].target', '"hde"', /four IDE/);
    expectInvalid(() => build({ machine: 'q35', disks: [{ file: 'a', bus: 'sata', target: 'sdg' }] }), 'disks[0].target', '"sdg"', /six ports/);
  });

  it('refuses IDE and SATA hard disks on the same q35 port', () => {
    expectInvalid(() => build({ machine: 'q35', disks: [{ file: 'a', bus: 'ide' }, { file: 'b', bus: 'sata' }] }), 'disks[1].target', '"sda"', /ide\.0/);
  });

  it('refuses IDE and SATA on microvm', () => {
    expectInvalid(() => build({ machine: 'microvm', kernel: '/k', disks: [{ file: 'a', bus: 'ide' }] }), 'disks[0].bus', '"ide"', /microvm/);
    expectInvalid(() => build({ machine: 'microvm', kernel: '/k', disks: [{ file: 'a', bus: 'sata' }] }), 'disks[0].bus', '"sata"', /microvm/);
  });

  it('maps every cache mode to cache.direct, cache.no-flush and write-cache', () => {
    const modes = { none: ['on', 'off', 'on'], writeback: ['off', 'off', 'on'], writethrough: ['off', 'off', 'off'], directsync: ['on', 'off', 'off'], unsafe: ['off', 'on', 'on'] } as const;
    for (const [cache, [direct, noFlush, wc]] of Object.entries(modes)) {
      const spec = { disks: [{ file: 'a.qcow2', cache: cache as keyof typeof modes }] };
      expect(values(spec, '-blockdev')[1]).toContain(`cache.direct=${direct},cache.no-flush=${noFlush}`);
      expect(values(spec, '-device')[0]).toContain(`write-cache=${wc}`);
    }
  });
});

describe('validation of the rest', () => {
  it('refuses a graphics card, a tablet, NUMA and a boot order on microvm', () => {
    const micro = { machine: 'microvm' as const, kernel: '/k' };
    expectInvalid(() => build({ ...micro, vga: 'std' }), 'vga', '"std"', /PCI/);
    expectInvalid(() => build({ ...micro, display: { type: 'vnc' } }), 'display.type', '"vnc"', /PCI/);
    expectInvalid(() => build({ ...micro, tablet: true }), 'tablet', 'true', /microvm/);
    expectInvalid(() => build({ ...micro, boot: { order: 'c' } }), 'boot', '"order"', /microvm/);
    expectInvalid(() => build({ ...micro, smp: 2, memory: '256M', numa: [{ cpus: '0', memory: '128M' }, { cpus: '1', memory: '128M' }] }), 'numa', '"0"', /microvm/);
  });

  it('refuses NUMA CPUs that do not exist or appear twice', () => {
    expectInvalid(() => build({ smp: 2, memory: '256M', numa: [{ cpus: '0-2', memory: '256M' }] }), 'numa[0].cpus', '"0-2"', /vCPU 2/);
    expectInvalid(() => build({ smp: 2, memory: '256M', numa: [{ cpus: '0', memory: '128M' }, { cpus: '0-1', memory: '128M' }] }), 'numa[1].cpus', '"0-1"', /already/);
    expect(expandCpuList('0-2,5')).toEqual([0, 1, 2, 5]);
  });

  it('refuses hugepages with a memory size that is not a multiple of 2M', () => {
    expectInvalid(() => build({ memory: '257M', hugepages: true }), 'memory', '"257M"', /2M/);
  });

  it('refuses an incoming URI it does not know', () => {
    expectInvalid(() => build({}, { incoming: 'ftp://x' }), 'incoming', 'ftp://x');
  });

  it('uses stdio for the console without run paths, and nothing when serial is off', () => {
    expect(values({}, '-serial')).toEqual(['stdio']);
    expect(values({ serial: false }, '-serial')).toEqual([]);
    expect(values({ serial: false }, '-chardev')).toEqual([]);
  });

  it('keeps extra arguments verbatim and last', () => {
    const cmd = build({ extraArgs: ['-device', 'x,y=z', '-no-reboot', '-snapshot'] });
    expect(cmd.args.slice(-4)).toEqual(['-device', 'x,y=z', '-no-reboot', '-snapshot']);
  });

  it('adds a std VGA only for a VNC display', () => {
    expect(values({}, '-device')).toEqual(['virtio-balloon-pci,id=balloon0']);
    expect(values({ display: { type: 'vnc' } }, '-device')[0]).toBe('VGA,id=video0');
    expect(values({ display: { type: 'vnc' }, vga: 'none' }, '-device')).toEqual(['virtio-balloon-pci,id=balloon0']);
  });

  it('never puts a password on the command line', () => {
    const cmd = build({ display: { type: 'vnc', password: true } });
    expect(cmd.args.join(' ')).not.toMatch(/password=(?!on)/);
  });

  it('is pure: the same inputs give the same argv', () => {
    const spec = { nics: [{ network: 'n' }], disks: [{ file: 'a.qcow2' }] };
    expect(build(spec).args).toEqual(build(spec).args);
  });
});
