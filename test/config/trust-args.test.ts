// The classifier of raw QEMU arguments that run programs: every refused form,
// its spelling variants, and the harmless arguments it must let through.
import { describe, expect, it } from 'vitest';
import { findPrograms, optionName, parseKeyVals, programReason } from '../../src/config/trust-args.js';

const S = { ifup: '/opt/qkvm/scripts/qemu-ifup', ifdown: '/opt/qkvm/scripts/qemu-ifdown' };
const found = (args: string[]) => findPrograms(args, S);
const values = (args: string[]) => found(args).map((f) => f.value);

describe('optionName', () => {
  it('reads -opt, --opt and the = forms, lower-cased', () => {
    expect(optionName('-netdev')).toEqual({ name: '-netdev' });
    expect(optionName('--NetDev')).toEqual({ name: '-netdev' });
    expect(optionName('-incoming=exec:x')).toEqual({ name: '-incoming', inline: 'exec:x' });
    expect(optionName('--plugin=file=a.so')).toEqual({ name: '-plugin', inline: 'file=a.so' });
  });
  it('is not fooled by values', () => {
    expect(optionName('exec:x')).toBeUndefined();
    expect(optionName('-')).toBeUndefined();
    expect(optionName('---netdev')).toBeUndefined();
    expect(optionName('-=x')).toEqual({ name: '-=x' });
  });
});

describe('parseKeyVals', () => {
  it('splits on single commas, keeps ,, as a comma, names the implied key', () => {
    expect(parseKeyVals('tap,id=n,script=/a,,b')).toEqual([['type', 'tap'], ['id', 'n'], ['script', '/a,b']]);
    expect(parseKeyVals('type=tap,Script=/x')).toEqual([['type', 'tap'], ['script', '/x']]);
    expect(parseKeyVals('user,restrict')).toEqual([['type', 'user'], ['restrict', 'on']]);
    expect(parseKeyVals('file=a.so', 'file')).toEqual([['file', 'a.so']]);
    expect(parseKeyVals('a.so', 'file')).toEqual([['file', 'a.so']]);
    expect(parseKeyVals('tap,down_script=/x')).toEqual([['type', 'tap'], ['down-script', '/x']]);
    expect(parseKeyVals('tap,=x')).toEqual([['type', 'tap'], ['', 'x']]);
  });
});

describe('exec: URIs', () => {
  it.each([
    [['-incoming', 'exec:touch /tmp/x']],
    [['--incoming', 'exec:touch /tmp/x']],
    [['-incoming=exec:touch /tmp/x']],
    [['-incoming', 'EXEC:touch /tmp/x']],
    [['-S', '-incoming', 'exec:sh']],
    [['-chardev', 'socket,id=c,path=exec:x']],
    [['-serial', 'exec:x']],
  ])('%j is refused', (args) => {
    expect(found(args).length).toBeGreaterThan(0);
    expect(found(args).some((f) => /exec:/i.test(f.value) && /\/bin\/sh/.test(f.reason))).toBe(true);
  });
  it('names the option before the value', () => {
    expect(found(['-incoming', 'exec:x'])).toEqual([{ index: 1, option: '-incoming', value: 'exec:x', reason: 'an exec: URI: QEMU runs it through /bin/sh as root' }]);
    expect(found(['exec:x'])[0].option).toBe('');
    expect(found(['-m', '1G', 'exec:x'])[0]).toMatchObject({ index: 2, option: '' });
  });
});

describe('taps and helpers', () => {
  it.each([
    ['-netdev', 'tap,id=n,script=/tmp/evil,downscript=no', /script=\/tmp\/evil runs/],
    ['-netdev', 'tap,id=n,script=no,downscript=/tmp/evil', /downscript=\/tmp\/evil runs/],
    ['-netdev', 'tap,id=n', /without script= runs \/etc\/qemu-ifup/],
    ['-netdev', 'tap,id=n,script=no', /without downscript= runs \/etc\/qemu-ifdown/],
    ['-netdev', 'type=tap,id=n,script=no,downscript=no,script=/tmp/evil', /script=\/tmp\/evil/],
    ['--netdev', 'TAP,id=n,Script=/tmp/evil,downscript=no', /script=\/tmp\/evil/],
    ['-nic', 'tap,script=/tmp/evil,downscript=no', /script=/],
    ['-net', 'tap,script=/tmp/evil,downscript=no', /script=/],
    ['-netdev', 'tap,id=n,helper=/tmp/h', /helper=\/tmp\/h runs/],
    ['-netdev', 'bridge,id=n,br=br0', /qemu-bridge-helper/],
    ['-nic', 'bridge', /qemu-bridge-helper/],
    ['-netdev', 'vde,id=n', /libvdeplug/],
    ['-netdev', 'user,id=n,guestfwd=tcp:10.0.2.100:1234-cmd:nc evil 1', /-cmd:/],
    ['-nic', 'user,smb=/srv', /smbd/],
    ['-netdev', '{"type":"tap","id":"n","script":"/tmp/evil","downscript":"no"}', /script=\/tmp\/evil/],
    ['-netdev', '{"type":"bridge","id":"n"}', /bridge-helper/],
    ['-netdev', '{not json', /JSON form/],
    ['-netdev', '  {"type":"bridge","id":"n"}', /bridge-helper/],
  ])('%s %s is refused', (opt, value, reason) => {
    const f = found([opt, value]);
    expect(f).toHaveLength(1);
    expect(f[0]).toMatchObject({ index: 1, option: opt, value });
    expect(f[0].reason).toMatch(reason);
  });
  it('lets qkvm\'s own scripts, script=no and fd= taps through', () => {
    expect(found(['-netdev', `tap,id=n,script=${S.ifup},downscript=${S.ifdown}`])).toEqual([]);
    expect(found(['-netdev', 'tap,id=n,script=no,downscript=no'])).toEqual([]);
    expect(found(['-netdev', 'tap,id=n,script=,downscript='])).toEqual([]);
    expect(found(['-netdev', 'tap,id=n,fd=3'])).toEqual([]);
    expect(found(['-netdev', 'tap,id=n,fds=3:4'])).toEqual([]);
    expect(found(['-netdev', 'user,id=n,hostfwd=tcp:127.0.0.1:2222-:22,guestfwd=tcp:10.0.2.100:80-tcp:127.0.0.1:80'])).toEqual([]);
    expect(found(['-netdev', 'socket,id=n,listen=:1234'])).toEqual([]);
    expect(found(['-net', 'nic,model=e1000'])).toEqual([]);
    expect(found(['-netdev', '{"type":"user","id":"n"}'])).toEqual([]);
    expect(found(['-netdev', '[1]'])).toEqual([]);
  });
  it('a bundled script in one place does not excuse a foreign one in the other', () => {
    expect(values(['-netdev', `tap,id=n,script=${S.ifdown},downscript=${S.ifdown}`])).toEqual([`tap,id=n,script=${S.ifdown},downscript=${S.ifdown}`]);
  });
});

