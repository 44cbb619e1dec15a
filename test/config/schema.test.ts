// Every invalid field is rejected with an error that names the field and the value.
import { describe, expect, it } from 'vitest';
import { parseVmSpec, validateName, smpOf } from '../../src/config/schema.js';
import { parseSize, formatSize } from '../../src/config/size.js';
import { QkvmError } from '../../src/errors.js';

const errorOf = (input: unknown): string => {
  try {
    parseVmSpec(input, 'vms/t.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(QkvmError);
    expect((e as QkvmError).code).toBe('INVALID');
    return (e as Error).message;
  }
  throw new Error('expected the definition to be rejected');
};

describe('guest names', () => {
  it.each(['a', 'web-01', 'x.y_z', 'A'.repeat(63)])('accepts %s', (n) => expect(validateName(n)).toBe(n));
  it.each(['', '.hidden', 'a/b', 'sp ace', 'A'.repeat(64), 'semi;colon', '$(id)'])('rejects %j', (n) => {
    expect(() => validateName(n)).toThrow(new RegExp(`invalid name "${n.replace(/[$()]/g, '\\$&')}"`));
  });
});

describe('sizes', () => {
  it('parses the forms users write', () => {
    expect(parseSize('512M')).toBe(512 * 2 ** 20);
    expect(parseSize('2G')).toBe(2 * 2 ** 30);
    expect(parseSize('1.5G')).toBe(1.5 * 2 ** 30);
    expect(parseSize('20GiB')).toBe(20 * 2 ** 30);
    expect(parseSize('512', 'memory', 'M')).toBe(512 * 2 ** 20);
    expect(parseSize('4096')).toBe(4096);
    expect(formatSize(2 * 2 ** 30)).toBe('2G');
  });
  it.each(['', 'lots', '-1G', '0', '12X', '1..5G'])('rejects %j', (s) => expect(() => parseSize(s)).toThrow(/invalid size|greater than zero|is negative/));
});

describe('VM definitions', () => {
  it('fills defaults for a minimal definition', () => {
    const s = parseVmSpec({ name: 'min' });
    expect(s).toMatchObject({ memory: '512M', smp: 1, machine: 'pc', accel: 'auto', balloon: true, serial: true, disks: [], nics: [] });
    expect(s.display).toEqual({ type: 'none', listen: '127.0.0.1', display: 0, password: false });
  });

  it('accepts every field', () => {
    const s = parseVmSpec({
      name: 'full', memory: '1G', cpu: 'max', smp: { cpus: 2, sockets: 1, cores: 2, threads: 2, maxcpus: 4 },
      machine: 'q35', accel: 'tcg', boot: { order: 'dc', once: 'd', menu: true },
      kernel: '/k', initrd: '/i', append: 'console=ttyS0',
      disks: [{ file: 'a.qcow2', format: 'qcow2', bus: 'scsi', media: 'disk', cache: 'none', readonly: false, snapshot: true, target: 'sda' }],
      nics: [{ network: 'default', model: 'e1000', mac: '52:54:00:aa:bb:cc', vhost: 'off' }, { type: 'user', hostfwd: ['tcp:127.0.0.1:2222-:22'] }],
      display: { type: 'vnc', listen: '127.0.0.1', display: 3, password: true }, vga: 'std',
      balloon: false, tablet: true, serial: true, numa: [{ cpus: '0-1', memory: '512M' }, { cpus: '2-3', memory: '512M' }],
      hugepages: true, memMerge: false, autostart: true, vcpupin: { '0': '0' }, extraArgs: ['-rtc', 'base=utc'], description: 'x',
    });
    expect(s.nics[0].type).toBe('network');
    expect(s.nics[1].type).toBe('user');
    expect(smpOf(s)).toMatchObject({ cpus: 2, maxcpus: 4 });
  });

  it.each([
    [{ name: '.x' }, /name = "\.x"/],
    [{ name: 'x', memory: 'lots' }, /memory = "lots": must be a size/],
    [{ name: 'x', machine: 'vax' }, /machine = "vax": must be one of pc, q35, microvm/],
    [{ name: 'x', accel: 'hax' }, /accel = "hax": must be one of auto, kvm, tcg/],
    [{ name: 'x', smp: 0 }, /smp = 0/],
    [{ name: 'x', smp: { sockets: 2, cores: 2, maxcpus: 3 } }, /sockets\*cores\*threads \(4\) must equal maxcpus \(3\)/],
    [{ name: 'x', smp: { cpus: 4, maxcpus: 2 } }, /cpus \(4\) must not exceed maxcpus \(2\)/],
    [{ name: 'x', boot: { order: 'xyz' } }, /boot\.order = "xyz"/],
    [{ name: 'x', initrd: '/i' }, /kernel.*initrd and append need a kernel/],
    [{ name: 'x', machine: 'microvm' }, /microvm machine has no firmware boot/],
    [{ name: 'x', disks: [{ file: 'd', cache: 'fast' }] }, /disks\[0\]\.cache = "fast": must be one of none, writeback/],
    [{ name: 'x', disks: [{ file: 'd', bus: 'usb' }] }, /disks\[0\]\.bus = "usb"/],
    [{ name: 'x', disks: [{ file: 'd', media: 'tape' }] }, /disks\[0\]\.media = "tape"/],
    [{ name: 'x', disks: [{ file: 'd', target: 'vd1' }] }, /disks\[0\]\.target = "vd1"/],
    [{ name: 'x', disks: [{}] }, /disks\[0\]\.file \(missing\)/],
    [{ name: 'x', nics: [{ network: 'n', mac: 'zz:54:00:00:00:01' }] }, /nics\[0\]\.mac = "zz:54:00:00:00:01"/],
    [{ name: 'x', nics: [{ model: 'ne2k' }] }, /nics\[0\]\.model = "ne2k"/],
    [{ name: 'x', nics: [{ network: 'n', vhost: 'maybe' }] }, /nics\[0\]\.vhost = "maybe"/],
    [{ name: 'x', nics: [{ type: 'network' }] }, /a network NIC needs a network name/],
    [{ name: 'x', nics: [{ type: 'user', hostfwd: ['ssh'] }] }, /nics\[0\]\.hostfwd\[0\] = "ssh"/],
    [{ name: 'x', nics: [{ network: 'n', hostfwd: ['tcp::2222-:22'] }] }, /hostfwd only applies to user-mode NICs/],
    [{ name: 'x', display: { type: 'spice' } }, /display\.type = "spice"/],
    [{ name: 'x', display: { type: 'vnc', display: 100 } }, /display\.display = 100/],
    [{ name: 'x', display: { type: 'vnc', listen: 'anywhere' } }, /display\.listen = "anywhere"/],
    [{ name: 'x', vga: 'hercules' }, /vga = "hercules"/],
    [{ name: 'x', numa: [{ cpus: '0', memory: '256M' }] }, /numa.*must add up to memory/],
    [{ name: 'x', numa: [{ cpus: 'zero', memory: '512M' }] }, /numa\[0\]\.cpus = "zero"/],
    [{ name: 'x', hugepages: 'yes' }, /hugepages = "yes"/],
    [{ name: 'x', extraArgs: '-foo' }, /extraArgs = "-foo"/],
    [{ name: 'x', bogus: 1 }, /unknown field\(s\) "bogus"/],
    [{ name: 'x', disks: [{ file: 'd', sizeGB: 3 }] }, /disks\[0\]: unknown field\(s\) "sizeGB"/],
  ])('rejects %j', (input, re) => {
    const msg = errorOf(input);
    expect(msg).toMatch(/^vms\/t\.yaml: invalid definition/);
    expect(msg).toMatch(re);
  });

  it('reports every problem at once', () => {
    const msg = errorOf({ name: 'x', memory: 'lots', machine: 'vax' });
    expect(msg.split('\n').length).toBe(3);
  });
});
