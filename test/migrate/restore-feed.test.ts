// restore's feed, against a scripted QMP peer: the order of the QMP commands
// (events capability, migrate-incoming fd:3, polling query-migrate, cont), what
// each answer leads to, and the cleanup after a failure. The starter is a stand-in
// that reads the inherited stream and launches a real process posing as QEMU
// (its argv names the guest's QMP socket), so the cleanup really kills it.
import { existsSync, fstatSync, mkdirSync, mkdtempSync, readFileSync, readSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock } from '../../src/config/lock.js';
import { run } from '../../src/config/paths.js';
import { parseVmSpec, type VmSpec } from '../../src/config/schema.js';
import { saveVm } from '../../src/config/store.js';
import { writeAllowance } from '../../src/config/trust.js';
import { QkvmError } from '../../src/errors.js';
import { encodeHeader } from '../../src/migrate/header.js';
import { feedStream, restoreGuest, type RestoreDeps } from '../../src/migrate/restore.js';
import { QmpClient, QmpTimeoutError } from '../../src/qmp/index.js';
import type { StartOptions } from '../../src/runtime/start.js';
import type { GuestStatus } from '../../src/runtime/state.js';
import { alive, killHard, startWitness } from '../runtime/witness.js';
import { startScriptServer, type ScriptServer, type Step } from '../qmp/script-server.js';

const spec = (over: Record<string, unknown> = {}): VmSpec => parseVmSpec({ name: 'g1', memory: '128M', kernel: '/k', ...over });
const STREAM = 'QEVM-rest-of-stream';
const CAPS: Step = { expect: 'migrate-set-capabilities', args: { capabilities: [{ capability: 'events', state: true }] }, return: {} };
const INCOMING: Step = { expect: 'migrate-incoming', args: { uri: 'fd:3' }, return: {} };
const query = (status: string): Step => ({ expect: 'query-migrate', args: {}, return: { status } });

let dir: string;
const env = { home: process.env.QKVM_HOME, run: process.env.QKVM_RUN };
const cleanups: (() => Promise<unknown> | unknown)[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'qkvm-restore-feed-'));
  process.env.QKVM_HOME = join(dir, 'home');
  process.env.QKVM_RUN = join(dir, 'run');
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  rmSync(dir, { recursive: true, force: true });
  for (const [k, v] of [['QKVM_HOME', env.home], ['QKVM_RUN', env.run]] as const) if (v === undefined) delete process.env[k]; else process.env[k] = v;
});

function saveFile(s: VmSpec, wasRunning = true): string {
  const header = encodeHeader({ version: 1, name: s.name, savedAt: 'now', wasRunning, spec: s });
  const file = join(dir, 'g1.save');
  writeFileSync(file, Buffer.concat([header, Buffer.from(STREAM)]));
  return file;
}

async function peer(script: Step[]): Promise<ScriptServer> {
  const server = await startScriptServer(script);
  cleanups.push(() => server.stop());
  return server;
}

async function client(script: Step[]): Promise<{ server: ScriptServer; qmp: QmpClient }> {
  const server = await peer(script);
  const qmp = await QmpClient.connect(server.path);
  cleanups.push(() => qmp.close());
  return { server, qmp };
}

/** A stand-in for startGuest: what it was given, the stream it could read from the fd, and the "QEMU" it launched. */
interface Started { name: string; opts: StartOptions; stream: string; qemu: number }

function deps(server: ScriptServer | undefined, o: { status?: GuestStatus['state']; log?: string; startFails?: boolean; pollMs?: number } = {}) {
  const started: Started[] = [];
  const statuses: string[] = [];
  const lockedWith: string[] = [];
  const d: RestoreDeps = {
    async startGuest(name, opts) {
      const buf = Buffer.alloc(64);
      const n = readSync(opts.inheritFd!, buf, 0, 64, null);
      if (o.startFails) throw new QkvmError('QEMU', 'start failed');
      mkdirSync(run.vmDir(name), { recursive: true });
      // A real QEMU with this guest's pidfile and QMP socket, as qemuPid requires of a guest's QEMU.
      // Stopped, as a QEMU stuck in loading may be: a SIGTERM stays pending, only SIGKILL is sure.
      const qemu = startWitness(run.vmDir(name));
      process.kill(qemu, 'SIGSTOP');
      cleanups.push(() => killHard(qemu));
      if (o.log !== undefined) writeFileSync(run.qemuLog(name), o.log);
      started.push({ name, opts, stream: buf.subarray(0, n).toString(), qemu });
    },
    connectQmp: async (name) => {
      // The feed runs under the guest's lock: no other command may act on the half-restored guest.
      lockedWith.push((await failure(acquireLock('vm', name, 'test'))).message);
      if (!server) throw new QkvmError('STATE', `guest "${name}": cannot reach its QMP monitor`);
      return QmpClient.connect(server.path);
    },
    guestStatus: async (name) => {
      statuses.push(name);
      return { name, state: statuses.length === 1 ? (o.status ?? 'shut off') : 'running' };
    },
    pollMs: o.pollMs ?? 10,
  };
  return { d, started, statuses, lockedWith };
}

