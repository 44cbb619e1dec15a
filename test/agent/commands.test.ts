// The agent commands' own logic: exec polling and decoding, the password's
// encoding, address matching; against a scripted qemu-ga where they talk.
import { afterEach, describe, expect, it } from 'vitest';
import { QgaClient } from '../../src/agent/client.js';
import { matchAgentAddresses } from '../../src/agent/addr.js';
import {
  agentAddresses, decodeExecStatus, exec, execExitStatus, guestShutdown, passwordArgs, passwordFromStdin, setUserPassword, validateUserName,
  type GuestInterface,
} from '../../src/agent/commands.js';
import { AgentTimeoutError } from '../../src/agent/errors.js';
import { startPeer, syncReply, type Handler, type QgaPeer } from './qga-peer.js';

let peer: QgaPeer | undefined;
let client: QgaClient | undefined;
afterEach(async () => { client?.close(); await peer?.stop(); peer = client = undefined; });

async function open(answer: (execute: string, args: any) => unknown): Promise<QgaClient> {
  const h: Handler = async (msg, io) => {
    if (msg.execute === 'guest-sync-delimited') return io.write(syncReply(msg));
    const r = answer(msg.execute, msg.arguments);
    if (r !== undefined) await io.write(JSON.stringify({ return: r, id: msg.id }) + '\n');
  };
  peer = await startPeer(h);
  client = await QgaClient.connect(peer.path, { syncTimeoutMs: 1000 });
  return client;
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('exec', () => {
  it('starts the program as argv with captured output, polls guest-exec-status until it exits, decodes base64', async () => {
    let polls = 0;
    const c = await open((cmd, args) => {
      if (cmd === 'guest-exec') return { pid: 321 };
      if (cmd === 'guest-exec-status') {
        expect(args).toEqual({ pid: 321 });
        return ++polls < 3 ? { exited: false } : { exited: true, exitcode: 3, 'out-data': b64('vm1\n'), 'err-data': b64('warn: é\n') };
      }
    });
    const r = await exec(c, ['cat', '/etc/hostname', 'a b']);
    expect(peer!.received.find((m) => m.execute === 'guest-exec')!.arguments).toEqual({ path: 'cat', arg: ['/etc/hostname', 'a b'], 'capture-output': true });
    expect(polls).toBe(3);
    expect(r.stdout.toString()).toBe('vm1\n');
    expect(r.stderr.toString()).toBe('warn: é\n');
    expect(r.exitCode).toBe(3);
    expect(execExitStatus(r)).toBe(3);
  });

  it('passes stdin base64-encoded', async () => {
    const c = await open((cmd) => (cmd === 'guest-exec' ? { pid: 1 } : { exited: true, exitcode: 0 }));
    await exec(c, ['tee', '/tmp/x'], { input: Buffer.from('hello') });
    expect(peer!.received.find((m) => m.execute === 'guest-exec')!.arguments['input-data']).toBe(b64('hello'));
  });

  it('gives up after its timeout with the guest pid named', async () => {
    const c = await open((cmd) => (cmd === 'guest-exec' ? { pid: 77 } : { exited: false }));
    const e = await exec(c, ['sleep', '100'], { timeoutMs: 150 }).catch((x) => x);
    expect(e).toBeInstanceOf(AgentTimeoutError);
    expect(e.message).toContain('pid 77');
  });

  it('refuses an empty command before sending anything', async () => {
    const c = await open(() => ({}));
    await expect(exec(c, [])).rejects.toMatchObject({ code: 'INVALID' });
    expect(peer!.received).toEqual([]);
  });

  it('maps a killing signal to 128+N, like a shell', () => {
    const r = decodeExecStatus(5, { exited: true, signal: 9 });
    expect(execExitStatus(r)).toBe(137);
    expect(r.stdout.length).toBe(0);
    expect(decodeExecStatus(5, { exited: true, exitcode: 0, 'out-truncated': true }).truncated).toBe(true);
  });
});

describe('set-user-password', () => {
  it('sends the password base64-encoded, not crypted, and never in clear', async () => {
    const c = await open(() => ({}));
    await setUserPassword(c, 'debian', 's3cret pass');
    const sent = peer!.received.find((m) => m.execute === 'guest-set-user-password')!;
    expect(sent.arguments).toEqual({ username: 'debian', password: b64('s3cret pass'), crypted: false });
    expect(JSON.stringify(peer!.received)).not.toContain('s3cret');
  });

  it('drops one trailing newline from stdin and refuses line breaks, empty passwords and bad user names', () => {
    expect(passwordFromStdin('pw\n')).toBe('pw');
    expect(passwordFromStdin('pw\r\n')).toBe('pw');
    expect(passwordFromStdin('pw')).toBe('pw');
    expect(() => passwordArgs('debian', 'two\nlines')).toThrow(/line break/);
    expect(() => passwordArgs('debian', '')).toThrow(/empty password/);
    for (const bad of ['', '-root', 'a b', 'x'.repeat(40), 'root;reboot']) {
      expect(() => validateUserName(bad), bad).toThrow(expect.objectContaining({ code: 'INVALID' }));
    }
    expect(validateUserName('debian')).toBe('debian');
  });
});

describe('guest-shutdown', () => {
  it('asks for a powerdown and takes silence as done', async () => {
    const c = await open(() => undefined);
    await expect(guestShutdown(c)).resolves.toBeUndefined();
    expect(peer!.received.at(-1)).toMatchObject({ execute: 'guest-shutdown', arguments: { mode: 'powerdown' } });
  });
});

describe('addresses', () => {
  const ifaces: GuestInterface[] = [
    { name: 'lo', 'hardware-address': '00:00:00:00:00:00', 'ip-addresses': [{ 'ip-address-type': 'ipv4', 'ip-address': '127.0.0.1', prefix: 8 }] },
    { name: 'ens3', 'hardware-address': '52:54:00:AB:CD:01', 'ip-addresses': [
      { 'ip-address-type': 'ipv4', 'ip-address': '10.0.2.15', prefix: 24 },
      { 'ip-address-type': 'ipv6', 'ip-address': 'fe80::5054:ff:feab:cd01', prefix: 64 },
    ] },
    { name: 'docker0', 'hardware-address': '02:42:00:00:00:01', 'ip-addresses': [{ 'ip-address-type': 'ipv4', 'ip-address': '172.17.0.1', prefix: 16 }] },
  ];

  it('leaves out loopback and keeps both families', () => {
    expect(agentAddresses(ifaces).map((a) => `${a.name} ${a.address}/${a.prefix}`)).toEqual([
      'ens3 10.0.2.15/24', 'ens3 fe80::5054:ff:feab:cd01/64', 'docker0 172.17.0.1/16',
    ]);
  });

  it('matches addresses to the guest\'s NICs by MAC, whatever its case; shows a NIC the agent lacks, and foreign interfaces by name', () => {
    const rows = matchAgentAddresses([
      { id: 'net0', mac: '52:54:00:ab:cd:01', network: 'default' },
      { id: 'net1', mac: '52:54:00:ab:cd:02', network: 'lab' },
    ], ifaces);
    expect(rows).toEqual([
      { nic: 'net0', mac: '52:54:00:ab:cd:01', network: 'default', address: '10.0.2.15', prefix: 24, source: 'agent', guestIf: 'ens3' },
      { nic: 'net0', mac: '52:54:00:ab:cd:01', network: 'default', address: 'fe80::5054:ff:feab:cd01', prefix: 64, source: 'agent', guestIf: 'ens3' },
      { nic: 'net1', mac: '52:54:00:ab:cd:02', network: 'lab', source: 'none' },
      { nic: 'docker0', mac: '02:42:00:00:00:01', address: '172.17.0.1', prefix: 16, source: 'agent', guestIf: 'docker0' },
    ]);
  });
});
