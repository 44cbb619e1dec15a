import { describe, expect, it } from 'vitest';
import { formatTarget, isLocalUri, parseQkvmCommand, parseSshUri, remoteCommand, sshArgv, takeConnect } from '../../src/remote/target.js';

describe('remote targets', () => {
  it('reads ssh:// and virsh\'s qemu+ssh://.../system', () => {
    expect(parseSshUri('ssh://root@192.0.2.7:2222')).toEqual({ user: 'root', host: '192.0.2.7', port: 2222 });
    expect(parseSshUri('ssh://kvm2')).toEqual({ user: undefined, host: 'kvm2', port: undefined });
    expect(parseSshUri('qemu+ssh://admin@kvm2.example.org/system')).toEqual({ user: 'admin', host: 'kvm2.example.org', port: undefined });
    expect(parseSshUri('ssh://[2001:db8::7]:22')).toMatchObject({ host: '2001:db8::7', port: 22 });
    expect(formatTarget(parseSshUri('qemu+ssh://root@[2001:db8::7]:22/system'))).toBe('ssh://root@[2001:db8::7]:22');
  });

  it.each([
    ['ssh://-oProxyCommand=x', /invalid host "-oProxyCommand=x"/],
    ['ssh://ro;ot@h', /invalid user "ro;ot"/],
    ['ssh://h:70000', /invalid port 70000/],
    ['ssh://h/path', /takes no path/],
    ['qemu+ssh://h/session', /only the system instance/],
    ['tcp:h:1', /invalid remote "tcp:h:1"/],
    ['ssh://h$(reboot)', /invalid remote|invalid host/],
  ])('refuses %s', (uri, err) => {
    expect(() => parseSshUri(uri)).toThrow(err);
  });

  it('quotes every word for the far shell, so nothing typed is read as shell syntax', () => {
    const t = { host: 'h', qkvm: ['node', '/opt/qkvm/main.js'] };
    expect(remoteCommand(t, ['console', 'g', '--exec', 'echo $HOME; rm -rf /'])).toBe("node /opt/qkvm/main.js console g --exec 'echo $HOME; rm -rf /'");
    expect(remoteCommand({ host: 'h' }, ["it's"])).toBe("qkvm 'it'\\''s'");
    expect(sshArgv({ user: 'root', host: 'h', port: 2222, identity: '/k', knownHosts: '/kh' }, ['list'], { tty: true })).toEqual([
      '-o', 'ConnectTimeout=15', '-o', 'ServerAliveInterval=15', '-p', '2222', '-i', '/k', '-o', 'IdentitiesOnly=yes', '-o', 'UserKnownHostsFile=/kh', '-t', '--', 'root@h', 'qkvm list',
    ]);
  });

  it('takes --connect only before the command word; QKVM_CONNECT otherwise; qemu:///system is local', () => {
    expect(takeConnect(['--connect', 'b', 'list'], {})).toEqual({ connect: 'b', rest: ['list'] });
    expect(takeConnect(['-c', 'ssh://h', 'list'], {})).toEqual({ connect: 'ssh://h', rest: ['list'] });
    expect(takeConnect(['--connect=b', 'list'], {})).toEqual({ connect: 'b', rest: ['list'] });
    expect(takeConnect(['migrate', 'g', 'ssh://h'], {})).toEqual({ rest: ['migrate', 'g', 'ssh://h'] });
    expect(takeConnect(['list'], { QKVM_CONNECT: 'b' })).toEqual({ connect: 'b', rest: ['list'] });
    expect(() => takeConnect(['--connect'], {})).toThrow(/needs a remote/);
    expect(isLocalUri('qemu:///system')).toBe(true);
    expect(isLocalUri('qemu+ssh://h/system')).toBe(false);
  });

  it('--qkvm takes plain words only', () => {
    expect(parseQkvmCommand('node /opt/qkvm/dist/src/cli/main.js')).toEqual(['node', '/opt/qkvm/dist/src/cli/main.js']);
    expect(() => parseQkvmCommand('qkvm; reboot')).toThrow(/"qkvm;" is not a plain word/);
  });
});
