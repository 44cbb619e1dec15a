// Shared by the storage integration tests: run the built CLI with a private
// QKVM_HOME/QKVM_RUN, and hold an image open in a bare QEMU so that its lock is real.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import net from 'node:net';
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
  const dir = join(runDir, 'vms', name);
  mkdirSync(dir, { recursive: true });
  const sock = join(dir, 'qmp.sock');
  const pidFile = join(dir, 'qemu.pid');
  const proc = spawn('qemu-system-x86_64', [
    '-accel', 'tcg', '-S', '-nodefaults', '-display', 'none', '-machine', 'pc',
    '-blockdev', `driver=file,node-name=f,filename=${image}`,
    '-blockdev', `driver=${format},node-name=d,file=f`,
    '-device', 'virtio-blk-pci,drive=d,id=vda',
    '-qmp', `unix:${sock},server=on,wait=off`,
    // QEMU writes and write-locks its own pidfile: the witness qkvm trusts for liveness.
    '-pidfile', pidFile,
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr!.on('data', (b) => { stderr += b; });
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

/**
 * The serial console of a qkvm guest: output read from run/NAME/serial.log
 * (which holds everything since the start), input typed into run/NAME/serial.sock.
 */
export class GuestConsole {
  private seq = 0;
  constructor(private runDir: string, private name: string) {}

  text(): string {
    try { return readFileSync(join(this.runDir, 'vms', this.name, 'serial.log'), 'utf8'); } catch { return ''; }
  }

  /** Waits for the guest's own output, never a fixed time. */
  async waitFor(re: RegExp, from = 0, timeoutMs = 90_000): Promise<RegExpMatchArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = this.text().slice(from).match(re);
      if (m) return m;
      if (Date.now() > deadline) throw new Error(`guest ${this.name}: no ${re} within ${timeoutMs} ms; console tail:\n${this.text().slice(-1500)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  async type(line: string): Promise<void> {
    await new Promise<void>((res, rej) => {
      const s = net.connect(join(this.runDir, 'vms', this.name, 'serial.sock'));
      s.once('error', rej);
      s.once('connect', () => s.end(`${line}\n`, () => res()));
    });
  }

  /** Boots to the demo guest's shell. */
  async ready(): Promise<void> {
    await this.waitFor(/QKVM-DEMO-READY/);
    await this.waitFor(/QKVM-DISK vda (present|absent)/);
    await this.waitFor(/demo# /);
  }

  /**
   * Runs a shell command and waits until it is done. The marker is written split
   * in the command (DO''NE) so that the console's echo of the typed line never matches.
   */
  async run(cmd: string, timeoutMs = 60_000): Promise<string> {
    const n = ++this.seq;
    const from = this.text().length;
    await this.type(`${cmd}; echo "DO""NE-${n}"`);
    await this.waitFor(new RegExp(`\\nDONE-${n}\\b`), from, timeoutMs);
    return this.text().slice(from);
  }

  /** Writes `marker` at the start of a block device, through to the device. */
  async writeMarker(dev: string, marker: string): Promise<void> {
    await this.run(`printf '%s' '${marker}' | dd of=${dev} bs=32 count=1 conv=sync 2>/dev/null; sync`);
  }

  /** Reads the start of a block device, past the guest's page cache. */
  async readMarker(dev: string): Promise<string> {
    const out = await this.run(`echo 3 > /proc/sys/vm/drop_caches; echo "R=$(dd if=${dev} bs=32 count=1 2>/dev/null | tr -d '\\000')=R"`);
    const m = out.match(/R=([A-Za-z0-9-]*)=R/);
    if (!m) throw new Error(`guest ${this.name}: no marker read from ${dev}:\n${out}`);
    return m[1];
  }
}
