// `qkvm web`'s bad input: exit 2, a message naming the value, nothing listening.
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CLI, IN_CI } from '../net/lab.js';

const why = existsSync(CLI) ? '' : `${CLI} is missing: run \`npm run build\``;

describe.skipIf(why !== '' && !IN_CI)('qkvm web: input', () => {
  const run = (args: string[]) => {
    const home = mkdtempSync(path.join(os.tmpdir(), 'qkvm-webcli-'));
    return execa('node', [CLI, 'web', ...args], { env: { QKVM_HOME: path.join(home, 'h'), QKVM_RUN: path.join(home, 'r') }, reject: false, timeout: 30_000 })
      .finally(() => rmSync(home, { recursive: true, force: true }));
  };

  it('a non-loopback --listen without --allow-remote is refused, with the line that allows it', async () => {
    const r = await run(['--listen', '0.0.0.0:0']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/--listen 0\.0\.0\.0: not a loopback address/);
    expect(r.stderr).toMatch(/qkvm web --listen 0\.0\.0\.0:8080 --allow-remote/);
    expect(r.stdout).not.toMatch(/token=/);
  });

  it('a --listen that is not ADDRESS:PORT is refused by name', async () => {
    const r = await run(['--listen', 'example.com:80']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('"example.com"');
  });
});
