import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  QmpAbortedError,
  QmpClient,
  QmpConnectError,
  QmpError,
  QmpExecuteError,
  QmpInterruptedError,
  QmpProtocolError,
  QmpStateError,
  QmpTimeoutError,
  type QmpEvent,
} from '../../src/qmp/index.js';
import { startScriptServer, type ScriptOptions, type ScriptServer, type Step } from './script-server.js';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(script: Step[], opts?: ScriptOptions): Promise<ScriptServer> {
  const server = await startScriptServer(script, opts);
  cleanups.push(() => server.stop());
  return server;
}

async function connected(script: Step[], opts?: ScriptOptions): Promise<{ server: ScriptServer; client: QmpClient }> {
  const server = await serve(script, opts);
  const client = await QmpClient.connect(server.path);
  cleanups.push(() => client.close());
  return { server, client };
}

const STATUS = { status: 'running', running: true, singlestep: false };

describe('session', () => {
  it('reads the greeting, negotiates, and moves idle -> connecting -> running -> closed', async () => {
    const server = await serve([{ expect: 'query-status', return: STATUS }, { expectClose: true }]);
    const client = new QmpClient();
    expect(client.state).toBe('idle');
    const connecting = client.connect(server.path);
    expect(client.state).toBe('connecting');
    await connecting;
    expect(client.state).toBe('running');
    expect(client.greeting?.QMP.version.qemu.major).toBe(7);
    expect(client.oob).toBe(false);
    expect(server.received[0]).toEqual({ execute: 'qmp_capabilities', id: expect.any(Number) });
    await expect(client.execute('query-status')).resolves.toEqual(STATUS);
    const closing = client.close();
    expect(client.state).toBe('disconnecting');
    await closing;
    expect(client.state).toBe('closed');
    expect(client.closeReason).toBeUndefined();
    await server.done;
  });

  it('enables oob when QEMU offers it, and sends exec-oob', async () => {
    const { server, client } = await connected(
      [{ expect: 'migrate-pause', oob: true, return: {} }],
      { capabilities: ['oob'] },
    );
    expect(server.received[0]!.arguments).toEqual({ enable: ['oob'] });
    expect(client.oob).toBe(true);
    expect(client.capabilities).toEqual(['oob']);
    await client.execute('migrate-pause', undefined, { oob: true });
    await server.done;
  });

  it('does not enable oob when told not to, and refuses exec-oob then', async () => {
    const server = await serve([], { capabilities: ['oob'] });
    const client = await QmpClient.connect(server.path, { oob: false });
    cleanups.push(() => client.close());
    await server.done;
    expect(server.received[0]!.arguments).toBeUndefined();
    expect(client.oob).toBe(false);
    await expect(client.execute('migrate-pause', undefined, { oob: true })).rejects.toBeInstanceOf(QmpStateError);
  });

  it('guards calls by state', async () => {
    const client = new QmpClient();
    const err = await client.execute('query-status').catch((e) => e);
    expect(err).toBeInstanceOf(QmpStateError);
    expect(err).toMatchObject({ code: 'QMP_STATE', state: 'idle' });

    const { client: c2, server } = await connected([]);
    await server.done;
    await expect(c2.connect(server.path)).rejects.toBeInstanceOf(QmpStateError);
    await c2.close();
    await expect(c2.execute('query-status')).rejects.toMatchObject({ code: 'QMP_STATE', state: 'closed' });
    await expect(c2.waitForEvent('SHUTDOWN')).rejects.toBeInstanceOf(QmpStateError);
  });

  it('fails a connect with no greeting within timeoutMs (socket held by another client)', async () => {
    const server = await serve([], { silent: true, handshake: false });
    const client = new QmpClient();
    const err = await client.connect(server.path, { timeoutMs: 100 }).catch((e) => e);
    // A timeout keeps its own code, so a caller can tell "busy" from "not there".
    expect(err).toBeInstanceOf(QmpTimeoutError);
    expect(err).toMatchObject({ code: 'QMP_TIMEOUT', operation: 'connect', timeoutMs: 100 });
    expect(err.message).toMatch(/one client/);
    expect(client.state).toBe('closed');
    expect(client.closeReason).toBe(err);
  });

  it('fails a connect when the peer hangs up during the handshake', async () => {
    const server = await serve([{ close: true }], { handshake: false });
    const err = await QmpClient.connect(server.path).catch((e) => e);
    expect(err).toBeInstanceOf(QmpConnectError);
    expect(err.cause).toBeInstanceOf(QmpInterruptedError);
  });

  it('fails at once on a missing socket without retryUntil', async () => {
    const client = new QmpClient();
    // A wait may start before connect(); a failed connect ends it.
    const waiting = client.waitForEvent('RESUME').catch((e) => e);
    const err = await client.connect('/nonexistent/qmp.sock').catch((e) => e);
    expect(await waiting).toBeInstanceOf(QmpInterruptedError);
    expect(err).toBeInstanceOf(QmpConnectError);
    expect(err).toMatchObject({ code: 'QMP_CONNECT', path: '/nonexistent/qmp.sock' });
    expect(err.cause.code).toBe('ENOENT');
  });
});

