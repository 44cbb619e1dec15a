import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addSnapshot, autoSnapshotName, readBook, removeSnapshot, revertTo, writeBook, type SnapshotBook } from '../../src/storage/snapshot-meta.js';

const s = (name: string) => ({ name, created: '2026-01-01T00:00:00.000Z', vmState: false });

describe('snapshot metadata', () => {
  it('links each new snapshot to the current one and makes it current', () => {
    let b: SnapshotBook = { snapshots: [] };
    b = addSnapshot(b, s('a'));
    b = addSnapshot(b, s('b'));
    expect(b.current).toBe('b');
    expect(b.snapshots.map((x) => [x.name, x.parent])).toEqual([['a', undefined], ['b', 'a']]);
    b = revertTo(b, 'a');
    b = addSnapshot(b, s('c'));
    expect(b.snapshots.find((x) => x.name === 'c')!.parent).toBe('a');
  });

  it('moves children and "current" up to the parent on delete', () => {
    let b: SnapshotBook = { snapshots: [] };
    for (const n of ['a', 'b', 'c']) b = addSnapshot(b, s(n));
    b = removeSnapshot(b, 'b');
    expect(b.snapshots.map((x) => [x.name, x.parent])).toEqual([['a', undefined], ['c', 'a']]);
    expect(b.current).toBe('c');
    b = removeSnapshot(b, 'c');
    expect(b.current).toBe('a');
  });

  it('names snapshots by UTC time, without clashes', () => {
    const now = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));
    expect(autoSnapshotName({ snapshots: [] }, now)).toBe('snap-20260102-030405');
    const b = addSnapshot({ snapshots: [] }, s('snap-20260102-030405'));
    expect(autoSnapshotName(b, now)).toBe('snap-20260102-030405-2');
    expect(autoSnapshotName(b, now, ['snap-20260102-030405-2'])).toBe('snap-20260102-030405-3');
  });

  describe('on disk', () => {
    let dir: string;
    beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'qkvm-snapmeta-')); process.env.QKVM_HOME = dir; });
    afterAll(() => { rmSync(dir, { recursive: true, force: true }); delete process.env.QKVM_HOME; });

    it('round-trips, and reads a missing file as empty', () => {
      expect(readBook('g')).toEqual({ snapshots: [] });
      const b = addSnapshot({ snapshots: [] }, { ...s('a'), description: 'before upgrade' });
      writeBook('g', b);
      expect(readBook('g')).toEqual(b);
    });
  });
});
