// .ci/run's closing line (scripts/ci-summary.mjs): a suite that fails in beforeAll,
// whose tests vitest reports as skipped, must count as failed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repo = resolve(import.meta.dirname, '../..');
const script = join(repo, 'scripts/ci-summary.mjs');
type Summary = { passed: number; failed: number; skipped: number; failedFiles: string[]; line: string };
const { summarize } = (await import(script)) as { summarize: (r: unknown) => Summary };
const dir = mkdtempSync(join(tmpdir(), 'qkvm-ci-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const file = (name: string, status: string, tests: string[], message = '') =>
  ({ name, status, message, assertionResults: tests.map((s, i) => ({ title: `t${i}`, status: s })) });

describe('ci-summary', () => {
  it('counts a real vitest run of a suite whose beforeAll throws as failed, and exits non-zero', () => {
    const report = join(dir, 'report.json');
    const run = spawnSync('npx', ['vitest', 'run', '--config', 'test/fixtures/ci/vitest.config.ts', '--reporter=json', `--outputFile=${report}`],
      { cwd: repo, encoding: 'utf8', timeout: 120_000, env: { ...process.env, CI: '' } });
    expect(run.status).not.toBe(0);
    const json = JSON.parse(readFileSync(report, 'utf8'));
    // What vitest itself says: no failed test, the two tests skipped.
    expect(json.numFailedTests).toBe(0);
    const s = summarize(json);
    expect(s.failed).toBe(2);
    expect(s.skipped).toBe(0);
    expect(s.failedFiles).toEqual([expect.stringMatching(/failing-before-all\.fixture\.ts$/)]);
    const cli = spawnSync(process.execPath, [script, report], { encoding: 'utf8' });
    expect(cli.status).toBe(1);
    expect(cli.stdout).toMatch(/^0 passed, 2 failed, 0 skipped/m);
  });

  it('counts passed, failed and skipped tests of files that ran', () => {
    const s = summarize({ success: false, testResults: [file('a', 'passed', ['passed', 'passed', 'skipped']), file('b', 'failed', ['passed', 'failed', 'pending', 'todo'])] });
    expect([s.passed, s.failed, s.skipped]).toEqual([3, 1, 3]);
    expect(s.failedFiles).toEqual(['b']);
    expect(s.line).toBe('3 passed, 1 failed, 3 skipped (failed files: 1)');
  });

  it('counts a file that failed to load (no tests, a message) as one failure', () => {
    const s = summarize({ success: false, testResults: [file('a', 'failed', [], 'SyntaxError'), file('b', 'passed', ['passed'])] });
    expect([s.passed, s.failed, s.skipped]).toEqual([1, 1, 0]);
  });

  it('counts a file with a message as failed even when its status says passed', () => {
    expect(summarize({ testResults: [file('a', 'passed', ['skipped'], 'afterAll failed')] }).failed).toBe(1);
  });

  it('fails a run that failed with no file to blame, and passes a clean one', () => {
    expect(summarize({ success: false, testResults: [] }).failed).toBe(1);
    const ok = summarize({ success: true, testResults: [file('a', 'passed', ['passed', 'skipped'])] });
    expect([ok.passed, ok.failed, ok.skipped, ok.line]).toEqual([1, 0, 1, '1 passed, 0 failed, 1 skipped']);
  });

  it('exits 1 without a report', () => {
    const cli = spawnSync(process.execPath, [script, join(dir, 'missing.json')], { encoding: 'utf8' });
    expect(cli.status).toBe(1);
    expect(cli.stdout).toMatch(/no test report/);
  });
});
