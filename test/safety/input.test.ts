// Safety cases of the input area (issue 9, classes 7, 8 and 9): names that
// would reach paths, errors and pipes, sizes and definitions out of bounds,
// exposure warnings, plus cases that already held. Each case checks the exit
// code, that the message names the bad value (no stack trace), and that nothing
// was lost: the bystander guest runs with the same pid, and nothing changed in
// the world outside what the case is allowed to change.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI } from '../net/lab.js';
import { World, expectRefused, sha256File, type Snapshot } from './world.js';

const repo = resolve(import.meta.dirname, '../..');
const NAME_RULE = /a name is 1-63 characters/;

describe('safety: input', () => {
  let w: World;
  let bystander: number;
  let before: Snapshot;
  let disk: string;
  let diskSum: string;

  beforeAll(async () => {
    w = await World.create();
    disk = await w.image('bystander.qcow2', '16M');
    await w.defineDemo('bystander', { disks: [{ file: disk, readonly: true }] });
    bystander = await w.startDemo('bystander');
    diskSum = sha256File(disk);
  });
  afterAll(async () => { await w?.destroy(); });

  /** Runs a case between two snapshots; `ignore` lists what the case may change. */
  async function held(fn: () => Promise<void>, ignore: (string | RegExp)[] = []): Promise<void> {
    before = await w.snapshot();
    expect(before.qemu).toEqual([bystander]);
    await fn();
    await w.expectNothingLost(before, { ignore });
    expect(sha256File(disk)).toBe(diskSum);
  }

  const refused = (args: string[], code: number, mentions: (string | RegExp)[]) => held(async () => {
    expectRefused(await w.qkvm(args), { code, mentions });
  });

  // ---- class 7: names from the command line reach paths ----

  it('S-I01 input: `domstate ../victim` is refused before a path is built', () =>
    refused(['domstate', '../victim'], 2, ['guest name: invalid name "../victim"', NAME_RULE]));

  it('S-I02 input: `info ../../outside` is refused', () =>
    refused(['info', '../../outside'], 2, ['guest name: invalid name "../../outside"']));

  it('S-I03 input: `start a/b` (the fast path) is refused', () =>
    refused(['start', 'a/b'], 2, ['guest name: invalid name "a/b"']));

  it('S-I04 input: `destroy` of a name with a newline is refused', () =>
    refused(['destroy', 'by\nstander'], 2, ['guest name: invalid name "by\\nstander"']));

  it('S-I05 input: `undefine` of a name with spaces is refused, the bystander stays defined', () =>
    refused(['undefine', 'bystander x'], 2, ['guest name: invalid name "bystander x"']));

  it('S-I06 input: a 300-character name is refused', () =>
    refused(['create', 'a'.repeat(300)], 2, [`guest name: invalid name "${'a'.repeat(300)}"`]));

  it('S-I07 input: a definition whose name holds a NUL is refused', () => held(async () => {
    const file = w.writeSpec('nul', w.demoSpec('a\u0000b'));
    expectRefused(await w.qkvm(['define', file]), { code: 2, mentions: [file, 'name = "a\\u0000b"'] });
  }, [join(w.root, 'defs')]));

  it('S-I08 input: a name starting with "-" cannot be defined from a file', () => held(async () => {
    const file = w.writeSpec('dash', w.demoSpec('-x'));
    expectRefused(await w.qkvm(['define', file]), { code: 2, mentions: ['name = "-x"', /must be a valid name/] });
    expect(existsSync(join(w.home, 'vms', '-x.yaml'))).toBe(false);
  }, [join(w.root, 'defs')]));

  it('S-I09 input: `create -- -x` cannot create "-x" (usage error, exit 2)', () => held(async () => {
    expectRefused(await w.qkvm(['create', '--', '-x']), { code: 2, mentions: [/Not enough non-option arguments/, /--help/] });
    expect(existsSync(join(w.home, 'vms', '-x.yaml'))).toBe(false);
  }));

  it('S-I10 input: `domstate -1x` (read as a value, not options) is refused by the name rule', () =>
    refused(['domstate', '-1x'], 2, ['guest name: invalid name "-1x"']));

  it('S-I11 input: a stored legacy definition with a bad name is reported by list, not crashed on', () => held(async () => {
    const file = join(w.home, 'vms', '-old.yaml');
    writeFileSync(file, 'name: "-old"\n');
    try {
      const r = await w.qkvm(['list', '--all']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/bystander\s+running/);
      expect(r.stderr).toContain(`qkvm: warning: ${file}: "-old" is not a valid guest name`);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    } finally { rmSync(file); }
  }));

  it('S-I12 input: `net info ../x` names the network argument', () =>
    refused(['net', 'info', '../x'], 2, ['network name: invalid name "../x"']));

  it('S-I13 input: `vol create ../p v 1G` names the pool argument', () =>
    refused(['vol', 'create', '../p', 'v', '1G'], 2, ['pool name: invalid name "../p"']));

  it('S-I14 input: `clone bystander ../evil` names the new guest argument', () =>
    refused(['clone', 'bystander', '../evil'], 2, ['new guest name: invalid name "../evil"']));

  it('S-I15 input: `snapshot create bystander "a/b"` is refused before QMP is touched', () =>
    refused(['snapshot', 'create', 'bystander', 'a/b'], 2, ['snapshot: invalid name "a/b"']));

  it('S-I16 input: `stats ../a` names the guest argument', () =>
    refused(['stats', '../a'], 2, ['guest name: invalid name "../a"']));

  // ---- class 8: errors, pipes, CI counting ----

  it('S-I17 input: writing to a closed pipe (list, cmdline --explain) exits quietly', () => held(async () => {
    for (const cmd of ['list --all', 'cmdline bystander --explain', 'templates']) {
      const r = await execa('bash', ['-c', `"${process.execPath}" "${CLI}" ${cmd} | true; echo "status=\${PIPESTATUS[0]}" >&2`], { env: w.env, extendEnv: false, reject: false });
      expect(r.stderr, cmd).toMatch(/status=0$/);
      expect(r.stderr, cmd).not.toMatch(/EPIPE|^\s+at /m);
    }
  }));

  it('S-I18 input: a usage error exits 2 with the usage hint, no trace', () =>
    refused(['start'], 2, [/Not enough non-option arguments/, '(run with --help for usage)']));

  it('S-I19 input: CI counts a suite that failed in beforeAll as failed', () => held(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'qkvm-ci-'));
    try {
      const report = join(dir, 'r.json');
      spawnSync('npx', ['vitest', 'run', '--config', 'test/fixtures/ci/vitest.config.ts', '--reporter=json', `--outputFile=${report}`], { cwd: repo, timeout: 120_000, env: { ...process.env, CI: '' } });
      const s = spawnSync(process.execPath, [join(repo, 'scripts/ci-summary.mjs'), report], { encoding: 'utf8' });
      expect(s.status).toBe(1);
      expect(s.stdout).toMatch(/^0 passed, 2 failed, 0 skipped/m);
      expect(s.stdout).toContain('failing-before-all.fixture.ts');
    } finally { rmSync(dir, { recursive: true, force: true }); }
  }));

  // ---- class 9: sizes, definition bounds, exposure ----

  it('S-I20 input: `memory: 999999T` is refused at define, naming the limit', () => held(async () => {
    const file = w.writeSpec('huge-mem', w.demoSpec('hugemem', { memory: '999999T' }));
    expectRefused(await w.qkvm(['define', file]), { code: 2, mentions: ['memory = "999999T"', 'more than the maximum, 64T'] });
  }, [join(w.root, 'defs')]));

  it('S-I21 input: `create --memory -1G` reaches qkvm as a value and is refused as negative', () =>
    refused(['create', 'neg', '--memory', '-1G'], 2, ['memory = "-1G"', '-1G is negative']));

  it('S-I22 input: `disk resize IMG 999999T` is refused exactly, the image unchanged', () =>
    refused(['disk', 'resize', disk, '999999T'], 2, ['999999T is more than the maximum']));

  it('S-I23 input: `disk resize IMG 3P` on qcow2 is refused at qemu-img\'s own bound (2P)', () =>
    refused(['disk', 'resize', disk, '3P'], 2, ['size: 3P is more than the maximum, 2P']));

  it('S-I24 input: relative resize (+16M, and -1G written without --) keeps working or is refused clearly', async () => {
    const img = await w.image('grow.qcow2', '16M');
    await held(async () => {
      const g = await w.qkvm(['disk', 'resize', img, '+16M']);
      expect(g.code, g.stderr).toBe(0);
      expect(g.stdout).toContain('16M -> 32M');
      expectRefused(await w.qkvm(['disk', 'resize', img, '-1G']), { code: 2, mentions: ['"-1G" would leave the image with no space'] });
    }, [img]);
    rmSync(img);
  });

  it('S-I25 input: a 50 MB definition is refused before it is read', () => held(async () => {
    const file = join(w.root, 'defs', 'big.yaml');
    w.writeSpec('big', {});
    writeFileSync(file, `name: big\ndescription: "${'x'.repeat(50_000_000)}"\n`);
    expectRefused(await w.qkvm(['define', file]), { code: 2, mentions: [file, 'more than the limit of 1048576 bytes'] });
    rmSync(file);
  }, [join(w.root, 'defs')]));

  it('S-I26 input: a definition with 10k disks is refused with a short message', () => held(async () => {
    const file = w.writeSpec('many', w.demoSpec('many', { disks: Array.from({ length: 10_000 }, (_, i) => ({ file: `/nonexistent/d${i}.qcow2` })) }));
    const r = await w.qkvm(['define', file]);
    expectRefused(r, { code: 2, mentions: ['disks = [10000 items]', 'at most 64'] });
    expect(r.stderr.length).toBeLessThan(2000);
  }, [join(w.root, 'defs')]));

  it('S-I27 input: VNC on 0.0.0.0 without a password is warned at define', () => held(async () => {
    const r = await w.qkvm(['define', w.writeSpec('vnc', w.demoSpec('vncopen', { display: { type: 'vnc', listen: '0.0.0.0', display: 42 } }))]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/^qkvm: warning: guest "vncopen": VNC listens on 0\.0\.0\.0:5942 .*with no password/m);
    expect((await w.qkvm(['undefine', 'vncopen'])).code).toBe(0);
  }, [join(w.root, 'defs'), /\/locks\//]));

  it('S-I28 input: hostfwd on all addresses is warned at define; on 127.0.0.1 it is not', () => held(async () => {
    const open = await w.qkvm(['define', w.writeSpec('fwd', w.demoSpec('fwdopen', { nics: [{ type: 'user', hostfwd: ['tcp::2222-:22', 'tcp:0.0.0.0:2223-:23', 'tcp:127.0.0.1:2224-:24'] }] }))]);
    expect(open.code, open.stderr).toBe(0);
    expect(open.stderr).toContain('qkvm: warning: guest "fwdopen": nics[0].hostfwd "tcp::2222-:22" forwards tcp port 2222 on every address');
    expect(open.stderr).toContain('nics[0].hostfwd "tcp:0.0.0.0:2223-:23"');
    expect(open.stderr).not.toContain('2224');
    expect((await w.qkvm(['undefine', 'fwdopen'])).code).toBe(0);
  }, [join(w.root, 'defs'), /\/locks\//]));

  it('S-I29 input: VNC on 0.0.0.0 and hostfwd on all addresses are warned again at start (in a namespace)', async () => {
    const n = await World.create({ netns: true });
    try {
      await n.defineDemo('exposed', { display: { type: 'vnc', listen: '0.0.0.0', display: 43 }, nics: [{ type: 'user', hostfwd: ['tcp::2225-:22'] }] });
      const r = await n.qkvm(['start', 'exposed']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/^qkvm: warning: guest "exposed": VNC listens on 0\.0\.0\.0:5943/m);
      expect(r.stderr).toMatch(/^qkvm: warning: guest "exposed": nics\[0\]\.hostfwd "tcp::2225-:22"/m);
      expect((await n.qkvm(['destroy', 'exposed'])).code).toBe(0);
    } finally { await n.destroy(); }
  });

  // ---- cases that already held ----

  it('S-I30 input: a bad MAC is refused, naming it', () => held(async () => {
    const file = w.writeSpec('mac', w.demoSpec('badmac', { nics: [{ type: 'user', mac: '52:54:00:zz:00:01' }] }));
    expectRefused(await w.qkvm(['define', file]), { code: 2, mentions: ['nics[0].mac = "52:54:00:zz:00:01"'] });
  }, [join(w.root, 'defs')]));

  it('S-I31 input: a bad size is refused, naming it', () =>
    refused(['create', 'badsize', '--memory', '12Q'], 2, ['memory = "12Q": must be a size like 512M or 2G']));

  it('S-I32 input: an unknown field is refused, naming it', () => held(async () => {
    const file = w.writeSpec('field', w.demoSpec('field', { colour: 'red' }));
    expectRefused(await w.qkvm(['define', file]), { code: 2, mentions: ['unknown field(s) "colour"'] });
  }, [join(w.root, 'defs')]));

  it('S-I33 input: a definition file that is a FIFO is refused, not waited on', () => held(async () => {
    const fifo = join(w.root, 'defs', 'fifo.yaml');
    w.writeSpec('x', {});
    spawnSync('mkfifo', [fifo]);
    expectRefused(await w.qkvm(['define', fifo], { timeoutMs: 20_000 }), { code: 2, mentions: [`${fifo}: not a regular file`] });
    rmSync(fifo);
  }, [join(w.root, 'defs')]));

  it('S-I34 input: the bystander is untouched after every case', () => {
    expect(readFileSync(`/proc/${bystander}/cmdline`, 'utf8')).toContain(join(w.run, 'vms', 'bystander', 'qmp.sock'));
    expect(sha256File(disk)).toBe(diskSum);
  });
});