async function failure(p: Promise<unknown>): Promise<QkvmError> {
  try { await p; } catch (e) { return e as QkvmError; }
  throw new Error('expected the restore to fail');
}

describe('restoreGuest feeds the stream', () => {
  it('starts with -incoming defer and the stream as fd 3, feeds it over QMP, resumes a guest that ran', async () => {
    saveVm(spec({ description: 'mine' }));
    const file = saveFile(spec());
    const server = await peer([CAPS, INCOMING, query('active'), query('completed'), { expect: 'cont', return: {} }, { event: 'RESUME' }, { expectClose: true }]);
    const { d, started, statuses, lockedWith } = deps(server);
    const notes: string[] = [];
    const t0 = Date.now();
    const r = await restoreGuest(file, { onNote: (l) => notes.push(l) }, d);
    expect(r.elapsedMs).toBeLessThanOrEqual(Date.now() - t0);
    expect(lockedWith).toEqual([`vm "g1" is busy: restoring the guest (qkvm pid ${process.pid})`]);
    await server.done;
    expect(started).toHaveLength(1);
    const s = started[0];
    expect(s.name).toBe('g1');
    expect(s.stream).toBe(STREAM);
    expect(s.opts).toMatchObject({ incoming: 'defer', extraArgsChecked: true, spec: { name: 'g1', description: 'mine' } });
    expect(s.opts.onNote).toBeTypeOf('function');
    // The fd was QEMU's to inherit, not qkvm's to keep.
    expect(() => fstatSync(s.opts.inheritFd!)).toThrow(/EBADF/);
    expect(r).toMatchObject({ name: 'g1', definition: 'stored', status: { state: 'running' }, header: { name: 'g1', wasRunning: true } });
    expect(r.elapsedMs).toBeGreaterThanOrEqual(0);
    expect(statuses).toEqual(['g1', 'g1']);
    expect(notes).toEqual([]);
    // The guest's QEMU is left running, and the lock is free again.
    expect(alive(s.qemu)).toBe(true);
    (await acquireLock('vm', 'g1', 'test')).release();
  });

  it('--paused leaves a guest that ran paused: no cont', async () => {
    saveVm(spec());
    const server = await peer([CAPS, INCOMING, query('completed'), { expectClose: true }]);
    const { d } = deps(server);
    await restoreGuest(saveFile(spec()), { paused: true }, d);
    await server.done;
    expect(server.received.map((m) => m.execute)).toEqual(['qmp_capabilities', 'migrate-set-capabilities', 'migrate-incoming', 'query-migrate']);
  });

  it('a guest saved paused stays paused', async () => {
    saveVm(spec());
    const server = await peer([CAPS, INCOMING, query('completed'), { expectClose: true }]);
    await restoreGuest(saveFile(spec(), false), {}, deps(server).d);
    await server.done;
    expect(server.received.at(-1)?.execute).toBe('query-migrate');
  });

  it('from the file\'s definition: notes that it is not stored, and warns of its allowed extraArgs', async () => {
    writeAllowance('g1', ['-no-reboot'], false);
    const file = saveFile(spec({ extraArgs: ['-no-reboot'] }));
    const server = await peer([CAPS, INCOMING, query('completed'), { expect: 'cont', return: {} }, { event: 'RESUME' }, { expectClose: true }]);
    const { d, started } = deps(server);
    const notes: string[] = [];
    const r = await restoreGuest(file, { useFileDefinition: true, onNote: (l) => notes.push(l) }, d);
    expect(r.definition).toBe('file');
    expect(started[0].opts.spec?.extraArgs).toEqual(['-no-reboot']);
    expect(notes).toHaveLength(2);
    expect(notes[0]).toContain('runs with raw extraArgs');
    expect(notes[1]).toBe(`note: guest "g1" starts from the definition in ${file}; it is not stored`);
  });

  it('notes are optional', async () => {
    writeAllowance('g1', ['-no-reboot'], false);
    const server = await peer([CAPS, INCOMING, query('completed'), { expect: 'cont', return: {} }, { event: 'RESUME' }, { expectClose: true }]);
    expect((await restoreGuest(saveFile(spec({ extraArgs: ['-no-reboot'] })), { useFileDefinition: true }, deps(server).d)).definition).toBe('file');
  });

  it('a bad --name is refused, named as the guest name', async () => {
    const e = await failure(restoreGuest(saveFile(spec()), { name: '-x' }, deps(undefined).d));
    expect(e.message).toBe('guest name: invalid name "-x"');
  });

  it('by default asks the real state layer: a guest whose QEMU runs is refused', async () => {
    saveVm(spec());
    mkdirSync(run.vmDir('g1'), { recursive: true });
    const qemu = startWitness(run.vmDir('g1'));
    cleanups.push(() => killHard(qemu));
    const e = await failure(restoreGuest(saveFile(spec())));
    // The witness QEMU was started with -S: QMP says prelaunch, shown as paused.
    expect(e.message).toBe('guest "g1" is already paused');
    expect(alive(qemu)).toBe(true);
  });

  it('refuses a guest that is already active, before starting anything', async () => {
    saveVm(spec());
    const { d, started } = deps(undefined, { status: 'paused' });
    const e = await failure(restoreGuest(saveFile(spec()), {}, d));
    expect(e.code).toBe('STATE');
    expect(e.message).toBe('guest "g1" is already paused');
    expect(e.hint).toContain('--name');
    expect(started).toHaveLength(0);
  });

  it('a crashed guest may be restored over', async () => {
    saveVm(spec());
    const server = await peer([CAPS, INCOMING, query('completed'), { expect: 'cont', return: {} }, { event: 'RESUME' }, { expectClose: true }]);
    const { d, started } = deps(server, { status: 'crashed' });
    await restoreGuest(saveFile(spec()), {}, d);
    expect(started).toHaveLength(1);
  });

  it('a start that fails closes the stream and takes no lock', async () => {
    saveVm(spec());
    let fd = -1;
    const { d } = deps(undefined, { startFails: true });
    const start = d.startGuest;
    d.startGuest = (name, opts) => { fd = opts.inheritFd!; return start(name, opts); };
    const e = await failure(restoreGuest(saveFile(spec()), {}, d));
    expect(e.message).toBe('start failed');
    expect(() => fstatSync(fd)).toThrow(/EBADF/);
    (await acquireLock('vm', 'g1', 'test')).release();
  });
});

