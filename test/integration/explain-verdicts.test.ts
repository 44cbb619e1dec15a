// explain has no false [ok]: every option in explain's table, with a valid and an
// invalid value, goes to real QEMU 7.2 (-nodefaults -display none -S, QMP on
// stdio told to quit at once: exit 0 means QEMU took the whole line) and to
// explain, checked against this QEMU's introspection and this host. Where explain
// says [ok] (or deprecated: still taken) for every option, QEMU must take the
// line; where it says [error], QEMU must refuse it. Every invalid case must be
// one QEMU refuses, so the comparison proves something. One QEMU at a time.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OPTIONS } from '../../src/qemu/legacy/options.js';
import { explainCommandLine } from '../../src/qemu/legacy/translate.js';
import { introspectUncached } from '../../src/qemu/introspect.js';
import { readHostFacts } from '../../src/host/line-facts.js';
import type { VerdictContext } from '../../src/qemu/legacy/verdict.js';

const QEMU = 'qemu-system-x86_64';
const IN_CI = !!process.env.CI;
const haveQemu = spawnSync('sh', ['-c', `command -v ${QEMU}`]).status === 0;
if (!haveQemu && !IN_CI) console.warn('explain-verdicts skipped: no qemu-system-x86_64 here (run scripts/setup-host.sh)');
const DEMO = path.join(process.env.QKVM_TEST_CACHE ?? '/var/tmp/qkvm-test-cache', 'demo');

/**
 * Per option: words for a valid use and an invalid one (the option included).
 * Left out, a valid use is the option alone (no argument) and the invalid one is
 * the option misspelled (no argument) or missing its argument (with one).
 * valid: null means no use of it is valid in this harness: the reason says why.
 */
