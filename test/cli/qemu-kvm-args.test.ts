// qkvm qemu-kvm's own flags (--name, --dry-run, --help) apart from QEMU's words.
import { describe, expect, it } from 'vitest';
import { parseQemuKvmArgs } from '../../src/cli/qemu-kvm.js';

describe('qkvm qemu-kvm argv', () => {
  it('keeps QEMU\'s options verbatim and takes only --name, --dry-run and a leading --help', () => {
    expect(parseQemuKvmArgs(['-m', '512', '-name', 'web', '-hda', 'disk.img'])).toEqual({ dryRun: false, help: false, qemu: ['-m', '512', '-name', 'web', '-hda', 'disk.img'] });
    expect(parseQemuKvmArgs(['--name', 'lab', '--dry-run', '-m', '512'])).toEqual({ name: 'lab', dryRun: true, help: false, qemu: ['-m', '512'] });
    expect(parseQemuKvmArgs(['-m', '512', '--name=lab'])).toMatchObject({ name: 'lab', qemu: ['-m', '512'] });
    expect(parseQemuKvmArgs(['--help'])).toMatchObject({ help: true, qemu: [] });
    expect(() => parseQemuKvmArgs(['--name'])).toThrow(/--name: give a guest name/);
  });
});
