// The verdict logic against a recorded introspection of QEMU 7.2 (pure: no QEMU runs).
// test/fixtures/qemu/introspect-7.2.json is introspectUncached('qemu-system-x86_64') on Debian 12.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { QemuIntrospection } from '../../src/qemu/introspect.js';
import { hugetlbfsMounts } from '../../src/host/line-facts.js';
import { explainCommandLine } from '../../src/qemu/legacy/translate.js';
import { specFromCommandLine } from '../../src/qemu/legacy/to-spec.js';
import { nearest, type HostFacts } from '../../src/qemu/legacy/verdict.js';
import { formatExplanation } from '../../src/qemu/legacy/format.js';
import { netdevKeysFromSchema, parseHelpOptions, parseVgaHelp } from '../../src/qemu/introspect.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const qemu = JSON.parse(readFileSync(path.join(here, '../fixtures/qemu/introspect-7.2.json'), 'utf8')) as QemuIntrospection;
const files = new Set(['disk.img', 'x.qcow2', 'install.iso', 'y.img']);
const bare: HostFacts = { vhostNet: false, hugetlbfs: [], kvm: false, exists: (f) => files.has(f) };
const rich: HostFacts = { vhostNet: true, hugetlbfs: ['/dev/hugepages'], kvm: true, exists: (f) => files.has(f) };
const explain = (line: string, host: HostFacts = bare) => explainCommandLine(line, { qemu, host });
const status = (line: string, option: string, host?: HostFacts) => {
  const e = explain(line, host).entries.find((x) => x.raw.join(' ').startsWith(option));
  if (!e) throw new Error(`${option} not in ${line}`);
  return e;
};