const CASES: Record<string, { valid?: string[] | null; invalid?: string[]; why?: string }> = {
  '-name': { valid: ['-name', 'web,debug-threads=on'], invalid: ['-name', 'web,colour=red'] },
  '-uuid': { valid: ['-uuid', '6ba7b810-9dad-11d1-80b4-00c04fd430c8'], invalid: ['-uuid', 'not-a-uuid'] },
  '-m': { valid: ['-m', '256'], invalid: ['-m', 'lots'] },
  '-smp': { valid: ['-smp', '2,sockets=1,cores=2,threads=1'], invalid: ['-smp', '256'] },
  '-cpu': { valid: ['-cpu', 'qemu64'], invalid: ['-cpu', 'pentium5'] },
  '-machine': { valid: ['-machine', 'q35'], invalid: ['-machine', 'pc-i440fx-9.9'] },
  '-M': { valid: ['-M', 'pc'], invalid: ['-M', 'pcc'] },
  '-accel': { valid: ['-accel', 'tcg'], invalid: ['-accel', 'kvmm'] },
  '-enable-kvm': { invalid: ['-enable-kvmm'] },
  '-kvm-shadow-memory': { valid: null, why: 'a qemu-kvm fork option; no QEMU has it', invalid: ['-kvm-shadow-memory', '8'] },
  '-numa': { valid: ['-m', '256', '-smp', '2', '-object', 'memory-backend-ram,id=m0,size=256M', '-numa', 'node,memdev=m0,cpus=0-1'], invalid: ['-numa', 'node,mem=256'] },
  // Not /dev/hugepages: without hugetlbfs QEMU takes it and writes a plain file there (explain says [host]; see the unit tests).
  '-mem-path': { valid: ['-mem-path', 'memdir'], invalid: ['-mem-path', 'no-such-dir/ram'] },
  '-mem-prealloc': { valid: ['-m', '64', '-mem-prealloc'] },
  '-overcommit': { valid: ['-overcommit', 'mem-lock=off'], invalid: ['-overcommit', 'mem-lok=off'] },
  '-icount': { valid: ['-icount', 'shift=auto'], invalid: ['-icount', 'shiftt=1'] },
  '-boot': { valid: ['-boot', 'order=dc,menu=on'], invalid: ['-boot', 'orderr=c'] },
  '-kernel': { valid: ['-kernel', path.join(DEMO, 'vmlinuz')] },
  '-initrd': { valid: ['-kernel', path.join(DEMO, 'vmlinuz'), '-initrd', path.join(DEMO, 'initrd.img')] },
  '-append': { valid: ['-kernel', path.join(DEMO, 'vmlinuz'), '-append', 'console=ttyS0'] },
  '-object': { valid: ['-object', 'rng-random,id=rng0,filename=/dev/urandom'] },
  '-set': { valid: ['-drive', 'file=disk.qcow2,id=d0,if=none', '-set', 'drive.d0.cache=none'] },
  '-usb': { invalid: ['-usbb'] },
  '-usbdevice': { valid: ['-usbdevice', 'tablet'], invalid: ['-usbdevice', 'tablett'] },
  '-soundhw': { valid: null, why: 'removed in QEMU 7.1', invalid: ['-soundhw', 'ac97'] },
  '-audiodev': { valid: ['-audiodev', 'none,id=snd0'] },
  '-audio': { valid: ['-audio', 'none,model=hda'] },
  '-watchdog-action': { valid: ['-watchdog-action', 'pause'] },
  '-rtc': { valid: ['-rtc', 'base=localtime,driftfix=slew'], invalid: ['-rtc', 'bse=utc'] },
  '-bios': { valid: ['-bios', 'bios.bin'] },
  '-drive': { valid: ['-drive', 'file=disk.qcow2,if=virtio,cache=none'], invalid: ['-drive', 'file=disk.qcow2,if=sd'] },
  '-hda': { valid: ['-hda', 'disk.qcow2'], invalid: ['-hda', 'missing.qcow2'] },
  '-hdb': { valid: ['-hdb', 'disk.qcow2'], invalid: ['-hda', 'disk.qcow2', '-drive', 'file=disk2.qcow2,index=0', '-hdb', 'disk.qcow2'] },
  '-hdc': { valid: ['-hdc', 'disk.qcow2'], invalid: ['-cdrom', 'cd.iso', '-hdc', 'disk.qcow2'] },
  '-hdd': { valid: ['-hdd', 'disk.qcow2'], invalid: ['-hdd', 'missing.qcow2'] },
  '-cdrom': { valid: ['-cdrom', 'cd.iso'], invalid: ['-hdc', 'disk.qcow2', '-cdrom', 'cd.iso'] },
  '-fda': { valid: ['-fda', 'floppy.img'], invalid: ['-fda', 'missing.img'] },
  '-fdb': { valid: ['-fdb', 'floppy.img'], invalid: ['-fdb', 'missing.img'] },
  '-snapshot': { valid: ['-hda', 'disk.qcow2', '-snapshot'] },
  '-blockdev': { valid: ['-blockdev', 'driver=file,node-name=f0,filename=disk.qcow2'] },
  '-pflash': { valid: null, why: 'a pc machine takes pflash only as firmware of the right size', invalid: ['-pflash', 'missing.fd'] },
  '-sd': { valid: null, why: 'x86 machines have no SD card slot', invalid: ['-sd', 'disk.qcow2'] },
  '-mtdblock': { valid: null, why: 'x86 machines have no MTD bus', invalid: ['-mtdblock', 'disk.qcow2'] },
  '-net': { valid: ['-net', 'nic,model=virtio', '-net', 'user'], invalid: ['-net', 'nic,mode=virtio', '-net', 'user'] },
  '-netdev': { valid: ['-netdev', 'user,id=n0,net=10.0.5.0/24,dhcpstart=10.0.5.20,hostfwd=tcp:127.0.0.1:2222-:22', '-device', 'virtio-net-pci,netdev=n0'], invalid: ['-netdev', 'user,id=n0,hostfwdd=tcp::2222-:22'] },
  '-nic': { valid: ['-nic', 'user,model=e1000'], invalid: ['-nic', 'user,model=ne2000'] },
  '-redir': { valid: null, why: 'removed in QEMU 3.1', invalid: ['-redir', 'tcp:2222::22'] },
  '-smb': { valid: null, why: 'removed in QEMU 3.1', invalid: ['-smb', '/tmp'] },
  '-tftp': { valid: null, why: 'removed in QEMU 3.1', invalid: ['-tftp', '/tmp'] },
  '-bootp': { valid: null, why: 'removed in QEMU 3.1', invalid: ['-bootp', 'pxelinux.0'] },
  '-device': { valid: ['-device', 'virtio-balloon-pci'], invalid: ['-device', 'virtio-ballon-pci'] },
  '-global': { valid: ['-global', 'PIIX4_PM.disable_s3=1'] },
  '-rotate': { valid: null, why: 'only a few boards with their own display take it', invalid: ['-rotate'] },
  '-display': { valid: ['-display', 'none'], invalid: ['-display', 'sdl'] },
  '-nographic': { invalid: ['-nographics'] },
  '-vnc': { valid: ['-vnc', '127.0.0.1:0'], invalid: ['-vnc', '127.0.0.1:0,passwd'] },
  '-vga': { valid: ['-vga', 'std'], invalid: ['-vga', 'vmwar'] },
  '-k': { valid: ['-k', 'en-us'] },
  '-spice': { valid: ['-spice', 'port=5931,addr=127.0.0.1,disable-ticketing=on'] },
  '-monitor': { valid: ['-monitor', 'none'] },
  '-qmp': { valid: ['-qmp', 'unix:qmp2.sock,server=on,wait=off'], invalid: ['-qmp', 'none'] },
  '-qmp-pretty': { valid: ['-qmp-pretty', 'unix:qmp3.sock,server=on,wait=off'], invalid: ['-qmp-pretty', 'none'] },
  '-mon': { valid: ['-chardev', 'null,id=c0', '-mon', 'chardev=c0,mode=readline'], invalid: ['-chardev', 'null,id=c0', '-mon', 'chardev=c0,mod=readline'] },
  '-chardev': { valid: ['-chardev', 'null,id=c0'], invalid: ['-chardev', 'null,id=c0,server=on,colour=red'] },
  '-serial': { valid: ['-serial', 'null'] },
  '-parallel': { valid: ['-parallel', 'null'] },
  '-debugcon': { valid: ['-debugcon', 'null'] },
  '-s': { valid: null, why: 'a gdb server on every address; not opened by tests', invalid: ['-ss'] },
  '-gdb': { valid: ['-gdb', 'none'] },
  '-daemonize': { valid: null, why: 'detaches from the harness (its own tests cover it)', invalid: ['-daemonise'] },
  '-incoming': { valid: ['-incoming', 'defer'] },
  '-loadvm': { valid: null, why: 'needs an image with that internal snapshot', invalid: ['-loadvm'] },
  '-chroot': { valid: ['-chroot', '/'] },
  '-runas': { valid: null, why: 'QEMU drops privileges after start-up, and in this harness (root in a container) it fails: "Dropping privileges failed"', invalid: ['-runas'] },
  '-sandbox': { valid: ['-sandbox', 'on,obsolete=deny'], invalid: ['-sandbox', 'on,obsolette=deny'] },
  '-msg': { valid: ['-msg', 'timestamp=on'], invalid: ['-msg', 'timestmp=on'] },
  '-trace': { valid: ['-trace', 'events=/dev/null'] },
  '-readconfig': { valid: ['-readconfig', '/dev/null'] },
  '-action': { valid: ['-action', 'reboot=shutdown'], invalid: ['-action', 'rebooot=shutdown'] },
  '-fw_cfg': { valid: ['-fw_cfg', 'name=opt/qkvm/x,string=1'], invalid: ['-fw_cfg', 'nam=opt/qkvm/x,string=1'] },
  '-fsdev': { valid: ['-fsdev', 'local,id=fs0,path=/tmp,security_model=none'], invalid: ['-fsdev', 'local,id=fs0,path=/tmp,security_modl=none'] },
  '-virtfs': { valid: ['-virtfs', 'local,path=/tmp,mount_tag=t0,security_model=none'], invalid: ['-virtfs', 'local,path=/tmp,mount_tg=t0,security_model=none'] },
  '-add-fd': { valid: null, why: 'needs a file descriptor passed by the caller', invalid: ['-add-fd', 'fdd=3,set=1'] },
  '-iscsi': { valid: ['-iscsi', 'initiator-name=iqn.2001-04.com.example:qkvm'], invalid: ['-iscsi', 'initiator=iqn'] },
  '-smbios': { valid: ['-smbios', 'type=1,manufacturer=qkvm'] },
  '-acpitable': { valid: null, why: 'needs an ACPI table file', invalid: ['-acpitable'] },
  '-tpmdev': { valid: null, why: 'needs a TPM emulator socket', invalid: ['-tpmdev'] },
  '-plugin': { valid: null, why: 'needs a TCG plugin file', invalid: ['-plugin'] },
  '-L': { valid: ['-L', '/usr/share/qemu'] },
  '-option-rom': { valid: null, why: 'needs an option ROM file', invalid: ['-option-rom'] },
  '-dtb': { valid: null, why: 'x86 machines take no device tree', invalid: ['-dtb'] },
  '-pidfile': { valid: ['-pidfile', 'qemu.pid'] },
  '-D': { valid: ['-D', 'qemu.log'] },
  '-d': { valid: ['-d', 'guest_errors'] },
  '-seed': { valid: ['-seed', '42'] },
  '-compat': { valid: ['-compat', 'deprecated-input=accept'] },
  '-echr': { valid: ['-echr', '20'] },
  '-watchdog': { valid: null, why: 'removed in QEMU 7.2', invalid: ['-watchdog', 'i6300esb'] },
  '-pcidevice': { valid: null, why: 'removed in QEMU 2.12', invalid: ['-pcidevice', 'host=00:02.0'] },
  '-startdate': { valid: null, why: 'removed in QEMU 3.1', invalid: ['-startdate', 'now'] },
  '-g': { valid: ['-g', '800x600'] },
};

