// qkvm ssh's wait for a booting guest: it ends as soon as the guest is not
// running (not at --wait's deadline), its hints name the guest, and `qkvm ssh`
// on a guest that is shut off says so at once. sshd is a loopback socket that
// prints a banner; no guest boots here.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pickSshAddress, waitForSsh, type SshTarget } from '../../src/image/ssh.js';
import type { IfAddr } from '../../src/net/addr.js';
import { CLI } from '../net/lab.js';

/** A port on loopback where nothing listens (taken, then closed). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

const target = (port: number): SshTarget => ({ host: '127.0.0.1', port, user: 'debian', hostKeyAlias: 'qkvm-g-1', via: 'hostfwd' });

describe('waitForSsh', () => {
  it('a guest that is not running ends the wait with STATE, naming it, long before the deadline', async () => {
    const port = await closedPort();
    let asked = 0;
    const err = await waitForSsh(target(port), { name: 'g', timeoutMs: 600_000, running: async () => ++asked < 3 }).catch((e) => e);
    expect(err).toMatchObject({ code: 'STATE', message: expect.stringMatching(/^guest "g" stopped after \d+ s while qkvm ssh waited for it$/), hint: 'see why: qkvm info g; then qkvm start g --console' });
    expect(asked).toBe(3);
  });

  it('the deadline: TIMEOUT, with a hint that names the guest', async () => {
    const port = await closedPort();
    await expect(waitForSsh(target(port), { name: 'g', timeoutMs: 0, running: async () => true }))
      .rejects.toMatchObject({ code: 'TIMEOUT', hint: 'watch the guest boot: qkvm console g' });
  });

  describe('with sshd answering', () => {
    let server: net.Server;
    let port: number;
    beforeAll(async () => {
      server = net.createServer((c) => c.end('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n'));
      await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
      port = (server.address() as net.AddressInfo).port;
    });
    afterAll(() => new Promise((r) => server.close(r)));

    it('returns once the banner is seen and the login works', async () => {
      let logins = 0;
      await waitForSsh(target(port), { name: 'g', running: async () => true, login: async () => ++logins >= 2 });
      expect(logins).toBe(2);
    });

    it('a guest that stops while the login is refused ends the wait too', async () => {
      let up = true;
      await expect(waitForSsh(target(port), { name: 'g', timeoutMs: 600_000, running: async () => up, login: async () => { up = false; return false; } }))
        .rejects.toMatchObject({ code: 'STATE' });
    });
  });
});

describe('pickSshAddress', () => {
  const row = (o: Partial<IfAddr>): IfAddr => ({ nic: 'net0', mac: '52:54:00:00:00:01', source: 'none', ...o });
  it('a lease before an agent address, IPv4 on a network NIC only', () => {
    const agent = row({ network: 'lan', address: '10.0.0.9', source: 'agent' });
    const lease = row({ nic: 'net1', network: 'lan', address: '10.0.0.5', source: 'lease' });
    expect(pickSshAddress([agent, lease])).toBe(lease);
    expect(pickSshAddress([agent])).toBe(agent);
  });
  it('skips what the host cannot reach: a user NIC, IPv6, link-local, an interface qkvm did not plug, no address', () => {
    expect(pickSshAddress([
      row({ address: '10.0.2.15', source: 'user' }),
      row({ network: 'lan', address: 'fe80::1', source: 'agent' }),
      row({ network: 'lan', address: '169.254.3.4', source: 'agent' }),
      row({ nic: 'docker0', address: '172.17.0.1', source: 'agent' }),
      row({ network: 'lan', source: 'none' }),
    ])).toBeUndefined();
  });
});

describe('qkvm ssh on a guest that is shut off', () => {
  const home = mkdtempSync(path.join(os.tmpdir(), 'qkvm-sshwait-'));
  const env = { ...process.env, QKVM_HOME: home, QKVM_RUN: path.join(home, 'run') };
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('says it is not running and how to start it, at once (exit 1)', () => {
    execFileSync('node', [CLI, 'create', 'g', '--memory', '256M', '--network', 'user', '--hostfwd', 'tcp:127.0.0.1:2222-:22'], { env, stdio: 'ignore' });
    let r: { status: number | null; stderr: string } = { status: 0, stderr: '' };
    try { execFileSync('node', [CLI, 'ssh', 'g', '--', 'true'], { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 120_000 }); } catch (e: any) { r = { status: e.status, stderr: String(e.stderr) }; }
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('guest "g" is not running (shut off)');
    expect(r.stderr).toContain('start it first: qkvm start g && qkvm ssh g');
    expect(r.stderr).not.toContain('waiting for sshd');
  });

  it('a name that is not defined is told so', () => {
    let stderr = '';
    try { execFileSync('node', [CLI, 'ssh', 'nope'], { env, stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8', timeout: 60_000 }); } catch (e: any) { stderr = String(e.stderr); }
    expect(stderr).toContain('guest "nope" is not defined');
  });
});
