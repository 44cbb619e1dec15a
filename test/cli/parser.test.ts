// The CLI parses argv without running anything: aliases, positionals, bad input.
import { describe, expect, it } from 'vitest';
import { buildParser } from '../../src/cli/parser.js';
import { parseDiskFlag, parseNetworkFlag } from '../../src/cli/define.js';

describe('cli', () => {
  it('knows the virsh aliases', async () => {
    const help = await (await buildParser([])).exitProcess(false).getHelp();
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

describe('lazy command groups', () => {
  // The built module: command-index.json exists only in dist/ (npm test builds first).
  it('loads only the group of a known command, and every group for anything else', async () => {
    const { loadCommands, commandNames, commandGroups } = await import('../../dist/src/cli/commands.js' as string);
    const all = await loadCommands(['--help']);
    const groups = Object.keys(commandGroups).length;
    expect(groups).toBeGreaterThan(3);
    const start = await loadCommands(['start', 'x']);
    expect(start.length).toBeLessThan(all.length);
    expect(start.some((c) => commandNames(c).includes('start'))).toBe(true);
    // Every command name maps to a group that defines it (command-index.json is built from these).
    for (const c of all) {
      for (const n of commandNames(c)) {
        const mods = await loadCommands([n]);
        expect(mods.some((m) => commandNames(m).includes(n)), n).toBe(true);
      }
    }
  });
});

describe('fast path for list and start', () => {
  it('parses the plain forms and leaves everything else to yargs', async () => {
    const { parseFast } = await import('../../src/cli/fast.js');
    expect(parseFast(['list'])?.args).toEqual({});
    expect(parseFast(['list', '--all', '--json'])?.args).toEqual({ all: true, json: true });
    expect(parseFast(['start', 'web', '--paused'])?.args).toEqual({ name: 'web', paused: true });
    expect(parseFast(['start', 'web', '--incoming', 'tcp:0:4444'])?.args).toEqual({ name: 'web', incoming: 'tcp:0:4444' });
    expect(parseFast(['start', 'web', '--incoming=defer'])?.args).toEqual({ name: 'web', incoming: 'defer' });
    for (const argv of [['list', '--help'], ['list', 'x'], ['start'], ['start', 'a', 'b'], ['start', 'web', '--bogus'], ['start', 'web', '-h'], ['start', 'web', '--incoming'], ['start', 'web', '--paused=yes'], ['info', 'web']]) {
      expect(parseFast(argv), argv.join(' ')).toBeUndefined();
    }
  });
});

describe('start --incoming', () => {
  it('takes tcp:, unix: and defer, and refuses what QEMU would hand to a shell', async () => {
    const { validateIncoming } = await import('../../src/runtime/start.js');
    for (const ok of ['tcp:0.0.0.0:4444', 'tcp::4444', 'tcp:[::1]:4444', 'unix:/run/mig.sock', 'defer']) expect(validateIncoming(ok)).toBe(ok);
    for (const bad of ['exec:cat /etc/passwd', 'tcp:host:port', 'tcp:1.2.3.4:4444;reboot', 'fd:3', 'rdma:1.2.3.4:5', '']) {
      expect(() => validateIncoming(bad), bad).toThrow(/unsupported migration address/);
    }
  });
});