const BASE = ['-nodefaults', '-display', 'none', '-S', '-qmp', 'stdio'];

/** QEMU's verdict: 0 when it took the line (and quit over QMP), else its exit code and message. */
function qemuTakes(words: string[], cwd: string): Promise<{ ok: boolean; why: string }> {
  return new Promise((resolve) => {
    const p = spawn(QEMU, [...BASE, ...words], { cwd, stdio: ['pipe', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => { err += d; });
    const timer = setTimeout(() => p.kill('SIGKILL'), 15_000);
    p.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ ok: code === 0, why: `exit ${code ?? signal}: ${err.trim().split('\n').slice(-2).join(' | ')}` });
    });
    p.stdin.on('error', () => { /* QEMU exited before reading: its exit code says why */ });
    p.stdin.end('{"execute":"qmp_capabilities"}\n{"execute":"quit"}\n');
  });
}

describe.skipIf(!haveQemu && !IN_CI)('explain has no false [ok] (real QEMU 7.2)', () => {
  let dir = '';
  let ctx: VerdictContext;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'qkvm-verdicts-'));
    for (const f of ['disk.qcow2', 'disk2.qcow2']) spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', path.join(dir, f), '16M']);
    writeFileSync(path.join(dir, 'cd.iso'), Buffer.alloc(2048 * 16));
    writeFileSync(path.join(dir, 'floppy.img'), Buffer.alloc(1474560));
    writeFileSync(path.join(dir, 'bios.bin'), readBios());
    spawnSync('mkdir', ['-p', path.join(dir, 'memdir')]);
    ctx = { qemu: await introspectUncached(QEMU), host: readHostFacts(dir) };
    expect(existsSync(path.join(DEMO, 'vmlinuz'))).toBe(true);
  }, 60_000);
  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  const rows: [string, 'valid' | 'invalid', string[]][] = [];
  for (const [opt, info] of Object.entries(OPTIONS)) {
    const c = CASES[opt] ?? {};
    const takes = info.arg !== undefined;
    if (c.valid !== null) rows.push([opt, 'valid', c.valid ?? [opt]]);
    rows.push([opt, 'invalid', c.invalid ?? (takes ? [opt] : [`${opt}x`])]);
  }

  it(`compares ${rows.length} lines, every option of the table with a valid and an invalid value`, async () => {
    const falseOk: string[] = [];
    const falseError: string[] = [];
    const invalidTaken: string[] = [];
    let ok = 0;
    let errors = 0;
    for (const [opt, kind, words] of rows) {
      const e = explainCommandLine([QEMU, ...words], ctx);
      const statuses = e.entries.map((x) => x.status);
      const sayOk = statuses.every((s) => s === 'ok' || s === 'deprecated');
      const sayError = statuses.includes('error');
      const q = await qemuTakes(words, dir);
      const line = `${opt} (${kind}): ${words.join(' ')} -> explain [${statuses.join(',')}], QEMU ${q.ok ? 'takes it' : `refuses (${q.why})`}`;
      if (sayOk) ok++;
      if (sayError) errors++;
      if (sayOk && !q.ok) falseOk.push(line);
      if (sayError && q.ok) falseError.push(line);
      if (kind === 'invalid' && q.ok) invalidTaken.push(line);
    }
    expect(falseOk, 'explain said [ok] to lines QEMU refuses').toEqual([]);
    expect(falseError, 'explain said [error] to lines QEMU takes').toEqual([]);
    expect(invalidTaken, 'invalid cases QEMU takes (the case proves nothing)').toEqual([]);
    // The comparison has teeth: many lines are [ok] and many [error].
    expect(ok).toBeGreaterThan(60);
    expect(errors).toBeGreaterThan(60);
  }, 1_500_000);
});

/** SeaBIOS as QEMU ships it: a valid -bios file. */
function readBios(): Buffer {
  for (const p of ['/usr/share/seabios/bios.bin', '/usr/share/qemu/bios.bin']) {
    try { return readFileSync(p); } catch { /* next */ }
  }
  throw new Error('no SeaBIOS bios.bin found (apt-get install seabios)');
}
