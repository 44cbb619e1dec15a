// Stopping a guest, staged like Lima and Proxmox: ask (ACPI), then insist (quit,
// SIGTERM), then force (SIGKILL); and always clean up after.
import { QkvmError } from '../errors.js';
import { QmpTimeoutError } from '../qmp/index.js';
import { acquireLock } from '../config/lock.js';
import { guestStatus, isActive, notRunningError, qemuPid, requireActive, runDirOf, startedSpec, waitGone } from './state.js';
import { cleanupRunDir, recoverLocked } from './recover.js';
import { connectQmp } from './qmp.js';
import { rmSync } from 'node:fs';
import { runFiles } from './state.js';

export type StopStep = 'powerdown' | 'guest-shutdown' | 'quit' | 'SIGTERM' | 'SIGKILL';


async function quitOverQmp(name: string): Promise<void> {
  try {
    const qmp = await connectQmp(name, { timeoutMs: 2000 });
    await qmp.execute('quit', {}, { timeoutMs: 2000 }).catch(() => undefined);
    await qmp.close().catch(() => undefined);
  } catch { /* QMP unreachable: signals will do */ }
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try { process.kill(pid, sig); } catch { /* already gone */ }
}

export interface ShutdownOptions {
  /** How long the guest gets to power off after the ACPI button (ms). */
  timeoutMs?: number;
  /** On timeout, escalate: quit, SIGTERM, SIGKILL. */
  force?: boolean;
  /**
   * With a guest agent that answers: how long ACPI gets before qkvm asks qemu-ga
   * (guest-shutdown) instead (default a third of timeoutMs, at most 20 s).
   */
  acpiTimeoutMs?: number;
  onStep?: (step: StopStep) => void;
}

/** `qkvm shutdown`: presses the ACPI power button and waits for QEMU to exit. */
export async function shutdownGuest(name: string, opts: ShutdownOptions = {}): Promise<{ steps: StopStep[] }> {
  const lock = await acquireLock('vm', name, 'shutting the guest down');
  const steps: StopStep[] = [];
  const step = (s: StopStep) => { steps.push(s); opts.onStep?.(s); };
  try {
    await recoverLocked(name);
    const st = await requireActive(name);
    const at = runDirOf(name);
    const timeoutMs = opts.timeoutMs ?? 60_000;
    step('powerdown');
    let exited = false;
    try {
      const qmp = await connectQmp(name, { timeoutMs: 5000 });
      try {
        await qmp.execute('system_powerdown', {}, { timeoutMs: 5000 });
        // A guest that ignores ACPI may still have qemu-ga: ask it after a while, within the same timeout.
        const agent = st.state === 'running' && startedSpec(name)?.agent === true;
        const acpiMs = Math.min(opts.acpiTimeoutMs ?? Math.min(timeoutMs / 3, 20_000), timeoutMs);
        exited = await waitGone(st.pid, agent ? acpiMs : timeoutMs);
        if (!exited && agent) {
          // Not answering: nothing was asked, ACPI keeps the rest of the timeout.
          if (await agentShutdown(name)) step('guest-shutdown');
          exited = await waitGone(st.pid, Math.max(timeoutMs - acpiMs, 1000));
        }
      } finally {
        await qmp.close().catch(() => undefined);
      }
    } catch (e) {
      // A QEMU that does not answer QMP (hung, or stopped) can still be stopped by signals.
      if (!opts.force) {
        throw new QkvmError('STATE', `guest "${name}": cannot press its power button: ${(e as Error).message}`, {
          hint: 'use --force to stop QEMU anyway (quit, then SIGTERM, then SIGKILL), or `qkvm destroy`', cause: e,
        });
      }
    }
    if (!exited) {
      if (!opts.force) {
        throw new QkvmError('TIMEOUT', `guest "${name}" did not power off within ${Math.round(timeoutMs / 1000)} s`, {
          hint: st.state === 'paused'
            ? `the guest is paused and cannot see the power button: \`qkvm resume ${name}\`, or use --force`
            : `the guest may ignore ACPI${startedSpec(name)?.agent ? ' and its guest agent did not help' : ' (with `agent: true` and qemu-ga in the guest, qkvm would ask the agent too)'}; use --force to stop QEMU (quit, then SIGTERM, then SIGKILL)`,
        });
      }
      exited = await escalate(name, st.pid, step);
      if (!exited) throw new QkvmError('TIMEOUT', `guest "${name}": QEMU (pid ${st.pid}) survived SIGKILL`, { hint: 'it may be stuck in the kernel (D state); see /proc/' + st.pid + '/stack' });
    }
    await cleanupRunDir(name, { at });
    return { steps };
  } finally {
    lock.release();
  }
}

