// The translator's modern commands must start real QEMU 7.2. Each legacy line
// below (from old qemu-kvm tutorials) is translated, its files are replaced by
// temporary images, and `qemu-system-x86_64 <modern> -S` is started with a QMP
// socket; the test waits for the QMP greeting, checks the guest is in prelaunch,
// and always kills QEMU afterwards.
//
// The option checks below run single legacy options against the real binary
// (qemu-system-x86_64 -accel tcg -machine pc -nodefaults -display none -S ...):
// QEMU must refuse exactly those the translator marks removed, conflict or
// changed, and must take the translation of every one of them.
//
// What the test changes in the modern command before running it, and why:
// - files: every -drive file= becomes a temporary image (qemu-img create, or an
//   empty .iso for CD-ROMs); -kernel becomes a fake bzImage header, -initrd a
//   small file. QEMU only opens them under -S.
// - -netdev tap becomes -netdev user (same id): no root network set-up here.
// - -accel kvm is dropped and -accel tcg kept or added, and -cpu host becomes
//   -cpu max: guests hang under KVM on these hosts and -cpu host aborts.
// - -display sdl/gtk/curses become -display none: this QEMU has no SDL or GTK
//   module, and curses needs a terminal. vnc=HOST:N becomes a VNC UNIX socket
//   in the temporary directory, and hostfwd host ports become 0, so that no
//   test fights over a TCP port.
// - a line without any display option gets -display none: without SDL or GTK,
//   QEMU falls back to VNC on port 5900, which other tests may hold.
// In CI (CI set) a missing qemu-system-x86_64 or qemu-img is a failure.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { explainCommandLine, splitCommandLine } from '../../src/qemu/legacy/index.js';
import { formatKeyVal, getKey, parseKeyVal, withoutKeys } from '../../src/qemu/legacy/keyval.js';

const QEMU = 'qemu-system-x86_64';
const IN_CI = !!process.env.CI;
const has = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
const missing = [QEMU, 'qemu-img'].filter((c) => !has(c));
const skipAll = missing.length > 0 && !IN_CI;
if (skipAll) console.warn(`legacy-qemu integration test skipped: missing ${missing.join(', ')}`);

const TUTORIAL =
  'qemu-kvm -name xp -m 512 -smp 4 -cpu host -drive file=xp.iso,media=cdrom -drive file=winxp.qcow2,media=disk,cache=writeback,format=qcow2 ' +
  '-boot order=dc,once=d -net nic,model=virtio,vlan=0 -net tap,ifname=tap0,script=/etc/qemu-ifup -balloon virtio -usbdevice tablet -vnc :1 -daemonize';

