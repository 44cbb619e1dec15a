// qkvm on another host over ssh, for real: two network namespaces with their
// own qkvm state, Debian's sshd in B, and qkvm in A reaching B only through it.
// --connect runs list, start, console and destroy there with the same output
// and exit codes; `migrate NAME b` moves a running demo guest whose counter
// keeps counting; --copy-storage --tunnel moves a guest whose disk exists only
// in A, and a marker written before the move reads back after it.
import { execa } from 'execa';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COUNTER, lastCount, qemuPids, Serial } from '../migrate/harness.js';
import { IN_CI, missingPrerequisites } from '../net/lab.js';
import { CLI } from '../net/lab.js';
import { B_ADDR, SSH_PORT, TwoHosts } from './hosts.js';

const why = missingPrerequisites() || (existsSync('/usr/sbin/sshd') ? '' : 'sshd is missing (apt-get install openssh-server)');
if (why && !IN_CI) console.warn(`remote: skipped: ${why}`);

describe.skipIf(why !== '' && !IN_CI)('remote hosts over ssh', () => {
  const h = new TwoHosts();
  const consoles: Serial[] = [];
  const serialOf = async (run: string, name: string) => {
    const s = await Serial.connect(join(run, 'vms', name, 'serial.sock'));
    consoles.push(s);
    return s;
  };
  /** Starts paused in A, attaches the console, resumes: returns at the shell prompt. */
  const bootInA = async (name: string) => {
    await h.qkvmA(['start', name, '--paused']);
    const s = await serialOf(h.aRun, name);
    await h.qkvmA(['resume', name]);
    await s.waitFor(/demo# /);
    return s;
  };

  beforeAll(async () => {
    if (why) throw new Error(why);
    await h.setup();
  });
  afterAll(async () => {
    for (const c of consoles) c.close();
    await h.cleanup();
  });

  it('--connect runs define, start, list, console and destroy on the far side, with its output and exit codes', { timeout: 300_000 }, async () => {
    await h.qkvmA(['--connect', 'b', 'define', h.demoDefinition('g1')]);
    expect(existsSync(join(h.bHome, 'vms', 'g1.yaml'))).toBe(true);
    expect(existsSync(join(h.aHome, 'vms', 'g1.yaml'))).toBe(false);

    await h.qkvmA(['--connect', 'b', 'start', 'g1']);
    expect((await h.qkvmB(['domstate', 'g1'])).stdout.trim()).toBe('running');
    expect(qemuPids(h.bRun)).toHaveLength(1);
    expect(qemuPids(h.aRun)).toEqual([]);

    // The same JSON as B's own qkvm prints (the CPU time moves on between the two calls).
    const there = JSON.parse((await h.qkvmA(['--connect', 'b', 'list', '--json'])).stdout);
    const local = JSON.parse((await h.qkvmB(['list', '--json'])).stdout);
    expect(there.map((g: any) => [g.name, g.state])).toEqual([['g1', 'running']]);
    expect(Object.keys(there[0]).sort()).toEqual(Object.keys(local[0]).sort());
    expect(JSON.parse((await h.qkvmA(['list', '--json'])).stdout)).toEqual([]);

    // The console, through ssh: --until waits for the prompt there, --exec runs a command and returns its status.
    // (A newline typed through ssh makes the guest print its prompt again.)
    const until = await h.qkvmA(['--connect', 'b', 'console', 'g1', '--until', 'demo#', '--timeout', '90'], { reject: false, input: '\n' });
    expect(until.code, until.stderr).toBe(0);
    const ex = await h.qkvmA(['--connect', 'b', 'console', 'g1', '--exec', 'echo FAR-$((6*7)); hostname; false'], { reject: false });
    expect(ex.stdout).toContain('FAR-42');
    expect(ex.code).toBe(1);

    // An error there is the same error here: message and exit code.
    const far = await h.qkvmA(['--connect', 'b', 'start', 'no-such-guest'], { reject: false });
    const near = await h.qkvmB(['start', 'no-such-guest'], { reject: false });
    expect(far.code).toBe(near.code);
    expect(far.code).not.toBe(0);
    expect(far.stderr).toContain(near.stderr.trim().split('\n')[0]);
    const bad = await h.qkvmA(['--connect', 'b', 'start', '../etc'], { reject: false });
    expect(bad.code).toBe(2);

    await h.qkvmA(['--connect', 'b', 'destroy', 'g1']);
    expect((await h.qkvmB(['domstate', 'g1'])).stdout.trim()).toBe('shut off');
    expect(qemuPids(h.bRun)).toEqual([]);
  });

  it('--connect with a URI, QKVM_CONNECT and virsh\'s qemu+ssh:// reach the same host; qemu:///system stays here', async () => {
    const uri = `ssh://root@${B_ADDR}:${SSH_PORT}`;
    // A URI needs ssh's own key and known_hosts settings: here through the environment's ssh options is not possible, so use the remote's.
    const named = await h.qkvmA(['--connect', 'b', 'list', '--all', '--json']);
    expect(JSON.parse(named.stdout).map((g: any) => g.name)).toEqual(['g1']);
    const env = await h.a.exec(['env', `QKVM_CONNECT=b`, `QKVM_HOME=${h.aHome}`, `QKVM_RUN=${h.aRun}`, 'node', CLI, 'list', '--all', '--json']);
    expect(JSON.parse(env.stdout).map((g: any) => g.name)).toEqual(['g1']);
    // remote add|list stay on this host even with QKVM_CONNECT.
    const remotes = await h.a.exec(['env', 'QKVM_CONNECT=b', `QKVM_HOME=${h.aHome}`, `QKVM_RUN=${h.aRun}`, 'node', CLI, 'remote', 'list', '--json']);
    expect(JSON.parse(remotes.stdout)).toEqual([expect.objectContaining({ name: 'b', uri })]);
    const local = await h.qkvmA(['-c', 'qemu:///system', 'list', '--all', '--json']);
    expect(JSON.parse(local.stdout)).toEqual([]);
    expect(local.stderr).toMatch(/qkvm runs QEMU on this host directly/);
  });

  it('doctor --connect checks the far side: reachable, qkvm there and its version', async () => {
    const version = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')).version;
    const r = await h.qkvmA(['--connect', 'b', 'doctor'], { reject: false });
    expect(r.stdout).toContain(`remote: ssh://root@${B_ADDR}:${SSH_PORT} answers over ssh; its qkvm is ${version} (here: ${version})`);
    // A host without qkvm, and a host that does not answer: each says so, exit 1.
    await h.qkvmA(['remote', 'add', 'noqkvm', `ssh://root@${B_ADDR}:${SSH_PORT}`, '--identity', h.key, '--known-hosts', h.knownHosts, '--qkvm', '/nonexistent/qkvm']);
    const none = await h.qkvmA(['--connect', 'noqkvm', 'doctor'], { reject: false });
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/qkvm is not installed there/);
    await h.qkvmA(['remote', 'add', 'gone', `ssh://root@10.77.0.9:${SSH_PORT}`, '--identity', h.key, '--known-hosts', h.knownHosts]);
    const gone = await h.qkvmA(['--connect', 'gone', 'list'], { reject: false });
    expect(gone.code).toBe(1);
    expect(gone.stderr).toMatch(/cannot reach ssh:\/\/root@10\.77\.0\.9:2222 over ssh/);
    const badUri = await h.qkvmA(['--connect', 'ssh://ro;ot@x', 'list'], { reject: false });
    expect(badUri.code).toBe(2);
    expect(badUri.stderr).toMatch(/invalid user "ro;ot"/);
  });

  it('migrate NAME b moves a running guest to the far host: its counter keeps counting there', { timeout: 300_000 }, async () => {
    await h.qkvmA(['define', h.demoDefinition('g2')]);
    const s = await bootInA('g2');
    await s.run(COUNTER);
    await s.waitFor(/COUNT=2\b/);
    const before = lastCount(s.text);
    const r = await h.qkvmA(['migrate', 'g2', 'b', '--json']);
    const result = r.stdout.trim().split('\n').map((l) => JSON.parse(l)).at(-1);
    expect(result).toMatchObject({ type: 'result', status: 'completed', host: `ssh://root@${B_ADDR}:${SSH_PORT}`, tunnel: false });
    expect(qemuPids(h.aRun)).toEqual([]);
    expect((await h.qkvmA(['domstate', 'g2'])).stdout.trim()).toBe('shut off');
    expect((await h.qkvmB(['domstate', 'g2'])).stdout.trim()).toBe('running');
    const far = await serialOf(h.bRun, 'g2');
    const m = await far.waitFor(/COUNT=(\d+)\r?\n/, 30_000);
    expect(Number(m[1])).toBeGreaterThan(before);
    await far.waitFor(new RegExp(`COUNT=${Number(m[1]) + 1}\\r?\\n`), 30_000);
    // The far side keeps no migration record once it is done.
    expect(existsSync(join(h.bRun, 'migrations', 'g2.json'))).toBe(false);
    await h.qkvmB(['destroy', 'g2']);
  });

  it('without --copy-storage a disk missing there is refused before anything moves; with it (and --tunnel) the disk goes live', { timeout: 300_000 }, async () => {
    const img = join(h.aHome, 'images', 'g3.qcow2');
    mkdirSync(join(h.aHome, 'images'), { recursive: true, mode: 0o700 });
    await h.qkvmA(['disk', 'create', img, '64M', '--format', 'qcow2']);
    await h.qkvmA(['define', h.demoDefinition('g3', { disks: [{ file: 'g3.qcow2', format: 'qcow2' }] })]);
    const s = await bootInA('g3');
    const w = await s.run('echo QKVM-COPY-MARKER-7 | dd of=/dev/vda bs=512 conv=sync,fsync 2>/dev/null; sync');
    expect(w.status).toBe(0);

    const refused = await h.qkvmA(['migrate', 'g3', 'b'], { reject: false });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/disk vda of "g3" \(.*b-home\/images\/g3\.qcow2\) is not on this host.*the guest stays here/s);
    expect((await h.qkvmA(['domstate', 'g3'])).stdout.trim()).toBe('running');
    expect(existsSync(join(h.bHome, 'vms', 'g3.yaml'))).toBe(false);
    expect(qemuPids(h.bRun)).toEqual([]);

    // Written while the copy runs, too: write-blocking mirror carries it.
    await s.run('(sleep 1; echo QKVM-LATE-MARKER-9 | dd of=/dev/vda bs=512 seek=2048 conv=sync,fsync 2>/dev/null) &');
    const r = await h.qkvmA(['migrate', 'g3', 'b', '--copy-storage', '--tunnel', '--json']);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.some((l) => l.type === 'copy')).toBe(true);
    expect(lines.at(-1)).toMatchObject({ type: 'result', status: 'completed', tunnel: true, copied: [img] });
    expect(qemuPids(h.aRun)).toEqual([]);
    expect((await h.qkvmB(['domstate', 'g3'])).stdout.trim()).toBe('running');
    const farImg = join(h.bHome, 'images', 'g3.qcow2');
    expect(existsSync(farImg)).toBe(true);

    // The guest there reads the marker from its disk (page cache dropped, so from the image).
    const far = await serialOf(h.bRun, 'g3');
    const got = await far.run('echo 3 > /proc/sys/vm/drop_caches; dd if=/dev/vda bs=512 count=1 2>/dev/null; dd if=/dev/vda bs=512 skip=2048 count=1 2>/dev/null');
    expect(got.out).toContain('QKVM-COPY-MARKER-7');
    expect(got.out).toContain('QKVM-LATE-MARKER-9');
    await h.qkvmB(['destroy', 'g3']);
    // And the image itself holds it, read offline.
    const out = join(h.dir, 'g3-first-sector.raw');
    await execa('qemu-img', ['dd', '-f', 'qcow2', '-O', 'raw', `if=${farImg}`, `of=${out}`, 'bs=512', 'count=1']);
    expect(readFileSync(out, 'latin1')).toContain('QKVM-COPY-MARKER-7');
  });
  it('a guest on a qkvm network gets its tap on the far host\'s network of the same name; the near tap goes', { timeout: 300_000 }, async () => {
    for (const q of [h.qkvmA.bind(h), h.qkvmB.bind(h)]) {
      await q(['net', 'define', 'lan', '--mode', 'isolated']);
      await q(['net', 'start', 'lan']);
    }
    await h.qkvmA(['define', h.demoDefinition('g4', { nics: [{ type: 'network', network: 'lan' }] })]);
    await bootInA('g4');
    const portsOf = async (ns: typeof h.a) => (await ns.exec(['ip', '-o', 'link', 'show', 'master', 'qkbr-lan'])).stdout.trim();
    expect(await portsOf(h.a)).not.toBe('');
    expect(await portsOf(h.b)).toBe('');
    await h.qkvmA(['migrate', 'g4', 'b']);
    expect((await h.qkvmB(['domstate', 'g4'])).stdout.trim()).toBe('running');
    expect(await portsOf(h.a)).toBe('');
    expect(await portsOf(h.b)).not.toBe('');
    const far = await serialOf(h.bRun, 'g4');
    const up = await far.run('ip -o link show eth0');
    expect(up.out).toMatch(/LOWER_UP/); // the link has carrier on the far bridge
    await h.qkvmB(['destroy', 'g4']);
    expect(await portsOf(h.b)).toBe('');
  });
  it('--connect b web serves the far console here through an ssh tunnel', { timeout: 180_000 }, async () => {
    const child = execa('ip', ['netns', 'exec', h.a.name, 'node', CLI, '--connect', 'b', 'web', '--listen', '127.0.0.1:0'], {
      reject: false, env: { QKVM_HOME: h.aHome, QKVM_RUN: h.aRun, CI: '' },
    });
    let out = '';
    const url = await new Promise<string>((res, rej) => {
      const t = setTimeout(() => rej(new Error(`no URL from --connect web:\n${out}`)), 60_000);
      child.stdout!.on('data', (d) => {
        out += d;
        const m = /http:\/\/127\.0\.0\.1:\d+\/\S*token=[0-9A-Za-z_-]+/.exec(out);
        if (m) { clearTimeout(t); res(m[0]); }
      });
    });
    try {
      // Here (in A) the page answers on the same port as there, with its token.
      // (The token as a header: the first visit by URL answers with a redirect that sets a cookie.)
      const u = new URL(url);
      const page = await h.a.exec(['node', '-e', `fetch(${JSON.stringify(u.origin + '/')}, { headers: { authorization: 'token ${u.searchParams.get('token')}' } }).then(async (r) => console.log(r.status, (await r.text()).includes('qkvm')))`]);
      expect(page.stdout.trim()).toBe('200 true');
      const port = new URL(url).port;
      const far = await h.b.exec(['sh', '-c', `ps -eo args | grep -c "web --listen 127.0.0.1:${port}" || true`]);
      expect(Number(far.stdout.trim())).toBeGreaterThan(1); // the far qkvm web (and the grep itself)
    } finally {
      child.kill('SIGTERM');
      await child;
    }
  });
});
