// User-mode networking (QEMU's slirp) through a network of mode user: a hostfwd
// rule reaches a port in the guest, with no bridge, tap or root-only setup.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_CI, Lab, missingPrerequisites } from '../net/lab.js';

const why = missingPrerequisites();
if (why && !IN_CI) console.warn(`net-user: skipped: ${why}`);

describe.skipIf(why !== '' && !IN_CI)('user-mode network', () => {
  const lab = new Lab();

  beforeAll(async () => {
    if (why) throw new Error(why);
    await lab.setup();
  });
  afterAll(async () => { await lab.cleanup(); });

  it('hostfwd reaches a port in the guest', async () => {
    await lab.qkvm(['net', 'define', 'slirp', '--mode', 'user', '--hostfwd', 'tcp:127.0.0.1:2280-:7777']);
    await lab.defineGuest('usg', { nics: [{ network: 'slirp' }] });
    const g = await lab.boot('usg');
    // QEMU's own command line: the NIC on the user network became -netdev user with the network's hostfwd.
    const pid = readFileSync(path.join(lab.run, 'vms', 'usg', 'qemu.pid'), 'utf8').trim();
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(argv).toContain('user,id=net0,hostfwd=tcp:127.0.0.1:2280-:7777');
    await g.run('(while true; do echo GUEST-ANSWER | nc -l -p 7777; done) >/dev/null 2>&1 &');
    // Wait for the listener inside the guest (its own word, not a sleep).
    await g.run('for i in $(seq 1 100); do netstat -ltn | grep -q ":7777 " && break; sleep 0.1; done');
    const r = await lab.sh('echo | busybox nc -w 10 127.0.0.1 2280');
    expect(r.stdout).toContain('GUEST-ANSWER');
    expect((await lab.links()).filter((l) => l.startsWith('qk'))).toEqual([]);
    const ifaddr = JSON.parse((await lab.qkvm(['domifaddr', 'usg', '--json'])).stdout);
    expect(ifaddr).toEqual([expect.objectContaining({ address: '10.0.2.15', source: 'user' })]);
    await lab.qkvm(['destroy', 'usg']);
  });
});
