// The QGA client against a scripted peer: sync before each exchange, stale
// lines and 0xFF sentinels skipped, timeouts, error replies, no-reply commands.
import { afterEach, describe, expect, it } from 'vitest';
import { QgaClient, type QgaClientOptions } from '../../src/agent/client.js';
import { AgentCommandError, AgentError, AgentNotAnsweringError, AgentTimeoutError } from '../../src/agent/errors.js';
import { FF, startPeer, syncReply, type Handler, type QgaPeer } from './qga-peer.js';

let peer: QgaPeer | undefined;
let client: QgaClient | undefined;
afterEach(async () => {
  client?.close();
  await peer?.stop();
  peer = client = undefined;
});

async function open(handler: Handler, opts: QgaClientOptions = {}): Promise<QgaClient> {
  peer = await startPeer(handler);
  client = await QgaClient.connect(peer.path, { syncTimeoutMs: 300, defaultTimeoutMs: 300, ...opts });
  return client;
}

/** A well-behaved qemu-ga: answers sync, and `answers[command]` with its id. */
const agent = (answers: Record<string, unknown>): Handler => async (msg, io) => {
  if (msg.execute === 'guest-sync-delimited') return io.write(syncReply(msg));
  await io.write(JSON.stringify({ return: answers[msg.execute], id: msg.id }) + '\n');
};

