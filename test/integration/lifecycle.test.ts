// The whole life of a guest with real QEMU under TCG: start, list, info,
// console, passthroughs, suspend/resume, reboot, reset, ACPI and forced
// shutdown, destroy, a failed start, two concurrent starts, and recovery after
// kill -9 of QEMU and of qkvm itself.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { cli, CLI, IN_CI, missingTools } from '../storage/helpers.js';
import { DEMO_DIR, Serial } from '../net/lab.js';
import { qemuPids } from '../migrate/harness.js';

const why = missingTools(['qemu-system-x86_64']);
if (why && !IN_CI) console.warn(`lifecycle: skipped: ${why}`);

describe.skipIf(why !== '' && !IN_CI)('guest lifecycle', () => {
  const home = mkdtempSync(join(tmpdir(), 'qkvm-life-home-'));
  const run = mkdtempSync(join(tmpdir(), 'qkvm-life-run-'));
  const qkvm = cli({ home, run });
  const define = async (name: string, extra = '') => {
    const file = join(home, `${name}.yaml`);
    writeFileSync(file, `name: ${name}\nmemory: 160M\naccel: tcg\nkernel: ${DEMO_DIR}/vmlinuz\ninitrd: ${DEMO_DIR}/initrd.img\nappend: console=ttyS0 panic=-1 quiet\n${extra}`);
    const r = await qkvm('define', file);
    expect(r.exitCode, r.stderr).toBe(0);
  };
  /** Starts paused, attaches the console, then resumes: nothing the guest prints is missed. */
  const boot = async (name: string): Promise<Serial> => {
    const r = await qkvm('start', name, '--paused');
    expect(r.exitCode, r.stderr).toBe(0);
    const serial = await Serial.connect(join(run, 'vms', name, 'serial.sock'));
    expect((await qkvm('resume', name)).exitCode).toBe(0);
    await serial.waitFor(/QKVM-DEMO-READY kernel=\S+/);
    return serial;
  };

  beforeAll(async () => {
    if (why) throw new Error(why);
    await define('life');
  });
  afterAll(() => {
    for (const pid of qemuPids(run)) { try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ } }
    rmSync(home, { recursive: true, force: true });
    rmSync(run, { recursive: true, force: true });
  });

  let serial: Serial;

  it('starts in the background and returns once the guest runs', async () => {
    const r = await qkvm('start', 'life');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/is running \(pid \d+\)/);
    expect(qemuPids(run)).toHaveLength(1);
    for (const f of ['qmp.sock', 'serial.sock', 'qemu.pid', 'serial.log', 'qemu.log']) expect(existsSync(join(run, 'vms', 'life', f)), f).toBe(true);
    // Everything the guest prints is logged, even with no console attached.
    const deadline = Date.now() + 90_000;
    while (!/QKVM-DEMO-READY/.test(readFileSync(join(run, 'vms', 'life', 'serial.log'), 'utf8'))) {
      if (Date.now() > deadline) throw new Error('no ready marker in serial.log');
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  it('lists it, with --json, and shows it with info (and the dominfo alias)', async () => {
    const list = JSON.parse((await qkvm('list', '--json')).stdout);
    expect(list).toHaveLength(1);
    expect(list[0]).toMatchObject({ name: 'life', state: 'running', memoryBytes: 160 * 2 ** 20, vcpus: 1 });
    const info = JSON.parse((await qkvm('info', 'life', '--json')).stdout);
    expect(info.pid).toBe(qemuPids(run)[0]);
    expect(info.qmpSocket).toBe(join(run, 'vms', 'life', 'qmp.sock'));
    expect(info.rssBytes).toBeGreaterThan(0);
    expect(info.cpuTimeSeconds).toBeGreaterThan(0);
    expect(info.uptimeSeconds).toBeGreaterThanOrEqual(0);
    const text = (await qkvm('dominfo', 'life')).stdout;
    expect(text).toMatch(/State:\s+running/);
    expect(text).toMatch(/Memory:\s+160 MiB/);
  });

  it('streams the serial console to a script and types into it', async () => {
    const r = spawnSync('node', [CLI, 'console', 'life', '--until', 'MARK-42', '--timeout', '60'], {
      input: 'echo MARK-$((40+2))\n', encoding: 'utf8', env: { ...process.env, QKVM_HOME: home, QKVM_RUN: run },
    });
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('MARK-42');
    expect((await qkvm('console', 'life', '--replay')).stdout).toContain('QKVM-DEMO-READY');
  });

  it('is interactive on a terminal, and Ctrl-] detaches', async () => {
    // script(1) gives the console a real pseudo-terminal, as a person's shell would.
    const p = spawn('script', ['-qfec', `node ${CLI} console life`, '/dev/null'], { env: { ...process.env, QKVM_HOME: home, QKVM_RUN: run } });
    let out = '';
    p.stdout.on('data', (d) => { out += d; });
    const exited = new Promise<number | null>((r) => p.on('exit', r));
    const until = async (re: RegExp) => {
      const deadline = Date.now() + 30_000;
      while (!re.test(out)) {
        if (Date.now() > deadline) throw new Error(`no ${re} on the terminal:\n${out}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await until(/Escape character is \^\]/);
    p.stdin.write('echo TTY-$((6*7))\r'); // raw mode: Enter is a carriage return
    await until(/TTY-42/);
    p.stdin.write('\x1d');
    expect(await exited).toBe(0);
    expect(out).toMatch(/detached/);
    // Detaching leaves the guest running, and the console free for the next client.
    expect((await qkvm('domstate', 'life')).stdout.trim()).toBe('running');
  });

  it('passes HMP and QMP commands through', async () => {
    expect((await qkvm('monitor', 'life', 'info', 'status')).stdout).toMatch(/VM status: running/);
    const q = await qkvm('qmp', 'life', '{"execute":"query-status"}');
    expect(JSON.parse(q.stdout)).toMatchObject({ status: 'running', running: true });
    const bad = await qkvm('qmp', 'life', '{"execute":"no-such-command"}');
    expect(bad.exitCode).not.toBe(0);
    expect(bad.stderr).toMatch(/CommandNotFound|not found/);
    const notJson = await qkvm('qmp', 'life', '{oops');
    expect(notJson.exitCode).toBe(2);
    expect(notJson.stderr).toContain('{oops');
  });

  it('suspends and resumes', async () => {
    expect((await qkvm('suspend', 'life')).exitCode).toBe(0);
    expect((await qkvm('domstate', 'life')).stdout.trim()).toBe('paused');
    expect((await qkvm('resume', 'life')).exitCode).toBe(0);
    expect((await qkvm('domstate', 'life')).stdout.trim()).toBe('running');
  });

  it('reboots (Ctrl-Alt-Del) and resets: the guest boots again', async () => {
    serial = await Serial.connect(join(run, 'vms', 'life', 'serial.sock'));
    let from = serial.text.length;
    const r = await qkvm('reboot', 'life');
    expect(r.exitCode, r.stderr).toBe(0);
    await serial.waitFor(/QKVM-DEMO-READY/, 90_000, from);
    from = serial.text.length;
    expect((await qkvm('reset', 'life')).exitCode).toBe(0);
    await serial.waitFor(/QKVM-DEMO-READY/, 90_000, from);
    expect(qemuPids(run)).toHaveLength(1);
  });

  it('shuts down over ACPI: the guest powers itself off', async () => {
    const from = serial.text.length;
    const r = await qkvm('shutdown', 'life', '--timeout', '60');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/shut off .*\(powerdown\)/);
    await serial.waitFor(/QKVM-POWEROFF/, 10_000, from).catch(() => undefined);
    expect(serial.text.slice(from)).toContain('QKVM-POWEROFF');
    serial.close();
    expect(qemuPids(run)).toHaveLength(0);
    expect((await qkvm('domstate', 'life')).stdout.trim()).toBe('shut off');
    expect(existsSync(join(run, 'vms', 'life', 'qmp.sock'))).toBe(false);
  });

  it('fails a shutdown the guest ignores, and forces it with --force', async () => {
    // A paused guest cannot see the power button.
    expect((await qkvm('start', 'life', '--paused')).exitCode).toBe(0);
    const soft = await qkvm('shutdown', 'life', '--timeout', '2');
    expect(soft.exitCode).toBe(1);
    expect(soft.stderr).toMatch(/did not power off within 2 s/);
    expect(soft.stderr).toMatch(/paused/);
    expect(qemuPids(run)).toHaveLength(1);
    const hard = await qkvm('shutdown', 'life', '--timeout', '2', '--force');
    expect(hard.exitCode, hard.stderr).toBe(0);
    expect(hard.stderr).toMatch(/powerdown -> quit/);
    expect(qemuPids(run)).toHaveLength(0);
  });

  it('forces a QEMU that does not answer at all: quit, then SIGTERM, then SIGKILL', async () => {
    expect((await qkvm('start', 'life', '--paused')).exitCode).toBe(0);
    const [pid] = qemuPids(run);
    // A stopped process answers nothing and ignores SIGTERM until it runs again; SIGKILL still ends it.
    process.kill(pid, 'SIGSTOP');
    const soft = await qkvm('shutdown', 'life', '--timeout', '1');
    expect(soft.exitCode).toBe(1);
    expect(soft.stderr).toMatch(/use --force/);
    const hard = await qkvm('shutdown', 'life', '--timeout', '1', '--force');
    expect(hard.exitCode, hard.stderr).toBe(0);
    expect(hard.stderr).toMatch(/escalating: quit[\s\S]*escalating: SIGTERM[\s\S]*escalating: SIGKILL/);
    expect(hard.stderr).toMatch(/powerdown -> quit -> SIGTERM -> SIGKILL/);
    expect(qemuPids(run)).toHaveLength(0);
    expect((await qkvm('domstate', 'life')).stdout.trim()).toBe('shut off');
  });

  it('destroys a running guest', async () => {
    serial = await boot('life');
    serial.close();
    const r = await qkvm('destroy', 'life');
    expect(r.exitCode, r.stderr).toBe(0);
    expect(qemuPids(run)).toHaveLength(0);
    expect((await qkvm('list', '--all', '--json')).stdout).toMatch(/"state": "shut off"/);
    expect((await qkvm('destroy', 'life')).exitCode).toBe(1);
  });

  it("shows QEMU's own message when QEMU fails to start, and leaves nothing behind", async () => {
    await define('broken', 'extraArgs: ["-device", "no-such-device-model"]\n');
    expect((await qkvm('trust', 'broken', '--allow-extra-args')).exitCode).toBe(0);
    const r = await qkvm('start', 'broken');
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toMatch(/QEMU could not start guest "broken"/);
    expect(r.stderr).toMatch(/'no-such-device-model' is not a valid device model name/);
    expect(existsSync(join(run, 'broken'))).toBe(false);
    expect(existsSync(join(run, 'locks', 'vm', 'broken.lock'))).toBe(false);
    expect(qemuPids(run)).toHaveLength(0);
    expect((await qkvm('undefine', 'broken')).exitCode).toBe(0);
  });

  it('two concurrent starts give exactly one QEMU and one clear error', async () => {
    const [a, b] = await Promise.all([qkvm('start', 'life'), qkvm('start', 'life')]);
    const codes = [a.exitCode, b.exitCode].sort();
    expect(codes).toEqual([0, 1]);
    const loser = a.exitCode ? a : b;
    expect(loser.stderr).toMatch(/is busy: starting the guest|is already running/);
    expect(qemuPids(run)).toHaveLength(1);
  });

  it('recovers after kill -9 of QEMU: crashed, cleaned, and start works again', async () => {
    const [pid] = qemuPids(run);
    process.kill(pid, 'SIGKILL');
    // Reading says so and changes nothing; start (under the lock) cleans up.
    const st = await qkvm('domstate', 'life');
    expect(st.stdout).toMatch(/^crashed/);
    expect(existsSync(join(run, 'vms', 'life', 'qemu.pid'))).toBe(true);
    expect((await qkvm('list', '--all')).stdout).toMatch(/life\s+crashed/);
    expect(existsSync(join(run, 'vms', 'life', 'qemu.pid'))).toBe(true);
    const again = await qkvm('start', 'life');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(qemuPids(run)).toHaveLength(1);
    expect((await qkvm('destroy', 'life')).exitCode).toBe(0);
  });

  it('recovers after kill -9 of qkvm in the middle of a start', async () => {
    // Freeze qkvm (SIGSTOP) once QEMU is up and the start is still under way, check
    // that it really is mid-start, then kill -9 it: the outcome is then certain.
    const marker = join(run, 'vms', 'life', 'starting');
    let caught = false;
    for (let attempt = 0; attempt < 5 && !caught; attempt++) {
      const child = spawn('node', [CLI, 'start', 'life'], { env: { ...process.env, QKVM_HOME: home, QKVM_RUN: run }, stdio: 'ignore' });
      const exited = new Promise((r) => child.once('exit', r));
      const deadline = Date.now() + 30_000;
      while (!(existsSync(marker) && qemuPids(run).length === 1) && Date.now() < deadline && child.exitCode === null) await new Promise((r) => setTimeout(r, 5));
      child.kill('SIGSTOP');
      caught = existsSync(marker) && qemuPids(run).length === 1;
      child.kill('SIGKILL');
      await exited;
      if (!caught) await qkvm('destroy', 'life');
    }
    expect(caught, 'never caught qkvm in the middle of a start').toBe(true);
    // Reading finds the half-done start and leaves it; `qkvm recover` removes its QEMU and files.
    const st = await qkvm('domstate', 'life');
    expect(st.stdout).toMatch(/^needs recovery \(an interrupted start left QEMU pid \d+ half set up/);
    expect(qemuPids(run)).toHaveLength(1);
    const rec = await qkvm('recover', 'life');
    expect(rec.exitCode, rec.stderr).toBe(0);
    expect(rec.stderr).toMatch(/killed QEMU pid \d+, left half set up by an interrupted start/);
    expect(qemuPids(run)).toHaveLength(0);
    expect(existsSync(join(run, 'vms', 'life'))).toBe(false);
    const again = await qkvm('start', 'life');
    expect(again.exitCode, again.stderr).toBe(0);
    expect(qemuPids(run)).toHaveLength(1);
    expect((await qkvm('destroy', 'life')).exitCode).toBe(0);
    expect(qemuPids(run)).toHaveLength(0);
  });

});
