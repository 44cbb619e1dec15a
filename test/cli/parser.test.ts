// The CLI parses argv without running anything: aliases, positionals, bad input.
import { describe, expect, it } from 'vitest';
import { buildParser } from '../../src/cli/parser.js';
import { parseDiskFlag, parseNetworkFlag } from '../../src/cli/define.js';

describe('cli', () => {
  it('knows the virsh aliases', async () => {
    const help = await buildParser([]).exitProcess(false).getHelp();
    for (const c of ['dominfo', 'domstate', 'dumpxml', 'start <name>', 'shutdown <name>', 'destroy <name>', 'console <name>', 'monitor <name>', 'cmdline <name>', 'explain', 'doctor']) {
      expect(help).toContain(c);
    }
  });

  it('parses --disk and --network flags, and names a bad option', () => {
    expect(parseDiskFlag('a.qcow2,size=10G,format=qcow2,bus=virtio,readonly')).toEqual({ disk: { file: 'a.qcow2', format: 'qcow2', bus: 'virtio', readonly: true }, size: '10G' });
    expect(() => parseDiskFlag('a.qcow2,colour=red')).toThrow(/unknown or empty option "colour=red"/);
    expect(parseNetworkFlag('default,model=e1000')).toEqual({ type: 'network', network: 'default', model: 'e1000' });
    expect(parseNetworkFlag('user', ['tcp::2222-:22'])).toEqual({ type: 'user', hostfwd: ['tcp::2222-:22'] });
    expect(() => parseNetworkFlag('default,speed=9')).toThrow(/unknown or empty option "speed=9"/);
  });
});
