// npm run bench: every benchmark, each qkvm figure beside its raw equivalent
// from the same run, reported as a ratio.
import type { BenchResult } from './types.js';
import { benchLifecycle } from './lifecycle.js';

const only = process.argv.slice(2);
const benches: [string, () => Promise<BenchResult>][] = [
  ['lifecycle', () => benchLifecycle()],
  ['migrate', async () => (await import('./migrate.js')).benchMigrate()],
  ['net', async () => (await import('./net-throughput.js')).benchNetThroughput()],
  ['relay', async () => (await import('./relay-throughput.js')).benchRelayThroughput()],
  ['labs', async () => (await import('./labs.js')).benchLabs()],
  ['image', async () => (await import('./image.js')).benchImage()],
];

const results: BenchResult[] = [];
for (const [name, fn] of benches) {
  if (only.length && !only.includes(name)) continue;
  process.stderr.write(`running ${name}...\n`);
  try {
    results.push(await fn());
  } catch (e) {
    results.push({ name, rows: [], notes: [`failed: ${(e as Error).message.split('\n')[0]}`] });
  }
}

const f = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(2));
const lines: string[] = [`# Benchmarks (${new Date().toISOString().slice(0, 10)})`, ''];
for (const r of results) {
  lines.push(`## ${r.name}`, '', '| measure | qkvm | raw | ratio | target |', '|---|---|---|---|---|');
  for (const row of r.rows) {
    lines.push(`| ${row.label} | ${f(row.qkvm)} ${row.unit} | ${f(row.raw)} ${row.unit} | ${(row.qkvm / row.raw).toFixed(2)}x | ${row.target ?? ''} |`);
  }
  for (const n of r.notes ?? []) lines.push('', `- ${n}`);
  lines.push('');
}
process.stdout.write(lines.join('\n') + '\n');
