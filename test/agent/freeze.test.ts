// Freeze around a snapshot against a scripted qemu-ga: always thawed, also when
// the snapshot or the freeze fails.
import { afterEach, describe, expect, it } from 'vitest';
import { QgaClient } from '../../src/agent/client.js';
import { withFrozenFilesystems } from '../../src/agent/freeze.js';
import { startPeer, syncReply, type QgaPeer } from './qga-peer.js';

let peer: QgaPeer | undefined;
let client: QgaClient | undefined;
afterEach(async () => { client?.close(); await peer?.stop(); peer = client = undefined; });

/** A qemu-ga that keeps a frozen flag; `failFreeze` makes freeze fail after freezing (as a partial freeze does). */
async function agent(o: { failFreeze?: boolean; failThaw?: boolean } = {}) {
  let frozen = false;
  peer = await startPeer(async (msg, io) => {
    if (msg.execute === 'guest-sync-delimited') return io.write(syncReply(msg));
    const reply = (r: object) => io.write(JSON.stringify({ ...r, id: msg.id }) + '\n');
    if (msg.execute === 'guest-fsfreeze-freeze') {
      frozen = true;
      return reply(o.failFreeze ? { error: { class: 'GenericError', desc: 'failed to freeze /data: Device or resource busy' } } : { return: 2 });
    }
    if (msg.execute === 'guest-fsfreeze-thaw') {
      if (o.failThaw) return reply({ error: { class: 'GenericError', desc: 'thaw failed' } });
      frozen = false;
      return reply({ return: 2 });
    }
    if (msg.execute === 'guest-fsfreeze-status') return reply({ return: frozen ? 'frozen' : 'thawed' });
  });
  client = await QgaClient.connect(peer.path, { syncTimeoutMs: 1000 });
  return { isFrozen: () => frozen, verbs: () => peer!.received.map((m) => m.execute).filter((v) => v !== 'guest-sync-delimited') };
}

describe('withFrozenFilesystems', () => {
  it('freezes, runs the snapshot while frozen, thaws', async () => {
    const g = await agent();
    let frozenDuring = false;
    const r = await withFrozenFilesystems(client!, 'vm1', async () => { frozenDuring = g.isFrozen(); return 'saved'; });
    expect(frozenDuring).toBe(true);
    expect(r).toEqual({ result: 'saved', freeze: { frozen: 2, thawed: 2 } });
    expect(g.isFrozen()).toBe(false);
    expect(g.verbs()).toEqual(['guest-fsfreeze-freeze', 'guest-fsfreeze-thaw']);
  });

  it('thaws when the snapshot fails, and rethrows its error', async () => {
    const g = await agent();
    await expect(withFrozenFilesystems(client!, 'vm1', async () => { throw new Error('snapshot-save failed'); })).rejects.toThrow('snapshot-save failed');
    expect(g.isFrozen()).toBe(false);
    expect(g.verbs()).toEqual(['guest-fsfreeze-freeze', 'guest-fsfreeze-thaw']);
  });

  it('thaws when the freeze fails part-way, and does not take the snapshot', async () => {
    const g = await agent({ failFreeze: true });
    let ran = false;
    await expect(withFrozenFilesystems(client!, 'vm1', async () => { ran = true; })).rejects.toThrow(/Device or resource busy/);
    expect(ran).toBe(false);
    expect(g.isFrozen()).toBe(false);
  });

  it('says so, with the command that thaws, when the guest stays frozen', async () => {
    const g = await agent({ failThaw: true });
    const e = await withFrozenFilesystems(client!, 'vm1', async () => 'saved').catch((x) => x);
    expect(e.message).toMatch(/may still be frozen \(fsfreeze status: frozen\)/);
    expect(e.hint).toBe('thaw them now: `qkvm agent vm1 fsfreeze thaw`');
    expect(g.isFrozen()).toBe(true);
  });
});
