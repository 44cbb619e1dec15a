// Exposure warnings: VNC on a public address without a password, hostfwd on every address.
import { describe, expect, it } from 'vitest';
import { exposureWarnings, isLoopback } from '../../src/config/exposure.js';
import { parseVmSpec } from '../../src/config/schema.js';

const spec = (extra: Record<string, unknown>) => parseVmSpec({ name: 'g', ...extra });

describe('exposureWarnings', () => {
  it('knows loopback', () => {
    for (const a of ['127.0.0.1', '127.1.2.3', '::1', 'localhost']) expect(isLoopback(a), a).toBe(true);
    for (const a of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', '127.0.0', '1127.0.0.1']) expect(isLoopback(a), a).toBe(false);
  });

  it('warns of VNC on a public address without a password, naming address, port and the fix', () => {
    const [w, ...rest] = exposureWarnings(spec({ display: { type: 'vnc', listen: '0.0.0.0', display: 2 } }));
    expect(rest).toEqual([]);
    expect(w).toBe('guest "g": VNC listens on 0.0.0.0:5902 (display.listen 0.0.0.0) with no password: anyone who can reach that port controls the guest\'s screen and keyboard; '
      + 'set display.listen: 127.0.0.1 (and use an SSH tunnel), or display.password: true and `qkvm vnc g --password`');
    expect(exposureWarnings(spec({ display: { type: 'vnc', listen: '::', display: 0 } }))[0]).toContain('VNC listens on :::5900');
    expect(exposureWarnings(spec({ display: { type: 'vnc', listen: '192.168.1.5' } }))).toHaveLength(1);
  });

  it('is quiet for VNC on loopback, with a password, or no VNC', () => {
    expect(exposureWarnings(spec({ display: { type: 'vnc', listen: '127.0.0.1' } }))).toEqual([]);
    expect(exposureWarnings(spec({ display: { type: 'vnc', listen: '0.0.0.0', password: true } }))).toEqual([]);
    expect(exposureWarnings(spec({ display: { type: 'none', listen: '0.0.0.0' } }))).toEqual([]);
    expect(exposureWarnings(spec({}))).toEqual([]);
  });

  it('warns of each hostfwd rule on every address, naming the NIC, the rule and the local form', () => {
    const ws = exposureWarnings(spec({ nics: [
      { type: 'user', hostfwd: ['tcp:127.0.0.1:2200-:22'] },
      { type: 'user', hostfwd: ['tcp::2222-:22', 'udp:0.0.0.0:5353-10.0.2.15:53', 'tcp:10.1.1.1:80-:80'] },
    ] }));
    expect(ws).toEqual([
      'guest "g": nics[1].hostfwd "tcp::2222-:22" forwards tcp port 2222 on every address of this host into the guest; write tcp:127.0.0.1:2222-:22 to keep it to this host',
      'guest "g": nics[1].hostfwd "udp:0.0.0.0:5353-10.0.2.15:53" forwards udp port 5353 on every address of this host into the guest; write udp:127.0.0.1:5353-10.0.2.15:53 to keep it to this host',
    ]);
  });

  it('takes a partial spec (before defaults)', () => {
    expect(exposureWarnings({ name: 'x' } as never)).toEqual([]);
    expect(exposureWarnings({ name: 'x', nics: [{ type: 'user' }] } as never)).toEqual([]);
  });
});
