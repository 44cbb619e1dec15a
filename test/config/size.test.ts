// Sizes: exact (BigInt), bounded, negative values named as such.
import { describe, expect, it } from 'vitest';
import { MAX_MEMORY, MAX_QCOW2, MAX_RAW, formatSize, maxImageSize, parseMemory, parseSize, parseSizeExact, sizeProblem, toMiB } from '../../src/config/size.js';
import { QkvmError } from '../../src/errors.js';

const K = 1024n, M = K * K, G = M * K, T = G * K, P = T * K, E = P * K;

describe('parseSizeExact', () => {
  it.each([
    ['512', 512n], ['512B', 512n], ['4096K', 4096n * K], ['512M', 512n * M], ['2G', 2n * G], ['1.5G', 3n * G / 2n],
    ['20GiB', 20n * G], ['20gb', 20n * G], [' 3T ', 3n * T], ['2P', 2n * P], ['1E', E], ['0.5K', 512n], ['1.0004K', 1024n], ['1.0005K', 1025n],
    ['1.0006K', 1025n], ['1.5B', 2n], ['1.4B', 1n], ['9007199254740993', 9007199254740993n],
  ])('%j is %s bytes', (s, bytes) => expect(parseSizeExact(s, 'size', 'B', E * 8n)).toBe(bytes));

  it('reads a bare number in MiB when asked (QEMU -m), and a number type too', () => {
    expect(parseSizeExact('512', 'm', 'M')).toBe(512n * M);
    expect(parseSizeExact('512B', 'm', 'M')).toBe(512n);
    expect(parseSizeExact(256, 'm', 'M')).toBe(256n * M);
    expect(parseSizeExact(10n, 'x')).toBe(10n);
  });

  it('is exact where a Number is not: 999999T', () => {
    expect(parseSizeExact('999999T', 'size', 'B', E * 8n)).toBe(999999n * T);
  });

  it.each([
    ['-1G', 'size: -1G is negative'], ['- 1G', 'size: - 1G is negative'], ['0', 'size: 0: a size must be greater than zero'],
    ['0.0001B', 'size: 0.0001B: a size must be greater than zero'], ['lots', 'size: invalid size "lots"'], ['', 'size: invalid size ""'],
    ['1..5G', 'size: invalid size "1..5G"'], ['12X', 'size: invalid size "12X"'], ['1G2', 'size: invalid size "1G2"'],
  ])('refuses %j: %s', (s, msg) => {
    let err: unknown;
    try { parseSizeExact(s); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(QkvmError);
    expect((err as QkvmError).code).toBe('INVALID');
    expect((err as QkvmError).message).toBe(msg);
    expect((err as QkvmError).hint).toBe('write a size like 512M, 2G or 20G');
  });

  it('refuses what is not a string or a number', () => {
    expect(() => parseSizeExact({} as unknown as string)).toThrow('size: invalid size {}');
    expect(() => parseSizeExact(undefined as unknown as string)).toThrow('size: invalid size undefined');
  });

  it('refuses above the maximum, naming the limit, and takes the maximum itself', () => {
    expect(parseSizeExact('64T', 'memory', 'M', MAX_MEMORY)).toBe(MAX_MEMORY);
    expect(() => parseSizeExact('65T', 'memory', 'M', MAX_MEMORY)).toThrow('memory: 65T is more than the maximum, 64T');
    expect(() => parseSizeExact('999999T', 'size')).toThrow('size: 999999T is more than the maximum, 8.0P');
    expect(parseSizeExact(String(MAX_RAW))).toBe(MAX_RAW);
    expect(() => parseSizeExact(String(MAX_RAW + 1n))).toThrow(/is more than the maximum/);
  });
});

describe('parseSize, parseMemory', () => {
  it('returns an exact number, never above 2^53-1', () => {
    expect(parseSize('2G')).toBe(2 * 1024 ** 3);
    expect(parseSize(String(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => parseSize(String(Number.MAX_SAFE_INTEGER + 1))).toThrow(/more than the maximum/);
    // A larger max is clamped to what a number holds exactly.
    expect(() => parseSize('9E', 'size', 'B', E * 16n)).toThrow(/more than the maximum, 8\.0P/);
    expect(parseSize('3P', 'size', 'B', MAX_QCOW2 * 2n)).toBe(3 * 1024 ** 5);
    expect(() => parseSize('3P', 'size', 'B', MAX_QCOW2)).toThrow('size: 3P is more than the maximum, 2P');
  });

  it('bounds memory at 64T, bare numbers in MiB', () => {
    expect(parseMemory('512')).toBe(512 * 1024 ** 2);
    expect(parseMemory('64T')).toBe(64 * 1024 ** 4);
    expect(() => parseMemory('999999T')).toThrow('memory: 999999T is more than the maximum, 64T');
    expect(() => parseMemory('-1G', '--memory')).toThrow('--memory: -1G is negative');
  });

  it('sizeProblem says what is wrong, or nothing', () => {
    expect(sizeProblem('1G')).toBeUndefined();
    expect(sizeProblem('1G', 'B', G)).toBeUndefined();
    expect(sizeProblem('1025M', 'B', G)).toBe('1025M is more than the maximum, 1G');
    expect(sizeProblem('2048', 'M', G)).toBe('2048 is more than the maximum, 1G');
    expect(sizeProblem('-5M')).toBe('-5M is negative');
    expect(sizeProblem(' 65T ', 'M', MAX_MEMORY)).toBe('65T is more than the maximum, 64T');
    expect(sizeProblem('1-2G')).toBe('invalid size "1-2G"');
    expect(() => parseSize('x')).toThrow('size: invalid size "x"');
    expect(() => parseSizeExact('x')).toThrow('size: invalid size "x"');
  });
});

describe('limits and formatting', () => {
  it('knows qemu-img\'s bounds by format', () => {
    expect(MAX_QCOW2).toBe(2n * P);
    expect(MAX_RAW).toBe(BigInt(Number.MAX_SAFE_INTEGER));
    expect(MAX_MEMORY).toBe(64n * T);
    expect(maxImageSize('raw')).toBe(MAX_RAW);
    expect(maxImageSize('qcow2')).toBe(MAX_QCOW2);
    expect(maxImageSize(undefined)).toBe(MAX_QCOW2);
  });

  it.each([
    [0, '0B'], [1023, '1023B'], [1024, '1K'], [1536, '1.5K'], [1024 ** 2, '1M'], [512 * 1024 ** 2, '512M'],
    [1.5 * 1024 ** 3, '1.5G'], [1024 ** 4, '1T'], [2n * P, '2P'], [E, '1E'], [MAX_RAW, '8.0P'],
  ])('formats %s as %s', (n, s) => expect(formatSize(n)).toBe(s));

  it('rounds memory up to whole MiB', () => {
    expect(toMiB(1024 ** 2)).toBe(1);
    expect(toMiB(1024 ** 2 + 1)).toBe(2);
  });
});