/** Legacy lines in the style of old tutorials, each exercising different options. */
const LINES: { label: string; line: string; expectArgs: string[] }[] = [
  { label: 'the README tutorial line', line: TUTORIAL, expectArgs: ['-device virtio-balloon-pci', '-display vnc=:1', '-daemonize'] },
  {
    label: 'user networking with -redir, -hda/-cdrom, -localtime',
    line: 'kvm -hda debian.img -cdrom debian-6.0.7-i386-netinst.iso -boot d -m 1024 -net nic -net user -redir tcp:2222::22 -localtime',
    expectArgs: ['-netdev user,id=net0,hostfwd=tcp::2222-:22', '-rtc base=localtime', '-drive file=debian.img,index=0,media=disk'],
  },
  {
    label: 'fake NUMA with -numa node,mem= and a bad -smp topology',
    line: 'qemu-kvm -m 1024 -smp 4,sockets=2,cores=1,threads=1 -numa node,mem=512,cpus=0-1 -numa node,mem=512,cpus=2-3 -hda numa.qcow2',
    expectArgs: ['-smp 4,sockets=2,cores=2,threads=1', '-object memory-backend-ram,id=ram-node0,size=512M', '-numa node,cpus=0-1,memdev=ram-node0'],
  },
  {
    label: '-no-kvm with -sdl and -alt-grab',
    line: 'qemu-kvm -no-kvm -m 256 -hda freedos.img -sdl -alt-grab -usbdevice mouse',
    expectArgs: ['-accel tcg', '-display sdl,grab-mod=lshift-lctrl-lalt', '-device usb-mouse'],
  },
  {
    label: 'a Windows guest with -soundhw, -usbdevice tablet, -localtime, -vga std, -curses',
    line: 'qemu-kvm -m 768 -hda win7.img -soundhw ac97,hda -usbdevice tablet -localtime -vga std -curses -k en-us',
    expectArgs: ['-device AC97', '-device intel-hda', '-device hda-duplex', '-display curses', '-vga std'],
  },
  {
    label: 'old KVM virtio boot: -drive boot=on, if=scsi, two vlans, -nographic',
    line: 'qemu-kvm -m 512 -drive file=root.img,if=virtio,boot=on -drive file=data.img,if=scsi,cache=off -net nic,model=virtio,vlan=0 -net user,vlan=0 -net nic,model=e1000,vlan=1 -net user,vlan=1 -nographic',
    expectArgs: ['-drive file=root.img,if=virtio', '-device lsi53c895a,id=scsi0', '-device scsi-hd,bus=scsi0.0,drive=drive0', '-netdev user,id=net1'],
  },
  {
    label: 'qemu-kvm options gone with qemu-kvm: -no-kvm-irqchip, -tdf, -nodefconfig, -kvm-shadow-memory, -realtime; VNC password; -monitor stdio with -daemonize',
    line: '/usr/libexec/qemu-kvm -M pc-0.14 -m 512 -hda rhel6.img -no-kvm-irqchip -no-kvm-pit -no-kvm-pit-reinjection -tdf -nodefconfig -kvm-shadow-memory 128 ' +
      '-realtime mlock=off -vnc :2,password -k de -monitor stdio -daemonize -pidfile /var/run/rhel6.pid',
    expectArgs: ['-M pc', '-machine kernel_irqchip=off', '-global kvm-pit.lost_tick_policy=discard', '-no-user-config', '-overcommit mem-lock=off', '-display vnc=:2,password=on'],
  },
  {
    label: 'direct kernel boot with -enable-kvm and -accel (conflict), several NICs on one hub, -net dump',
    line: 'qemu-system-x86_64 -enable-kvm -accel tcg -m 256 -kernel vmlinuz -initrd initrd.img -append "root=/dev/vda console=ttyS0" ' +
      '-drive file=disk.raw,if=virtio,format=raw,cache=none -net nic,vlan=0 -net nic,model=rtl8139,vlan=0 -net user,vlan=0 -net dump,vlan=0,file=dump.pcap -serial stdio -no-reboot',
    expectArgs: ['-netdev hubport,id=hub0p0,hubid=0', '-netdev hubport,id=hub0p2,hubid=0,netdev=net0-2', '-object filter-dump,id=dump0,netdev=net0-2,file=dump.pcap'],
  },
  {
    label: 'PXE boot with -tftp and -bootp, -startdate, -rtc-td-hack, -watchdog, -std-vga, -usbdevice disk:, -fda',
    line: 'qemu -m 128 -boot n -tftp /srv/tftp -bootp pxelinux.0 -startdate now -rtc-td-hack -watchdog i6300esb -std-vga -usbdevice disk:stick.img -fda floppy.img',
    expectArgs: ['-netdev user,id=net0,tftp=/srv/tftp,bootfile=pxelinux.0', '-device i6300esb', '-vga std', '-device usb-storage,drive=usbdisk0'],
  },
];

/**
 * Single options as QEMU 7.2 (Debian 12) takes or refuses them. IMG, ISO and DIR
 * become a temporary qcow2 image, an empty .iso and a temporary directory.
 * defaults: run without -nodefaults. modernNeeds: the translation needs something
 * this host lacks, so only the legacy side and the statuses are checked.
 */
