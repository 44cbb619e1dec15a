// Shared by the storage integration tests: run the built CLI with a private
// QKVM_HOME/QKVM_RUN, and hold an image open in a bare QEMU so that its lock is real.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { QmpClient } from '../../src/qmp/client.js';

export const REPO = resolve(fileURLToPath(import.meta.url), '../../..');
export const CLI = join(REPO, 'dist/src/cli/main.js');
export const IN_CI = !!process.env.CI;

export function commandExists(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** Why these tests cannot run here, or '' (in CI a reason is a failure, not a skip). */
export function missingTools(tools: string[]): string {
  const missing = tools.filter((t) => !commandExists(t));
  if (!existsSync(CLI)) missing.push(`${CLI} (run npm run build)`);
  return missing.length ? `missing on this host: ${missing.join(', ')}` : '';
}

export interface Run { exitCode: number; stdout: string; stderr: string }

export function cli(env: { home: string; run: string }) {
  return async (...args: string[]): Promise<Run> => {
    const r = await execa('node', [CLI, ...args], {
      reject: false,
      env: { QKVM_HOME: env.home, QKVM_RUN: env.run, CI: '' },
      timeout: 600_000,
    });
    return { exitCode: r.exitCode ?? -1, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
}

/**
 * A bare QEMU that opens `image` read-write and stops before running any guest
 * code (-S): QEMU takes the image's locks at open. Registered as guest `name`
 * in QKVM_RUN so that qkvm can name it.
 */
export async function holdImage(runDir: string, name: string, image: string, format: 'qcow2' | 'raw'): Promise<{ proc: ChildProcess; stop: () => Promise<void> }> {
  const dir = join(runDir, name);
  mkdirSync(dir, { recursive: true });
  const sock = join(dir, 'qmp.sock');
  const proc = spawn('qemu-system-x86_64', [
    '-accel', 'tcg', '-S', '-nodefaults', '-display', 'none', '-machine', 'pc',
    '-blockdev', `driver=file,node-name=f,filename=${image}`,
    '-blockdev', `driver=${format},node-name=d,file=f`,
    '-device', 'virtio-blk-pci,drive=d,id=vda',
    '-qmp', `unix:${sock},server=on,wait=off`,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (b) => { stderr += b; });
  writeFileSync(join(dir, 'qemu.pid'), `${proc.pid}\n`);
  // The monitor answers only after the command line, blockdevs included, was processed.
  const qmp = new QmpClient();
  try {
    await qmp.connect(sock, { retryUntil: Date.now() + 30_000, timeoutMs: 30_000 });
  } catch (e) {
    proc.kill('SIGKILL');
    throw new Error(`bare QEMU did not start: ${stderr || (e as Error).message}`);
  }
  await qmp.close();
  return {
    proc,
    stop: () => new Promise<void>((res) => {
      if (proc.exitCode !== null || proc.signalCode) return res();
      proc.once('exit', () => res());
      proc.kill('SIGKILL');
    }),
  };
}