/** guest-shutdown through qemu-ga; false when the agent does not answer (nothing was asked). */
async function agentShutdown(name: string): Promise<boolean> {
  const { withAgent } = await import('../agent/session.js');
  const { guestShutdown } = await import('../agent/commands.js');
  try {
    await withAgent(name, (qga) => guestShutdown(qga), { syncTimeoutMs: 3000 });
    return true;
  } catch {
    return false;
  }
}

async function escalate(name: string, pid: number, step: (s: StopStep) => void): Promise<boolean> {
  step('quit');
  await quitOverQmp(name);
  if (await waitGone(pid, 5000)) return true;
  step('SIGTERM');
  signal(pid, 'SIGTERM');
  if (await waitGone(pid, 5000)) return true;
  step('SIGKILL');
  signal(pid, 'SIGKILL');
  return waitGone(pid, 10_000);
}

/** `qkvm destroy`: stops QEMU now (SIGTERM, then SIGKILL), like pulling the plug. Also clears a crash. */
export async function destroyGuest(name: string): Promise<{ wasRunning: boolean }> {
  const lock = await acquireLock('vm', name, 'destroying the guest');
  try {
    const rec = await recoverLocked(name);
    const st = await guestStatus(name, { query: false });
    if (st.state === 'crashed') {
      // destroy also clears a crash: the next list says "shut off".
      rmSync(runFiles.crashed(name), { force: true });
      await cleanupRunDir(name);
      return { wasRunning: false };
    }
    // Only a QEMU proven to be this guest's is signalled.
    const pid = st.pid && st.pid === qemuPid(name) ? st.pid : undefined;
    if (!isActive(st.state) || !pid) {
      if (rec.actions.length) return { wasRunning: false };
      throw notRunningError(name, st.state);
    }
    const at = runDirOf(name);
    signal(pid, 'SIGTERM');
    if (!(await waitGone(pid, 3000))) {
      signal(pid, 'SIGKILL');
      await waitGone(pid, 10_000);
    }
    await cleanupRunDir(name, { at });
    return { wasRunning: true };
  } finally {
    lock.release();
  }
}

/** The vCPUs stop (QMP stop) / run again (cont). */
export async function suspendGuest(name: string): Promise<void> {
  await requireActive(name);
  const qmp = await connectQmp(name);
  try { await qmp.executeAndWait('stop', {}, 'STOP', { timeoutMs: 10_000 }); } finally { await qmp.close(); }
}

export async function resumeGuest(name: string): Promise<void> {
  const st = await requireActive(name);
  if (st.state === 'incoming') throw new QkvmError('STATE', `guest "${name}" is waiting for an incoming migration`);
  const qmp = await connectQmp(name);
  try { await qmp.executeAndWait('cont', {}, 'RESUME', { timeoutMs: 10_000 }); } finally { await qmp.close(); }
}

/** A hard reset, like the reset button: the guest gets no warning. */
export async function resetGuest(name: string): Promise<void> {
  await requireActive(name);
  const qmp = await connectQmp(name);
  try { await qmp.executeAndWait('system_reset', {}, 'RESET', { timeoutMs: 10_000 }); } finally { await qmp.close(); }
}

/**
 * Asks the guest to reboot itself: Ctrl-Alt-Del on its keyboard, which Linux
 * turns into a clean reboot. QEMU has no ACPI reboot button.
 */
export async function rebootGuest(name: string, opts: { timeoutMs?: number } = {}): Promise<void> {
  await requireActive(name);
  const qmp = await connectQmp(name);
  try {
    await qmp.executeAndWait('send-key', { keys: [{ type: 'qcode', data: 'ctrl' }, { type: 'qcode', data: 'alt' }, { type: 'qcode', data: 'delete' }] },
      'RESET', { timeoutMs: opts.timeoutMs ?? 60_000 });
  } catch (e: any) {
    if (e instanceof QmpTimeoutError) {
      throw new QkvmError('TIMEOUT', `guest "${name}" did not reboot after Ctrl-Alt-Del`, { hint: `the guest may ignore it; \`qkvm reset ${name}\` resets it the hard way`, cause: e });
    }
    throw e;
  } finally {
    await qmp.close();
  }
}
