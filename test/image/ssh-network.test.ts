// qkvm ssh to a Debian guest on one of qkvm's networks, not a user NIC: an
// isolated network without DHCP (no lease to read), the guest's static address
// from cloud-init's network-config, and the guest agent telling qkvm that
// address. Inside a network namespace of its own; the image is the cached
// debian-12 build (test/image/debian.ts).
import { execa } from 'execa';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, IN_CI, Netns, type RunResult } from '../net/lab.js';
import { BOOT_MS, BUILD_MS, DEBIAN_CACHE, debianTestMissing, ensureDebianImage } from './debian.js';

const why = debianTestMissing();
if (why && !IN_CI) console.warn(`image/ssh-network: skipped: ${why}`);

const GUEST = 'debnet';
const ADDRESS = '10.78.0.5';

describe.skipIf(why !== '' && !IN_CI)('qkvm ssh on a network without DHCP: the address from the guest agent', () => {
  const ns = new Netns();
  const home = mkdtempSync(path.join(os.tmpdir(), 'qkvm-sshnet-home-'));
  const run = mkdtempSync(path.join(os.tmpdir(), 'qkvm-sshnet-run-'));
  const keys = mkdtempSync(path.join(os.tmpdir(), 'qkvm-sshnet-key-'));
  const env = { QKVM_HOME: home, QKVM_RUN: run, QKVM_BASE_IMAGES: DEBIAN_CACHE, HOME: keys, PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };

  async function qkvm(args: string[], o: { reject?: boolean; timeout?: number } = {}): Promise<RunResult> {
    const r = await execa('ip', ['netns', 'exec', ns.name, 'node', CLI, ...args], { env, reject: false, timeout: o.timeout ?? 180_000, stdin: 'ignore' });
    const out = { code: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
    if (o.reject !== false && out.code !== 0) throw new Error(`qkvm ${args.join(' ')} failed (${out.code}):\n${out.stdout}\n${out.stderr}`);
    return out;
  }

  beforeAll(async () => {
    if (why) throw new Error(why);
    await ensureDebianImage((l) => console.log(l));
    await ns.create();
    spawnSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'qkvm-test', '-f', path.join(keys, 'id_ed25519')], { stdio: 'ignore' });
    await qkvm(['net', 'define', 'static', '--mode', 'isolated', '--subnet', '10.78.0.0/24', '--no-dhcp']);
    await qkvm(['net', 'start', 'static']);
    await qkvm(['create', GUEST, '--template', 'debian-12', '--network', 'static', '--ssh-key', path.join(keys, 'id_ed25519.pub'), '--accel', 'tcg']);
    // network-config: the entry's key is the interface's name in the guest (cloud-init
    // 22.4's networkd renderer ignores `match:`); the first virtio NIC on pc is ens3.
    const file = path.join(home, 'def.yaml');
    const doc = YAML.parse((await qkvm(['dumpconfig', GUEST])).stdout);
    doc.cloudInit['network-config'] = { version: 2, ethernets: { ens3: { addresses: [`${ADDRESS}/24`] } } };
    writeFileSync(file, YAML.stringify(doc));
    await qkvm(['define', file, '--overwrite']);
  }, BUILD_MS);

  afterAll(async () => {
    await qkvm(['destroy', GUEST], { reject: false });
    await ns.destroy();
    for (const d of [home, run, keys]) rmSync(d, { recursive: true, force: true });
  });

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
    expect(readFileSync(path.join(home, 'vms', `${GUEST}.yaml`), 'utf8')).toContain('ens3:');
  });
});
