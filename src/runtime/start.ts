// Starting a guest: QEMU daemonizes with its QMP sockets, serial socket, pidfile
// and log under QKVM_RUN/NAME. It always starts with -S, so that qkvm can finish
// setting it up over QMP before the first guest instruction runs.
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { loadExeca } from '../config/lazy.js';
import { loadVm } from '../config/store.js';
import { run, scripts, qkvmRun } from '../config/paths.js';
import { ensureDir, writeFileAtomic } from '../config/atomic.js';
import { acquireLock, runDirError } from '../config/lock.js';
import type { VmSpec } from '../config/schema.js';
import { buildCommand } from '../qemu/builder.js';
import type { HostCaps } from '../qemu/caps.js';
import { QkvmError, invalid } from '../errors.js';
import { processStartTime } from './proc.js';
import { resolveCaps } from './caps.js';
import { guestStatus, isActive, qemuPid, runFiles, waitGone, type GuestStatus } from './state.js';
import { cleanupRunDir, recoverLocked } from './recover.js';
import { connectQmp, stateSocket } from './qmp.js';
import { expandUserNetworks, prepareGuestNetworking, type ResolvedNic } from '../net/guest.js';
import { assertStartable, resolveDiskPath } from '../storage/resolve.js';
import { afterLaunchHooks } from './hooks.js';
import { checkAtStart } from '../config/trust.js';
import { exposureWarnings } from '../config/exposure.js';
import { hugepagesFor, hugepagesStatus } from '../host/hugepages.js';
import { parseSize } from '../config/size.js';
import { ensureSeed, seedFile } from '../image/seed.js';

export interface StartOptions {
  /** Leave the vCPUs stopped (`qkvm resume` starts them). */
  paused?: boolean;
  /** Wait for an incoming migration: tcp:ADDR:PORT, or defer (restore). */
  incoming?: string;
  /** Accepted for old scripts; it no longer lifts any storage check (a clone's base is never opened writable). */
  force?: boolean;
  /** Start from this definition instead of vms/NAME.yaml (restore, migration). */
  spec?: VmSpec;
  /** One-line notes for the user (why TCG, overcommit). */
  onNote?: (line: string) => void;
  /** The caller (restore) already decided that spec's extraArgs may run. */
  extraArgsChecked?: boolean;
  /** A file descriptor QEMU inherits as fd 3 (restore's stream: migrate-incoming fd:3). */
  inheritFd?: number;
  /** Warnings about what the guest exposes (VNC without a password, hostfwd on every address). */
  onWarning?: (line: string) => void;
}

export function runPaths(name: string) {
  return {
    qmpSocket: run.qmpSocket(name),
    serialSocket: run.serialSocket(name),
    serialLog: run.serialLog(name),
    agentSocket: run.agentSocket(name),
    pidFile: run.pidFile(name),
    qemuLog: run.qemuLog(name),
    linkSocket: (index: number) => run.linkSocket(name, index),
  };
}

/** The exact command qkvm runs for a guest: `qkvm cmdline` shows this and `start` runs this. */
export function commandFor(spec: VmSpec, caps: HostCaps, opts: { nics?: ResolvedNic[]; incoming?: string; autostart?: boolean; hugepagesPath?: string } = {}) {
  // A NIC on a user-mode qkvm network is QEMU's slirp, with that network's hostfwd rules.
  spec = expandUserNetworks(spec);
  const cmd = buildCommand(spec, {
    caps,
    run: runPaths(spec.name),
    // Without -S, a guest arriving by -incoming tcp: runs as soon as its state is in (the tutorial's behaviour).
    paused: !opts.autostart,
    incoming: opts.incoming,
    resolveDisk: resolveDiskPath,
    nics: opts.nics,
    scripts: { ifup: scripts.ifup(), ifdown: scripts.ifdown() },
    hugepagesPath: opts.hugepagesPath ?? (spec.hugepages ? hugetlbfsMount() : undefined),
    seed: seedFile(spec),
  });
  // A second monitor, so that list and info answer while a long command holds the first.
  const extra = { opt: '-qmp', value: `unix:${stateSocket(spec.name)},server=on,wait=off`, explain: 'A second QMP monitor that qkvm keeps for status queries (list, info), so they answer even while a long command holds the first.' };
  const at = cmd.options.findIndex((o) => o.opt === '-qmp') + 1;
  const options = [...cmd.options.slice(0, at), extra, ...cmd.options.slice(at)];
  return { ...cmd, options, args: options.flatMap((o) => (o.value === undefined ? [o.opt] : [o.opt, o.value])) };
}

/** The hugetlbfs mount a huge-page guest would use here (the default path when none is mounted). */
function hugetlbfsMount(): string | undefined {
  const st = hugepagesStatus();
  return (st.mounts.find((m) => m.path === '/dev/hugepages' && m.pageBytes === st.defaultPageBytes) ?? st.mounts.find((m) => m.pageBytes === st.defaultPageBytes))?.path;
}