const CHECKS: { args: string; refused: boolean; defaults?: boolean; modernNeeds?: string }[] = [
  // removed
  { args: '-balloon virtio', refused: true },
  { args: '-net nic,model=virtio,vlan=0 -net user,vlan=0', refused: true },
  { args: '-net nic,name=n1 -net user', refused: true },
  { args: '-net nic -net user -net dump,file=DIR/d.pcap', refused: true },
  { args: '-sdl', refused: true },
  { args: '-curses', refused: true },
  { args: '-sdl -alt-grab', refused: true },
  { args: '-sdl -ctrl-grab', refused: true },
  { args: '-no-kvm', refused: true },
  { args: '-m 512 -numa node,mem=256M -numa node,mem=256M', refused: true },
  { args: '-m 512 -numa node -numa node', refused: true },
  { args: '-smp 4,sockets=2,cores=1,threads=1', refused: true },
  { args: '-smp 3,cores=2', refused: true },
  { args: '-soundhw ac97', refused: true },
  { args: '-soundhw hda', refused: true },
  { args: '-redir tcp:0::22', refused: true },
  { args: '-tftp DIR -bootp pxelinux.0', refused: true },
  { args: '-smb DIR', refused: true, modernNeeds: 'smbd' },
  { args: '-tdf', refused: true },
  { args: '-no-kvm-irqchip', refused: true },
  { args: '-no-kvm-pit', refused: true },
  { args: '-no-kvm-pit-reinjection', refused: true },
  { args: '-nodefconfig', refused: true },
  { args: '-kvm-shadow-memory 128', refused: true },
  { args: '-localtime', refused: true },
  { args: '-startdate now', refused: true },
  { args: '-rtc-td-hack', refused: true },
  { args: '-realtime mlock=off', refused: true },
  { args: '-tb-size 64', refused: true },
  { args: '-show-cursor', refused: true },
  { args: '-no-quit', refused: true },
  { args: '-no-frame', refused: true },
  { args: '-clock dynticks', refused: true },
  { args: '-hdachs 100,16,63', refused: true },
  { args: '-enable-nesting', refused: true },
  { args: '-enable-fips', refused: true },
  { args: '-kernel-kqemu', refused: true },
  { args: '-std-vga', refused: true },
  { args: '-watchdog i6300esb', refused: true },
  { args: '-virtioconsole pty', refused: true },
  { args: '-usbdevice disk:IMG', refused: true },
  { args: '-pcidevice host=00:01.0', refused: true, modernNeeds: 'a host PCI device bound to vfio-pci' },
  { args: '-device pci-assign,host=00:01.0', refused: true, modernNeeds: 'a host PCI device bound to vfio-pci' },
  { args: '-device ivshmem', refused: true },
  { args: '-drive file=IMG,if=virtio,boot=on', refused: true },
  { args: '-drive file=IMG,cache=on', refused: true },
  { args: '-drive file=IMG,serial=abc,index=1', refused: true },
  { args: '-drive file=IMG,if=scsi', refused: true },
  { args: '-vnc unix:DIR/v.sock,password,tls', refused: true },
  { args: '-M pc-0.14', refused: true },
  // conflicts and fixes
  { args: '-enable-kvm -accel tcg', refused: true },
  { args: '-machine pc,accel=kvm -accel tcg', refused: true },
  { args: '-cpu host', refused: true },
  { args: '-monitor stdio -daemonize', refused: true },
  { args: '-serial stdio -daemonize', refused: true },
  { args: '-nographic -daemonize', refused: true, defaults: true },
  { args: '-nographic -monitor stdio', refused: true, defaults: true },
  { args: '-display curses -daemonize', refused: true },
  { args: '-serial stdio -monitor stdio', refused: true },
  { args: '-append quiet', refused: true },
  { args: '-uuid 123', refused: true },
  // taken as written (some deprecated)
  { args: '-hda IMG', refused: false },
  { args: '-hdb IMG -cdrom ISO', refused: false },
  { args: '-fda IMG', refused: false },
  { args: 'IMG', refused: false },
  { args: '-drive file=ISO,media=cdrom -drive file=IMG,media=disk,cache=writeback,format=qcow2', refused: false },
  { args: '-drive file=IMG,if=virtio,cache=off,snapshot', refused: false },
  { args: '-usbdevice tablet', refused: false },
  { args: '-usbdevice mouse', refused: false },
  { args: '-usb -usbdevice keyboard', refused: false },
  { args: '-net nic -net user', refused: false },
  { args: '-net nic,model=virtio -net user,hostfwd=tcp:127.0.0.1:0-:22', refused: false },
  { args: '-netdev user,id=n0 -device virtio-net-pci,netdev=n0', refused: false },
  { args: '-vnc unix:DIR/v.sock,password', refused: false },
  { args: '-chardev socket,id=c0,path=DIR/c.sock,server,nowait', refused: false },
  { args: '-monitor unix:DIR/m.sock,server,nowait -serial null', refused: false },
  { args: '-vga std', refused: false },
  { args: '-vga cirrus', refused: false },
  { args: '-k en-us', refused: false },
  { args: '-boot order=dc,once=d', refused: false },
  { args: '-boot d', refused: false },
  { args: '-m 1G -smp 4', refused: false },
  { args: '-smp 4,cores=2', refused: false },
  { args: '-smp 8,sockets=0', refused: false },
  { args: '-rtc base=localtime,driftfix=slew', refused: false },
  { args: '-name xp -uuid 12345678-1234-1234-1234-123456789abc', refused: false },
  { args: '-no-reboot -no-shutdown', refused: false },
  { args: '-global kvm-pit.lost_tick_policy=delay', refused: false },
  { args: '-object rng-random,id=rng0,filename=/dev/urandom -device virtio-rng-pci,rng=rng0', refused: false },
  { args: '-m 64 -mem-path DIR -mem-prealloc', refused: false },
  { args: '-M pc-i440fx-1.4', refused: false },
  { args: '-nographic', refused: false },
  { args: '-nographic -serial mon:stdio', refused: false, defaults: true },
  { args: '-no-hpet -no-acpi -win2k-hack', refused: false },
  { args: '-device AC97', refused: false },
  { args: '-device sga', refused: false },
  { args: '-device virtio-balloon-pci', refused: false },
];

