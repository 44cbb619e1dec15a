// The QGA client against the real qemu-ga (Debian's, 7.2) listening on a UNIX
// socket on the host: the 0xFF flush, the sentinel, ids and error replies as
// the real agent sends them. Only read-only commands are enabled (qemu-ga.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QgaClient } from '../../src/agent/client.js';
import { agentInfo, osInfo, ping, fsfreezeStatus } from '../../src/agent/commands.js';
import { AgentCommandError } from '../../src/agent/errors.js';
import { startHostAgent, type HostAgent } from './qemu-ga.js';

let agent: HostAgent;
beforeAll(async () => { agent = await startHostAgent(); }, 120_000);
afterAll(async () => { await agent?.stop(); });

describe('QgaClient against the real qemu-ga', () => {
  it('pings, syncing first with the 0xFF flush (qemu-ga answers the flush with a parse error, which is skipped)', async () => {
    const c = await QgaClient.connect(agent.socket);
    try {
      expect(await ping(c)).toEqual({});
      expect(await ping(c)).toEqual({});
    } finally { c.close(); }
  });

  it('reads guest-info and guest-get-osinfo', async () => {
    const c = await QgaClient.connect(agent.socket);
    try {
      const info = await agentInfo(c);
      expect(info.version).toMatch(/^7\.2\./);
      expect(info.supported_commands.find((x) => x.name === 'guest-exec')).toMatchObject({ enabled: false });
      expect(info.supported_commands.find((x) => x.name === 'guest-ping')).toMatchObject({ enabled: true });
      expect((await osInfo(c)).id).toBe('debian');
      expect(await fsfreezeStatus(c)).toBe('thawed');
    } finally { c.close(); }
  });

  it('turns the agent\'s refusal into AgentCommandError, and the session goes on', async () => {
    const c = await QgaClient.connect(agent.socket);
    try {
      const e = await c.execute('guest-exec', { path: '/bin/true', arg: [] }).catch((x) => x);
      expect(e).toBeInstanceOf(AgentCommandError);
      expect(e.errorClass).toBe('CommandNotFound');
      expect(e.desc).toMatch(/disabled/);
      expect(await ping(c)).toEqual({});
    } finally { c.close(); }
  });

  it('a new client after one that hung up mid-command still syncs', async () => {
    const a = await QgaClient.connect(agent.socket);
    // Half a command, then gone: qemu-ga's parser holds the rest; the next client's 0xFF flushes it.
    await ping(a);
    a.close();
    const net = await import('node:net');
    await new Promise<void>((resolve) => {
      const s = net.createConnection(agent.socket, () => { s.write('{"execute": "guest-pi', () => { s.destroy(); resolve(); }); });
    });
    const b = await QgaClient.connect(agent.socket);
    try { expect(await ping(b)).toEqual({}); } finally { b.close(); }
  });
});
