// The corpus as a whole: well formed, large enough, and the name swap exact.
// Each tool's lines are run by that tool's test (test/tutorial/TOOL.test.ts).
import { describe, expect, it } from 'vitest';
import { allCorpus, toQkvm } from './corpus.js';

describe('tutorial corpus', () => {
  it('swaps only the leading tool name, after a prompt or sudo', () => {
    expect(toQkvm('virsh start vm1')).toBe('qkvm start vm1');
    expect(toQkvm('sudo virt-install --name=a \\\n  --ram 512')).toBe('qkvm virt-install --name=a \\\n  --ram 512');
    expect(toQkvm('# qemu-img create -f qcow2 x.qcow2 1G')).toBe('qkvm qemu-img create -f qcow2 x.qcow2 1G');
    expect(toQkvm('$ virt-clone --original a --name b --auto-clone')).toBe('qkvm virt-clone --original a --name b --auto-clone');
    expect(() => toQkvm('rm -rf /')).toThrow(/known tool/);
  });

  it('holds at least 80 lines with unique ids, each refused or partial one saying why', () => {
    const all = allCorpus();
    expect(new Set(all.map((e) => e.id)).size).toBe(all.length);
    expect(all.length).toBeGreaterThanOrEqual(80);
  });
});