describe('restoreGuest cleans up after a failed feed', () => {
  async function failed(script: Step[], o: { log?: string; timeoutMs?: number; noPeer?: boolean } = {}) {
    saveVm(spec());
    const file = saveFile(spec());
    const server = o.noPeer ? undefined : await peer(script);
    const { d, started } = deps(server, { log: o.log });
    const e = await failure(restoreGuest(file, { timeoutMs: o.timeoutMs }, d));
    expect(started).toHaveLength(1);
    // Nothing left running or lying in the run directory, and the lock is free.
    expect(alive(started[0].qemu)).toBe(false);
    expect(existsSync(run.vmDir('g1'))).toBe(false);
    (await acquireLock('vm', 'g1', 'test')).release();
    expect(e.code).toBe('QEMU');
    expect(e.hint).toBe('the file is probably truncated or damaged; nothing was left running');
    expect(e.cause).toBeInstanceOf(Error);
    return { e, file };
  }

  it('QEMU exits while loading (the socket closes during a call): says so, with qemu.log\'s tail', async () => {
    const { e, file } = await failed([CAPS, INCOMING, { expect: 'query-migrate' }, { close: true }], { log: 'l1\nl2\nl3\nl4\nl5\nqemu-system-x86_64: load of migration failed: Input/output error\n' });
    expect(e.message).toBe(`restore of ${file} failed: QEMU exited while loading the state\nl2\nl3\nl4\nl5\nqemu-system-x86_64: load of migration failed: Input/output error`);
  });

  it('QEMU exits between two calls (the client is closed)', async () => {
    const { e } = await failed([CAPS, INCOMING, query('active'), { close: true }], { log: 'gone' });
    expect(e.message).toMatch(/failed: QEMU exited while loading the state\ngone$/);
  });

  it('a failed migration, without a log: the reason stands in for it', async () => {
    const { e, file } = await failed([CAPS, INCOMING, query('active'), query('failed')]);
    expect(e.message).toBe(`restore of ${file} failed: the incoming migration failed\nthe incoming migration failed`);
  });

  it('a cancelled migration', async () => {
    const { e } = await failed([CAPS, INCOMING, query('cancelled')], { log: 'x' });
    expect(e.message).toMatch(/failed: the incoming migration cancelled\nx$/);
  });

  it('QEMU refuses migrate-incoming', async () => {
    const { e } = await failed([CAPS, { expect: 'migrate-incoming', error: { class: 'GenericError', desc: 'fd 3 is bad' } }], { log: 'x' });
    expect(e.message).toContain('fd 3 is bad');
  });

  it('no result before the timeout', async () => {
    const { e } = await failed([CAPS, INCOMING, ...Array.from({ length: 400 }, () => query('active'))], { timeoutMs: 60 });
    expect(e.message).toContain('failed: no result within 0.06 s');
  });

  it('the QMP monitor cannot be reached', async () => {
    const { e } = await failed([], { noPeer: true, log: 'qemu died' });
    expect(e.message).toMatch(/failed: guest "g1": cannot reach its QMP monitor\nqemu died$/);
  });
});

