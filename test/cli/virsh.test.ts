// The virsh spelling table (src/cli/virsh.ts): pure rewrites of argv, and the
// "did you mean" over commands and flags.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance, kib, REFUSED, rewriteVirsh, VIRSH, VirshRefusal } from '../../src/cli/virsh.js';

const rw = (line: string, cwd = '/work') => rewriteVirsh(line.split(' '), cwd);

describe('virsh spellings', () => {
  it('reads --domain as the guest positional on every domain command, known to the table or not', () => {
    for (const cmd of ['start', 'shutdown', 'destroy', 'dominfo', 'domstate', 'suspend', 'resume', 'autostart', 'undefine', 'dumpxml', 'domblklist', 'vcpucount']) {
      expect(rw(`${cmd} --domain vm1`).argv).toEqual([cmd, 'vm1']);
      expect(rw(`${cmd} --domain=vm1`).argv).toEqual([cmd, 'vm1']);
    }
    // A command outside the table still gets it (and keeps its own flags).
    expect(rw('dommemstat --domain vm1 --json').argv).toEqual(['dommemstat', 'vm1', '--json']);
    expect(rw('trust --domain vm1 --revoke').argv).toEqual(['trust', 'vm1', '--revoke']);
  });

  it('fills virsh positional options from bare words or from their --names, in virsh order', () => {
    expect(rw('snapshot-revert --domain vm1 --current').argv).toEqual(['snapshot-revert', 'vm1', '--current']);
    expect(rw('snapshot-revert vm1 --snapshotname s1').argv).toEqual(['snapshot-revert', 'vm1', 's1']);
    expect(rw('snapshot-delete --snapshotname s1 vm1').argv).toEqual(['snapshot-delete', 'vm1', 's1']);
    expect(rw('snapshot-create-as --domain vm1 --name snap1 --description x').argv).toEqual(['snapshot-create-as', 'vm1', 'snap1', '--description', 'x']);
    // virsh's third positional of snapshot-create-as is the description.
    expect(rw('snapshot-create-as vm1 snap1 x').argv).toEqual(['snapshot-create-as', 'vm1', 'snap1', '--description', 'x']);
  });

  it('passes domifaddr --source agent through; lease and arp are the host-side lookup qkvm does anyway', () => {
    expect(rw('domifaddr vm1 --source agent').argv).toEqual(['domifaddr', 'vm1', '--source', 'agent']);
    expect(rw('domifaddr --domain vm1 --source=agent').argv).toEqual(['domifaddr', 'vm1', '--source', 'agent']);
    expect(rw('domifaddr vm1 --source lease').argv).toEqual(['domifaddr', 'vm1']);
  });

  it('reads setmem and setmaxmem sizes as virsh does: a bare number is KiB, a suffix is kept', () => {
    expect(rw('setmem vm1 524288 --live').argv).toEqual(['setmem', 'vm1', '524288K']);
    expect(rw('setmem --domain vm1 --size 512M').argv).toEqual(['setmem', 'vm1', '512M']);
    expect(rw('setmaxmem vm1 2097152 --config').argv).toEqual(['setmaxmem', 'vm1', '2097152K']);
    expect(kib('1024')).toBe('1024K');
    expect(kib('1G')).toBe('1G');
    expect(() => rw('setmem vm1 1G --config')).toThrow(/--config: qkvm's definition has one memory size/);
    expect(() => rw('setmaxmem vm1 1G --live')).toThrow(/cannot change a running guest's memory size/);
  });

  it('says what a dropped flag means, on stderr', () => {
    expect(rw('setmem vm1 1G --live').notes).toEqual([expect.stringMatching(/--live: the running guest is changed/)]);
    expect(rw('dumpxml vm1').notes[0]).toMatch(/YAML, not libvirt XML/);
    expect(rw('destroy vm1 --graceful').notes[0]).toMatch(/--graceful/);
  });

  it('attach-disk: a positional target, a cwd-relative path, virsh flags to qkvm flags', () => {
    expect(rw('attach-disk vm1 data.qcow2 vdb --driver qemu --subdriver qcow2 --persistent').argv)
      .toEqual(['attach-disk', 'vm1', '/work/data.qcow2', '--target', 'vdb', '--format', 'qcow2', '--persist', '--external', '--no-readonly']);
    expect(rw('attach-disk --domain vm1 --source /i/x.img --target vdc --mode readonly --config').argv)
      .toEqual(['attach-disk', 'vm1', '/i/x.img', '--target', 'vdc', '--readonly', '--persist', '--no-live', '--external']);
    // --config --live is both, as in virsh.
    expect(rw('attach-disk vm1 x vdb --config --live').argv).not.toContain('--no-live');
    expect(rw('attach-disk vm1 x vdb --targetbus scsi').argv).toContain('scsi');
    expect(() => rw('attach-disk vm1 x.iso hdc --type cdrom')).toThrow(/--type cdrom: qkvm hot-plugs disks only/);
    expect(() => rw('attach-disk vm1 x vdb --mode shareable')).toThrow(/never shares a writable disk/);
    expect(() => rw('attach-disk vm1 x vdb --driver file')).toThrow(/--driver file/);
  });

  it('attach-interface and detach-interface: --type network --source NET, others refused with the way there', () => {
    expect(rw('attach-interface --domain vm1 --type network --source default --model virtio --config').argv)
      .toEqual(['attach-interface', 'vm1', '--model', 'virtio', '--persist', '--no-live', '--net', 'default']);
    expect(rw('attach-interface vm1 network default --mac 52:54:00:00:00:01 --persistent').argv)
      .toEqual(['attach-interface', 'vm1', '--mac', '52:54:00:00:00:01', '--persist', '--net', 'default']);
    expect(() => rw('attach-interface vm1 bridge br0')).toThrow(VirshRefusal);
    expect(rw('detach-interface --domain vm1 --type network --mac 52:54:00:00:00:01 --config').argv)
      .toEqual(['detach-interface', 'vm1', '--mac', '52:54:00:00:00:01', '--persist', '--no-live']);
  });

  it('maps net-*, pool-* and vol-* onto the qkvm groups', () => {
    expect(rw('net-list --all').argv).toEqual(['net', 'list']);
    expect(rw('net-destroy default').argv).toEqual(['net', 'stop', 'default']);
    expect(rw('net-dhcp-leases default').argv).toEqual(['net', 'leases', 'default']);
    expect(rw('net-autostart --network default --disable').argv).toEqual(['net', 'autostart', 'default', '--disable']);
    expect(rw('net-create n.yaml').argv).toEqual(['net-define', 'n.yaml', '--start']);
    expect(rw('vol-delete --pool default vm1.qcow2').argv).toEqual(['vol', 'delete', 'default', 'vm1.qcow2']);
    expect(rw('vol-create-as default v.qcow2 1G --format qcow2').argv).toEqual(['vol-create-as', 'default', 'v.qcow2', '1G', '--format', 'qcow2']);
  });

  it('list filters and undefine --remove-all-storage', () => {
    expect(rw('list --all --name').argv).toEqual(['list', '--all', '--name']);
    expect(rw('list --state-shutoff').argv).toEqual(['list', '--inactive']);
    expect(rw('list --state-running').argv).toEqual(['list']);
    expect(rw('undefine vm1 --remove-all-storage').argv).toEqual(['undefine', 'vm1', '--remove-storage']);
  });

  it('drops virsh\'s global -c/--connect URI with a note', () => {
    expect(rewriteVirsh(['-c', 'qemu:///system', 'list', '--all'])).toEqual({ argv: ['list', '--all'], notes: [expect.stringMatching(/--connect qemu:\/\/\/system: qkvm runs QEMU on this host directly/)] });
    expect(rewriteVirsh(['--connect=qemu:///system', 'start', '--domain', 'vm1']).argv).toEqual(['start', 'vm1']);
  });

  it('reads an en dash typed for -- as --', () => {
    expect(rw('snapshot-revert –domain vm1 –current').argv).toEqual(['snapshot-revert', 'vm1', '--current']);
  });

  it('refuses the virsh commands qkvm does not have, saying what to use', () => {
    expect(() => rw('managedsave vm1')).toThrow(/managedsave/);
    try { rw('managedsave vm1'); } catch (e) { expect((e as VirshRefusal).hint).toMatch(/qkvm save NAME FILE/); }
    for (const [cmd, [why, instead]] of Object.entries(REFUSED)) {
      expect(why.length, cmd).toBeGreaterThan(10);
      expect(instead.length, cmd).toBeGreaterThan(5);
      expect(VIRSH[cmd], `${cmd} is both refused and mapped`).toBeUndefined();
    }
  });

  it('refuses libvirt XML where virsh and qkvm share a command name', () => {
    expect(() => rw('define vm1.xml')).toThrow(/qkvm reads its own YAML, not libvirt XML/);
    expect(() => rw('net-define default.xml')).toThrow(/not libvirt XML/);
    expect(rw('define vm1.yaml').argv).toEqual(['define', 'vm1.yaml']);
  });

  it('never refuses or remaps a command qkvm has under the same name with another meaning', () => {
    const index = JSON.parse(readFileSync(new URL('../../dist/src/cli/command-index.json', import.meta.url), 'utf8'));
    expect(Object.keys(REFUSED).filter((c) => c in index)).toEqual([]);
  });

  it('leaves qkvm spellings as they are', () => {
    expect(rw('attach-disk g1 extra.qcow2 --target vdb').argv).toEqual(['attach-disk', 'g1', 'extra.qcow2', '--target', 'vdb']);
    expect(rw('attach-disk vm1 data.qcow2 --bus scsi --persist').argv).toEqual(['attach-disk', 'vm1', 'data.qcow2', '--bus', 'scsi', '--persist']);
    expect(rw('snapshot revert vm1 s1').argv).toEqual(['snapshot', 'revert', 'vm1', 's1']);
    expect(rw('create web --template demo').argv).toEqual(['create', 'web', '--template', 'demo']);
  });
});

describe('did you mean', () => {
  it('measures edits, counting two swapped letters as one', () => {
    expect(editDistance('domiffadr', 'domifaddr')).toBe(2);
    expect(editDistance('sanpshot', 'snapshot')).toBe(1);
    expect(editDistance('abc', 'abc')).toBe(0);
  });

  it('suggests the closest command only when it is a likely typo', () => {
    const cmds = ['domifaddr', 'dominfo', 'domstate', 'start', 'snapshot-list', 'list'];
    expect(didYouMean('domiffadr', cmds)).toBe('domifaddr');
    expect(didYouMean('strat', cmds)).toBe('start');
    expect(didYouMean('frobnicate', cmds)).toBeUndefined();
    expect(didYouMean('list', cmds)).toBeUndefined();
  });
});