describe('QgaClient', () => {
  it('syncs with a random id and a 0xFF flush before each command, then returns the reply', async () => {
    const c = await open(agent({ 'guest-ping': {}, 'guest-info': { version: '7.2.0' } }));
    expect(await c.execute('guest-ping')).toEqual({});
    expect(await c.execute('guest-info')).toEqual({ version: '7.2.0' });
    const verbs = peer!.received.map((m) => m.execute);
    expect(verbs).toEqual(['guest-sync-delimited', 'guest-ping', 'guest-sync-delimited', 'guest-info']);
    const ids = peer!.received.filter((m) => m.execute === 'guest-sync-delimited').map((m) => m.arguments.id);
    expect(ids[0]).not.toBe(ids[1]);
    for (const id of ids) expect(Number.isInteger(id) && id > 0).toBe(true);
    expect(peer!.flushes).toBe(2);
  });

  it('sends arguments as given', async () => {
    const c = await open(agent({ 'guest-exec-status': { exited: true, exitcode: 0 } }));
    await c.execute('guest-exec-status', { pid: 42 });
    expect(peer!.received[1]).toMatchObject({ execute: 'guest-exec-status', arguments: { pid: 42 } });
  });

  it('skips stale lines, a half line and an old sync reply before its own sync reply', async () => {
    const c = await open(async (msg, io) => {
      if (msg.execute === 'guest-sync-delimited') {
        // An earlier client's reply, a half line cut by its hang-up, an earlier sync's delimited reply: all stale.
        await io.write('{"return": {"pid": 7}, "id": 12}\n{"return": {"ver');
        await io.write(Buffer.concat([FF, Buffer.from('{"return": 1234}\n')]));
        await io.write(syncReply(msg));
        return;
      }
      await io.write(JSON.stringify({ return: 'mine', id: msg.id }) + '\n');
    });
    expect(await c.execute('guest-ping')).toBe('mine');
  });

  it('finds the sentinel inside a chunk and across writes, and keeps a UTF-8 character cut between writes whole', async () => {
    const c = await open(async (msg, io) => {
      if (msg.execute === 'guest-sync-delimited') {
        const whole = Buffer.concat([Buffer.from('garbage{"x":'), syncReply(msg)]);
        await io.write(whole.subarray(0, 9));
        await io.write(whole.subarray(9));
        return;
      }
      const reply = Buffer.from(JSON.stringify({ return: { name: 'héllo ✓' }, id: msg.id }) + '\n');
      const cut = reply.indexOf(0xc3) + 1; // inside the two bytes of é
      await io.write(reply.subarray(0, cut));
      await io.write(reply.subarray(cut));
    });
    expect(await c.execute('guest-get-host-name')).toEqual({ name: 'héllo ✓' });
  });

  it('skips a reply that carries another id (a late answer to a timed-out call)', async () => {
    const c = await open(async (msg, io) => {
      if (msg.execute === 'guest-sync-delimited') return io.write(syncReply(msg));
      await io.write(JSON.stringify({ return: 'stale', id: msg.id! + 1 }) + '\n');
      await io.write(JSON.stringify({ return: 'fresh', id: msg.id }) + '\n');
    });
    expect(await c.execute('guest-ping')).toBe('fresh');
  });

  it('takes a reply without an id (older agents) once synced', async () => {
    const c = await open(async (msg, io) => {
      if (msg.execute === 'guest-sync-delimited') return io.write(syncReply(msg));
      await io.write('{"return": {}}\n');
    });
    expect(await c.execute('guest-ping')).toEqual({});
  });

  it('reports a silent channel as not answering, with the reason in the hint', async () => {
    const c = await open(() => undefined);
    const e = await c.execute('guest-ping').catch((x) => x);
    expect(e).toBeInstanceOf(AgentNotAnsweringError);
    expect(e.agentCode).toBe('AGENT_NOT_ANSWERING');
    expect(e.code).toBe('TIMEOUT');
    expect(e.hint).toMatch(/booting|qemu-ga/);
    // The command itself was never sent: only the sync.
    expect(peer!.received.map((m) => m.execute)).toEqual(['guest-sync-delimited']);
  });

  it('a sync reply with the wrong id does not count', async () => {
    const c = await open(async (msg, io) => {
      if (msg.execute === 'guest-sync-delimited') await io.write(Buffer.concat([FF, Buffer.from(`{"return": ${msg.arguments.id + 1}}\n`)]));
    });
    await expect(c.sync()).rejects.toBeInstanceOf(AgentNotAnsweringError);
  });

  it('times a command out on its own timeout, then the next exchange skips its late reply', async () => {
    let late: (() => Promise<void>) | undefined;
    const c = await open(async (msg, io) => {
      if (msg.execute === 'guest-sync-delimited') {
        await late?.();
        return io.write(syncReply(msg));
      }
      if (msg.execute === 'guest-fsfreeze-freeze') {
        late = () => io.write(JSON.stringify({ return: 3, id: msg.id }) + '\n');
        return;
      }
      await io.write(JSON.stringify({ return: 'thawed', id: msg.id }) + '\n');
    });
    const e = await c.execute('guest-fsfreeze-freeze', undefined, { timeoutMs: 100 }).catch((x) => x);
    expect(e).toBeInstanceOf(AgentTimeoutError);
    expect(e).toMatchObject({ agentCode: 'AGENT_TIMEOUT', command: 'guest-fsfreeze-freeze', timeoutMs: 100 });
    expect(await c.execute('guest-fsfreeze-thaw')).toBe('thawed');
  });

  it('turns an error reply into AgentCommandError with its class and description', async () => {
    const c = await open(async (msg, io) => {
      if (msg.execute === 'guest-sync-delimited') return io.write(syncReply(msg));
      await io.write(JSON.stringify({ error: { class: 'GenericError', desc: 'Command guest-fstrim has been disabled' }, id: msg.id }) + '\n');
    });
    const e = await c.execute('guest-fstrim').catch((x) => x);
    expect(e).toBeInstanceOf(AgentCommandError);
    expect(e).toMatchObject({ agentCode: 'AGENT_COMMAND', command: 'guest-fstrim', errorClass: 'GenericError', desc: 'Command guest-fstrim has been disabled' });
    expect(e.message).toContain('guest-fstrim');
    expect(e.hint).toContain('agent NAME info');
  });

  it('a refusal because the guest is frozen says how to thaw it', async () => {
    const c = await open(async (msg, io) => {
      if (msg.execute === 'guest-sync-delimited') return io.write(syncReply(msg));
      await io.write(JSON.stringify({ error: { class: 'CommandNotFound', desc: 'Command guest-exec has been disabled: the agent is in frozen state' }, id: msg.id }) + '\n');
    });
    const e = await c.execute('guest-exec').catch((x) => x);
    expect(e.hint).toContain('fsfreeze thaw');
  });

  it('a command that answers only on failure: silence is success, an error is an error', async () => {
    let fail = false;
    const c = await open(async (msg, io) => {
      if (msg.execute === 'guest-sync-delimited') return io.write(syncReply(msg));
      if (fail) await io.write(JSON.stringify({ error: { class: 'GenericError', desc: 'no permission' }, id: msg.id }) + '\n');
    });
    expect(await c.execute('guest-shutdown', { mode: 'powerdown' }, { noReply: { graceMs: 100 } })).toBeUndefined();
    fail = true;
    await expect(c.execute('guest-shutdown', { mode: 'powerdown' }, { noReply: { graceMs: 2000 } })).rejects.toBeInstanceOf(AgentCommandError);
  });

  it('a no-reply command whose guest hangs up (it shut down) is done', async () => {
    const c = await open(async (msg, io) => {
      if (msg.execute === 'guest-sync-delimited') return io.write(syncReply(msg));
      io.end();
    });
    expect(await c.execute('guest-shutdown', undefined, { noReply: { graceMs: 5000 } })).toBeUndefined();
  });

  it('fails a pending call when the socket closes, and every later call', async () => {
    const c = await open(async (msg, io) => {
      if (msg.execute === 'guest-sync-delimited') return io.write(syncReply(msg));
      io.end();
    });
    const e = await c.execute('guest-ping').catch((x) => x);
    expect(e).toBeInstanceOf(AgentError);
    expect(e.agentCode).toBe('AGENT_PROTOCOL');
    await expect(c.execute('guest-ping')).rejects.toBeInstanceOf(AgentError);
  });

  it('rejects a malformed reply once synced', async () => {
    const c = await open(async (msg, io) => {
      if (msg.execute === 'guest-sync-delimited') return io.write(syncReply(msg));
      await io.write('{"return": nope}\n');
    });
    await expect(c.execute('guest-ping')).rejects.toMatchObject({ agentCode: 'AGENT_PROTOCOL' });
  });

  it('runs concurrent calls one exchange at a time, in call order', async () => {
    const c = await open(agent({ a: 1, b: 2, c: 3 }));
    expect(await Promise.all([c.execute('a'), c.execute('b'), c.execute('c')])).toEqual([1, 2, 3]);
    expect(peer!.received.map((m) => m.execute)).toEqual(['guest-sync-delimited', 'a', 'guest-sync-delimited', 'b', 'guest-sync-delimited', 'c']);
  });

  it('can leave out the 0xFF flush', async () => {
    const c = await open(agent({ 'guest-ping': {} }), { flush: false });
    await c.execute('guest-ping');
    expect(peer!.flushes).toBe(0);
  });

  it('refuses a bad timeout before sending anything', async () => {
    const c = await open(agent({}));
    await expect(c.execute('guest-ping', undefined, { timeoutMs: -1 })).rejects.toThrow(/invalid timeoutMs: -1/);
    expect(peer!.received).toEqual([]);
  });
});
