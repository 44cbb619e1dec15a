// Safety cases, class 3 and its neighbours: what a definition or a save file
// may make qkvm do as root. Each case: the exit code, the message naming the
// bad value, and nothing lost (the bystander keeps running with the same pid,
// no file created anywhere, in particular the sentinel an exec: would touch).
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeHeader, parseHeader } from '../../src/migrate/header.js';
import { World, expectRefused, type Snapshot } from './world.js';

describe('safety: trust (class 3)', () => {
  let w: World;
  let bystander: number;
  let saveFile: string;
  const sentinel = (n: string) => join(w.outside, `pwned-${n}`);

  /** Runs `qkvm start NAME` for a definition with these extraArgs (defined without flags); returns the result. */
  async function startWith(name: string, extraArgs: string[], defineFlags: string[] = []) {
    await w.defineDemo(name, { extraArgs }, defineFlags);
    return w.qkvm(['start', name]);
  }

  /** The world is as before, apart from the definitions and records the case wrote in QKVM_HOME. */
  async function nothingLost(before: Snapshot, ...names: string[]) {
    await w.expectNothingLost(before, { ignore: [...names.flatMap((n) => [join(w.home, 'vms', `${n}.yaml`), join(w.home, 'trust', `${n}.json`)]), join(w.root, 'defs'), join(w.run, 'locks')] });
    expect((await w.snapshot()).qemu).toEqual([bystander]);
  }

  /** A copy of the save file whose embedded definition is changed by `edit`. */
  function tampered(file: string, edit: (spec: any) => void): string {
    const buf = readFileSync(saveFile);
    const { header, offset } = parseHeader(buf, buf.length, saveFile);
    edit(header.spec);
    const out = join(w.root, 'saves', file);
    writeFileSync(out, Buffer.concat([encodeHeader(header), buf.subarray(offset)]));
    return out;
  }

  beforeAll(async () => {
    w = await World.create();
    await w.defineDemo('bystander');
    bystander = await w.startDemo('bystander');
    // A real save file to tamper with.
    await w.defineDemo('sv');
    await w.startDemo('sv');
    mkdirSync(join(w.root, 'saves'));
    saveFile = join(w.root, 'saves', 'sv.save');
    const r = await w.qkvm(['save', 'sv', saveFile]);
    if (r.code !== 0) throw new Error(`qkvm save failed: ${r.stderr}`);
  }, 300_000);
  afterAll(async () => { await w?.destroy(); });

  it('S-T01 trust: exec: in extraArgs (-incoming) does not run at start', async () => {
    const before = await w.snapshot();
    const r = await startWith('t01', ['-incoming', `exec:touch ${sentinel('t01')}`]);
    expectRefused(r, { code: 2, mentions: [`exec:touch ${sentinel('t01')}`, 'guest "t01"', '--allow-programs'] });
    expect(existsSync(sentinel('t01'))).toBe(false);
    await nothingLost(before, 't01');
  });

  it('S-T02 trust: spelling variants (--incoming=exec:, EXEC:) are refused too', async () => {
    const before = await w.snapshot();
    const r = await startWith('t02', [`--incoming=exec:touch ${sentinel('t02')}`]);
    expectRefused(r, { code: 2, mentions: [`--incoming=exec:touch ${sentinel('t02')}`] });
    const r2 = await startWith('t02b', ['--incoming', `EXEC:touch ${sentinel('t02')}`]);
    expectRefused(r2, { code: 2, mentions: [`EXEC:touch ${sentinel('t02')}`] });
    expect(existsSync(sentinel('t02'))).toBe(false);
    await nothingLost(before, 't02', 't02b');
  });

  it('S-T03 trust: exec: in -chardev/-serial values is refused', async () => {
    const before = await w.snapshot();
    const r = await startWith('t03', ['-serial', `exec:touch ${sentinel('t03')}`]);
    expectRefused(r, { code: 2, mentions: [`-serial exec:touch ${sentinel('t03')}`] });
    await nothingLost(before, 't03');
  });

  it('S-T04 trust: a tap script= of a foreign path is refused, even at define with --allow-extra-args', async () => {
    const script = join(w.outside, 'evil-ifup');
    writeFileSync(script, `#!/bin/sh\ntouch ${sentinel('t04')}\n`, { mode: 0o755 });
    const before = await w.snapshot();
    const args = ['-netdev', `tap,id=x0,script=${script},downscript=no`];
    const file = w.writeSpec('t04', w.demoSpec('t04', { extraArgs: args }));
    const d = await w.qkvm(['define', file, '--allow-extra-args']);
    expectRefused(d, { code: 2, mentions: [`script=${script}`, '--allow-programs needed'] });
    expect(existsSync(join(w.home, 'vms', 't04.yaml'))).toBe(false);
    const r = await startWith('t04', args);
    expectRefused(r, { code: 2, mentions: [`script=${script} runs that program as root`] });
    expect(existsSync(sentinel('t04'))).toBe(false);
    await nothingLost(before, 't04');
  });

  it('S-T05 trust: a tap without script= (QEMU would run /etc/qemu-ifup) and helper= are refused', async () => {
    const before = await w.snapshot();
    expectRefused(await startWith('t05', ['-netdev', 'tap,id=x0']), { code: 2, mentions: ['/etc/qemu-ifup'] });
    expectRefused(await startWith('t05b', ['-netdev', `tap,id=x0,helper=${join(w.outside, 'helper')}`]), { code: 2, mentions: [`helper=${join(w.outside, 'helper')}`] });
    await nothingLost(before, 't05', 't05b');
  });

  it('S-T06 trust: -netdev bridge (qemu-bridge-helper) and a JSON-form tap are refused', async () => {
    const before = await w.snapshot();
    expectRefused(await startWith('t06', ['-netdev', 'bridge,id=b0,br=br0']), { code: 2, mentions: ['bridge,id=b0,br=br0', 'qemu-bridge-helper'] });
    const json = JSON.stringify({ type: 'tap', id: 'x0', script: '/tmp/evil', downscript: 'no' });
    expectRefused(await startWith('t06b', ['-netdev', json]), { code: 2, mentions: ['script=/tmp/evil'] });
    await nothingLost(before, 't06', 't06b');
  });

  it('S-T07 trust: slirp guestfwd=...-cmd: and smb= are refused', async () => {
    const before = await w.snapshot();
    expectRefused(await startWith('t07', ['-netdev', `user,id=u0,guestfwd=tcp:10.0.2.100:1-cmd:touch ${sentinel('t07')}`]), { code: 2, mentions: [`-cmd:touch ${sentinel('t07')}`] });
    expectRefused(await startWith('t07b', ['-nic', `user,smb=${w.outside}`]), { code: 2, mentions: [`smb=${w.outside}`, 'smbd'] });
    expect(existsSync(sentinel('t07'))).toBe(false);
    await nothingLost(before, 't07', 't07b');
  });

  it('S-T08 trust: -plugin, -sandbox off, -readconfig and an extra monitor are refused', async () => {
    const before = await w.snapshot();
    expectRefused(await startWith('t08', ['-plugin', 'file=/tmp/p.so']), { code: 2, mentions: ['-plugin', 'shared library'] });
    expectRefused(await startWith('t08b', ['-sandbox', 'off']), { code: 2, mentions: ['-sandbox off', "qkvm's own seccomp"] });
    expectRefused(await startWith('t08c', ['-readconfig', join(w.outside, 'q.cfg')]), { code: 2, mentions: [`-readconfig ${join(w.outside, 'q.cfg')}`] });
    expectRefused(await startWith('t08d', ['-monitor', 'tcp:127.0.0.1:4444,server=on,wait=off']), { code: 2, mentions: ['-monitor tcp:127.0.0.1:4444', 'migrate exec:'] });
    await nothingLost(before, 't08', 't08b', 't08c', 't08d');
  });

  it('S-T09 trust: harmless extraArgs need an allowance; the printed command works when pasted; start then warns and cmdline marks them', async () => {
    const before = await w.snapshot();
    const r = await startWith('t09', ['-no-reboot']);
    expectRefused(r, { code: 2, mentions: ['["-no-reboot"]', 'not allowed', 'qkvm trust t09 --allow-extra-args --digest'] });
    await nothingLost(before, 't09');
    const line = r.stderr.split('\n').map((l) => l.trim()).find((l) => l.startsWith('qkvm trust '))!;
    expect(line).toMatch(/^qkvm trust t09 --allow-extra-args --digest [0-9a-f]{16}$/);
    const t = await w.qkvm(line.split(' ').slice(1));
    expect(t.code, t.stderr).toBe(0);
    const c = await w.qkvm(['cmdline', 't09']);
    expect(c.stdout).toContain('-no-reboot');
    expect(c.stderr).toContain('your raw extraArgs ["-no-reboot"]: allowed');
    const s = await w.qkvm(['start', 't09']);
    expect(s.code, s.stderr).toBe(0);
    expect(s.stderr).toContain('warning: guest "t09" runs with raw extraArgs that qkvm does not check: ["-no-reboot"]');
    const pid = Number(readFileSync(join(w.run, 'vms', 't09', 'qemu.pid'), 'utf8'));
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0')).toEqual(expect.arrayContaining(['-no-reboot', '-sandbox', 'on,obsolete=deny,resourcecontrol=deny']));
    expect((await w.qkvm(['destroy', 't09'])).code).toBe(0);
  });

  it('S-T10 trust: exec: allowed with both flags is recorded; a harmless edit afterwards needs the flag again', async () => {
    const before = await w.snapshot();
    // Allowing programs is possible, in so many words (not started here: it would run).
    await w.defineDemo('t10', { extraArgs: ['-incoming', `exec:touch ${sentinel('t10')}`] }, ['--allow-extra-args', '--allow-programs']);
    const shown = await w.qkvm(['trust', 't10']);
    expect(shown.stdout).toContain('allowed, including programs');
    // The definition changes: the old allowance no longer counts, even for a harmless argument.
    const d = await w.qkvm(['define', '--overwrite', w.writeSpec('t10', w.demoSpec('t10', { extraArgs: ['-no-reboot'] }))]);
    expect(d.code, d.stderr).toBe(0);
    expect(d.stderr).toContain('`qkvm start` will refuse them');
    expectRefused(await w.qkvm(['start', 't10']), { code: 2, mentions: ['["-no-reboot"] are not allowed'] });
    expect(existsSync(sentinel('t10'))).toBe(false);
    await nothingLost(before, 't10');
  });

  it('S-T11 trust: a stale --digest (definition changed after the command was printed) allows nothing', async () => {
    const r = await startWith('t11', ['-no-reboot']);
    const line = r.stderr.split('\n').map((l) => l.trim()).find((l) => l.startsWith('qkvm trust '))!;
    await w.qkvm(['define', '--overwrite', w.writeSpec('t11', w.demoSpec('t11', { extraArgs: ['-incoming', `exec:touch ${sentinel('t11')}`] }))]);
    const before = await w.snapshot();
    const t = await w.qkvm([...line.split(' ').slice(1), '--allow-programs']);
    expectRefused(t, { code: 2, mentions: [/--digest [0-9a-f]{16} does not match the extraArgs now stored for "t11"/] });
    expectRefused(await w.qkvm(['start', 't11']), { code: 2, mentions: [`exec:touch ${sentinel('t11')}`] });
    expect(existsSync(sentinel('t11'))).toBe(false);
    await nothingLost(before);
  });

  it('S-T12 trust: a definition file cannot allow itself, and --allow-programs alone allows nothing', async () => {
    const before = await w.snapshot();
    const f = w.writeSpec('t12', { ...w.demoSpec('t12', { extraArgs: ['-incoming', 'exec:true'] }), allowExtraArgs: true });
    expectRefused(await w.qkvm(['define', f]), { code: 2, mentions: ['"allowExtraArgs"'] });
    const g = w.writeSpec('t12', w.demoSpec('t12', { extraArgs: ['-incoming', 'exec:true'] }));
    expectRefused(await w.qkvm(['define', g, '--allow-programs']), { code: 2, mentions: ['--allow-programs works only together with --allow-extra-args'] });
    expect(existsSync(join(w.home, 'vms', 't12.yaml'))).toBe(false);
    await nothingLost(before);
  });

  it('S-T13 trust: a record planted as a symlink grants nothing', async () => {
    await w.defineDemo('t13', { extraArgs: ['-incoming', `exec:touch ${sentinel('t13')}`] });
    const fake = join(w.outside, 'fake-allowance.json');
    const digest = (await import('../../src/config/trust.js')).extraArgsDigest(['-incoming', `exec:touch ${sentinel('t13')}`]);
    writeFileSync(fake, JSON.stringify({ version: 1, name: 't13', digest, extraArgs: [], programs: true, allowedAt: 'x' }));
    mkdirSync(join(w.home, 'trust'), { recursive: true });
    symlinkSync(fake, join(w.home, 'trust', 't13.json'));
    const before = await w.snapshot();
    expectRefused(await w.qkvm(['start', 't13']), { code: 2, mentions: [`exec:touch ${sentinel('t13')}`] });
    expect(existsSync(sentinel('t13'))).toBe(false);
    await nothingLost(before);
  });

  it('S-T14 trust: restore of a save file whose embedded definition was tampered (exec:) runs nothing', async () => {
    const file = tampered('t14.save', (s) => { s.extraArgs = ['-incoming', `exec:touch ${sentinel('t14')}`]; });
    const before = await w.snapshot();
    const r = await w.qkvm(['restore', file]);
    expectRefused(r, { code: 2, mentions: ['differs from the stored definition of "sv"', `exec:touch ${sentinel('t14')}`, '--use-file-definition'] });
    expect(existsSync(sentinel('t14'))).toBe(false);
    expect(existsSync(join(w.run, 'vms', 'sv', 'qemu.pid'))).toBe(false);
    await nothingLost(before);
  });

  it('S-T15 trust: --use-file-definition does not excuse the file\'s exec: without the allow flags', async () => {
    const file = tampered('t15.save', (s) => { s.extraArgs = ['-incoming', `exec:touch ${sentinel('t15')}`]; });
    const before = await w.snapshot();
    const r = await w.qkvm(['restore', file, '--use-file-definition']);
    expectRefused(r, { code: 2, mentions: [`the definition in ${file}`, `exec:touch ${sentinel('t15')}`, `qkvm restore ${file} --use-file-definition --allow-extra-args --allow-programs`] });
    const r2 = await w.qkvm(['restore', file, '--use-file-definition', '--allow-extra-args']);
    expectRefused(r2, { code: 2, mentions: ['(--allow-programs needed)'] });
    expect(existsSync(sentinel('t15')), 'the exec: did not run').toBe(false);
    await nothingLost(before);
  });

  it('S-T16 trust: a tampered tap script in the file\'s NIC-less definition and a changed disk are shown as differences', async () => {
    const file = tampered('t16.save', (s) => { s.disks = [{ file: join(w.outside, 'shadow'), bus: 'virtio', media: 'disk', readonly: false, snapshot: false }]; });
    const before = await w.snapshot();
    const r = await w.qkvm(['restore', file]);
    expectRefused(r, { code: 2, mentions: ['disks: stored []', join(w.outside, 'shadow')] });
    await nothingLost(before);
  });

  it('S-T17 trust: restore under a name with no stored definition is refused with how to define it', async () => {
    const before = await w.snapshot();
    const r = await w.qkvm(['restore', saveFile, '--name', 'newguest']);
    expectRefused(r, { code: 2, mentions: ['no guest "newguest" is defined here', 'qkvm define FILE', `qkvm restore ${saveFile} --name newguest --use-file-definition`] });
    expect(existsSync(join(w.run, 'vms', 'newguest'))).toBe(false);
    await nothingLost(before);
  });

  it('S-T18 trust: start --incoming exec: is refused before anything runs', async () => {
    const before = await w.snapshot();
    const r = await w.qkvm(['start', 'sv', '--incoming', `exec:touch ${sentinel('t18')}`]);
    expectRefused(r, { code: 2, mentions: [`exec:touch ${sentinel('t18')}`] });
    expect(existsSync(sentinel('t18'))).toBe(false);
    await nothingLost(before);
  });

  it('S-T20 trust: exec: typed into the monitor or raw QMP needs --allow-programs', async () => {
    const before = await w.snapshot();
    const r = await w.qkvm(['monitor', 'bystander', `migrate "exec:touch ${sentinel('t20')}"`]);
    expectRefused(r, { code: 2, mentions: [`exec:touch ${sentinel('t20')}`, '--allow-programs'] });
    const q = await w.qkvm(['qmp', 'bystander', JSON.stringify({ execute: 'migrate', arguments: { uri: `exec:touch ${sentinel('t20')}` } })]);
    expectRefused(q, { code: 2, mentions: [`exec:touch ${sentinel('t20')}`] });
    expect(existsSync(sentinel('t20'))).toBe(false);
    expect((await w.qkvm(['domstate', 'bystander'])).stdout).toContain('running');
    await nothingLost(before);
  });

  it('S-T19 trust: the untampered save file restores from the stored definition (through fd:3, no shell)', async () => {
    const r = await w.qkvm(['restore', saveFile]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('guest "sv" restored');
    const pid = Number(readFileSync(join(w.run, 'vms', 'sv', 'qemu.pid'), 'utf8'));
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    expect(argv).toEqual(expect.arrayContaining(['-incoming', 'defer', '-sandbox']));
    expect(argv.join(' ')).not.toContain('exec:');
    expect((await w.qkvm(['domstate', 'sv'])).stdout).toContain('running');
    expect((await w.snapshot()).qemu.sort()).toEqual([bystander, pid].sort());
    expect((await w.qkvm(['destroy', 'sv'])).code).toBe(0);
  });
});
