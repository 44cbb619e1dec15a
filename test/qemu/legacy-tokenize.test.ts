import { describe, expect, it } from 'vitest';
import { QkvmError } from '../../src/errors.js';
import { formatKeyVal, parseKeyVal, expandShortBooleans } from '../../src/qemu/legacy/keyval.js';
import { parseOptions } from '../../src/qemu/legacy/parse.js';
import { normalizeCommandLine, splitCommandLine } from '../../src/qemu/legacy/tokenize.js';

describe('splitCommandLine', () => {
  it('splits on blanks', () => {
    expect(splitCommandLine('  qemu-kvm   -m 512\t-hda x.img ')).toEqual(['qemu-kvm', '-m', '512', '-hda', 'x.img']);
  });

  it('keeps quoted words whole', () => {
    expect(splitCommandLine(`-append "root=/dev/vda console=ttyS0" -name 'my vm'`)).toEqual(['-append', 'root=/dev/vda console=ttyS0', '-name', 'my vm']);
  });

  it('joins quoted parts into one word', () => {
    expect(splitCommandLine(`-drive file="/vm images/a.img",if=virtio`)).toEqual(['-drive', 'file=/vm images/a.img,if=virtio']);
  });

  it('takes escapes in double quotes and after a backslash, but nothing in single quotes', () => {
    expect(splitCommandLine(String.raw`"a \"b\" \\ \$x" 'c \" d' e\ f`)).toEqual(['a "b" \\ $x', 'c \\" d', 'e f']);
  });

  it('joins backslash-newline continuations, as tutorials print long lines', () => {
    expect(splitCommandLine('qemu-kvm -m 512 \\\n  -hda x.img \\\r\n  -vnc :1')).toEqual(['qemu-kvm', '-m', '512', '-hda', 'x.img', '-vnc', ':1']);
  });

  it('skips comments at the start of a word only', () => {
    expect(splitCommandLine('-m 512 # half a gig\n-vnc :1 -name a#b')).toEqual(['-m', '512', '-vnc', ':1', '-name', 'a#b']);
  });

  it('keeps an empty quoted word', () => {
    expect(splitCommandLine(`-append ''`)).toEqual(['-append', '']);
  });

  it('refuses an unterminated quote', () => {
    expect(() => splitCommandLine(`-append "root=/dev/vda`)).toThrow(QkvmError);
    expect(() => splitCommandLine(`-name 'xp`)).toThrow(/unterminated single quote/);
  });
});

describe('normalizeCommandLine', () => {
  it('recognizes the binaries old tutorials run', () => {
    expect(normalizeCommandLine(['qemu-kvm', '-m', '512'])).toMatchObject({ binary: 'qemu-kvm', binaryKind: 'kvm', args: ['-m', '512'] });
    expect(normalizeCommandLine(['kvm', '-m', '512'])).toMatchObject({ binary: 'kvm', binaryKind: 'kvm' });
    expect(normalizeCommandLine(['/usr/libexec/qemu-kvm', '-m', '512'])).toMatchObject({ binary: '/usr/libexec/qemu-kvm', binaryKind: 'kvm' });
    expect(normalizeCommandLine(['qemu-system-x86_64', '-m', '512'])).toMatchObject({ binaryKind: 'system', warnings: [] });
    expect(normalizeCommandLine(['/usr/bin/qemu', '-m', '512'])).toMatchObject({ binary: '/usr/bin/qemu', binaryKind: 'system' });
    expect(normalizeCommandLine(['qemu-system-i386', '-m', '512']).warnings[0]).toMatch(/qemu-system-x86_64/);
  });

  it('takes argv without a binary', () => {
    expect(normalizeCommandLine(['-m', '512'])).toEqual({ binary: undefined, binaryKind: undefined, args: ['-m', '512'], warnings: [] });
  });

  it('drops the -- that separates qkvm\'s own options from QEMU\'s', () => {
    expect(normalizeCommandLine(['--', 'qemu-kvm', '-m', '512']).args).toEqual(['-m', '512']);
    expect(normalizeCommandLine(['--', '-m', '512']).args).toEqual(['-m', '512']);
  });

  it('splits a single string, and a single argv word holding a whole line', () => {
    expect(normalizeCommandLine('qemu-kvm -m 512 -name "x p"')).toMatchObject({ binary: 'qemu-kvm', args: ['-m', '512', '-name', 'x p'] });
    expect(normalizeCommandLine(['qemu-kvm -m 512'])).toMatchObject({ binary: 'qemu-kvm', args: ['-m', '512'] });
    expect(normalizeCommandLine(['winxp.img']).args).toEqual(['winxp.img']);
  });

  it('drops a shell prompt, sudo and environment assignments (with a word on QEMU_AUDIO_DRV)', () => {
    const cl = normalizeCommandLine('$ sudo QEMU_AUDIO_DRV=alsa qemu-kvm -soundhw ac97');
    expect(cl).toMatchObject({ binary: 'qemu-kvm', args: ['-soundhw', 'ac97'] });
    expect(cl.warnings[0]).toMatch(/-audiodev alsa,id=snd0/);
  });
});

describe('parseOptions', () => {
  it('pairs options with their arguments by the table', () => {
    const opts = parseOptions(['-m', '512', '-enable-kvm', '-hda', 'x.img', '-S', '-append', '-v']);
    expect(opts.map((o) => [o.option, o.value])).toEqual([['-m', '512'], ['-enable-kvm', undefined], ['-hda', 'x.img'], ['-S', undefined], ['-append', '-v']]);
  });

  it('treats --opt as -opt, and a bare word as the first disk image', () => {
    const opts = parseOptions(['--enable-kvm', 'winxp.img', '--m', '1G']);
    expect(opts.map((o) => [o.option, o.value, o.positional ?? false])).toEqual([['-enable-kvm', undefined, false], ['FILE', 'winxp.img', true], ['-m', '1G', false]]);
  });

  it('guesses for unknown options: the next word is their argument unless it is an option', () => {
    expect(parseOptions(['-frob', 'x', '-wibble', '-m', '1']).map((o) => [o.option, o.value])).toEqual([['-frob', 'x'], ['-wibble', undefined], ['-m', '1']]);
  });

  it('marks an option whose argument is missing', () => {
    expect(parseOptions(['-m'])[0]).toMatchObject({ option: '-m', missingArg: true });
  });
});

describe('QEMU key=value lists', () => {
  it('parses the implied first item, doubled commas and bare words', () => {
    expect(parseKeyVal('nic,model=virtio,vlan=0', 'type')).toEqual([
      { key: 'type', value: 'nic', implied: true }, { key: 'model', value: 'virtio' }, { key: 'vlan', value: '0' },
    ]);
    expect(parseKeyVal('file=a,,b.img,snapshot')).toEqual([{ key: 'file', value: 'a,b.img' }, { key: 'snapshot' }]);
  });

  it('formats back, doubling commas', () => {
    const kv = parseKeyVal('file=a,,b.img,if=virtio');
    expect(formatKeyVal(kv)).toBe('file=a,,b.img,if=virtio');
  });

  it('expands short-form booleans, with no- for the negatable ones', () => {
    const kv = parseKeyVal('socket,id=c,server,nowait,telnet', 'backend');
    expect(expandShortBooleans(kv, ['wait'])).toEqual(['server', 'nowait', 'telnet']);
    expect(formatKeyVal(kv)).toBe('socket,id=c,server=on,wait=off,telnet=on');
  });
});
