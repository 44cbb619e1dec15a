// What `qkvm cmdline demo` prints is what a person can paste into a shell: run
// exactly that text with bash, and the demo guest boots to its ready marker.
// The --explain form (a commented bash array) must run the same way.
import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { cli, IN_CI, missingTools } from '../storage/helpers.js';
import { DEMO_DIR } from '../net/lab.js';

const why = missingTools(['qemu-system-x86_64']);
if (why && !IN_CI) console.warn(`cmdline-boot: skipped: ${why}`);

async function waitForFile(path: string, re: RegExp, timeoutMs: number): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const text = existsSync(path) ? readFileSync(path, 'utf8') : '';
    if (re.test(text)) return text;
    if (Date.now() > deadline) throw new Error(`${re} did not appear in ${path}:\n${text.slice(-1500)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.skipIf(why !== '' && !IN_CI)('qkvm cmdline, pasted into a shell', () => {
  const home = mkdtempSync(join(tmpdir(), 'qkvm-cmd-home-'));
  const run = mkdtempSync(join(tmpdir(), 'qkvm-cmd-run-'));
  const qkvm = cli({ home, run });
  const pids: number[] = [];

  afterAll(() => {
    for (const p of pids) { try { process.kill(p, 'SIGKILL'); } catch { /* gone */ } }
    rmSync(home, { recursive: true, force: true });
    rmSync(run, { recursive: true, force: true });
  });

  for (const explain of [false, true]) {
    it(`boots the demo guest from the ${explain ? '--explain' : 'plain'} output`, async () => {
      if (why) throw new Error(why);
      // The demo template points at QKVM_HOME/cache/demo: link the shared test build there.
      mkdirSync(join(home, 'cache'), { recursive: true });
      if (!existsSync(join(home, 'cache', 'demo'))) await execa('ln', ['-s', DEMO_DIR, join(home, 'cache', 'demo')]);
      if (!existsSync(join(home, 'vms', 'demo.yaml'))) {
        const c = await qkvm('create', 'demo', '--template', 'demo', '--accel', 'tcg');
        expect(c.exitCode, c.stderr).toBe(0);
      }
      const printed = await qkvm('cmdline', 'demo', ...(explain ? ['--explain'] : []));
      expect(printed.exitCode, printed.stderr).toBe(0);
      expect(printed.stdout).toMatch(/^qemu-system-x86_64|qemu_args=\(/);
      if (explain) expect(printed.stdout).toMatch(/# .*virtio memory balloon/i);
      // qkvm would create the run directory and then send `cont`; a person pastes the text and types `cont`.
      mkdirSync(join(run, 'vms', 'demo'), { recursive: true });
      const r = await execa('bash', ['-c', printed.stdout], { reject: false });
      expect(r.exitCode, r.stderr).toBe(0);
      pids.push(Number(readFileSync(join(run, 'vms', 'demo', 'qemu.pid'), 'utf8')));
      const cont = await qkvm('qmp', 'demo', '{"execute":"cont"}');
      expect(cont.exitCode, cont.stderr).toBe(0);
      await waitForFile(join(run, 'vms', 'demo', 'serial.log'), /QKVM-DEMO-READY kernel=\S+/, 120_000);
      expect((await qkvm('destroy', 'demo')).exitCode).toBe(0);
      rmSync(join(run, 'vms', 'demo'), { recursive: true, force: true });
    });
  }
});
