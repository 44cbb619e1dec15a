// KSM through the CLI, on the real /sys/kernel/mm/ksm: status reads the kernel's
// counters, on/off write run (off --unmerge writes 2). The previous value is put
// back in afterAll. A kernel without KSM gets a clear error: each host runs the
// variant it can.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ksmStatus, setKsm } from '../../src/host/ksm.js';
import { IN_CI, State } from '../migrate/harness.js';

const KSM = '/sys/kernel/mm/ksm';
const HAS_KSM = existsSync(`${KSM}/run`);
const why = process.getuid?.() === 0 ? '' : 'needs root (writes /sys/kernel/mm/ksm/run)';
if (why && !IN_CI) console.warn(`ksm: skipped: ${why}`);
const runValue = () => Number(readFileSync(`${KSM}/run`, 'utf8'));

describe('ksm status and run, from a KSM directory (pure reading and writing)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'qkvm-ksm-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const fake = join(dir, 'ksm');

  it('a missing KSM directory is a clear host error', () => {
    expect(() => ksmStatus(fake)).toThrow(/this kernel has no KSM \(.*ksm is missing\)/);
    expect(() => setKsm('on', { dir: fake })).toThrow(/no KSM/);
  });

  it('reads the counters and computes the memory saved; off writes 0, off --unmerge writes 2', () => {
    mkdirSync(fake);
    for (const [f, v] of [['run', 1], ['pages_shared', 10], ['pages_sharing', 256], ['pages_unshared', 7], ['full_scans', 3]] as const) writeFileSync(join(fake, f), `${v}\n`);
    const s = ksmStatus(fake);
    expect(s).toMatchObject({ run: 1, state: 'on', pagesShared: 10, pagesSharing: 256, pagesUnshared: 7, fullScans: 3 });
    expect(s.savedBytes).toBe(256 * s.pageBytes);
    expect(setKsm('off', { dir: fake }).status.run).toBe(0);
    expect(readFileSync(join(fake, 'run'), 'utf8').trim()).toBe('0');
    expect(setKsm('off', { dir: fake, unmerge: true }).status.state).toBe('unmerged');
    expect(readFileSync(join(fake, 'run'), 'utf8').trim()).toBe('2');
    expect(() => setKsm('maybe', { dir: fake })).toThrow(/"maybe" is not on, off or status/);
    expect(() => setKsm('on', { dir: fake, unmerge: true })).toThrow(/--unmerge goes with off/);
  });
});

describe.skipIf(why !== '' && !IN_CI)('qkvm host ksm on this host', () => {
  const st = new State('ksm');
  let previous = -1;
  let previousScan = -1;
  beforeAll(() => {
    if (why) throw new Error(why);
    if (HAS_KSM) {
      previous = runValue();
      previousScan = Number(readFileSync(`${KSM}/pages_to_scan`, 'utf8'));
    }
  });
  afterAll(() => {
    st.cleanup();
    if (previous >= 0) writeFileSync(`${KSM}/run`, `${previous}\n`);
    if (previousScan >= 0) writeFileSync(`${KSM}/pages_to_scan`, `${previousScan}\n`);
  });

  if (HAS_KSM) {
    it('status shows the kernel\'s counters and says guests need mem-merge', async () => {
      const r = await st.ok('host', 'ksm', '--json');
      const s = JSON.parse(r.stdout);
      const n = (f: string) => Number(readFileSync(`${KSM}/${f}`, 'utf8'));
      expect(s.run).toBe(runValue());
      expect(s.pagesShared).toBe(n('pages_shared'));
      expect(s.savedBytes).toBe(s.pagesSharing * s.pageBytes);
      expect(s.pageBytes).toBe(4096);
      const text = await st.ok('host', 'ksm', 'status');
      expect(text.stdout).toMatch(/^KSM:\s+(on|off|unmerged) \(run=[012]/m);
      expect(text.stdout).toMatch(/^saved:\s+\d+ (MiB|GiB) \(pages sharing x 4 KiB\)$/m);
      expect(text.stderr).toMatch(/mem-merge, on by default/);
    });

    it('on writes 1, off writes 0, off --unmerge writes 2', async () => {
      expect(JSON.parse((await st.ok('host', 'ksm', 'on', '--json')).stdout).state).toBe('on');
      expect(runValue()).toBe(1);
      expect((await st.ok('host', 'ksm', 'off')).stdout).toMatch(/KSM:\s+off \(run=0: not scanning; merged pages stay merged\)/);
      expect(runValue()).toBe(0);
      expect((await st.ok('host', 'ksm', 'off', '--unmerge')).stdout).toMatch(/KSM:\s+unmerged \(run=2/);
      expect(runValue()).toBe(2);
    });

    it('merges a guest\'s identical pages once it is on (QEMU marks guest RAM mergeable by default)', async () => {
      await st.define('k', { memory: '128M', balloon: false });
      await st.boot('k');
      const pid = st.pid('k');
      // Scan faster for this test (put back in afterAll), so a full pass takes seconds.
      writeFileSync(`${KSM}/pages_to_scan`, '5000\n');
      await st.ok('host', 'ksm', 'on');
      const merged = () => Number(readFileSync(`/proc/${pid}/ksm_merging_pages`, 'utf8'));
      let n = 0;
      for (let i = 0; i < 120 && n === 0; i++) { n = merged(); if (!n) await new Promise((r) => setTimeout(r, 500)); }
      expect(n).toBeGreaterThan(0);
      const s = JSON.parse((await st.ok('host', 'ksm', '--json')).stdout);
      expect(s.pagesSharing).toBeGreaterThan(0);
      expect(s.savedBytes).toBe(s.pagesSharing * 4096);
      await st.ok('destroy', 'k');
    });

    it('refuses a bad state or --unmerge with on (exit 2), changing nothing', async () => {
      await st.ok('host', 'ksm', 'off');
      const bad = await st.qkvm('host', 'ksm', 'sometimes');
      expect(bad.exitCode).toBe(2);
      expect(bad.stderr).toMatch(/Given: "sometimes", Choices: "on", "off", "status"/);
      const both = await st.qkvm('host', 'ksm', 'on', '--unmerge');
      expect(both.exitCode).toBe(2);
      expect(both.stderr).toMatch(/--unmerge goes with off/);
      expect(runValue()).toBe(0);
    });
  } else {
    it('says this kernel has no KSM (exit 1), for status and for on', async () => {
      for (const args of [['host', 'ksm'], ['host', 'ksm', 'on']]) {
        const r = await st.qkvm(...args);
        expect(r.exitCode).toBe(1);
        expect(r.stderr).toMatch(/this kernel has no KSM \(\/sys\/kernel\/mm\/ksm is missing\)/);
      }
    });
  }
});
