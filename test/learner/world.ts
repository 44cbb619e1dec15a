// A newcomer's shell: a fresh QKVM_HOME and QKVM_RUN (a new home), a `qkvm` on
// PATH that runs this build, and a working directory. Lines run through real
// bash, as a learner types them.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { CLI } from '../net/lab.js';

export interface Shell { code: number; stdout: string; stderr: string }

export interface LearnerWorld {
  dir: string;
  home: string;
  run: string;
  env: Record<string, string>;
  sh(line: string, opts?: { timeoutMs?: number; env?: Record<string, string> }): Promise<Shell>;
  /** vms/NAME.yaml, parsed. */
  definition(name: string): any;
  cleanup(): void;
}

export function learnerWorld(prefix = 'qkvm-learner-'): LearnerWorld {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  const home = path.join(dir, 'home'), run = path.join(dir, 'run'), bin = path.join(dir, 'bin'), cwd = path.join(dir, 'work');
  // The home itself is not made: `qkvm` must make what it needs in a new one.
  mkdirSync(bin); mkdirSync(cwd);
  mkdirSync(run, { mode: 0o700 });
  writeFileSync(path.join(bin, 'qkvm'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`);
  chmodSync(path.join(bin, 'qkvm'), 0o755);
  const env = { PATH: `${bin}:${process.env.PATH}`, QKVM_HOME: home, QKVM_RUN: run };
  return {
    dir: cwd, home, run, env,
    sh(line, opts = {}) {
      return new Promise((resolve, reject) => {
        const child = spawn('bash', ['-c', line], { cwd, env: { ...process.env, ...env, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
        let stdout = '', stderr = '';
        child.stdout.on('data', (d) => { stdout += d; });
        child.stderr.on('data', (d) => { stderr += d; });
        const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`timed out: ${line}\n${stderr}`)); }, opts.timeoutMs ?? 120_000);
        child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr }); });
      });
    },
    definition: (name) => YAML.parse(readFileSync(path.join(home, 'vms', `${name}.yaml`), 'utf8')),
    cleanup() { rmSync(dir, { recursive: true, force: true }); },
  };
}

/** Fails with the command's output when it did not succeed. */
export function ok(r: Shell, what: string): Shell {
  if (r.code !== 0) throw new Error(`${what} failed (${r.code}):\n${r.stdout}\n${r.stderr}`);
  return r;
}
