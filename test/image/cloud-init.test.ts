// The cloudInit block, its NoCloud files, the ssh command, ports and image
// inputs: pure code, tested without a guest.
import { describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { parseVmSpec } from '../../src/config/schema.js';
import { QkvmError } from '../../src/errors.js';
import { imageInputs } from '../../src/image/build.js';
import { newInstanceId, parseUserData, renderSeed, seedKey } from '../../src/image/cloud-init.js';
import { hostfwdPorts, pickPort } from '../../src/image/port.js';
import { hostfwdToSsh, sshArgs } from '../../src/image/ssh.js';
import { cloudInitFromFlags, hashPassword } from '../../src/image/flags.js';
import { buildCommand } from '../../src/qemu/builder.js';
import { GOLDEN_CAPS, GOLDEN_SCRIPTS } from '../qemu/golden/load.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx0example0example0example0example0ex me@host';
const HASH = '$6$rounds=5000$saltsalt$' + 'a'.repeat(86);
const spec = (cloudInit: Record<string, unknown>, more: Record<string, unknown> = {}) => parseVmSpec({ name: 'web', cloudInit, ...more });

function invalidError(fn: () => unknown): QkvmError {
  let err: unknown;
  try { fn(); } catch (e) { err = e; }
  expect(err).toBeInstanceOf(QkvmError);
  expect((err as QkvmError).code).toBe('INVALID');
  return err as QkvmError;
}

describe('the cloudInit block', () => {
  it('takes cloud-init spellings and fills defaults', () => {
    const s = spec({ user: 'alice', ssh_authorized_keys: [KEY], hostname: 'web1', 'instance-id': 'web-1' });
    expect(s.cloudInit).toEqual({ user: 'alice', ssh_authorized_keys: [KEY], hostname: 'web1', 'instance-id': 'web-1', packages: [], runcmd: [], write_files: [] });
  });

  it('refuses a clear password: only a crypt hash is stored', () => {
    const e = invalidError(() => spec({ passwd: 'hunter2' }));
    expect(e.message).toContain('cloudInit.passwd');
    expect(e.message).toMatch(/crypt hash/);
    expect(spec({ passwd: HASH }).cloudInit?.passwd).toBe(HASH);
  });

  it('names the bad field and value', () => {
    expect(invalidError(() => spec({ user: 'Root!' })).message).toContain('cloudInit.user = "Root!"');
    expect(invalidError(() => spec({ hostname: '-web' })).message).toContain('cloudInit.hostname');
    expect(invalidError(() => spec({ ssh_authorized_keys: ['not a key'] })).message).toContain('cloudInit.ssh_authorized_keys[0]');
    expect(invalidError(() => spec({ write_files: [{ path: 'relative' }] })).message).toContain('cloudInit.write_files[0].path');
    expect(invalidError(() => spec({ bogus: 1 })).message).toContain('"bogus"');
  });
});

describe('the seed files', () => {
  it('user-data creates the user with the key and sudo; meta-data carries instance-id and hostname', () => {
    const f = renderSeed('web', spec({ user: 'alice', ssh_authorized_keys: [KEY], hostname: 'web1', 'instance-id': 'web-1', packages: ['htop'], runcmd: ['echo hi'] }).cloudInit!);
    expect(f['user-data'].startsWith('#cloud-config\n')).toBe(true);
    const ud = YAML.parse(f['user-data']);
    expect(ud.hostname).toBe('web1');
    expect(ud.users).toEqual([expect.objectContaining({ name: 'alice', ssh_authorized_keys: [KEY], sudo: 'ALL=(ALL) NOPASSWD:ALL', lock_passwd: true })]);
    expect(ud.packages).toEqual(['htop']);
    expect(ud.runcmd).toEqual(['echo hi']);
    expect(YAML.parse(f['meta-data'])).toEqual({ 'instance-id': 'web-1', 'local-hostname': 'web1' });
    expect(f['network-config']).toBeUndefined();
  });

  it('the hash goes in as passwd and unlocks the password', () => {
    const ud = YAML.parse(renderSeed('web', spec({ passwd: HASH }).cloudInit!)['user-data']);
    expect(ud.users[0]).toMatchObject({ name: 'debian', passwd: HASH, lock_passwd: false });
  });

  it('network-config is written when given', () => {
    const nc = { version: 2, ethernets: { e: { match: { name: 'en*' }, dhcp4: true } } };
    expect(YAML.parse(renderSeed('web', spec({ 'network-config': nc }).cloudInit!)['network-config']!)).toEqual(nc);
  });

  it('user-data from a file is merged under the block: its users stay, the block wins on hostname', () => {
    const ud0 = '#cloud-config\nhostname: theirs\nusers:\n  - name: bob\nruncmd: [one]\n';
    const ud = YAML.parse(renderSeed('web', spec({ 'user-data': ud0, hostname: 'ours', user: 'alice', runcmd: ['two'] }).cloudInit!)['user-data']);
    expect(ud.hostname).toBe('ours');
    expect(ud.users.map((u: any) => u.name)).toEqual(['bob', 'alice']);
    expect(ud.runcmd).toEqual(['one', 'two']);
  });

  it('user-data must be #cloud-config YAML', () => {
    expect(invalidError(() => parseUserData('#!/bin/sh\necho hi\n')).message).toMatch(/#cloud-config/);
  });

  it('the key follows the content: same block, same key; any change, a new key', () => {
    const a = renderSeed('web', spec({ hostname: 'a', 'instance-id': 'i1' }).cloudInit!);
    expect(seedKey(a)).toBe(seedKey(renderSeed('web', spec({ hostname: 'a', 'instance-id': 'i1' }).cloudInit!)));
    expect(seedKey(a)).toMatch(/^[0-9a-f]{16}$/);
    expect(seedKey(renderSeed('web', spec({ hostname: 'b', 'instance-id': 'i1' }).cloudInit!))).not.toBe(seedKey(a));
    expect(seedKey(renderSeed('web', spec({ hostname: 'a', 'instance-id': 'i2' }).cloudInit!))).not.toBe(seedKey(a));
  });

  it('instance-ids are new each time and name the guest', () => {
    const a = newInstanceId('web'), b = newInstanceId('web');
    expect(a).toMatch(/^web-[0-9a-f]{8}$/);
    expect(a).not.toBe(b);
  });
});

describe('the seed on the command line', () => {
  const args = (s: ReturnType<typeof spec>, seed?: string) => buildCommand(s, { caps: GOLDEN_CAPS, scripts: GOLDEN_SCRIPTS, seed });

  it('is a read-only CD-ROM after the disks, explained as the NoCloud seed', () => {
    const cmd = args(spec({}, { disks: [{ file: '/i/web.qcow2' }] }), '/h/seeds/web/cidata-0123456789abcdef.iso');
    expect(cmd.args).toContain('driver=file,node-name=drive-hda-file,filename=/h/seeds/web/cidata-0123456789abcdef.iso,read-only=on');
    expect(cmd.args).toContain('ide-cd,drive=drive-hda,id=hda,bus=ide.0,unit=0');
    const o = cmd.options.find((x) => x.value?.includes('cidata-0123456789abcdef.iso'));
    expect(o?.explain).toMatch(/cloud-init NoCloud seed/);
  });

  it('q35 puts it on AHCI; no block, no seed', () => {
    expect(args(spec({}, { machine: 'q35' }), '/s.iso').args.join(' ')).toMatch(/ide-cd,drive=drive-sda,id=sda,bus=ide\.0/);
    expect(buildCommand(parseVmSpec({ name: 'web' }), { caps: GOLDEN_CAPS, scripts: GOLDEN_SCRIPTS }).args.join(' ')).not.toMatch(/ide-cd/);
  });
});

describe('qkvm ssh', () => {
  it('finds the host side of a forward to port 22', () => {
    expect(hostfwdToSsh(['tcp:127.0.0.1:8080-:80', 'tcp:127.0.0.1:22022-:22'])).toEqual({ host: '127.0.0.1', port: 22022 });
    expect(hostfwdToSsh(['tcp::2222-:22'])).toEqual({ host: '127.0.0.1', port: 2222 });
    expect(hostfwdToSsh(['tcp:127.0.0.1:2222-:2222'])).toBeUndefined();
  });

  it('runs ssh with the port, qkvm\'s known_hosts, the instance alias, the key and the user', () => {
    process.env.QKVM_HOME = '/tmp/qkvm-ssh-unit-home';
    const a = sshArgs({ host: '127.0.0.1', port: 22022, user: 'alice', identity: '/k/id', hostKeyAlias: 'qkvm-web-1', via: 'hostfwd' }, ['hostname']);
    expect(a).toEqual([
      '-p', '22022', '-o', 'KexAlgorithms=^curve25519-sha256', '-o', 'StrictHostKeyChecking=accept-new', '-o', 'UserKnownHostsFile=/tmp/qkvm-ssh-unit-home/ssh/known_hosts',
      '-o', 'HostKeyAlias=qkvm-web-1', '-o', 'HashKnownHosts=no', '-i', '/k/id', '-o', 'IdentitiesOnly=yes', '--', 'alice@127.0.0.1', 'hostname',
    ]);
    // A lease address is on a bridge, not loopback: OpenSSH's own key exchange order.
    expect(sshArgs({ host: '192.168.100.10', port: 22, user: 'alice', hostKeyAlias: 'qkvm-web-1', via: 'lease' })).not.toContain('KexAlgorithms=^curve25519-sha256');
  });
});

describe('ports and image inputs', () => {
  it('a port is stable for a name and skips taken ones', () => {
    const p = pickPort('web');
    expect(p).toBeGreaterThanOrEqual(22000);
    expect(pickPort('web')).toBe(p);
    expect(pickPort('web', [p])).not.toBe(p);
    expect(hostfwdPorts(['tcp:127.0.0.1:22022-:22', 'udp::53-:53'])).toEqual([22022, 53]);
  });

  it('the key changes with the size and the packages, not with their order', () => {
    const a = imageInputs('debian-12', { size: '4G' }).key;
    expect(imageInputs('debian-12').key).toBe(a);
    expect(imageInputs('debian-12', { size: '8G' }).key).not.toBe(a);
    expect(imageInputs('debian-12', { packages: ['htop', 'curl'] }).key).toBe(imageInputs('debian-12', { packages: ['curl', 'htop'] }).key);
    expect(imageInputs('debian-12', { packages: ['htop'] }).key).not.toBe(a);
  });

  it('bad inputs are refused, naming the value', () => {
    expect(invalidError(() => imageInputs('ubuntu-24')).message).toContain('"ubuntu-24"');
    expect(invalidError(() => imageInputs('debian-12', { size: '100M' })).message).toContain('--size');
    expect(invalidError(() => imageInputs('debian-12', { packages: ['rm -rf'] })).message).toContain('"rm -rf"');
  });
});

describe('create flags', () => {
  it('hashes a password with openssl passwd -6, never keeping it in clear', async () => {
    const h = await hashPassword('s3cret pass');
    expect(h).toMatch(/^\$6\$/);
    expect(h).not.toContain('s3cret');
    const ci = await cloudInitFromFlags({ password: 's3cret pass', user: 'alice', hostname: 'web1' });
    expect(ci).toMatchObject({ user: 'alice', hostname: 'web1' });
    expect(JSON.stringify(ci)).not.toContain('s3cret');
  });

  it('refuses a bad user or hostname before anything is made', async () => {
    await expect(cloudInitFromFlags({ user: 'Bad User' })).rejects.toThrow(/--user: invalid user name "Bad User"/);
    await expect(cloudInitFromFlags({ hostname: 'a_b' })).rejects.toThrow(/--hostname: invalid hostname "a_b"/);
    await expect(cloudInitFromFlags({ sshKey: ['/nonexistent/key.pub'] })).rejects.toThrow(/--ssh-key: cannot read/);
  });
});