describe('verdicts against the recorded QEMU 7.2', () => {
  it('the classic install line is [ok] when its files exist', () => {
    const e = explain('qemu-kvm -m 512 -hda disk.img -cdrom install.iso -boot d');
    expect(e.entries.map((x) => x.status)).toEqual(['ok', 'ok', 'ok', 'ok']);
    expect(e.checkedAgainst).toBe(qemu.version);
  });

  it('-cdrom with -hdc is an [error]: both are IDE index 2', () => {
    const e = status('qemu-kvm -cdrom install.iso -hdc y.img', '-hdc');
    expect(e.status).toBe('error');
    expect(e.note).toContain('bus=1, unit=0 (index=2) exists');
    expect(status('qemu-kvm -hdc y.img -cdrom install.iso', '-cdrom').status).toBe('error');
  });

  it('two -drive on one index are an [error]', () => {
    expect(status('qemu-kvm -drive file=x.qcow2,index=1 -hdb y.img', '-hdb').status).toBe('error');
    expect(status('qemu-kvm -drive file=x.qcow2,if=virtio,index=0 -drive file=y.img,if=virtio,index=0', '-drive file=y.img').status).toBe('error');
    // Different interfaces do not clash.
    expect(status('qemu-kvm -drive file=x.qcow2,if=virtio,index=0 -hda y.img', '-hda').status).toBe('ok');
  });

  it('if=sd and if=mtd: the pc machine has no such bus', () => {
    expect(status('qemu-kvm -drive file=x.qcow2,if=sd', '-drive').note).toContain('does not support if=sd');
    expect(status('qemu-kvm -drive file=x.qcow2,if=mtd', '-drive').status).toBe('error');
    expect(status('qemu-kvm -drive file=x.qcow2,if=floppy', '-drive').status).toBe('ok');
    expect(status('qemu-kvm -drive file=x.qcow2,if=usb', '-drive').status).toBe('error');
  });

  it('-smp beyond the machine\'s max CPUs (pc 255, q35 288)', () => {
    expect(status('qemu-kvm -smp 256', '-smp').note).toContain("max CPUs supported by machine 'pc-i440fx-7.2' is 255");
    expect(status('qemu-kvm -M q35 -smp 256', '-smp').status).toBe('ok');
    expect(status('qemu-kvm -M q35 -smp 289', '-smp').status).toBe('error');
    expect(status('qemu-kvm -smp 4', '-smp').status).toBe('ok');
  });

  it('NIC models this QEMU lacks, and model=virtio, which it takes', () => {
    expect(status('qemu-kvm -net nic,model=ne2000 -net user', '-net nic').status).toBe('error');
    expect(status('qemu-kvm -net nic,model=ne2000 -net user', '-net nic').note).toContain('Did you mean');
    expect(status('qemu-kvm -net nic,model=virtio -net user', '-net nic').status).toBe('ok');
    expect(status('qemu-kvm -net nic,model=rtl8139 -net user', '-net nic').status).toBe('ok');
    expect(status('qemu-kvm -nic user,model=smc91c111', '-nic').status).toBe('error');
  });

  it('mode=virtio typed for model=virtio: did you mean model', () => {
    const e = status('qemu-kvm -net nic,mode=virtio -net user', '-net nic');
    expect(e.status).toBe('error');
    expect(e.note).toContain("no parameter 'mode'");
    expect(e.note).toContain('Did you mean model?');
  });

  it('unknown options, keys, machines, CPUs and devices get [error] and a near name', () => {
    expect(status('qemu-kvm -nodefault', '-nodefault').note).toContain('Did you mean -nodefaults?');
    expect(status('qemu-kvm -M pcc', '-M').note).toContain('Did you mean pc?');
    expect(status('qemu-kvm -cpu pentium5', '-cpu').note).toMatch(/Did you mean pentium[23]?/);
    expect(status('qemu-kvm -device virtio-ballon-pci', '-device').note).toContain('Did you mean virtio-balloon-pci?');
    expect(status('qemu-kvm -drive file=x.qcow2,cahce=none', '-drive').note).toContain('Did you mean cache?');
    expect(status('qemu-kvm -netdev user,id=n0,hostfwdd=tcp::22-:22', '-netdev').note).toContain('Did you mean hostfwd?');
    expect(status('qemu-kvm -boot orderr=c', '-boot').status).toBe('error');
    expect(status('qemu-kvm -vga vmwar', '-vga').note).toContain('Did you mean vmware?');
    expect(status('qemu-kvm -machine pc,hpet=off', '-machine').status).toBe('ok');
  });

  it('missing files: QEMU cannot open them', () => {
    expect(status('qemu-kvm -hda nothere.img', '-hda').note).toContain("Could not open 'nothere.img'");
    expect(status('qemu-kvm -drive file=nothere.img,if=virtio', '-drive').status).toBe('error');
    expect(status('qemu-kvm -mem-path no-such-dir/ram', '-mem-path').note).toContain("can't open backing store");
  });

  it('help queries answer with this QEMU\'s list, not a machine named "?"', () => {
    const m = explain('qemu-kvm -M ?');
    expect(m.entries[0].status).toBe('help');
    expect(m.help?.[0].items).toContain('pc (alias of pc-i440fx-7.2)');
    expect(m.help?.[0].items).toContain('pc-i440fx-7.2 (default)');
    expect(m.help?.[0].items.length).toBe(qemu.machines.length + qemu.machines.filter((x) => x.alias).length);
    expect(formatExplanation(m)).toContain('pc-q35-7.2');
    for (const [line, item] of [['-machine help', 'none'], ['-cpu ?', 'qemu64'], ['-cpu help', 'max'], ['-device ?', 'virtio-net-pci'], ['-device help', 'e1000'],
      ['-net nic,model=?', 'rtl8139'], ['-net nic,model=help', 'e1000'], ['-soundhw ?', 'intel-hda'], ['-vga help', 'std'], ['-netdev help', 'user']] as const) {
      const e = explain(`qemu-kvm ${line}`);
      expect(e.entries.every((x) => x.status === 'help'), line).toBe(true);
      expect(e.help?.[0].items, line).toContain(item);
    }
  });

  it('vhost=on without /dev/vhost-net: the modern command says vhost=off', () => {
    const line = 'qemu-kvm -netdev tap,id=n0,ifname=tap0,script=no,downscript=no,vhost=on -device virtio-net-pci,netdev=n0';
    const e = status(line, '-netdev');
    expect(e.status).toBe('host');
    expect(e.note).toContain('/dev/vhost-net');
    const modern = explain(line).modern.args.join(' ');
    expect(modern).toContain('vhost=off');
    expect(modern).not.toContain('vhost=on');
    // With vhost-net there, it stays.
    expect(status(line, '-netdev', rich).status).toBe('ok');
    expect(explain(line, rich).modern.args.join(' ')).toContain('vhost=on');
    // -net tap too.
    const net = explain('qemu-kvm -net nic,model=virtio -net tap,ifname=tap0,script=no,vhost=on');
    expect(net.modern.args.join(' ')).not.toContain('vhost=on');
  });

  it('hugetlbfs, KVM and SDL/GTK: what this host lacks, and what works here', () => {
    const hp = status('qemu-kvm -m 512 -mem-path /dev/hugepages', '-mem-path');
    expect(hp.status).toBe('host');
    expect(hp.note).toContain('mount -t hugetlbfs');
    expect(explain('qemu-kvm -m 512 -mem-path /dev/hugepages').modern.args).not.toContain('-mem-path');
    expect(status('qemu-kvm -m 512 -mem-path /dev/hugepages', '-mem-path', rich).status).toBe('ok');
    const kvm = explain('qemu-system-x86_64 -enable-kvm -m 512');
    expect(kvm.entries[0].status).toBe('host');
    expect(kvm.modern.args.slice(0, 2)).toEqual(['-accel', 'tcg']);
    expect(explain('qemu-system-x86_64 -enable-kvm -m 512', rich).entries[0].status).toBe('ok');
    const sdl = explain('qemu-kvm -display sdl');
    expect(sdl.entries[0].status).toBe('host');
    expect(sdl.modern.args).toContain('vnc=127.0.0.1:0');
    expect(sdl.modern.args).not.toContain('sdl');
    expect(explain('qemu-kvm -display gtk').entries[0].note).toContain('qemu-system-gui');
  });

  it('vnet_hdr=, script=no, downscript=no, fd= and -net user options are explained and [ok]', () => {
    const e = explain('qemu-kvm -net nic -net tap,ifname=tap0,script=no,downscript=no,vnet_hdr=on');
    expect(e.entries.map((x) => x.status)).toEqual(['ok', 'ok']);
    expect(e.entries[1].explain).toMatch(/vnet_hdr/);
    expect(e.entries[1].explain).toMatch(/script=no/);
    const u = explain('qemu-kvm -net nic -net user,net=10.0.5.0/24,host=10.0.5.2,dhcpstart=10.0.5.20,dns=10.0.5.3,tftp=/srv/tftp,bootfile=pxelinux.0');
    expect(u.entries.map((x) => x.status)).toEqual(['ok', 'ok']);
    expect(u.entries[1].explain).toMatch(/tftp/);
    expect(u.entries[1].explain).toMatch(/dhcpstart/);
  });

  it('a line with an [error] gives create --from-cmdline its errors', () => {
    const r = specFromCommandLine('qemu-kvm -m 256 -smp 300', undefined, { qemu, host: bare });
    expect(r.errors.join('\n')).toContain('Invalid SMP CPUs 300');
    expect(specFromCommandLine('qemu-kvm -M ?', undefined, { qemu, host: bare }).help[0].items).toContain('q35 (alias of pc-q35-7.2)');
  });
});