describe('connect retry', () => {
  it('retries ENOENT until the socket appears', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qmp-retry-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'later.sock');
    const client = new QmpClient();
    cleanups.push(() => client.close());
    const connecting = client.connect(path, { retryUntil: Date.now() + 10_000, retryIntervalMs: 10 });
    // The socket appears only after the client has started trying.
    await new Promise((r) => setTimeout(r, 50));
    expect(client.state).toBe('connecting');
    const server = await startScriptServer([]);
    cleanups.push(() => server.stop());
    const { symlinkSync } = await import('node:fs');
    symlinkSync(server.path, path);
    await connecting;
    expect(client.state).toBe('running');
  });

  it('retries ECONNREFUSED (a stale socket file) until QEMU listens', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qmp-retry-'));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const path = join(dir, 'stale.sock');
    // A process that dies without cleaning up leaves a socket file nobody listens on.
    spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`]);
    const first = await QmpClient.connect(path).catch((e) => e);
    expect(first.cause.code).toBe('ECONNREFUSED');

    const client = new QmpClient();
    cleanups.push(() => client.close());
    const connecting = client.connect(path, { retryUntil: new Date(Date.now() + 10_000), retryIntervalMs: 10 });
    await new Promise((r) => setTimeout(r, 50));
    unlinkSync(path);
    const server = await startScriptServer([]);
    cleanups.push(() => server.stop());
    const { symlinkSync } = await import('node:fs');
    symlinkSync(server.path, path);
    await connecting;
    expect(client.state).toBe('running');
  });

  it('gives up at the deadline with the last socket error as cause', async () => {
    const err = await QmpClient.connect('/nonexistent/qmp.sock', { retryUntil: Date.now() + 100, retryIntervalMs: 10 }).catch((e) => e);
    expect(err).toBeInstanceOf(QmpConnectError);
    expect(err.cause.code).toBe('ENOENT');
  });

  it('stops retrying when the signal aborts', async () => {
    const ac = new AbortController();
    const p = QmpClient.connect('/nonexistent/qmp.sock', { retryUntil: Date.now() + 60_000, signal: ac.signal });
    setTimeout(() => ac.abort(new Error('stop')), 30);
    const err = await p.catch((e) => e);
    expect(err).toBeInstanceOf(QmpAbortedError);
    expect(err.cause).toEqual(new Error('stop'));
  });
});

describe('framing', () => {
  it('assembles a reply split into partial frames, even inside a UTF-8 character', async () => {
    const { client, server } = await connected([
      { expect: 'query-name' },
      // "é" is two bytes; the cut at 21 falls between them.
      { raw: '{"return": {"name": "é"}, "id": $ID}\r\n', splitAt: [5, 21, 30] },
    ]);
    expect(Buffer.from('{"return": {"name": "').length).toBe(21);
    await expect(client.execute('query-name')).resolves.toEqual({ name: 'é' });
    await server.done;
  });

  it('routes several messages that arrive in one chunk, replies out of order', async () => {
    const chunk = [
      '{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "STOP"}',
      '{"return": {"name": "vm"}, "id": $ID.b}',
      '{"return": {"status": "running", "running": true, "singlestep": false}, "id": $ID.a}',
      '{"timestamp": {"seconds": 2, "microseconds": 0}, "event": "RESUME"}',
    ].join('\r\n') + '\r\n';
    const { client, server } = await connected([
      { expect: 'query-status', name: 'a' },
      { expect: 'query-name', name: 'b' },
      { raw: chunk },
    ]);
    const events: string[] = [];
    client.on({}, (e) => events.push(e.event));
    const [status, name] = await Promise.all([client.execute('query-status'), client.execute('query-name')]);
    expect(status).toEqual(STATUS);
    expect(name).toEqual({ name: 'vm' });
    await server.done;
    expect(events).toEqual(['STOP', 'RESUME']);
  });
});

describe('errors', () => {
  it('turns an error reply into QmpExecuteError with class, desc and command', async () => {
    const { client, server } = await connected([
      { expect: 'device_del', args: { id: 'nope' }, error: { class: 'DeviceNotFound', desc: "Device 'nope' not found" } },
      { expect: 'query-status', return: STATUS },
    ]);
    const err = await client.execute('device_del', { id: 'nope' }).catch((e) => e);
    expect(err).toBeInstanceOf(QmpExecuteError);
    expect(err).toBeInstanceOf(QmpError);
    expect(err).toMatchObject({ code: 'QMP_EXECUTE', command: 'device_del', errorClass: 'DeviceNotFound', desc: "Device 'nope' not found" });
    // The session survives a command error.
    await expect(client.execute('query-status')).resolves.toEqual(STATUS);
    await server.done;
  });

  it('fails pending calls with QmpProtocolError on malformed JSON, and closes', async () => {
    const { client, server } = await connected([{ expect: 'query-status' }, { raw: '{"return": {}, "id": \r\n' }]);
    const a = client.execute('query-status');
    const wait = client.waitForEvent('SHUTDOWN');
    const err = (await a.catch((e) => e)) as QmpProtocolError;
    expect(err).toBeInstanceOf(QmpProtocolError);
    expect(err).toMatchObject({ code: 'QMP_PROTOCOL', line: '{"return": {}, "id": \r' });
    expect(err.cause).toBeInstanceOf(SyntaxError);
    await expect(wait).rejects.toBeInstanceOf(QmpProtocolError);
    await client.closed;
    expect(client.state).toBe('closed');
    expect(client.closeReason).toBe(err);
    await expect(client.execute('query-status')).rejects.toBeInstanceOf(QmpStateError);
    await server.done;
  });

  it('treats a reply with an id it never sent as a protocol error', async () => {
    const { client } = await connected([{ expect: 'query-status' }, { raw: '{"return": {}, "id": "other"}\r\n' }]);
    await expect(client.execute('query-status')).rejects.toThrow(/unknown id/);
    expect(client.state).toBe('closed');
  });

  it('treats an id-less error (QEMU could not parse the request) as a protocol error', async () => {
    const { client } = await connected([
      { expect: 'query-status' },
      { raw: '{"error": {"class": "GenericError", "desc": "JSON parse error"}}\r\n' },
    ]);
    await expect(client.execute('query-status')).rejects.toThrow(/could not parse a request: JSON parse error/);
  });

  it('rejects every pending call with QmpInterruptedError when the peer hangs up', async () => {
    const { client, server } = await connected([{ expect: 'query-status' }, { expect: 'query-name' }, { close: true }]);
    const a = client.execute('query-status');
    const b = client.execute('query-name');
    const w = client.waitForEvent('SHUTDOWN');
    const [ea, eb, ew] = (await Promise.all([a.catch((e) => e), b.catch((e) => e), w.catch((e) => e)])) as QmpInterruptedError[];
    for (const e of [ea, eb, ew]) expect(e).toBeInstanceOf(QmpInterruptedError);
    expect(ea).toMatchObject({ code: 'QMP_INTERRUPTED', operation: 'query-status' });
    expect(eb.operation).toBe('query-name');
    await client.closed;
    expect(client.closeReason).toBeInstanceOf(QmpInterruptedError);
    await server.done;
  });

  it('rejects pending calls with QmpInterruptedError when the client closes', async () => {
    const { client, server } = await connected([{ expect: 'query-status' }, { expectClose: true }]);
    const a = client.execute('query-status').catch((e) => e);
    await client.close();
    expect(await a).toMatchObject({ code: 'QMP_INTERRUPTED', operation: 'query-status' });
    await server.done;
  });

  it('times out a call, drops the late reply, and keeps the session', async () => {
    const { client, server } = await connected([
      { expect: 'query-status', name: 'slow' },
      { expect: 'query-name' },
      // The late reply first, then the answer to the second call.
      { raw: '{"return": {"status": "late"}, "id": $ID.slow}\r\n{"return": {"name": "vm"}, "id": $ID}\r\n' },
    ]);
    const err = await client.execute('query-status', undefined, { timeoutMs: 30 }).catch((e) => e);
    expect(err).toBeInstanceOf(QmpTimeoutError);
    expect(err).toMatchObject({ code: 'QMP_TIMEOUT', operation: 'query-status', timeoutMs: 30 });
    await expect(client.execute('query-name')).resolves.toEqual({ name: 'vm' });
    expect(client.state).toBe('running');
    await server.done;
  });

  it('uses defaultTimeoutMs from the client options', async () => {
    const server = await serve([{ expect: 'query-status' }]);
    const client = await QmpClient.connect(server.path, { defaultTimeoutMs: 20 });
    cleanups.push(() => client.close());
    await expect(client.execute('query-status')).rejects.toMatchObject({ code: 'QMP_TIMEOUT', timeoutMs: 20 });
  });

  it('refuses a bad timeoutMs, naming the option and the value', async () => {
    const { client } = await connected([]);
    await expect(client.execute('query-status', undefined, { timeoutMs: -1 })).rejects.toThrow(/invalid timeoutMs: -1/);
    expect(() => new QmpClient({ defaultTimeoutMs: Number.NaN })).toThrow(/invalid defaultTimeoutMs: NaN/);
  });

  it('aborts a pending call with QmpAbortedError carrying the reason', async () => {
    const { client, server } = await connected([{ expect: 'query-status' }, { expect: 'query-name', return: { name: 'vm' } }]);
    const ac = new AbortController();
    const p = client.execute('query-status', undefined, { signal: ac.signal });
    const reason = new Error('user gave up');
    ac.abort(reason);
    const err = (await p.catch((e) => e)) as QmpAbortedError;
    expect(err).toBeInstanceOf(QmpAbortedError);
    expect(err.cause).toBe(reason);
    await expect(client.execute('query-name')).resolves.toEqual({ name: 'vm' });
    await server.done;
  });

  it('does not send a command whose signal is already aborted', async () => {
    const { client, server } = await connected([{ expect: 'query-name', return: { name: 'vm' } }]);
    await expect(client.execute('stop', undefined, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(QmpAbortedError);
    await client.execute('query-name');
    await server.done;
    expect(server.received.map((m) => m.execute)).toEqual(['qmp_capabilities', 'query-name']);
  });

  it('rejects arguments JSON cannot encode without breaking the session', async () => {
    const { client } = await connected([{ expect: 'query-name', return: { name: 'vm' } }]);
    await expect(client.execute('x', { n: 1n })).rejects.toBeInstanceOf(TypeError);
    await expect(client.execute('query-name')).resolves.toEqual({ name: 'vm' });
  });
});

describe('events', () => {
  it('delivers an event that arrives between a command and its reply', async () => {
    const { client, server } = await connected([
      { expect: 'cont' },
      { event: 'RESUME' },
      { raw: '{"return": {}, "id": $ID}\r\n' },
    ]);
    const seen: QmpEvent[] = [];
    client.on('RESUME', (e) => seen.push(e));
    await expect(client.execute('cont')).resolves.toEqual({});
    expect(seen).toEqual([{ event: 'RESUME', data: {}, timestamp: { seconds: 1, microseconds: 2 } }]);
    await server.done;
  });

  it('filters by name, by names, and by a predicate on data; off() and unsubscribe stop delivery', async () => {
    // Events come before each reply, so they are all delivered once the call resolves.
    const { client, server } = await connected([
      { expect: 'go' },
      { event: 'DEVICE_DELETED', data: { device: 'a' } },
      { event: 'DEVICE_DELETED', data: { device: 'b' } },
      { event: 'STOP' },
      { raw: '{"return": {}, "id": $ID}\r\n' },
      { expect: 'go' },
      { event: 'DEVICE_DELETED', data: { device: 'b' } },
      { event: 'STOP' },
      { raw: '{"return": {}, "id": $ID}\r\n' },
    ]);
    const byName: string[] = [];
    const byNames: string[] = [];
    const byWhere: string[] = [];
    const onName = (e: QmpEvent) => byName.push(e.event);
    client.on('STOP', onName);
    const unsubscribe = client.on(['STOP', 'DEVICE_DELETED'], (e) => byNames.push(e.event));
    client.on({ event: 'DEVICE_DELETED', where: (d) => d.device === 'b' }, (e) => byWhere.push(String(e.data.device)));
    await client.execute('go');
    expect(byName).toEqual(['STOP']);
    expect(byNames).toEqual(['DEVICE_DELETED', 'DEVICE_DELETED', 'STOP']);
    expect(byWhere).toEqual(['b']);
    client.off(onName);
    unsubscribe();
    await client.execute('go');
    expect(byName).toEqual(['STOP']);
    expect(byNames).toHaveLength(3);
    expect(byWhere).toEqual(['b', 'b']);
    await server.done;
  });

  it('waitForEvent resolves with the matching event, times out, and honours a signal', async () => {
    const { client } = await connected([{ expect: 'go', return: {} }, { event: 'STOP' }, { event: 'SHUTDOWN', data: { guest: true } }]);
    const waiting = client.waitForEvent({ event: 'SHUTDOWN', where: (d) => d.guest === true });
    await client.execute('go');
    const shutdown = await waiting;
    expect(shutdown.data).toEqual({ guest: true });
    await expect(client.waitForEvent('RESET', { timeoutMs: 20 })).rejects.toMatchObject({ code: 'QMP_TIMEOUT' });
    const ac = new AbortController();
    const w = client.waitForEvent('RESET', { signal: ac.signal });
    ac.abort();
    await expect(w).rejects.toBeInstanceOf(QmpAbortedError);
  });

  it('rejects a wait whose predicate throws', async () => {
    const { client } = await connected([{ expect: 'go', return: {} }, { event: 'STOP' }]);
    const bad = new Error('bad predicate');
    const waiting = client.waitForEvent({ where: () => { throw bad; } });
    await client.execute('go');
    await expect(waiting).rejects.toBe(bad);
  });

  it('rejects a filter that is not a name, names or an object', () => {
    const client = new QmpClient();
    expect(() => client.on(42 as never, () => undefined)).toThrow(/invalid QMP event filter: 42/);
  });
});

describe('executeAndWait', () => {
  it('catches an event QEMU sends before the reply (quit: SHUTDOWN, then the reply)', async () => {
    const { client, server } = await connected([
      { expect: 'quit' },
      { raw: '{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}}\r\n{"return": {}, "id": $ID}\r\n' },
    ]);
    const { result, event } = await client.executeAndWait('quit', undefined, 'SHUTDOWN');
    expect(result).toEqual({});
    expect(event.data.reason).toBe('host-qmp-quit');
    await server.done;
  });

  it('catches an event sent right after the reply, in the same chunk', async () => {
    const { client } = await connected([
      { expect: 'system_powerdown' },
      { raw: '{"return": {}, "id": $ID}\r\n{"timestamp": {"seconds": 1, "microseconds": 0}, "event": "SHUTDOWN", "data": {"guest": true}}\r\n' },
    ]);
    const { event } = await client.executeAndWait('system_powerdown', undefined, 'SHUTDOWN');
    expect(event.data.guest).toBe(true);
  });

  it('waits for the event that matches the predicate (device_del -> DEVICE_DELETED of that id)', async () => {
    const { client, server } = await connected([
      { expect: 'device_del', args: { id: 'disk1' }, return: {} },
      { event: 'DEVICE_DELETED', data: { path: '/machine/peripheral/disk0/virtio-backend' } },
      { event: 'DEVICE_DELETED', data: { device: 'disk0', path: '/machine/peripheral/disk0' } },
      { event: 'DEVICE_DELETED', data: { device: 'disk1', path: '/machine/peripheral/disk1' } },
    ]);
    const { event } = await client.executeAndWait('device_del', { id: 'disk1' }, {
      event: 'DEVICE_DELETED',
      where: (d) => d.device === 'disk1',
    });
    expect(event.data.path).toBe('/machine/peripheral/disk1');
    await server.done;
  });

  it('fails with the command error and stops waiting for the event', async () => {
    const { client } = await connected([{ expect: 'device_del', error: { class: 'DeviceNotFound', desc: 'no' } }]);
    const err = await client.executeAndWait('device_del', { id: 'x' }, 'DEVICE_DELETED').catch((e) => e);
    expect(err).toBeInstanceOf(QmpExecuteError);
  });

  it('times out when the event never comes', async () => {
    const { client } = await connected([{ expect: 'system_powerdown', return: {} }]);
    const err = await client.executeAndWait('system_powerdown', undefined, 'SHUTDOWN', { timeoutMs: 50 }).catch((e) => e);
    expect(err).toBeInstanceOf(QmpTimeoutError);
    expect(err.message).toMatch(/no SHUTDOWN event within 50 ms/);
  });
});

describe('hmp', () => {
  it('passes a command line through human-monitor-command and returns the text', async () => {
    const { client, server } = await connected([
      { expect: 'human-monitor-command', args: { 'command-line': 'info status' }, return: 'VM status: running\r\n' },
      { expect: 'human-monitor-command', args: { 'command-line': 'info registers', 'cpu-index': 1 }, return: 'RAX=0\r\n' },
    ]);
    await expect(client.hmp('info status')).resolves.toBe('VM status: running\r\n');
    await expect(client.hmp('info registers', { cpuIndex: 1 })).resolves.toBe('RAX=0\r\n');
    await server.done;
  });
});

describe('connect, interrupted', () => {
  it('aborts a handshake with the caller signal', async () => {
    const server = await serve([], { silent: true, handshake: false });
    const ac = new AbortController();
    const p = QmpClient.connect(server.path, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await expect(p).rejects.toBeInstanceOf(QmpAbortedError);
  });

  it('fails connect() with QmpConnectError when close() is called meanwhile', async () => {
    const server = await serve([], { silent: true, handshake: false });
    const client = new QmpClient();
    const p = client.connect(server.path).catch((e) => e);
    await new Promise((r) => setTimeout(r, 20));
    await client.close();
    const err = await p;
    expect(err).toBeInstanceOf(QmpConnectError);
    expect(err.cause).toBeInstanceOf(QmpInterruptedError);
    expect(client.state).toBe('closed');
  });
});
