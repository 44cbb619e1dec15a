// A demo guest with the real qemu-ga inside: the demo initramfs plus a second
// cpio archive (the kernel unpacks both) holding Debian's qemu-ga, the host's
// copies of its libraries (the host is Debian 12 too), and a /sbin/shutdown that
// powers the demo guest off the way its init expects (qemu-ga's guest-shutdown
// runs /sbin/shutdown). Cached beside the demo guest, keyed by its inputs.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DEMO_DIR, ensureDemoGuest } from '../net/lab.js';
import { ensureQemuGa } from './qemu-ga.js';

const OUT = path.join(process.env.QKVM_TEST_CACHE ?? '/var/tmp/qkvm-test-cache', 'demo-agent');
export const AGENT_INITRD = path.join(OUT, 'initrd.img');

const SHUTDOWN = `#!/bin/sh
# qemu-ga's guest-shutdown runs "shutdown -P +0 MSG" (or -H, -r): busybox init's signals.
case " $* " in
  *" -r "*) kill -TERM 1 ;;
  *" -H "*) kill -USR1 1 ;;
  *) kill -USR2 1 ;;
esac
`;

// qemu-ga's guest-set-user-password pipes "USER:PASSWORD" into chpasswd; the demo
// guest has none, so this one keeps the line where the test can read it.
const CHPASSWD = `#!/bin/sh
cat > /run/chpasswd.in
`;

/** Starts qemu-ga on the agent's port, found by name as udev would; prints QKVM-AGENT-UP when it runs. */
export const START_AGENT = [
  'for p in /sys/class/virtio-ports/*; do [ "$(cat $p/name)" = org.qemu.guest_agent.0 ] && dev=/dev/${p##*/}; done',
  'qemu-ga -m virtio-serial -p "$dev" -t /run -f /run/qemu-ga.pid -d && echo "QKVM-AGENT-UP $dev"',
].join('; ');

export function ensureAgentInitrd(): string {
  ensureDemoGuest();
  const qga = ensureQemuGa();
  const key = `${readFileSync(path.join(DEMO_DIR, 'inputs.sha256'), 'utf8').trim()} ${readFileSync(qga).length} ${SHUTDOWN.length} ${CHPASSWD.length}`;
  const stamp = path.join(OUT, 'inputs');
  if (existsSync(AGENT_INITRD) && existsSync(stamp) && readFileSync(stamp, 'utf8') === key) return AGENT_INITRD;
  mkdirSync(OUT, { recursive: true });
  const root = mkdtempSync(path.join(tmpdir(), 'qkvm-agent-initrd-'));
  try {
    const put = (from: string, to: string) => {
      mkdirSync(path.join(root, path.dirname(to)), { recursive: true });
      copyFileSync(from, path.join(root, to));
    };
    put(qga, '/usr/sbin/qemu-ga');
    // Every library ldd names, at the path the loader looks for it.
    const ldd = execFileSync('ldd', [qga], { encoding: 'utf8' });
    for (const m of ldd.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x/g)) put(m[1], m[1]);
    mkdirSync(path.join(root, 'sbin'), { recursive: true });
    writeFileSync(path.join(root, 'sbin/shutdown'), SHUTDOWN);
    chmodSync(path.join(root, 'sbin/shutdown'), 0o755);
    mkdirSync(path.join(root, 'usr/sbin'), { recursive: true });
    writeFileSync(path.join(root, 'usr/sbin/chpasswd'), CHPASSWD);
    chmodSync(path.join(root, 'usr/sbin/chpasswd'), 0o755);
    chmodSync(path.join(root, 'usr/sbin/qemu-ga'), 0o755);
    const extra = path.join(root, '..', `${path.basename(root)}.cpio.gz`);
    const r = spawnSync('sh', ['-c', 'cd "$1" && find . | cpio -o -H newc --quiet | gzip -9 > "$2"', 'sh', root, extra]);
    if (r.status !== 0) throw new Error(`cpio failed: ${r.stderr}`);
    // Two gzip'd cpio archives, one after the other: the kernel unpacks both.
    const tmp = `${AGENT_INITRD}.partial`;
    writeFileSync(tmp, Buffer.concat([readFileSync(path.join(DEMO_DIR, 'initrd.img')), readFileSync(extra)]));
    renameSync(tmp, AGENT_INITRD);
    writeFileSync(stamp, key);
    rmSync(extra, { force: true });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  return AGENT_INITRD;
}
