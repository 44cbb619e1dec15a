// Shared by the memory, vCPU, save and migration integration tests: private
// qkvm state, demo guests booted through the CLI and driven on their serial
// console, and a sweep that kills every QEMU a test left.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cli, IN_CI, missingTools, type Run } from '../storage/helpers.js';
import { DEMO_DIR, Serial } from '../net/lab.js';

export { IN_CI, Serial, DEMO_DIR };

/** Why these tests cannot run here ('' if they can); in CI a reason is a failure. */
export const whyNot = () => missingTools(['qemu-system-x86_64', 'taskset']);

/** Every live QEMU whose command line mentions `dir`. */
export function qemuPids(dir: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8');
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (cmd.startsWith('qemu-system') && cmd.includes(dir) && !/\) [ZX] /.test(stat)) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

export class State {
  readonly home: string;
  readonly run: string;
  readonly qkvm: (...args: string[]) => Promise<Run>;
  private consoles: Serial[] = [];

  constructor(prefix: string, dirs?: { home: string; run: string }) {
    this.home = dirs?.home ?? mkdtempSync(join(tmpdir(), `qkvm-${prefix}-home-`));
    this.run = dirs?.run ?? mkdtempSync(join(tmpdir(), `qkvm-${prefix}-run-`));
    this.qkvm = cli({ home: this.home, run: this.run });
  }

  /** Runs qkvm and fails the test with its stderr unless it exits 0. */
  async ok(...args: string[]): Promise<Run> {
    const r = await this.qkvm(...args);
    if (r.exitCode !== 0) throw new Error(`qkvm ${args.join(' ')} exited ${r.exitCode}:\n${r.stderr}`);
    return r;
  }

  async define(name: string, extra: Record<string, unknown> = {}): Promise<void> {
    const spec = {
      name, memory: '192M', accel: 'tcg', kernel: join(DEMO_DIR, 'vmlinuz'), initrd: join(DEMO_DIR, 'initrd.img'),
      append: 'console=ttyS0 panic=-1 quiet', nics: [], ...extra,
    };
    const file = join(this.home, `${name}.def.yaml`);
    writeFileSync(file, JSON.stringify(spec)); // JSON is YAML
    await this.ok('define', file);
  }

  async console(name: string): Promise<Serial> {
    const s = await Serial.connect(join(this.run, 'vms', name, 'serial.sock'));
    this.consoles.push(s);
    return s;
  }

  /** Starts paused, attaches the console, resumes: the ready marker cannot be missed. Returns at the shell prompt. */
  async boot(name: string): Promise<Serial> {
    await this.ok('start', name, '--paused');
    const s = await this.console(name);
    await this.ok('resume', name);
    await s.waitFor(/QKVM-DEMO-READY kernel=\S+/);
    await s.waitFor(/demo# /);
    return s;
  }

  pid(name: string): number {
    return Number(readFileSync(join(this.run, 'vms', name, 'qemu.pid'), 'utf8').trim());
  }

  cleanup(): void {
    for (const c of this.consoles) c.close();
    for (const dir of [this.run, this.home]) {
      for (const pid of qemuPids(dir)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    }
    rmSync(this.home, { recursive: true, force: true });
    rmSync(this.run, { recursive: true, force: true });
  }
}

/** The shell loop the tests use to see that a guest continued instead of rebooting (in braces, so Serial.run can append to it). */
export const COUNTER = '{ i=0; while true; do i=$((i+1)); echo COUNT=$i; sleep 1; done & }';

/** The highest COUNT=N in `text` (0 if none). */
export function lastCount(text: string): number {
  let n = 0;
  for (const m of text.matchAll(/COUNT=(\d+)/g)) n = Math.max(n, Number(m[1]));
  return n;
}
