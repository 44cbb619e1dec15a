// qkvm ssh to a Debian guest on one of qkvm's networks, not a user NIC: an
// isolated network without DHCP (no lease to read), the guest's static address
// from cloud-init's network-config, and the guest agent telling qkvm that
// address. Inside a network namespace of its own; the image is the cached
// debian-12 build (test/image/debian.ts).
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_CI } from '../net/lab.js';
import { BOOT_MS, BUILD_MS, DebianWorld, debianTestMissing } from './debian.js';

const why = debianTestMissing();
if (why && !IN_CI) console.warn(`image/ssh-network: skipped: ${why}`);

const GUEST = 'debnet';
const ADDRESS = '10.78.0.5';

describe.skipIf(why !== '' && !IN_CI)('qkvm ssh on a network without DHCP: the address from the guest agent', () => {
  const w = new DebianWorld('sshnet');
  const qkvm = w.qkvm.bind(w);

  beforeAll(async () => {
    await w.setUp();
    await qkvm(['net', 'define', 'static', '--mode', 'isolated', '--subnet', '10.78.0.0/24', '--no-dhcp']);
    await qkvm(['net', 'start', 'static']);
    await qkvm(['create', GUEST, '--template', 'debian-12', '--network', 'static', '--ssh-key', w.pubKey, '--accel', 'tcg']);
    // network-config: the entry's key is the interface's name in the guest (cloud-init
    // 22.4's networkd renderer ignores `match:`); the first virtio NIC on pc is ens3.
    const file = path.join(w.home, 'def.yaml');
    const doc = YAML.parse((await qkvm(['dumpconfig', GUEST])).stdout);
    doc.cloudInit['network-config'] = { version: 2, ethernets: { ens3: { addresses: [`${ADDRESS}/24`] } } };
    writeFileSync(file, YAML.stringify(doc));
    await qkvm(['define', file, '--overwrite']);
  }, BUILD_MS);

  afterAll(() => w.tearDown([GUEST]));

  it('waits for the address while the guest boots, then logs in at the address the agent reports', async () => {
    await qkvm(['start', GUEST]);
    const r = await qkvm(['ssh', GUEST, '--wait', String(BOOT_MS / 1000 - 60), '--', 'hostname; ip -4 -o addr show dev ens3'], { timeout: BOOT_MS });
    expect(r.stderr).toMatch(/qkvm ssh: waiting for debnet's address \(its DHCP lease or the guest agent\)/);
    expect(r.stdout).toContain(`inet ${ADDRESS}/24`);
    expect(r.stdout.split('\n')[0]).toBe(GUEST);
    // No lease exists on this network (the neighbour table knows the address only
    // after ssh's packets): the address came from the agent.
    const host = JSON.parse((await qkvm(['domifaddr', GUEST, '--json'])).stdout);
    expect(host.filter((r: { source: string }) => r.source === 'lease')).toEqual([]);
    const rows = JSON.parse((await qkvm(['domifaddr', GUEST, '--source', 'agent', '--json'])).stdout);
    expect(rows).toContainEqual(expect.objectContaining({ nic: 'net0', address: ADDRESS, source: 'agent' }));
  }, BOOT_MS);

  it('--print shows the ssh command to that address', async () => {
    const printed = (await qkvm(['ssh', GUEST, '--print'])).stdout;
    expect(printed).toMatch(new RegExp(`-- debian@${ADDRESS.replaceAll('.', '\\.')}$`));
    // Not a loopback forward: OpenSSH's own key exchange order stays.
    expect(printed).not.toContain('KexAlgorithms');
    expect(readFileSync(path.join(w.home, 'vms', `${GUEST}.yaml`), 'utf8')).toContain('ens3:');
  });
});
