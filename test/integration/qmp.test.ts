// The QMP client against a real, daemonized QEMU 7.2 (TCG, no guest, started paused).
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QmpClient, QmpExecuteError, QmpInterruptedError, type QmpStatusInfo } from '../../src/qmp/index.js';

const QEMU = 'qemu-system-x86_64';
const IN_CI = Boolean(process.env.CI);
const missing = spawnSync(QEMU, ['--version']).error !== undefined;
if (missing && !IN_CI) console.warn(`qmp integration tests skipped: ${QEMU} is not on PATH`);
const d = missing && !IN_CI ? describe.skip : describe;

let dir: string | undefined;
let pid: number | undefined;
let client: QmpClient | undefined;

// A zombie counts as gone: PID 1 here reaps late, so kill -0 would lie.
function processGone(p: number): boolean {
  try {
    const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

async function waitGone(p: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (processGone(p)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return processGone(p);
}

beforeAll(() => {
  if (missing && IN_CI) throw new Error(`qmp integration tests cannot run in CI: ${QEMU} is not on PATH`);
  if (missing) return;
  dir = mkdtempSync(join(tmpdir(), 'qkvm-qmp-'));
});

afterAll(async () => {
  await client?.close();
  if (pid === undefined && dir !== undefined) {
    try {
      pid = Number(readFileSync(join(dir, 'qemu.pid'), 'utf8').trim());
    } catch {
      // QEMU never got as far as writing it
    }
  }
  if (pid !== undefined && pid > 1 && !processGone(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

d('QMP client against real QEMU', () => {
  it('connects while QEMU starts, runs commands and events, and sees the socket close on quit', async () => {
    const sock = join(dir!, 'qmp.sock');
    const pidfile = join(dir!, 'qemu.pid');
    const log = join(dir!, 'qemu.log');

    // Start connecting first: the client retries until QEMU has made the socket.
    client = new QmpClient();
    const connecting = client.connect(sock, { retryUntil: Date.now() + 30_000, timeoutMs: 10_000 });
    await promisify(execFile)(QEMU, [
      '-machine', 'pc', '-accel', 'tcg', '-m', '64', '-nodefaults', '-display', 'none', '-S',
      '-qmp', `unix:${sock},server=on,wait=off`,
      '-D', log, '-daemonize', '-pidfile', pidfile,
    ]);
    // QEMU deletes its pidfile when it exits, so read it now.
    pid = Number(readFileSync(pidfile, 'utf8').trim());
    expect(pid).toBeGreaterThan(1);
    await connecting;

    expect(client.state).toBe('running');
    expect(client.greeting?.QMP.version.qemu.major).toBeGreaterThanOrEqual(7);
    // QEMU 7.2 offers oob on a -qmp socket; the client takes it.
    expect(client.oob).toBe(client.greeting!.QMP.capabilities.includes('oob'));

    const paused = await client.execute<QmpStatusInfo>('query-status');
    expect(paused).toMatchObject({ status: 'prelaunch', running: false });

    const { result, event } = await client.executeAndWait('cont', undefined, 'RESUME');
    expect(result).toEqual({});
    expect(event.event).toBe('RESUME');
    expect(event.timestamp.seconds).toBeGreaterThan(0);
    expect(await client.execute<QmpStatusInfo>('query-status')).toMatchObject({ status: 'running', running: true });

    expect(await client.hmp('info status')).toMatch(/^VM status: running/);
    // HMP reports its own errors as text, not as a QMP error.
    expect(await client.hmp('no-such-hmp-command')).toMatch(/unknown command/);

    const err = await client.execute('no-such-command').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QmpExecuteError);
    expect(err).toMatchObject({ code: 'QMP_EXECUTE', command: 'no-such-command', errorClass: 'CommandNotFound' });
    const bad = await client.execute('device_del', { id: 'nothing-here' }).catch((e: unknown) => e);
    expect(bad).toMatchObject({ errorClass: 'DeviceNotFound', command: 'device_del' });

    // The session outlives command errors.
    expect(await client.execute<QmpStatusInfo>('query-status')).toMatchObject({ running: true });

    // QEMU sends SHUTDOWN before the reply to quit, then closes the socket.
    const quit = await client.executeAndWait('quit', undefined, { event: 'SHUTDOWN', where: (d) => d.reason === 'host-qmp-quit' });
    expect(quit.event.data.guest).toBe(false);
    await client.closed;
    expect(client.state).toBe('closed');
    expect(client.closeReason).toBeInstanceOf(QmpInterruptedError);
    await expect(client.execute('query-status')).rejects.toMatchObject({ code: 'QMP_STATE' });
    expect(await waitGone(pid, 10_000)).toBe(true);
  });
});
