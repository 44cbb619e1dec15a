// `-m SIZE,slots=N,maxmem=MAX` from a tutorial becomes maxMemory and memorySlots.
import { describe, expect, it } from 'vitest';
import { specFromCommandLine } from '../../src/qemu/legacy/to-spec.js';

describe('qemu-kvm -m with slots and maxmem', () => {
  it('keeps memory hotplug as maxMemory and memorySlots', () => {
    const r = specFromCommandLine(['qemu-system-x86_64', '-m', '1G,slots=4,maxmem=4G', '-nographic'], 'hot');
    expect(r.spec).toMatchObject({ memory: '1G', maxMemory: '4G', memorySlots: 4 });
  });
  it('says what it drops when only one of them is given', () => {
    const r = specFromCommandLine(['qemu-system-x86_64', '-m', '1G,maxmem=4G'], 'hot');
    expect(r.spec.maxMemory).toBeUndefined();
    expect(r.warnings.join('\n')).toMatch(/memory hotplug needs both maxmem= and slots=/);
  });
});
