// User-mode NIC options in a definition (net, host, dhcpstart, dns, tftp, bootfile):
// validated by the schema, written on -netdev user by the builder.
import { describe, expect, it } from 'vitest';
import { parseVmSpec } from '../../src/config/schema.js';
import { buildCommand } from '../../src/qemu/builder.js';
import { GOLDEN_CAPS, GOLDEN_SCRIPTS } from './golden/load.js';

const spec = (nic: Record<string, unknown>) => parseVmSpec({ name: 'pxe', nics: [{ type: 'user', model: 'e1000', ...nic }] }, 'test');

describe('user-mode NIC options', () => {
  it('PXE and a custom subnet reach -netdev user', () => {
    const s = spec({ net: '10.0.5.0/24', host: '10.0.5.2', dhcpstart: '10.0.5.20', dns: '10.0.5.3', tftp: '/srv/tftp', bootfile: 'pxelinux.0', hostfwd: ['tcp:127.0.0.1:8080-:80'] });
    const args = buildCommand(s, { caps: GOLDEN_CAPS, scripts: GOLDEN_SCRIPTS }).args;
    const netdev = args[args.indexOf('-netdev') + 1];
    expect(netdev).toBe('user,id=net0,net=10.0.5.0/24,host=10.0.5.2,dhcpstart=10.0.5.20,dns=10.0.5.3,tftp=/srv/tftp,bootfile=pxelinux.0,hostfwd=tcp:127.0.0.1:8080-:80');
  });
  it('bad values are refused, naming the field', () => {
    expect(() => spec({ dhcpstart: '10.0.2.300' })).toThrow(/dhcpstart/);
    expect(() => spec({ net: '10.0.5.0' })).toThrow(/net/);
    expect(() => spec({ tftp: 'relative/dir' })).toThrow(/tftp/);
    expect(() => spec({ bootfile: 'a,b' })).toThrow(/bootfile/);
    expect(() => parseVmSpec({ name: 'x', nics: [{ type: 'network', network: 'default', tftp: '/srv' }] }, 'test')).toThrow(/tftp only applies to user-mode NICs/);
  });
});