describe('options that load code or open another way in', () => {
  it.each([
    [['-plugin', 'file=/tmp/p.so'], /shared library/],
    [['--plugin=/tmp/p.so'], /shared library/],
    [['-sandbox', 'off'], /sandbox/],
    [['-readconfig', '/tmp/q.cfg'], /cannot check/],
    [['-monitor', 'tcp:0.0.0.0:4444,server=on'], /monitor/],
    [['-qmp', 'tcp:0:4444,server=on'], /monitor/],
    [['-qmp-pretty', 'unix:/tmp/q'], /monitor/],
    [['-mon', 'chardev=c0'], /monitor/],
    [['-set', 'netdev.n1.script=/tmp/evil'], /netdev/],
    [['-set', 'net.n1.type=tap'], /net/],
    [['-set', 'device.x.script=/tmp/evil'], /sets script/],
    [['-set', 'nic.n1.script=/tmp/evil'], /rewrites a nic option/],
    [['-set', 'sandbox.s.spawn=allow'], /rewrites a sandbox option/],
    [['-set', 'mon.m.mode=control'], /rewrites a mon option/],
    [['-set', 'plugin.p.file=x.so'], /rewrites a plugin option/],
  ])('%j', (args, reason) => {
    const f = found(args);
    expect(f).toHaveLength(1);
    expect(f[0].reason).toMatch(reason);
  });
  it('-set of anything else passes', () => {
    expect(found(['-set', 'device.nic0.rombar=0'])).toEqual([]);
    expect(found(['-set'])).toEqual([]);
    expect(found(['-global', 'x.smb=on'])).toEqual([]);
    expect(found(['-set', 'device.x.noscript=1'])).toEqual([]);
    expect(found(['-set', 'device.x.scripted=1'])).toEqual([]);
    expect(programReason('-set', undefined, S)).toBeUndefined();
    expect(programReason('-netdev', undefined, S)).toBeUndefined();
  });
});

describe('shifting cannot hide an argument', () => {
  it('reads each element as an option and as the value of the one before', () => {
    // QEMU would take "-netdev" as -name's value; qkvm still reads the pair after it.
    expect(values(['-name', '-netdev', 'bridge,id=n'])).toEqual(['bridge,id=n']);
    expect(values(['-no-reboot', '-plugin', 'x.so'])).toEqual(['x.so']);
    expect(values(['-no-reboot', '-plugin'])).toEqual(['-plugin']);
    expect(values(['-sandbox', '-S'])).toEqual(['-sandbox']);
    expect(values(['-netdev', '-plugin', 'x.so'])).toEqual(['x.so']);
    expect(found(['-netdev', '-plugin', 'x.so'])[0]).toMatchObject({ index: 1, option: '-plugin' });
    expect(values(['-netdev=tap,id=n', 'script=no'])).toEqual(['tap,id=n']);
  });
  it('reports each element once, in order', () => {
    const f = found(['-incoming', 'exec:a', '-plugin', 'p.so', '-netdev', 'bridge,id=b']);
    expect(f.map((x) => x.index)).toEqual([1, 2, 5]);
    expect(found(['-monitor', 'exec:x']).map((x) => x.index)).toEqual([0, 1]);
  });
  it('harmless extraArgs pass', () => {
    expect(found(['-no-reboot', '-rtc', 'base=utc', '-device', 'virtio-rng-pci,id=rng0', '-fw_cfg', "name=opt/x,string=it's"])).toEqual([]);
    expect(found([])).toEqual([]);
  });
});
