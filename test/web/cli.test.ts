// `qkvm web`'s bad input: exit 2, a message naming the value, nothing listening.
import { describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { CLI, IN_CI, missingPrerequisites, Netns } from '../net/lab.js';

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

  it('--allow-remote listens, with a warning that says what it exposes (an address that exists only in a namespace of the test)', async () => {
    const need = missingPrerequisites();
    if (need) throw new Error(need);
    const ns = await new Netns().create();
    const home = mkdtempSync(path.join(os.tmpdir(), 'qkvm-webcli-'));
    try {
      // On the namespace's own lo (this kernel has no dummy links): not a loopback address all the same.
      await ns.exec(['ip', 'addr', 'add', '10.213.0.1/32', 'dev', 'lo']);
      const child = spawn('ip', ['netns', 'exec', ns.name, 'node', CLI, 'web', '--listen', '10.213.0.1:0', '--allow-remote'],
        { env: { ...process.env, QKVM_HOME: path.join(home, 'h'), QKVM_RUN: path.join(home, 'r') }, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout!.on('data', (d) => { out += d; });
      child.stderr!.on('data', (d) => { err += d; });
      const exited = new Promise((r) => child.once('exit', r));
      await expect.poll(() => out, { timeout: 30_000 }).toMatch(/qkvm web console: http:\/\/10\.213\.0\.1:\d+\/\?token=/);
      expect(err).toMatch(/warning: the web console listens on 10\.213\.0\.1:\d+, reachable from other hosts/);
      expect(err).toMatch(/start, stop and destroy every guest, type on their consoles and see their screens/);
      expect(err).toMatch(/plain HTTP/);
      child.kill('SIGTERM');
      await exited;
    } finally {
      await ns.destroy();
      rmSync(home, { recursive: true, force: true });
    }
  });
});
