import { describe, expect, it } from 'vitest';
import { encodeHeader, parseHeader, SAVE_MAGIC } from '../../src/migrate/header.js';
import { parseVmSpec } from '../../src/config/schema.js';
import { parseTcpUri, shQuotePath } from '../../src/migrate/quote.js';

const spec = parseVmSpec({ name: 'demo', memory: '192M', kernel: '/k', nics: [] });
const header = { version: 1 as const, name: 'demo', savedAt: '2026-01-01T00:00:00.000Z', wasRunning: true, spec, qemuVersion: '7.2.0' };
const stream = Buffer.from('QEVM\x00\x00\x00\x03rest of the stream', 'latin1');
const file = Buffer.concat([encodeHeader(header), stream]);

describe('save file header', () => {
  it('round-trips, and the stream starts right after it', () => {
    const { header: h, offset } = parseHeader(file, file.length);
    expect(h).toMatchObject({ name: 'demo', wasRunning: true, qemuVersion: '7.2.0' });
    expect(h.spec.memory).toBe('192M');
    expect(file.subarray(offset, offset + 4).toString('latin1')).toBe('QEVM');
    expect(file.subarray(0, SAVE_MAGIC.length).toString()).toBe('QKVMSAVE1\n');
  });

  it('refuses a file that is not a save file', () => {
    const f = Buffer.from('hello world, this is not it');
    expect(() => parseHeader(f, f.length)).toThrow(/does not start with "QKVMSAVE1"/);
  });

  it('refuses a damaged length, a truncated header, and damaged JSON', () => {
    const badLen = Buffer.from(file); badLen.write('x', SAVE_MAGIC.length);
    expect(() => parseHeader(badLen, badLen.length)).toThrow(/header length is damaged/);
    const cut = file.subarray(0, 40);
    expect(() => parseHeader(cut, cut.length)).toThrow(/truncated/);
    const badJson = Buffer.from(file); badJson[SAVE_MAGIC.length + 11] = 0x78;
    expect(() => parseHeader(badJson, badJson.length)).toThrow(/JSON is damaged/);
  });

  it('refuses a file with no stream, or a stream without QEMU\'s magic', () => {
    const h = encodeHeader(header);
    expect(() => parseHeader(h, h.length)).toThrow(/no migration stream/);
    const wrong = Buffer.concat([h, Buffer.from('XXXXmore')]);
    expect(() => parseHeader(wrong, wrong.length)).toThrow(/QEVM/);
  });

  it('validates the saved definition like any other', () => {
    const bad = Buffer.concat([encodeHeader({ ...header, spec: { ...spec, memory: 'lots' } as any }), stream]);
    expect(() => parseHeader(bad, bad.length)).toThrow(/memory/);
  });
});

describe('exec: URI quoting', () => {
  it('single-quotes an absolute path', () => {
    expect(shQuotePath('/var/tmp/a b.save')).toBe("'/var/tmp/a b.save'");
  });
  it('refuses quotes, backslashes and control characters', () => {
    for (const p of ["/tmp/it's", '/tmp/a\\b', '/tmp/a\nb', '/tmp/\x00']) expect(() => shQuotePath(p)).toThrow(/quote, a backslash or a control/);
  });
  it('checks tcp:HOST:PORT', () => {
    expect(parseTcpUri('tcp:127.0.0.1:4444')).toEqual({ host: '127.0.0.1', port: 4444 });
    expect(parseTcpUri('tcp:[::1]:4444').port).toBe(4444);
    for (const u of ['tcp:host', 'tcp:h:0', 'tcp:h:70000', 'exec:cat', 'unix:/x']) expect(() => parseTcpUri(u)).toThrow(/tcp:HOST:PORT/);
  });
});
