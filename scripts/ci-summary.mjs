#!/usr/bin/env node
// The closing line of .ci/run, from vitest's JSON report. vitest reports the
// tests of a file whose beforeAll threw (a CI guard, a missing prerequisite) as
// skipped, and a file that failed to load has no tests at all: both count as
// failures here, so "0 failed" means nothing failed.
// Usage: node scripts/ci-summary.mjs REPORT.json  (exit 1 when anything failed)
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

/** Counts a vitest (jest-format) JSON report: { passed, failed, skipped, failedFiles, line }. */
export function summarize(report) {
  let passed = 0, failed = 0, skipped = 0;
  const failedFiles = [];
  for (const file of report.testResults ?? []) {
    const tests = file.assertionResults ?? [];
    const count = (s) => tests.filter((t) => t.status === s).length;
    const fileFailed = file.status === 'failed' || Boolean(file.message);
    const notRun = tests.length - count('passed') - count('failed');
    passed += count('passed');
    failed += count('failed');
    if (fileFailed && count('failed') === 0) {
      // Failed outside any test (beforeAll, import, collection): what did not run failed, and at least one thing did.
      failed += Math.max(1, notRun);
      failedFiles.push(file.name);
    } else {
      skipped += notRun;
      if (fileFailed) failedFiles.push(file.name);
    }
  }
  // A run that failed with no file to blame (a global setup error) still failed.
  if (report.success === false && failed === 0) failed = 1;
  const where = failedFiles.length ? ` (failed files: ${failedFiles.length})` : '';
  return { passed, failed, skipped, failedFiles, line: `${passed} passed, ${failed} failed, ${skipped} skipped${where}` };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  let report;
  try {
    report = JSON.parse(readFileSync(process.argv[2], 'utf8'));
  } catch (e) {
    console.log(`no test report (${e.code ?? e.message}): the run failed before vitest wrote one`);
    process.exit(1);
  }
  const s = summarize(report);
  for (const f of s.failedFiles) console.log(`failed: ${f}`);
  console.log(s.line);
  process.exit(s.failed > 0 ? 1 : 0);
}