describe('introspection parsers and did-you-mean', () => {
  it('nearest: a likely typo, or nothing', () => {
    expect(nearest('mode', ['model', 'macaddr', 'netdev'])).toBe('model');
    expect(nearest('zzzzzz', ['model', 'macaddr'])).toBeUndefined();
  });
  it('-help options, -vga help, hugetlbfs mounts', () => {
    expect(parseHelpOptions('-h or -help     display this help\n-machine [type=]name\n                selects\n--preconfig x')).toEqual(['-help', '-h', '-machine', '-preconfig'].sort());
    expect(parseVgaHelp('none                 no graphic card\nstd                  standard VGA (default)\n')).toEqual(['none', 'std']);
    expect(hugetlbfsMounts('hugetlbfs /dev/hugepages hugetlbfs rw 0 0\nproc /proc proc rw 0 0')).toEqual(['/dev/hugepages']);
  });
  it('netdev keys from the QAPI schema of netdev_add', () => {
    const schema = [
      { name: 'netdev_add', 'meta-type': 'command', 'arg-type': '1' },
      { name: '1', 'meta-type': 'object', members: [], variants: [{ case: 'user', type: '2' }] },
      { name: '2', 'meta-type': 'object', members: [{ name: 'hostfwd' }, { name: 'tftp' }] },
    ];
    expect(netdevKeysFromSchema(schema)).toEqual({ user: ['hostfwd', 'tftp'] });
    expect(qemu.netdevKeys.user).toEqual(expect.arrayContaining(['net', 'host', 'dhcpstart', 'dns', 'tftp', 'bootfile', 'hostfwd']));
    expect(qemu.netdevKeys.tap).toEqual(expect.arrayContaining(['vhost', 'vnet_hdr', 'script', 'downscript', 'fd']));
  });
});
