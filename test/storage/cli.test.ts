// The storage commands and virsh's names for them are registered (no handler runs).
import { describe, expect, it } from 'vitest';
import { poolCommands } from '../../src/cli/pool.js';
import { volCommands } from '../../src/cli/vol.js';
import { snapshotCommands } from '../../src/cli/snapshot.js';
import { diskCommands } from '../../src/cli/disk.js';
import { cloneCommands } from '../../src/cli/clone.js';
import { attachDiskCommands } from '../../src/cli/attach-disk.js';

const names = (mods: { command?: string | readonly string[] }[]) => mods.map((m) => String(m.command).split(' ')[0]);

describe('storage command registration', () => {
  it('has the groups and virsh aliases', () => {
    expect(names(poolCommands)).toEqual(expect.arrayContaining(['pool', 'pool-define-as', 'pool-build', 'pool-start', 'pool-autostart', 'pool-list']));
    expect(names(volCommands)).toEqual(expect.arrayContaining(['vol', 'vol-create-as', 'vol-list']));
    expect(names(snapshotCommands)).toEqual(expect.arrayContaining(['snapshot', 'snapshot-create-as', 'snapshot-list', 'snapshot-revert', 'snapshot-delete']));
    expect(names(diskCommands)).toEqual(['qemu-img', 'disk']);
    expect(names(cloneCommands)).toEqual(['clone']);
    expect(names(attachDiskCommands)).toEqual(['attach-disk', 'detach-disk']);
  });
});