/** QMP: wait for the greeting, negotiate, ask for the status. */
async function qmpStatus(socket: string, timeoutMs = 30_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let sock: net.Socket | undefined;
  while (!sock) {
    try {
      sock = await new Promise<net.Socket>((resolve, reject) => {
        const s = net.createConnection(socket);
        s.once('connect', () => resolve(s));
        s.once('error', reject);
      });
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  const conn = sock;
  conn.setEncoding('utf8');
  const msgs: any[] = [];
  let buf = '';
  let wake: (() => void) | undefined;
  let closed = false;
  conn.on('data', (d: string) => {
    buf += d;
    for (let i; (i = buf.indexOf('\n')) >= 0;) {
      const line = buf.slice(0, i).trim();
      buf = buf.slice(i + 1);
      if (line) msgs.push(JSON.parse(line));
    }
    wake?.();
  });
  conn.on('close', () => { closed = true; wake?.(); });
  conn.on('error', () => undefined);
  const next = async (pred: (m: any) => boolean) => {
    for (;;) {
      const i = msgs.findIndex(pred);
      if (i >= 0) return msgs.splice(i, 1)[0];
      if (closed) throw new Error('QMP socket closed before the reply');
      if (Date.now() > deadline) throw new Error('QMP timed out');
      await new Promise<void>((r) => { wake = r; setTimeout(r, 500); });
    }
  };
  try {
    await next((m) => m.QMP);
    conn.write('{"execute":"qmp_capabilities","id":1}\n');
    await next((m) => m.id === 1);
    conn.write('{"execute":"query-status","id":2}\n');
    const r = await next((m) => m.id === 2);
    return r.return?.status ?? JSON.stringify(r);
  } finally {
    conn.destroy();
  }
}

function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Groups argv into [option, value?] pairs (the modern command always has its values right after). */
function pairs(args: string[]): string[][] {
  const out: string[][] = [];
  for (const a of args) {
    if (a.startsWith('-') || !out.length) out.push([a]);
    else out[out.length - 1].push(a);
  }
  return out;
}

describe.skipIf(skipAll)('translated legacy command lines start QEMU 7.2', () => {
  let tmp = '';
  const pids: number[] = [];
  const children: ChildProcess[] = [];

  beforeAll(() => {
    if (missing.length) throw new Error(`CI host is not set up: missing ${missing.join(', ')}`);
    // A real disk, not tmpfs: cache=none needs O_DIRECT.
    tmp = mkdtempSync('/var/tmp/qkvm-legacy-qemu-');
  });

  afterEach(() => {
    for (const c of children.splice(0)) if (c.exitCode === null) c.kill('SIGKILL');
    for (const pid of pids.splice(0)) if (alive(pid)) process.kill(pid, 'SIGKILL');
  });

  afterAll(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** The modern command with its files, taps, displays and accelerators made safe to run here. */
  function localize(args: string[], dir: string): string[] {
    const files = new Map<string, string>();
    const image = (file: string, cdrom: boolean, format?: string) => {
      if (!files.has(file)) {
        const fmt = format === 'raw' ? 'raw' : 'qcow2';
        const local = path.join(dir, `f${files.size}${cdrom ? '.iso' : `.${fmt}`}`);
        if (cdrom) writeFileSync(local, '');
        else expect(spawnSync('qemu-img', ['create', '-q', '-f', fmt, local, '16M']).status).toBe(0);
        files.set(file, local);
      }
      return files.get(file)!;
    };
    const out: string[] = [];
    let hasDisplay = false;
    for (const [opt, value] of pairs(args)) {
      let v = value;
      switch (opt) {
        case '-drive': {
          const kv = parseKeyVal(v);
          const file = getKey(kv, 'file');
          if (file) v = formatKeyVal(kv.map((k) => (k.key === 'file' ? { key: 'file', value: image(file, getKey(kv, 'media') === 'cdrom', getKey(kv, 'format')) } : k)));
          break;
        }
        case '-kernel': {
          // Just enough of a bzImage header for QEMU to load it (and an initrd).
          const b = Buffer.alloc(1 << 20);
          b[0x1f1] = 4;
          b.write('HdrS', 0x202, 'latin1');
          b.writeUInt16LE(0x0206, 0x206);
          b[0x211] = 1;
          b.writeUInt32LE(0x37ffffff, 0x22c);
          v = path.join(dir, 'vmlinuz');
          writeFileSync(v, b);
          break;
        }
        case '-initrd':
          v = path.join(dir, 'initrd.img');
          writeFileSync(v, Buffer.alloc(4096));
          break;
        case '-netdev': {
          const kv = parseKeyVal(v, 'type');
          if (getKey(kv, 'type') === 'tap') v = `user,id=${getKey(kv, 'id')}`;
          else if (getKey(kv, 'type') === 'user') v = formatKeyVal(kv.map((k) => (k.key === 'hostfwd' ? { ...k, value: k.value!.replace(/^(tcp|udp)?:[^:]*:\d+-/, (_m, p) => `${p ?? 'tcp'}:127.0.0.1:0-`) } : k)));
          break;
        }
        case '-object':
          if (v.startsWith('filter-dump')) v = v.replace(/file=[^,]+/, `file=${path.join(dir, 'dump.pcap')}`);
          break;
        case '-accel':
          if (v.startsWith('kvm')) continue;
          break;
        case '-cpu':
          v = v.replace(/^host\b/, 'max');
          break;
        case '-display': {
          hasDisplay = true;
          if (v.startsWith('vnc=')) {
            const kv = parseKeyVal(v.slice(4), 'vnc');
            v = `vnc=${formatKeyVal([{ key: 'vnc', value: `unix:${path.join(dir, 'vnc.sock')}`, implied: true }, ...withoutKeys(kv, 'vnc')])}`;
          } else if (/^(sdl|gtk|curses)\b/.test(v)) {
            v = 'none';
          }
          break;
        }
        case '-nographic':
          hasDisplay = true;
          break;
        case '-pidfile':
          continue;
      }
      out.push(opt, ...(v === undefined ? [] : [v]));
    }
    if (!out.includes('-accel')) out.push('-accel', 'tcg');
    if (!hasDisplay) out.push('-display', 'none');
    return out;
  }

  /** Starts QEMU with a QMP socket; resolves to the run status, or to QEMU's complaint if it refuses. Always kills it. */
  async function start(args: string[], dir: string): Promise<{ started: boolean; status?: string; error?: string }> {
    const tag = Math.random().toString(36).slice(2, 8);
    const qmp = path.join(dir, `qmp-${tag}.sock`);
    const pidfile = path.join(dir, `qemu-${tag}.pid`);
    const full = [...args, '-pidfile', pidfile, '-qmp', `unix:${qmp},server=on,wait=off`, '-S'];
    const cmd = `${QEMU} ${full.join(' ')}`;
    if (full.includes('-daemonize')) {
      const r = spawnSync(QEMU, full, { encoding: 'utf8', timeout: 60_000 });
      if (r.status !== 0) return { started: false, error: `${cmd}\n${r.stderr}` };
      const pid = Number(readFileSync(pidfile, 'utf8').trim());
      pids.push(pid);
      try {
        const status = await qmpStatus(qmp);
        return alive(pid) ? { started: true, status } : { started: false, error: `${cmd}: QEMU died` };
      } finally {
        if (alive(pid)) process.kill(pid, 'SIGKILL');
        for (let i = 0; i < 50 && alive(pid); i++) await new Promise((r) => setTimeout(r, 100));
      }
    }
    const child = spawn(QEMU, full, { stdio: ['pipe', 'ignore', 'pipe'] });
    children.push(child);
    let stderr = '';
    child.stderr!.on('data', (d) => { stderr += String(d); });
    const exited = new Promise<never>((_, reject) => child.once('close', (code) => reject(new Error(`QEMU exited (${code}): ${cmd}\n${stderr}`))));
    exited.catch(() => undefined);
    try {
      const status = await Promise.race([qmpStatus(qmp), exited]);
      return child.exitCode === null ? { started: true, status } : { started: false, error: `${cmd}\n${stderr}` };
    } catch (e) {
      return { started: false, error: (e as Error).message };
    } finally {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await gone;
      }
    }
  }

  it('notices when QEMU refuses a line (the check is not vacuous)', async () => {
    const r = await start(['-accel', 'tcg', '-display', 'none', '-balloon', 'virtio'], tmp);
    expect(r.started).toBe(false);
    expect(r.error).toContain('-balloon');
  });

  for (const c of LINES) {
    it(`starts: ${c.label}`, async () => {
      const expl = explainCommandLine(c.line);
      const joined = pairs(expl.modern.args).map((p) => p.join(' '));
      for (const a of c.expectArgs) expect(joined).toContain(a);
      const dir = mkdtempSync(path.join(tmp, 'case-'));
      const r = await start(localize(expl.modern.args, dir), dir);
      expect(r, r.error).toMatchObject({ started: true, status: 'prelaunch' });
    });
  }

  describe('each legacy option against QEMU 7.2, and its translation', () => {
    for (const c of CHECKS) {
      it(`${c.args}: ${c.refused ? 'refused' : 'taken'}; the translation is taken`, async () => {
        const dir = mkdtempSync(path.join(tmp, 'check-'));
        const img = path.join(dir, 'disk.qcow2');
        const iso = path.join(dir, 'cd.iso');
        expect(spawnSync('qemu-img', ['create', '-q', '-f', 'qcow2', img, '16M']).status).toBe(0);
        writeFileSync(iso, '');
        const legacy = splitCommandLine(c.args.replaceAll('IMG', img).replaceAll('ISO', iso).replaceAll('DIR', dir));
        const picksAccel = legacy.some((a) => ['-accel', '-enable-kvm', '-no-kvm'].includes(a) || /accel=/.test(a));
        const base = c.defaults ? ['-machine', 'pc'] : ['-machine', 'pc', '-nodefaults'];
        const old = await start([...(picksAccel ? [] : ['-accel', 'tcg']), ...base, '-display', 'none', ...legacy], dir);
        expect(old.started, old.error ?? 'QEMU took it').toBe(!c.refused);

        const expl = explainCommandLine(['qemu-system-x86_64', ...legacy]);
        const statuses = expl.entries.map((e) => e.status);
        if (c.refused) expect(statuses.some((s) => ['removed', 'conflict', 'changed'].includes(s)), statuses.join()).toBe(true);
        else expect(statuses.every((s) => s === 'ok' || s === 'deprecated'), statuses.join()).toBe(true);

        if (c.modernNeeds) return;
        const now = await start([...base, ...localize(expl.modern.args, dir)], dir);
        expect(now, now.error).toMatchObject({ started: true, status: 'prelaunch' });
      });
    }
  });
});
