// The link relay with real QEMU 7.2: two demo guests under TCG, each with one
// NIC of type link, joined by the relay. No network namespace is needed: a
// link is two UNIX sockets in the guests' run directories, so no packet ever
// reaches a host interface. Private QKVM_HOME and QKVM_RUN, as everywhere.
import { execa } from 'execa';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/config/paths.js';
import { capture, ensureRelay, relayFiles, relayMainPath, relayPid, relayState, setImpairment, setLinkUp, stopRelay, type RelayLink } from '../../src/lab/relay.js';
import { NO_IMPAIRMENT } from '../../src/lab/topology.js';
import { CLI, DEMO_DIR, ensureDemoGuest, IN_CI, Serial } from '../net/lab.js';

const has = (cmd: string) => spawnSync('sh', ['-c', `command -v "$1"`, 'sh', cmd], { stdio: 'ignore' }).status === 0;

function missing(): string {
  const tools = ['qemu-system-x86_64', 'tcpdump', 'busybox'].filter((c) => !has(c));
  if (tools.length) return `missing on this host: ${tools.join(', ')} (run scripts/setup-host.sh)`;
  if (!existsSync(CLI) || !existsSync(relayMainPath())) return 'run `npm run build` first';
  return '';
}
const why = missing();
if (why && IN_CI) throw new Error(`relay integration test cannot run in CI: ${why}`);
const suite = why ? describe.skip : describe;
if (why) console.warn(`skipping the relay integration test: ${why}`);

const LAB = 'rl';
const G = ['rl-h1', 'rl-h2'] as const;
const ADDR = ['10.77.0.1', '10.77.0.2'];
const saved = { home: process.env.QKVM_HOME, run: process.env.QKVM_RUN };
let home: string;
let runDir: string;
const consoles: Serial[] = [];
let link: RelayLink;

