// Decides `accel: auto`. /dev/kvm existing is not enough: on hosts with broken
// nested virtualization a KVM guest hangs. So we boot a real (tiny) guest under
// KVM with a short timeout, and cache the verdict per host (not per home), kernel and QEMU version.
import { accessSync, constants, existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { withTempDir } from '../config/tempdir.js';
import { release, hostname } from 'node:os';
import { join } from 'node:path';
import { loadExeca } from '../config/lazy.js';
import { home, hostCacheDir } from '../config/paths.js';

export { hostCacheDir };
import { writeFileAtomic } from '../config/atomic.js';

export interface KvmVerdict { usable: boolean; reason: string; key: string; probedAt: string; ms?: number }

/** A boot sector that writes 0x31 to isa-debug-exit: QEMU then exits with (0x31<<1)|1 = 99. */
function probeBootSector(): Buffer {
  const b = Buffer.alloc(512);
  Buffer.from([0xb0, 0x31, 0xe6, 0xf4, 0xf4, 0xeb, 0xfd]).copy(b, 0); // mov al,0x31; out 0xf4,al; hlt; jmp -3
  b[510] = 0x55;
  b[511] = 0xaa;
  return b;
}

export const PROBE_EXIT = 99;

/** Linux kernels that can serve as the probe guest, best first. */
export function probeKernels(): string[] {
  const found: string[] = [];
  const demo = join(home.demoDir(), 'vmlinuz');
  if (existsSync(demo)) found.push(demo);
  try {
    for (const f of readdirSync('/boot')) if (f.startsWith('vmlinuz-')) found.push(join('/boot', f));
  } catch { /* no /boot in containers */ }
  return found;
}

/**
 * Boots a probe guest under `accel`. With a kernel, the guest is Linux itself
 * with no root disk: it panics within a second or two and, with panic=-1 and
 * -no-reboot, QEMU exits. A boot sector alone is not enough: on hosts with
 * broken nested virtualization, real-mode code runs under KVM but Linux hangs.
 */
export async function bootProbe(binary: string, accel: 'kvm' | 'tcg', timeoutMs: number, kernel?: string): Promise<{ ok: boolean; detail: string; ms: number }> {
  // The directory (probe image, serial log) is removed however this ends.
  return withTempDir('qkvm-probe-', async (dir) => {
    const t0 = Date.now();
    const common = ['-machine', 'pc', '-accel', accel, '-nodefaults', '-display', 'none', '-no-reboot'];
    let args: string[];
    if (kernel) {
      args = [...common, '-m', '128', '-kernel', kernel, '-append', 'console=ttyS0 panic=-1', '-serial', `file:${join(dir, 'serial.log')}`];
    } else {
      const img = join(dir, 'probe.img');
      writeFileSync(img, probeBootSector());
      args = [...common, '-m', '16', '-device', 'isa-debug-exit,iobase=0xf4,iosize=0x04', '-drive', `file=${img},format=raw,if=ide`];
    }
    const r = await (await loadExeca()).execa(binary, args, { reject: false, timeout: timeoutMs, stdin: 'ignore' });
    const ms = Date.now() - t0;
    const what = kernel ? 'a Linux test guest' : 'a boot-sector test guest';
    if (r.timedOut) return { ok: false, detail: `${what} hung under ${accel} for ${timeoutMs} ms (broken nested virtualization?)`, ms };
    let ran = r.exitCode === PROBE_EXIT;
    if (kernel) {
      let serial = '';
      try { serial = readFileSync(join(dir, 'serial.log'), 'utf8'); } catch { /* nothing written */ }
      ran = r.exitCode === 0 && /Linux version|Kernel panic/.test(serial);
    }
    if (ran) return { ok: true, detail: `${what} booted under ${accel} in ${ms} ms`, ms };
    const err = (r.stderr || '').trim().split('\n').pop() || `exit code ${r.exitCode}`;
    return { ok: false, detail: `${what} failed under ${accel}: ${err}`, ms };
  });
}

function cpuHasVirtFlags(): boolean {
  try {
    return /^flags\s*:.*\b(vmx|svm)\b/m.test(readFileSync('/proc/cpuinfo', 'utf8'));
  } catch { return false; }
}

function kvmAccessible(): string | undefined {
  if (!existsSync('/dev/kvm')) return '/dev/kvm is missing (no hardware virtualization, or the kvm module is not loaded)';
  try {
    accessSync('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return '/dev/kvm is not accessible to this user (add the user to the kvm group)';
  }
  return undefined;
}

const cacheFile = () => {
  const dir = hostCacheDir();
  return dir ? join(dir, 'kvm-probe.json') : undefined;
};

/**
 * Whether KVM really runs guests here. Cached by host, kernel and QEMU version;
 * `fresh` re-probes.
 */
export async function probeKvm(binary: string, qemuVersion: string, opts: { fresh?: boolean; timeoutMs?: number } = {}): Promise<KvmVerdict> {
  // The host's facts only (not a home's paths): kernel release, /dev/kvm, QEMU; and whether Linux itself can be the probe.
  const key = `${hostname()}|${release()}|kvm=${existsSync('/dev/kvm') ? 'present' : 'absent'}|${qemuVersion}|${binary}|${probeKernels().length ? 'linux' : 'bootsector'}`;
  const now = new Date().toISOString();
  const denied = kvmAccessible();
  if (denied) return { usable: false, reason: denied, key, probedAt: now };
  if (!opts.fresh) {
    try {
      const cached = JSON.parse(readFileSync(cacheFile() ?? '', 'utf8')) as KvmVerdict;
      if (cached.key === key) return cached;
    } catch { /* no cache yet */ }
  }
  const kernel = probeKernels()[0];
  const r = await bootProbe(binary, 'kvm', opts.timeoutMs ?? 8000, kernel);
  if (r.ok && !kernel) {
    // Real-mode code runs even where Linux hangs; without a kernel to confirm, trust the CPU flags.
    if (!cpuHasVirtFlags()) {
      r.ok = false;
      r.detail += ', but the CPU shows no vmx/svm flag and no Linux kernel was at hand to confirm that Linux runs (build the demo guest for a full probe)';
    } else {
      r.detail += ' (no Linux kernel was at hand to confirm it; build the demo guest for a full probe)';
    }
  }
  const verdict: KvmVerdict = { usable: r.ok, reason: r.detail, key, probedAt: now, ms: r.ms };
  const file = cacheFile();
  try { if (file) writeFileAtomic(file, JSON.stringify(verdict, null, 2) + '\n'); } catch { /* cache is best effort */ }
  return verdict;
}
