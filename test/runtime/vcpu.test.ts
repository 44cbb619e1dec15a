import { describe, expect, it } from 'vitest';
import { formatCpuList, overcommitOf, overcommitText, parseCpuList, validateHostCpuList, vcpuDeviceId } from '../../src/runtime/vcpu.js';

describe('CPU lists', () => {
  it('parses Linux CPU lists', () => {
    expect(parseCpuList('0')).toEqual([0]);
    expect(parseCpuList('0-2,5')).toEqual([0, 1, 2, 5]);
    expect(parseCpuList('3,1,1-2')).toEqual([1, 2, 3]);
    expect(parseCpuList(' 0-1\n')).toEqual([0, 1]);
  });
  it('refuses what is not one', () => {
    for (const bad of ['', 'a', '1-', '-1', '1,,2', '0x1', '1 2']) expect(() => parseCpuList(bad)).toThrow(/invalid CPU list/);
    expect(() => parseCpuList('3-1')).toThrow(/backwards/);
  });
  it('formats them back, compressing ranges', () => {
    expect(formatCpuList([5, 0, 1, 2])).toBe('0-2,5');
    expect(formatCpuList([1, 3])).toBe('1,3');
    expect(formatCpuList([])).toBe('');
  });
  it('checks them against the host', () => {
    expect(validateHostCpuList('1,0', [0, 1])).toBe('0-1');
    expect(() => validateHostCpuList('0-3', [0, 1])).toThrow(/host CPU\(s\) 2-3 do not exist \(this host has 0-1\)/);
  });
});

describe('overcommit', () => {
  it('is nothing while vCPUs fit', () => {
    expect(overcommitOf(2, 2)).toBeUndefined();
  });
  it('says by how much', () => {
    const o = overcommitOf(5, 2)!;
    expect(o).toEqual({ vcpus: 5, hostCpus: 2, excess: 3 });
    expect(overcommitText(o)).toBe('running guests have 5 vCPUs on 2 host CPUs: overcommitted by 3 (250%)');
  });
});

describe('vCPU device ids', () => {
  it('name the slot', () => {
    expect(vcpuDeviceId({ 'socket-id': 0, 'core-id': 1, 'thread-id': 0 })).toBe('vcpu-s0-c1-t0');
  });
});