const env = () => ({ QKVM_HOME: home, QKVM_RUN: runDir, PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' });
const qkvm = (args: string[]) => execa('node', [CLI, ...args], { env: env(), timeout: 300_000 });

/** The RTTs of `count` pings from h1 to h2, as busybox ping prints them (time=N ms per reply). */
async function pings(count = 10): Promise<{ rtts: number[]; mean: number; median: number; out: string }> {
  const r = await consoles[0].run(`ping -c ${count} -i 0.2 -W 3 ${ADDR[1]}`, 120_000);
  const rtts = [...r.out.matchAll(/seq=\d+ ttl=\d+ time=([\d.]+) ms/g)].map((m) => Number(m[1]));
  if (r.status !== 0 || rtts.length !== count) throw new Error(`ping failed (status ${r.status}, ${rtts.length} replies):\n${r.out}`);
  const sorted = [...rtts].sort((x, y) => x - y);
  const median = (sorted[(count - 1) >> 1] + sorted[count >> 1]) / 2;
  return { rtts, mean: rtts.reduce((x, y) => x + y, 0) / count, median, out: r.out };
}

suite('lab links through the relay, with real QEMU', () => {
  beforeAll(async () => {
    ensureDemoGuest();
    home = mkdtempSync(path.join(os.tmpdir(), 'qkvm-relay-home-'));
    runDir = mkdtempSync(path.join(os.tmpdir(), 'qkvm-relay-run-'));
    // The API below computes the same paths as the CLI: the same private state.
    process.env.QKVM_HOME = home;
    process.env.QKVM_RUN = runDir;
    for (const name of G) {
      const spec = {
        name, memory: '128M', accel: 'tcg', balloon: false,
        kernel: path.join(DEMO_DIR, 'vmlinuz'), initrd: path.join(DEMO_DIR, 'initrd.img'), append: 'console=ttyS0 quiet',
        nics: [{ type: 'link', model: 'virtio' }],
      };
      const file = path.join(home, `${name}.yaml`);
      writeFileSync(file, JSON.stringify(spec));
      await qkvm(['define', file]);
    }
    link = { id: 'h1-h2', a: run.linkSocket(G[0], 0), b: run.linkSocket(G[1], 0), impair: { ...NO_IMPAIRMENT }, up: true };
  }, 300_000);

  afterAll(async () => {
    for (const c of consoles) c.close();
    await stopRelay(LAB).catch(() => undefined);
    for (const name of G) await qkvm(['destroy', name]).catch(() => undefined);
    rmSync(home, { recursive: true, force: true });
    rmSync(runDir, { recursive: true, force: true });
    for (const [k, v] of [['QKVM_HOME', saved.home], ['QKVM_RUN', saved.run]] as const) {
      if (v === undefined) delete process.env[k]; else process.env[k] = v;
    }
  }, 120_000);

  it('QEMU starts with a link NIC and listens on its socket, as cmdline shows', async () => {
    // One guest boots at a time: TCG on 2 shared cores.
    for (const name of G) {
      await qkvm(['start', name]);
      const sock = run.linkSocket(name, 0);
      expect(statSync(sock).isSocket()).toBe(true);
      const pid = Number(readFileSync(run.pidFile(name), 'utf8'));
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      expect(argv).toContain(`stream,id=net0,server=on,addr.type=unix,addr.path=${sock}`);
      const shown = (await qkvm(['cmdline', name, '--explain'])).stdout;
      expect(shown).toContain(`addr.path=${sock}`);
      expect(shown).toMatch(/point-to-point link/);
      const s = await Serial.connect(run.serialSocket(name));
      consoles.push(s);
      await s.waitFor(/QKVM-DEMO-READY/, 240_000);
      await s.waitFor(/demo# /, 60_000);
    }
  }, 600_000);

  it('joins the two guests: h1 pings h2 across the link', async () => {
    await ensureRelay(LAB, [link]);
    for (const [i, s] of consoles.entries()) {
      const r = await s.run(`ip addr add ${ADDR[i]}/24 dev eth0; ip link set eth0 up`);
      expect(r.status).toBe(0);
    }
    const r = await consoles[0].run(`ping -c 3 -W 5 ${ADDR[1]}`, 60_000);
    expect(r.out).toMatch(/3 packets transmitted, [1-3] packets received/);
    const [st] = (await relayState(LAB))!;
    expect(st.connected).toEqual([true, true]);
    expect(st.frames[0]).toBeGreaterThan(0);
    expect(st.frames[1]).toBeGreaterThan(0);
  }, 120_000);

  // What the link adds to the round trip is compared with 2 x delay: the RTT
  // with the delay less the RTT of the same path without it (the two TCG guests'
  // own time, a few ms on a quiet host, tens when the host's 2 cores are busy).
  // Medians, so one ping caught behind another process does not decide it.
  it('delays each direction by the link delay, and a live change takes effect at once', async () => {
    await pings(2); // ARP is resolved; the path is warm
    const base = await pings(10);
    await setImpairment(LAB, 'h1-h2', { delayMs: 80, jitterMs: 0, lossPct: 0 });
    const slow = await pings(10);
    const why = (p: typeof slow) => `unimpaired mean ${base.mean.toFixed(1)} median ${base.median.toFixed(1)} ms; impaired mean ${p.mean.toFixed(1)} median ${p.median.toFixed(1)} ms\n${p.out}`;
    console.log(`relay RTT: ${why(slow).split('\n')[0]}; the relay's own lateness ${(await relayState(LAB))![0].lateMs?.toFixed(2)} ms a frame`);
    // The relay never delivers early (it may be up to 0.5 ms early per direction, its timer slack).
    expect(Math.min(...slow.rtts), why(slow)).toBeGreaterThanOrEqual(159);
    expect(Math.abs(slow.median - base.median - 160) / 160, why(slow)).toBeLessThan(0.1);
    await setImpairment(LAB, 'h1-h2', { delayMs: 40, jitterMs: 0, lossPct: 0 });
    const fast = await pings(10);
    console.log(`relay RTT after the live change to 40 ms: ${why(fast).split('\n')[0]}`);
    expect(Math.min(...fast.rtts), why(fast)).toBeGreaterThanOrEqual(79);
    expect(Math.abs(fast.median - base.median - 80) / 80, why(fast)).toBeLessThan(0.1);
    expect(fast.median, why(fast)).toBeLessThan(slow.median - 60);
    expect((await relayState(LAB))![0].impair.delayMs).toBe(40);
    await setImpairment(LAB, 'h1-h2', NO_IMPAIRMENT);
  }, 180_000);

  it('captures a ping into a pcap that tcpdump reads', async () => {
    const file = path.join(home, 'h1-h2.pcap');
    const done = capture(LAB, 'h1-h2', file, { count: 6 });
    // The capture has begun once the relay said ok and the file exists.
    while (!existsSync(file)) await new Promise((r) => setTimeout(r, 10));
    const r = await consoles[0].run(`ping -c 3 -W 5 ${ADDR[1]}`, 60_000);
    expect(r.status).toBe(0);
    expect((await done).frames).toBe(6);
    const td = await execa('tcpdump', ['-n', '-r', file], { reject: false });
    expect(td.exitCode, td.stderr).toBe(0);
    const requests = td.stdout.split('\n').filter((l) => l.includes(`${ADDR[0]} > ${ADDR[1]}: ICMP echo request`));
    expect(requests.length, td.stdout).toBeGreaterThanOrEqual(1);
    expect(td.stdout).toContain(`${ADDR[1]} > ${ADDR[0]}: ICMP echo reply`);
  }, 120_000);

  it('cuts the link, and restores it', async () => {
    await setLinkUp(LAB, 'h1-h2', false);
    const down = await consoles[0].run(`ping -c 3 -W 1 ${ADDR[1]}`, 60_000);
    expect(down.status).not.toBe(0);
    expect(down.out).toMatch(/3 packets transmitted, 0 packets received/);
    expect((await relayState(LAB))![0].up).toBe(false);
    await setLinkUp(LAB, 'h1-h2', true);
    const up = await consoles[0].run(`ping -c 3 -W 5 ${ADDR[1]}`, 60_000);
    expect(up.status).toBe(0);
  }, 120_000);

  it('stopRelay leaves no relay process and no run file', async () => {
    const pid = relayPid(LAB);
    expect(pid).toBeGreaterThan(0);
    expect(await stopRelay(LAB)).toBe(true);
    const cmd = (() => { try { return readFileSync(`/proc/${pid}/cmdline`, 'utf8'); } catch { return ''; } })();
    expect(cmd).not.toContain(relayFiles(LAB).socket);
    expect(relayPid(LAB)).toBeUndefined();
    expect(existsSync(relayFiles(LAB).dir)).toBe(false);
    expect(await relayState(LAB)).toBeUndefined();
    // The guests themselves still run: the relay was only their cable.
    const r = await consoles[0].run('echo alive');
    expect(r.out).toContain('alive');
  }, 60_000);
});