describe('feedStream', () => {
  it('a MIGRATION event before the first sleep is harmless', async () => {
    const { server, qmp } = await client([CAPS, INCOMING, { raw: '' }, { event: 'MIGRATION', data: { status: 'active' } }, { raw: '' }, query('completed')]);
    await feedStream(qmp, { resume: false, timeoutMs: 600_000, pollMs: 1 });
    await server.done;
  });

  it('a MIGRATION event wakes the poll at once', async () => {
    const { server, qmp } = await client([CAPS, INCOMING, query('active'), { raw: '' }, { event: 'MIGRATION', data: { status: 'completed' } }, query('completed')]);
    // Without the wake-up this would sleep far longer than the test may take.
    await feedStream(qmp, { resume: false, timeoutMs: 600_000, pollMs: 600_000 });
    await server.done;
  }, 10_000);

  it('polls until completed, then resumes and waits for RESUME', async () => {
    const { server, qmp } = await client([CAPS, INCOMING, query('setup'), query('active'), query('completed'), { expect: 'cont', args: {}, return: {} }, { event: 'RESUME' }]);
    let resumed = false;
    qmp.on('RESUME', () => { resumed = true; });
    await feedStream(qmp, { resume: true, timeoutMs: 600_000, pollMs: 1 });
    await server.done;
    expect(resumed).toBe(true);
    expect(server.received.filter((m) => m.execute === 'query-migrate')).toHaveLength(3);
  });

  it('a status-less answer keeps polling', async () => {
    const { server, qmp } = await client([CAPS, INCOMING, { expect: 'query-migrate', return: {} }, query('completed')]);
    await feedStream(qmp, { resume: false, timeoutMs: 600_000, pollMs: 1 });
    await server.done;
  });
});

// A QEMU that stops answering must not hang restore: each call has its own bound,
// shorter than the client's default here. Concurrent: each waits out a timeout.
describe.concurrent('feedStream bounds every call', () => {
  const silentAt = async (script: Step[], resume = false) => {
    const server = await startScriptServer(script);
    const qmp = await QmpClient.connect(server.path, { defaultTimeoutMs: 600_000 });
    try {
      return await feedStream(qmp, { resume, timeoutMs: 600_000, pollMs: 1 }).then(() => { throw new Error('expected a timeout'); }, (e) => e as QmpTimeoutError);
    } finally {
      await qmp.close();
      await server.stop();
    }
  };
  it('migrate-set-capabilities: 5 s', async () => {
    const e = await silentAt([{ expect: 'migrate-set-capabilities' }]);
    expect(e).toBeInstanceOf(QmpTimeoutError);
    expect(e.timeoutMs).toBe(5000);
  }, 20_000);
  it('migrate-incoming: 10 s', async () => {
    const e = await silentAt([CAPS, { expect: 'migrate-incoming' }]);
    expect(e.timeoutMs).toBe(10_000);
  }, 20_000);
  it('query-migrate: 10 s', async () => {
    const e = await silentAt([CAPS, INCOMING, { expect: 'query-migrate' }]);
    expect(e.timeoutMs).toBe(10_000);
  }, 20_000);
  it('cont: 10 s', async () => {
    const e = await silentAt([CAPS, INCOMING, query('completed'), { expect: 'cont' }], true);
    expect(e.timeoutMs).toBe(10_000);
  }, 20_000);
});
