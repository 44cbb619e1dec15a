// Definitions are written atomically and validated on read; locks are taken
// over from dead owners instead of needing a manual unlock.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { loadVm, saveVm, listVmNames, removeVmFile, rewriteDefinition } from '../../src/config/store.js';
import { acquireLock } from '../../src/config/lock.js';

let home: string;
beforeEach(() => { home = mkdtempSync(join(tmpdir(), 'qkvm-store-')); process.env.QKVM_HOME = home; });
afterEach(() => { rmSync(home, { recursive: true, force: true }); delete process.env.QKVM_HOME; });

describe('store', () => {
  it('saves, lists, loads and removes a definition, leaving no temp file', () => {
    saveVm({ name: 'a', memory: '256M' });
    expect(listVmNames()).toEqual(['a']);
    expect(loadVm('a').memory).toBe('256M');
    expect(readdirSync(join(home, 'vms'))).toEqual(['a.yaml']);
    removeVmFile('a');
    expect(listVmNames()).toEqual([]);
  });

  it('refuses to overwrite unless asked', () => {
    saveVm({ name: 'a' });
    expect(() => saveVm({ name: 'a' })).toThrow(/already defined/);
    saveVm({ name: 'a', memory: '1G' }, { overwrite: true });
    expect(loadVm('a').memory).toBe('1G');
  });

  it('names the file and the field of a bad definition on disk', () => {
    saveVm({ name: 'b' });
    writeFileSync(join(home, 'vms', 'b.yaml'), 'name: b\nmemory: plenty\n');
    expect(() => loadVm('b')).toThrow(/b\.yaml: invalid definition\n {2}memory = "plenty"/);
    writeFileSync(join(home, 'vms', 'b.yaml'), 'name: c\n');
    expect(() => loadVm('b')).toThrow(/does not match the file name/);
    writeFileSync(join(home, 'vms', 'b.yaml'), 'name: [b\n');
    expect(() => loadVm('b')).toThrow(/not valid YAML/);
  });

  it('rewrites changed fields only, keeping the comments of the rest', () => {
    const text = '# my web server\nname: w\nmemory: 1G # plenty\ndisks: []\n';
    saveVm({ name: 'w' });
    writeFileSync(join(home, 'vms', 'w.yaml'), text);
    rewriteDefinition('w', { disks: [{ file: 'w.qcow2' }] });
    const after = readFileSync(join(home, 'vms', 'w.yaml'), 'utf8');
    expect(after).toContain('# my web server');
    expect(after).toContain('memory: 1G # plenty');
    expect(loadVm('w').disks[0].file).toBe('w.qcow2');
    expect(() => rewriteDefinition('w', { memory: 'lots' })).toThrow(/memory = "lots"/);
    expect(readFileSync(join(home, 'vms', 'w.yaml'), 'utf8')).toBe(after);
  });

  it('rejects a bad name before touching the disk', () => {
    expect(() => loadVm('../etc/passwd')).toThrow(/invalid name "..\/etc\/passwd"/);
  });
});

describe('locks', () => {
  it('is exclusive while its owner lives, and names the holder', async () => {
    const l = await acquireLock('vm', 'x', 'testing');
    await expect(acquireLock('vm', 'x', 'again')).rejects.toThrow(/busy: testing \(qkvm pid \d+\)/);
    l.release();
    (await acquireLock('vm', 'x', 'again')).release();
  });

  it('is taken over when its owner died (kill -9)', async () => {
    const l = await acquireLock('vm', 'y', 'dead owner');
    // Rewrite it as if a process that no longer exists held it.
    const dead = spawnSync('true').pid!;
    writeFileSync(l.path, JSON.stringify({ pid: dead, start: 1, reason: 'crashed start' }));
    const again = await acquireLock('vm', 'y', 'recovering');
    expect(JSON.parse(readFileSync(again.path, 'utf8')).reason).toBe('recovering');
    again.release();
  });

  it('waits for a lock when asked to', async () => {
    const l = await acquireLock('vm', 'z', 'short job');
    setTimeout(() => l.release(), 150);
    const t = await acquireLock('vm', 'z', 'patient', 5000);
    t.release();
  });
});