function qemuError(stderr: string, name: string): string {
  let log = '';
  try { log = readFileSync(run.qemuLog(name), 'utf8').trim(); } catch { /* no log yet */ }
  const text = [stderr.trim(), log].filter(Boolean).join('\n');
  return text || 'QEMU exited without a message';
}

/** tcp:HOST:PORT, unix:PATH or defer. QEMU runs exec: URIs through /bin/sh, so users cannot give one. */
export function validateIncoming(uri: string): string {
  if (/^tcp:[A-Za-z0-9.:\[\]-]*:\d{1,5}$/.test(uri) || /^unix:\/[^\0]+$/.test(uri) || uri === 'defer') return uri;
  throw invalid(`--incoming: unsupported migration address "${uri}"`, 'use tcp:ADDR:PORT (e.g. tcp:0.0.0.0:4444), unix:/path or defer');
}

export async function startGuest(name: string, opts: StartOptions = {}): Promise<GuestStatus> {
  if (opts.incoming !== undefined) validateIncoming(opts.incoming);
  const spec = opts.spec ?? loadVm(name);
  // Raw extraArgs run only as allowed out of band (config/trust.ts); refused before anything is made.
  if (!opts.extraArgsChecked) {
    const warning = checkAtStart(name, spec.extraArgs);
    if (warning) opts.onNote?.(warning);
  }
  let hugepagesPath: string | undefined;
  const lock = await acquireLock('vm', name, 'starting the guest');
  // Set once anything outside the run directory may exist (taps, tap files, QEMU): undo it all on failure.
  let launched = false;
  try {
    // Repair first (a crash's leftovers, an interrupted start); it refuses a run dir qkvm did not make.
    await recoverLocked(name);
    const before = await guestStatus(name);
    if (isActive(before.state)) {
      throw new QkvmError('STATE', `guest "${name}" is already ${before.state} (pid ${before.pid})`, {
        hint: `see \`qkvm info ${name}\`; stop it with \`qkvm shutdown ${name}\` first`,
      });
    }
    await assertStartable(name, opts.force, spec);
    // Huge pages are checked before anything is made: without a hugetlbfs mount QEMU
    // would silently put the guest's memory in a regular file at mem-path.
    if (spec.hugepages) hugepagesPath = hugepagesFor(name, parseSize(spec.memory, 'memory', 'M')).path;
    const caps = await resolveCaps(spec.accel, opts.onNote);
    // The cloud-init seed, made (or reused, keyed by its content) before anything of the start exists.
    await ensureSeed(spec);

    // A clean slate, then the marker that says a start is under way (and by whom).
    await cleanupRunDir(name, { all: true });
    try {
      ensureDir(run.vmDir(name));
      writeFileSync(runFiles.starting(name), JSON.stringify({ pid: process.pid, start: processStartTime(process.pid) }), { mode: 0o600 });
    } catch (e) { throw runDirError(e, run.vmDir(name)); }

    launched = true;
    const nics = await prepareGuestNetworking(name, spec, caps);
    writeFileAtomic(run.startedSpec(name), JSON.stringify({ ...spec, _nics: nics }, null, 2));
    for (const w of exposureWarnings(spec)) opts.onWarning?.(w);
    const cmd = commandFor(spec, caps, { nics, hugepagesPath, incoming: opts.incoming, autostart: !!opts.incoming && opts.incoming !== 'defer' && !opts.paused });
    const r = await (await loadExeca()).execa(cmd.binary, cmd.args, {
      reject: false, timeout: 120_000,
      stdio: (opts.inheritFd === undefined ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'pipe', 'pipe', opts.inheritFd]) as any,
      // The tap scripts QEMU runs find their per-tap files through QKVM_RUN.
      env: { QKVM_RUN: qkvmRun() },
    });
    if (r.exitCode !== 0) {
      throw new QkvmError('QEMU', `QEMU could not start guest "${name}":\n${qemuError(String(r.stderr ?? ""), name)}`, {
        hint: `see the command with \`qkvm cmdline ${name}\``,
      });
    }
    const qmp = await connectQmp(name, { timeoutMs: 10_000 });
    try {
      await afterLaunchHooks(name, spec, qmp, opts.onNote);
      if (!opts.paused && !opts.incoming) await qmp.execute('cont', {}, { timeoutMs: 10_000 });
    } finally {
      await qmp.close().catch(() => undefined);
    }
    try { unlinkSync(runFiles.starting(name)); } catch { /* gone */ }
    return await guestStatus(name);
  } catch (e) {
    if (launched) {
      // Leave nothing behind: no QEMU, no socket, no tap.
      const pid = qemuPid(name);
      if (pid) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
      await waitGone(pid, 5000);
      await cleanupRunDir(name, { all: true });
    }
    throw e;
  } finally {
    lock.release();
  }
}
