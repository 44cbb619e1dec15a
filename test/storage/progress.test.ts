import { describe, expect, it } from 'vitest';
import { parseProgress, progressParser } from '../../src/storage/progress.js';

describe('qemu-img -p progress', () => {
  it('reads every value of a whole output', () => {
    expect(parseProgress('    (0.00/100%)\r    (12.50/100%)\r    (100.00/100%)\r\n')).toEqual([0, 0.125, 1]);
  });

  it('reads a value split across chunks once, whole', () => {
    const seen: number[] = [];
    const feed = progressParser((f) => seen.push(f));
    feed('    (0.00/100%)\r    (33.');
    feed('33/100%)\r    (66.66/1');
    feed('00%)\r    (100.00/100%)\r\n');
    expect(seen).toEqual([0, 0.3333, 0.6666, 1]);
  });

  it('never goes backwards and ignores other text', () => {
    const seen: number[] = [];
    const feed = progressParser((f) => seen.push(f));
    feed('(50.00/100%)\r(40.00/100%) noise (x/100%) (75.00/100%)');
    expect(seen).toEqual([0.5, 0.75]);
  });
});
