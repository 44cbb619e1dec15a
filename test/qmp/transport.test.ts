import { describe, expect, it } from 'vitest';
import { LineDecoder } from '../../src/qmp/transport.js';

function decode(chunks: string[]): string[] {
  const lines: string[] = [];
  const d = new LineDecoder((line) => {
    lines.push(line);
    return true;
  });
  for (const c of chunks) expect(d.push(c)).toBe(true);
  return lines;
}

describe('LineDecoder', () => {
  it('joins a line that spans chunks', () => {
    const text = '{"return": {"status": "running"}, "id": 7}\r\n';
    expect(decode(text.split(''))).toEqual(['{"return": {"status": "running"}, "id": 7}\r']);
  });

  it('splits several lines in one chunk and keeps the unfinished one', () => {
    const lines: string[] = [];
    const d = new LineDecoder((l) => (lines.push(l), true));
    d.push('{"a":1}\r\n{"b":2}\n{"c"');
    expect(lines).toEqual(['{"a":1}\r', '{"b":2}']);
    expect(d.pending).toBe('{"c"');
    d.push(':3}\r\n');
    expect(lines).toEqual(['{"a":1}\r', '{"b":2}', '{"c":3}\r']);
    expect(d.pending).toBe('');
  });

  it('skips blank lines', () => {
    expect(decode(['\r\n\n{"a":1}\r\n', '\r', '\n'])).toEqual(['{"a":1}\r']);
  });

  it('stops when the consumer says so', () => {
    const lines: string[] = [];
    const d = new LineDecoder((l) => (lines.push(l), false));
    d.push('one\ntwo\nthree');
    expect(lines).toEqual(['one']);
    expect(d.pending).toBe('');
  });
});
