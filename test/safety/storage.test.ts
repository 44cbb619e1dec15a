// Safety cases of storage ownership (issue 9, class 4 and save --force): qkvm
// removes only images it created and recorded inside a pool; files outside pools
// and host devices attach only when the definition says so; a linked clone's
// base is never opened writable; save --force never replaces what is not a save.
// One world, one running bystander guest whose disk is checksummed by every case.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { World, expectRefused, sha256File, type RunResult } from './world.js';

let w: World;
let bystanderPid: number;
let img: (f: string) => string;
let nullCopy: string, blockNode: string;

/** Every case may take locks and rewrite the image record; nothing else may change unless listed. */
const STATE = [/\/run\/locks\//, /\/home\/storage\/owned\.json$/, /\/home\/storage$/, /\/home\/storage\/\.owned\.json\.\d+\.tmp$/];

const ok = (r: RunResult, what: string) => { expect(r.code, `${what}\n${r.stderr}`).toBe(0); return r; };

/** A definition stored as older versions of qkvm stored it, without the checks of `define`. */
function storeLegacy(name: string, disks: Record<string, unknown>[]): void {
  mkdirSync(join(w.home, 'vms'), { recursive: true });
  writeFileSync(join(w.home, 'vms', `${name}.yaml`), stringify(w.demoSpec(name, { disks })));
}

async function kept(r: RunResult, path: string, why: RegExp): Promise<void> {
  expect(r.code, r.stderr).toBe(0);
  const line = r.stderr.split('\n').find((l) => l.includes(`kept ${path}:`));
  expect(line, r.stderr).toMatch(why);
  expect(r.stderr).not.toContain(`removed ${path}`);
  expect(r.stderr, 'no stack trace').not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
}

beforeAll(async () => {
  w = await World.create();
  img = (f) => join(w.home, 'images', f);
  ok(await w.qkvm(['vol', 'create', 'default', 'bystander.qcow2', '16M']), 'vol create');
  await w.defineDemo('bystander', { disks: [{ file: 'bystander.qcow2' }] });
  bystanderPid = await w.startDemo('bystander');
  nullCopy = join(w.outside, 'null-copy');
  execFileSync('mknod', [nullCopy, 'c', '1', '3']);
  // A block-device node that nothing ever opens: loop device numbers, inside the world's outside/.
  blockNode = join(w.outside, 'blockdev');
  execFileSync('mknod', [blockNode, 'b', '7', '250']);
}, 300_000);
afterAll(async () => { await w?.destroy(); });

describe('storage ownership', () => {
  it('S-ST01 storage: --remove-storage keeps a disk in an unrelated directory', async () => {
    const victim = join(w.outside, 'dir', 'precious.img');
    storeLegacy('u1', [{ file: victim }]);
    const before = await w.snapshot();
    const r = await w.qkvm(['undefine', 'u1', '--remove-storage']);
    await kept(r, victim, /outside every storage pool/);
    await w.expectNothingLost(before, { ignore: [...STATE, join(w.home, 'vms', 'u1.yaml')] });
    expect(existsSync(join(w.home, 'vms', 'u1.yaml'))).toBe(false);
  });

  it('S-ST02 storage: --remove-storage keeps a device node named as a disk', async () => {
    storeLegacy('u2', [{ file: nullCopy }]);
    const before = await w.snapshot();
    const r = await w.qkvm(['undefine', 'u2', '--remove-storage']);
    await kept(r, nullCopy, /character device, not a regular file/);
    await w.expectNothingLost(before, { ignore: [...STATE, join(w.home, 'vms', 'u2.yaml')] });
  });

  it('S-ST03 storage: --remove-storage keeps a symlink from images/ into outside/, and its target', async () => {
    const link = img('escape.qcow2');
    symlinkSync(join(w.outside, 'precious.txt'), link);
    storeLegacy('u3', [{ file: 'escape.qcow2' }]);
    const before = await w.snapshot();
    const r = await w.qkvm(['undefine', 'u3', '--remove-storage']);
    await kept(r, link, /symbolic link/);
    await w.expectNothingLost(before, { ignore: [...STATE, join(w.home, 'vms', 'u3.yaml')] });
  });

  it('S-ST04 storage: --remove-storage keeps a file swapped in after qkvm created the image', async () => {
    ok(await w.qkvm(['vol', 'create', 'default', 'swapped.qcow2', '8M']), 'vol create');
    await w.defineDemo('u4', { disks: [{ file: 'swapped.qcow2' }] });
    writeFileSync(img('other-data'), 'not the image qkvm made');
    renameSync(img('other-data'), img('swapped.qcow2'));
    const sum = sha256File(img('swapped.qcow2'));
    const before = await w.snapshot();
    const r = await w.qkvm(['undefine', 'u4', '--remove-storage']);
    await kept(r, img('swapped.qcow2'), /not the file qkvm created there/);
    expect(sha256File(img('swapped.qcow2'))).toBe(sum);
    await w.expectNothingLost(before, { ignore: [...STATE, join(w.home, 'vms', 'u4.yaml')] });
  });

  it('S-ST05 storage: --remove-storage keeps a volume another guest uses', async () => {
    ok(await w.qkvm(['vol', 'create', 'default', 'shared.qcow2', '8M']), 'vol create');
    await w.defineDemo('u5a', { disks: [{ file: 'shared.qcow2' }] });
    await w.defineDemo('u5b', { disks: [{ file: 'shared.qcow2' }] });
    const before = await w.snapshot();
    const r = await w.qkvm(['undefine', 'u5a', '--remove-storage']);
    await kept(r, img('shared.qcow2'), /also a disk of u5b/);
    await w.expectNothingLost(before, { ignore: [...STATE, join(w.home, 'vms', 'u5a.yaml')] });
  });

  it('S-ST06 storage: --remove-storage keeps the base of a linked clone', async () => {
    ok(await w.qkvm(['vol', 'create', 'default', 'u6.qcow2', '8M']), 'vol create');
    await w.defineDemo('u6', { disks: [{ file: 'u6.qcow2' }] });
    ok(await w.qkvm(['clone', 'u6', 'u6-linked', '--linked']), 'clone');
    const before = await w.snapshot();
    const r = await w.qkvm(['undefine', 'u6', '--remove-storage']);
    await kept(r, img('u6.qcow2'), new RegExp(`the backing file of ${img('u6-linked.qcow2')}`));
    await w.expectNothingLost(before, { ignore: [...STATE, join(w.home, 'vms', 'u6.yaml')] });
  });

  it('S-ST07 storage: --remove-storage keeps an image qkvm has no record of creating', async () => {
    const path = await w.image('handmade.qcow2', '8M');
    await w.defineDemo('u7', { disks: [{ file: 'handmade.qcow2' }] });
    const before = await w.snapshot();
    const r = await w.qkvm(['undefine', 'u7', '--remove-storage']);
    await kept(r, path, /no record of creating it/);
    await w.expectNothingLost(before, { ignore: [...STATE, join(w.home, 'vms', 'u7.yaml')] });
  });

  it('S-ST08 storage: --remove-storage keeps an ISO (holds)', async () => {
    ok(await w.qkvm(['disk', 'create', img('install.iso'), '1M', '--format', 'raw']), 'disk create');
    await w.defineDemo('u8', { disks: [{ file: 'install.iso', format: 'raw', readonly: true }] });
    const before = await w.snapshot();
    const r = await w.qkvm(['undefine', 'u8', '--remove-storage']);
    await kept(r, img('install.iso'), /read-only|ISO/);
    await w.expectNothingLost(before, { ignore: [...STATE, join(w.home, 'vms', 'u8.yaml')] });
  });

  it('S-ST09 storage: --remove-storage keeps a CD-ROM (holds)', async () => {
    ok(await w.qkvm(['disk', 'create', img('cd.img'), '1M', '--format', 'raw']), 'disk create');
    await w.defineDemo('u9', { disks: [{ file: 'cd.img', format: 'raw', media: 'cdrom', bus: 'ide' }] });
    const before = await w.snapshot();
    const r = await w.qkvm(['undefine', 'u9', '--remove-storage']);
    await kept(r, img('cd.img'), /a CD-ROM/);
    await w.expectNothingLost(before, { ignore: [...STATE, join(w.home, 'vms', 'u9.yaml')] });
  });

  it('S-ST10 storage: --remove-storage removes only the guest\'s own recorded image (holds)', async () => {
    ok(await w.qkvm(['create', 'u10', '--disk', 'u10.qcow2,size=8M', '--accel', 'tcg']), 'create');
    const before = await w.snapshot();
    const r = ok(await w.qkvm(['undefine', 'u10', '--remove-storage']), 'undefine');
    expect(r.stderr).toContain(`removed ${img('u10.qcow2')}`);
    const diff = w.diff(before, await w.snapshot(), { ignore: STATE });
    expect(diff.sort()).toEqual([`removed: ${img('u10.qcow2')} (file)`, `removed: ${join(w.home, 'vms', 'u10.yaml')} (file)`].sort());
  });

  it('S-ST11 storage: vol delete refuses an image qkvm did not create, and a symlink into outside/', async () => {
    await w.image('byhand.qcow2', '8M');
    symlinkSync(join(w.outside, 'dir', 'precious.img'), img('link.img'));
    const before = await w.snapshot();
    const a = await w.qkvm(['vol', 'delete', 'default', 'byhand.qcow2']);
    expectRefused(a, { code: 1, mentions: [img('byhand.qcow2'), /no record of creating it/, 'qkvm vol adopt default byhand.qcow2'] });
    const b = await w.qkvm(['vol', 'delete', 'default', 'link.img']);
    expectRefused(b, { code: 1, mentions: [img('link.img'), /symbolic link/] });
    await w.expectNothingLost(before, { ignore: STATE });
  });
});

describe('disks outside pools and host devices', () => {
  it('S-ST12 storage: define refuses a /etc/shadow-like file outside pools without external: true', async () => {
    const shadow = join(w.outside, 'shadow');
    const before = await w.snapshot();
    const r = await w.qkvm(['define', w.writeSpec('x12', w.demoSpec('x12', { disks: [{ file: shadow }] }))]);
    expectRefused(r, { code: 2, mentions: [shadow, 'external: true'] });
    await w.expectNothingLost(before, { ignore: [...STATE, join(w.root, 'defs')] });
  });

  it('S-ST13 storage: define refuses a symlink in images/ that leads to a file outside', async () => {
    symlinkSync(join(w.outside, 'shadow'), img('shadow-link.img'));
    const before = await w.snapshot();
    const r = await w.qkvm(['define', w.writeSpec('x13', w.demoSpec('x13', { disks: [{ file: 'shadow-link.img', format: 'raw' }] }))]);
    expectRefused(r, { code: 2, mentions: [img('shadow-link.img'), /outside every storage pool/] });
    await w.expectNothingLost(before, { ignore: [...STATE, join(w.root, 'defs')] });
  });

  it('S-ST14 storage: define refuses a host block device without hostDevice: true', async () => {
    const before = await w.snapshot();
    const r = await w.qkvm(['define', w.writeSpec('x14', w.demoSpec('x14', { disks: [{ file: blockNode, format: 'raw' }] }))]);
    expectRefused(r, { code: 2, mentions: [blockNode, 'hostDevice: true'] });
    await w.expectNothingLost(before, { ignore: [...STATE, join(w.root, 'defs')] });
  });

  it('S-ST15 storage: define refuses a character device as a disk, even with external: true', async () => {
    const before = await w.snapshot();
    const r = await w.qkvm(['define', w.writeSpec('x15', w.demoSpec('x15', { disks: [{ file: nullCopy, external: true }] }))]);
    expectRefused(r, { code: 2, mentions: [nullCopy, /character device, which can never be a disk/] });
    await w.expectNothingLost(before, { ignore: [...STATE, join(w.root, 'defs')] });
  });

  it('S-ST16 storage: start refuses a stored definition naming a file outside pools; no QEMU starts', async () => {
    storeLegacy('x16', [{ file: join(w.outside, 'shadow'), format: 'raw' }]);
    const before = await w.snapshot();
    const r = await w.qkvm(['start', 'x16']);
    expectRefused(r, { code: 2, mentions: [join(w.outside, 'shadow'), 'external: true'] });
    await w.expectNothingLost(before, { ignore: [...STATE, join(w.run, 'vms', 'x16')] });
  });

  it('S-ST17 storage: attach-disk of a file outside pools to the running bystander needs --external', async () => {
    const shadow = join(w.outside, 'shadow');
    const before = await w.snapshot();
    const r = await w.qkvm(['attach-disk', 'bystander', shadow, '--format', 'raw']);
    expectRefused(r, { code: 2, mentions: [shadow, '--external'] });
    await w.expectNothingLost(before, { ignore: STATE });
  });
});

describe('linked-clone bases', () => {
  it('S-ST18 storage: a second guest naming a clone\'s base writable is refused at start', async () => {
    ok(await w.qkvm(['vol', 'create', 'default', 'b18.qcow2', '8M']), 'vol create');
    await w.defineDemo('b18', { disks: [{ file: 'b18.qcow2' }] });
    ok(await w.qkvm(['clone', 'b18', 'c18', '--linked']), 'clone');
    await w.defineDemo('other18', { disks: [{ file: img('b18.qcow2') }] });
    const before = await w.snapshot();
    for (const args of [['start', 'other18'], ['start', 'other18', '--force'], ['start', 'b18']]) {
      const r = await w.qkvm(args);
      expectRefused(r, { code: 1, mentions: [img('b18.qcow2'), img('c18.qcow2'), /"c18"/, /--force does not change this/, `qkvm disk rebase '${img('c18.qcow2')}' ''`] });
    }
    await w.expectNothingLost(before, { ignore: [...STATE, join(w.run, 'vms')] });
    expect(before.qemu).toEqual([bystanderPid]);
  });

  it('S-ST19 storage: attach-disk of a clone\'s base writable to the running bystander is refused', async () => {
    const before = await w.snapshot();
    const r = await w.qkvm(['attach-disk', 'bystander', 'b18.qcow2']);
    expectRefused(r, { code: 1, mentions: [img('b18.qcow2'), img('c18.qcow2')] });
    const p = await w.qkvm(['attach-disk', 'bystander', 'b18.qcow2', '--persist']);
    expectRefused(p, { code: 1, mentions: [img('b18.qcow2')] });
    await w.expectNothingLost(before, { ignore: STATE });
  });
});

describe('save --force', () => {
  const cases: [string, () => string, RegExp][] = [
    ['S-ST20 storage: save --force never replaces a device node', () => nullCopy, /is a character device/],
    ['S-ST21 storage: save --force never replaces a symlink (nor writes through it)', () => {
      const l = join(w.root, 'save-link');
      if (!existsSync(l)) symlinkSync(join(w.outside, 'precious.txt'), l);
      return l;
    }, /is a symbolic link/],
    ['S-ST22 storage: save --force never replaces a directory', () => join(w.outside, 'dir'), /is a directory/],
    ['S-ST23 storage: save --force never replaces a file that is not a save', () => join(w.outside, 'precious.txt'), /is not a qkvm save file/],
  ];
  for (const [title, target, why] of cases) {
    it(title, async () => {
      const t = target();
      const before = await w.snapshot();
      const r = await w.qkvm(['save', 'bystander', t, '--force']);
      expectRefused(r, { code: 2, mentions: [t, why] });
      await w.expectNothingLost(before, { ignore: STATE });
    });
  }
});
