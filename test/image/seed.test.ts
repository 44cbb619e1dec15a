// The seed on disk, made by the real xorriso: labelled cidata, keyed by its
// content, rebuilt when the block changes; and a clone gets a new instance-id.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseVmSpec } from '../../src/config/schema.js';
import { saveVm, loadVm } from '../../src/config/store.js';
import { ensureSeed, removeSeeds, seedFile } from '../../src/image/seed.js';
import { cloneGuest } from '../../src/storage/clone.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'qkvm-seed-test-'));
  process.env.QKVM_HOME = dir;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const iso = (file: string, what: string[]) => execFileSync('xorriso', ['-indev', file, ...what], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

describe('ensureSeed', () => {
  it('writes an ISO labelled cidata with user-data and meta-data, and reuses it while the block is unchanged', async () => {
    const spec = parseVmSpec({ name: 's1', cloudInit: { hostname: 'h1', 'instance-id': 's1-1' } });
    const out = await ensureSeed(spec);
    expect(out).toBe(seedFile(spec));
    expect(path.basename(out!)).toMatch(/^cidata-[0-9a-f]{16}\.iso$/);
    expect(iso(out!, ['-pvd_info'])).toMatch(/Volume Id\s*:\s*cidata/);
    const listing = iso(out!, ['-find', '/', '-type', 'f']);
    expect(listing).toContain("'/user-data'");
    expect(listing).toContain("'/meta-data'");
    expect(listing).not.toContain('network-config');
    expect(await ensureSeed(spec)).toBe(out);
  });

  it('a changed block makes a new seed and removes the old one', async () => {
    const before = await ensureSeed(parseVmSpec({ name: 's2', cloudInit: { hostname: 'a' } }));
    const after = await ensureSeed(parseVmSpec({ name: 's2', cloudInit: { hostname: 'b', 'network-config': { version: 2 } } }));
    expect(after).not.toBe(before);
    expect(existsSync(before!)).toBe(false);
    expect(iso(after!, ['-find', '/', '-type', 'f'])).toContain("'/network-config'");
    removeSeeds('s2');
    expect(existsSync(path.dirname(after!))).toBe(false);
  });

  it('no block, no seed', async () => {
    expect(await ensureSeed(parseVmSpec({ name: 's3' }))).toBeUndefined();
  });
});

describe('clone', () => {
  it('gives the clone a new instance-id, so cloud-init runs again in it', async () => {
    saveVm({ name: 'src1', cloudInit: { 'instance-id': 'src1-aaaa', hostname: 'src1' } });
    await cloneGuest('src1', 'copy1');
    const ci = loadVm('copy1').cloudInit!;
    expect(ci['instance-id']).toMatch(/^copy1-[0-9a-f]{8}$/);
    expect(ci.hostname).toBe('src1');
    expect(loadVm('src1').cloudInit!['instance-id']).toBe('src1-aaaa');
    expect(readdirSync(path.join(dir, 'vms')).sort()).toEqual(expect.arrayContaining(['copy1.yaml', 'src1.yaml']));
  });

  it('moves the ssh forward on loopback to a port of its own, and leaves other forwards as written', async () => {
    saveVm({ name: 'src2', nics: [{ type: 'user', hostfwd: ['tcp:127.0.0.1:22015-:22', 'tcp:127.0.0.1:8080-:80'] }] });
    await cloneGuest('src2', 'copy2');
    const [ssh, web] = (loadVm('copy2').nics[0] as { hostfwd: string[] }).hostfwd;
    expect(ssh).toMatch(/^tcp:127\.0\.0\.1:\d+-:22$/);
    expect(ssh).not.toBe('tcp:127.0.0.1:22015-:22');
    expect(web).toBe('tcp:127.0.0.1:8080-:80');
    expect((loadVm('src2').nics[0] as { hostfwd: string[] }).hostfwd[0]).toBe('tcp:127.0.0.1:22015-:22');
  });
});
