// virt-install in a brand-new QKVM_HOME: a disk in the default pool's directory
// (images/, not made yet) is created there, as in a home that `pool build` made;
// --dry-run makes nothing, not even the directory.
import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { CLI } from '../net/lab.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'qkvm-vi-home-'));
const env = { ...process.env, QKVM_HOME: path.join(dir, 'home'), QKVM_RUN: path.join(dir, 'run') };
const q = async (...args: string[]) => { const r = await execa(process.execPath, [CLI, ...args], { env, reject: false }); return { code: r.exitCode, out: `${r.stdout}\n${r.stderr}` }; };
const images = path.join(dir, 'home', 'images');
afterAll(async () => { await q('destroy', 'vm1'); rmSync(dir, { recursive: true, force: true }); });

describe('virt-install in a new home', () => {
  const line = ['virt-install', '--name=vm1', '--ram', '128', '--disk', `path=${images}/vm1.qcow2,size=1`, '--import', '--noautoconsole', '--graphics', 'none', '--virt-type', 'qemu'];

  it('--dry-run creates nothing, not even images/', async () => {
    const r = await q(...line, '--dry-run');
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain(`create ${images}/vm1.qcow2 (qcow2, 1G)`);
    expect(existsSync(images)).toBe(false);
  });

  it('the real run makes the pool directory, the image in it, and starts the guest', async () => {
    const r = await q(...line);
    expect(r.code, r.out).toBe(0);
    expect(statSync(images).isDirectory()).toBe(true);
    expect(existsSync(path.join(images, 'vm1.qcow2'))).toBe(true);
    expect((await q('domstate', 'vm1')).out.trim()).toBe('running');
  });
});
