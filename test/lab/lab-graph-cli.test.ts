// `qkvm lab graph` parsed and run in-process through its yargs module (the lab
// group that registers it is the lab helper's src/cli/lab.ts): formats, output
// files, a lab that is up by name, and bad input.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import yargs from 'yargs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { labGraphCommand } from '../../src/cli/lab-graph.js';

const REPO = path.resolve(__dirname, '../..');
const ROUTED = path.join(REPO, 'templates/labs/routed.yaml');
const GOLDEN_MMD = readFileSync(path.join(__dirname, 'golden/routed.mmd'), 'utf8');
const HAS_DOT = ['/usr/bin/dot', '/usr/local/bin/dot'].some((p) => existsSync(p));

let dir: string;
const saved = { home: process.env.QKVM_HOME, run: process.env.QKVM_RUN };

async function qkvm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  (process.stdout as any).write = (c: string | Uint8Array) => { stdout += Buffer.from(c).toString('utf8'); return true; };
  (process.stderr as any).write = (c: string | Uint8Array) => { stderr += Buffer.from(c).toString('utf8'); return true; };
  process.exitCode = 0;
  try {
    await yargs(args).command(labGraphCommand).exitProcess(false).fail((msg, e) => { throw e ?? new Error(msg); }).strict().parseAsync();
  } finally {
    process.stdout.write = out;
    process.stderr.write = err;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { code, stdout, stderr };
}

describe('qkvm lab graph', () => {
  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'qkvm-labgraph-'));
    for (const d of ['home', 'run']) mkdirSync(path.join(dir, d), { mode: 0o700 });
    process.env.QKVM_HOME = path.join(dir, 'home');
    process.env.QKVM_RUN = path.join(dir, 'run');
  });
  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
    for (const [k, v] of [['QKVM_HOME', saved.home], ['QKVM_RUN', saved.run]] as const) if (v === undefined) delete process.env[k]; else process.env[k] = v;
  });
  afterEach(() => rmSync(path.join(dir, 'home', 'labs'), { recursive: true, force: true }));

  it('prints Mermaid for a lab file by default', async () => {
    const r = await qkvm(['graph', ROUTED]);
    expect(r).toEqual({ code: 0, stdout: GOLDEN_MMD, stderr: '' });
  });

  it('finds a lab that is up by its name, and shows each node\'s state (--no-live: the file only)', async () => {
    mkdirSync(path.join(dir, 'home', 'labs', 'routed'), { recursive: true, mode: 0o700 });
    writeFileSync(path.join(dir, 'home', 'labs', 'routed', 'lab.yaml'), readFileSync(ROUTED));
    const live = await qkvm(['graph', 'routed']);
    expect(live.code).toBe(0);
    // Nothing runs here: every node is shut off.
    expect(live.stdout.match(/shut off/g)).toHaveLength(3);
    expect((await qkvm(['graph', 'routed', '--no-live'])).stdout).toBe(GOLDEN_MMD);
  });

  it('refuses a recorded lab file that is a symlink', async () => {
    mkdirSync(path.join(dir, 'home', 'labs', 'routed'), { recursive: true, mode: 0o700 });
    symlinkSync(ROUTED, path.join(dir, 'home', 'labs', 'routed', 'lab.yaml'));
    const r = await qkvm(['graph', 'routed']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/lab\.yaml: is a symbolic link/);
  });

  it('writes the format that -o\'s extension names, or --format', async () => {
    const html = path.join(dir, 'r.html');
    const r = await qkvm(['graph', ROUTED, '-o', html]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`wrote ${html} (html, lab routed)`);
    expect(readFileSync(html, 'utf8')).toMatch(/^<!doctype html>[\s\S]*<svg viewBox/);
    const dot = path.join(dir, 'r.txt');
    expect((await qkvm(['graph', ROUTED, '--format', 'dot', '-o', dot])).code).toBe(0);
    expect(readFileSync(dot, 'utf8')).toMatch(/^\/\/ lab routed[\s\S]*graph "routed" \{/);
    expect((await qkvm(['graph', ROUTED, '-f', 'html'])).stdout).toBe(readFileSync(html, 'utf8'));
  });

  it.runIf(HAS_DOT || process.env.CI)('draws SVG and PNG with Graphviz', async () => {
    const svg = path.join(dir, 'r.svg');
    const png = path.join(dir, 'r.png');
    expect((await qkvm(['graph', ROUTED, '-o', svg])).code).toBe(0);
    expect(readFileSync(svg, 'utf8')).toMatch(/<svg[\s\S]*routed&#45;r1/);
    expect((await qkvm(['graph', ROUTED, '--format', 'png', '-o', png])).code).toBe(0);
    expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
  });

  it('does not write a PNG to a terminal', async () => {
    const tty = process.stdout.isTTY;
    (process.stdout as any).isTTY = true;
    try {
      const r = await qkvm(['graph', ROUTED, '--format', 'png']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/--format png is binary and stdout is a terminal[\s\S]*hint: write it to a file/);
    } finally {
      (process.stdout as any).isTTY = tty;
    }
  });

  it('does not write through a symlink', async () => {
    const target = path.join(dir, 'precious');
    writeFileSync(target, 'keep me');
    const link = path.join(dir, 'out.html');
    symlinkSync(target, link);
    const r = await qkvm(['graph', ROUTED, '-o', link]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/out\.html: is a symbolic link/);
    expect(readFileSync(target, 'utf8')).toBe('keep me');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
  });

  it.each([
    [['graph', 'nolab'], 1, /no lab "nolab" is up, and there is no file nolab[\s\S]*hint: .*templates\/labs\/routed\.yaml/],
    [['graph', 'Not_A_Lab!'], 2, /no lab file "Not_A_Lab!", and it is not a lab name/],
    [['graph', '/nonexistent/lab.yaml'], 1, /no lab file \/nonexistent\/lab\.yaml/],
  ])('%j: a clear error, exit %i', async (args, code, err) => {
    const r = await qkvm(args);
    expect(r.code).toBe(code);
    expect(r.stderr).toMatch(err);
    expect(r.stdout).toBe('');
  });

  it('names the bad value of a broken lab file (exit 2)', async () => {
    const bad = path.join(dir, 'bad.yaml');
    writeFileSync(bad, 'name: x\nnodes: { a: {}, b: {} }\nlinks: [{ endpoints: [a:eth0, c:eth0] }]\n');
    const r = await qkvm(['graph', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/bad\.yaml: links\[0\]: no node is named "c"/);
  });

  it('refuses an unknown --format before reading anything', async () => {
    await expect(qkvm(['graph', ROUTED, '--format', 'jpeg'])).rejects.toThrow(/Invalid values:[\s\S]*jpeg/);
  });
});
