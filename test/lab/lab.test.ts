// The routed lab of issue 11, for real: three demo guests under TCG inside a
// network namespace, two point-to-point links through the lab's relay (one
// impaired by 80 ms each way) and a nat network. One `lab up` serves every
// check, in order; `lab down` at the end must leave nothing behind, and the
// namespace and private state are removed whatever happens.
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DIR, IN_CI, Lab, missingPrerequisites } from '../net/lab.js';

const why = missingPrerequisites();
if (why && !IN_CI) console.warn(`lab: skipped: ${why}`);

const LONG = 900_000;

const routed = (name: string) => `
name: ${name}
defaults:
  template: demo
  memory: 160M
  accel: tcg
  balloon: false
  kernel: ${DEMO_DIR}/vmlinuz
  initrd: ${DEMO_DIR}/initrd.img
nodes:
  r1: {}
  h1: {}
  h2: {}
networks:
  lan: { mode: nat, subnet: 10.9.0.0/24 }
links:
  - endpoints: [h1:eth0, r1:eth0]
  - endpoints: [r1:eth1, h2:eth0]
    impair: { delay: 80ms }
  - endpoints: [r1:eth2, lan]
exec:
  r1: ["ip addr add 10.0.1.1/24 dev eth0", "ip addr add 10.0.2.1/24 dev eth1", "echo 1 > /proc/sys/net/ipv4/ip_forward"]
  h1: ["ip addr add 10.0.1.2/24 dev eth0", "ip route add default via 10.0.1.1"]
  h2: ["ip addr add 10.0.2.2/24 dev eth0", "ip route add default via 10.0.2.1"]
`;

/**
 * Per-packet RTTs of a busybox ping, without the first (ARP resolution rides on
 * it). The test takes the smallest: on a loaded host, TCG guests waiting for a
 * core only ever add to a round trip, never take from it.
 */
function rtts(out: string): number[] {
  return [...out.matchAll(/seq=(\d+) .*time=([\d.]+) ms/g)].filter((m) => m[1] !== '0').map((m) => Number(m[2]));
}

/** Every file under dir (relative paths), empty when dir is gone. */
function tree(dir: string, rel = ''): string[] {
  let names: string[];
  try { names = readdirSync(join(dir, rel)); } catch { return []; }
  return names.flatMap((n) => {
    const p = join(rel, n);
    try { return readdirSync(join(dir, p)) && [p + '/', ...tree(dir, p)]; } catch { return [p]; }
  });
}

/** Live processes whose argv mentions text (the relay runs with its socket path under QKVM_RUN). */
function processesWith(text: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      if (/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3))) continue;
      if (readFileSync(`/proc/${d}/cmdline`, 'utf8').includes(text)) out.push(Number(d));
    } catch { /* gone */ }
  }
  return out;
}

describe.skipIf(why !== '' && !IN_CI)('lab: the routed lab', () => {
  const lab = new Lab();
  let file: string;

  beforeAll(async () => {
    if (why) throw new Error(why);
    await lab.setup();
    file = join(lab.home, 'routed.yaml');
    writeFileSync(file, routed('routed'));
  });
  afterAll(async () => {
    // Whatever failed: take the lab down by its own command first, then the namespace kills what is left.
    await lab.qkvm(['lab', 'down', 'routed'], { reject: false }).catch(() => undefined);
    await lab.cleanup();
  }, LONG);

  const status = async () => JSON.parse((await lab.qkvm(['lab', 'status', 'routed', '--json'])).stdout);
  const exec = (node: string, cmd: string) => lab.qkvm(['lab', 'exec', `routed-${node}`, '--', cmd], { reject: false });
  /** The smallest RTT from r1 to h2: a round trip across the impaired link r1-h2 alone. */
  const pingAcross = async (count: number) => {
    const r = await exec('r1', `ping -c ${count} 10.0.2.2`);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    return Math.min(...rtts(r.stdout));
  };

  it('refuses a bad lab file with exit 2 and creates nothing', async () => {
    const bad = join(lab.home, 'bad.yaml');
    writeFileSync(bad, routed('routed').replace('memory: 160M', 'memory: lots'));
    const r = await lab.qkvm(['lab', 'up', bad], { reject: false });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nodes\.r1.*memory/s);
    writeFileSync(bad, routed('routed').replace('[r1:eth1, h2:eth0]', '[r1:eth1, h9:eth0]'));
    const r2 = await lab.qkvm(['lab', 'up', bad], { reject: false });
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/no node is named "h9"/);
    for (const d of ['labs', 'vms', 'networks', 'images']) expect(tree(join(lab.home, d))).toEqual([]);
    expect(tree(join(lab.run, 'vms'))).toEqual([]);
    expect(await lab.links()).toEqual(['lo']);
  });

  it('refuses a lab that would take a guest it did not create, and one that cannot fit in memory', async () => {
    await lab.qkvm(['create', 'other-h1', '--template', 'demo']);
    writeFileSync(join(lab.home, 'other.yaml'), 'name: other\nnodes: { h1: {} }\n');
    const r = await lab.qkvm(['lab', 'up', join(lab.home, 'other.yaml')], { reject: false });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/guest "other-h1" exists but lab other did not create it/);
    await lab.qkvm(['undefine', 'other-h1']);
    writeFileSync(join(lab.home, 'big.yaml'), 'name: big\ndefaults: { memory: 16T }\nnodes: { a: {}, b: {} }\n');
    const m = await lab.qkvm(['lab', 'up', join(lab.home, 'big.yaml')], { reject: false });
    expect(m.code).toBe(1);
    expect(m.stderr).toMatch(/lab big: 2 node\(s\) need .* available/);
    expect(m.stderr).toMatch(/KSM/);
    expect(tree(join(lab.home, 'labs'))).toEqual([]);
    expect(tree(join(lab.home, 'vms'))).toEqual([]);
  });

  it('names the failing node, and --rollback removes what the run created', async () => {
    const rb = join(lab.home, 'rb.yaml');
    writeFileSync(rb, [
      'name: rb',
      'defaults: { template: demo, accel: tcg, memory: 128M }',
      'nodes: { a: { kernel: /nonexistent/vmlinuz } }',
      'networks: { n: { mode: isolated, subnet: 10.77.0.0/24 } }',
      'links: [{ endpoints: [a:eth0, n] }]',
    ].join('\n'));
    const r = await lab.qkvm(['lab', 'up', rb, '--rollback'], { reject: false });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/node a \(rb-a\): .*vmlinuz/s);
    expect(r.stderr).toMatch(/rolled back/);
    for (const d of ['labs', 'vms', 'networks', 'images']) expect(tree(join(lab.home, d))).toEqual([]);
    expect(await lab.links()).toEqual(['lo']);
  }, LONG);

  it('brings the lab up: h1 pings h2 through r1, status shows it, and reading it changes nothing', async () => {
    const up = await lab.qkvm(['lab', 'up', file], { reject: false });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    // Plain progress lines (stdout is not a terminal here), one per phase change of each node.
    for (const n of ['r1', 'h1', 'h2']) for (const p of ['defining', 'starting', 'booting', 'exec', 'ready']) expect(up.stdout).toMatch(new RegExp(`routed-${n} +${p}`));
    expect(up.stdout).toMatch(/lab routed: 3\/3 nodes up in [\d.]+ s/);

    const r = await exec('h1', 'ping -c 2 -W 5 10.0.2.2');
    expect(r.code, r.stdout).toBe(0);

    const before = [tree(lab.home), tree(lab.run)];
    const s = await status();
    expect(s.nodes.map((n: any) => [n.guest, n.state])).toEqual([['routed-r1', 'running'], ['routed-h1', 'running'], ['routed-h2', 'running']]);
    expect(s.links).toEqual([
      expect.objectContaining({ id: 'h1-r1', kind: 'p2p', up: true, connected: [true, true] }),
      expect.objectContaining({ id: 'r1-h2', kind: 'p2p', up: true, connected: [true, true], impair: { delayMs: 80, jitterMs: 0, lossPct: 0 } }),
      expect.objectContaining({ id: 'r1-lan', kind: 'network', up: true }),
    ]);
    expect(s.relay).toBe(true);
    expect([tree(lab.home), tree(lab.run)]).toEqual(before);
    // lab exec returns the command's own exit status.
    expect((await exec('h2', 'sh -c "exit 3"')).code).toBe(3);
  }, LONG);

  it('measures the impaired link: RTT within 10 % of 2 x 80 ms, and a live `lab impair` changes it', async () => {
    const rtt = await pingAcross(8);
    expect(rtt).toBeGreaterThan(160 * 0.9);
    expect(rtt).toBeLessThan(160 * 1.1);
    const im = await lab.qkvm(['lab', 'impair', 'routed', 'r1:eth1', '--delay', '40ms']);
    expect(im.stdout).toMatch(/link r1-h2: delay 40ms/);
    expect((await status()).links[1].impair).toEqual({ delayMs: 40, jitterMs: 0, lossPct: 0 });
    // 40 ms less each way: the round trip is 80 ms shorter (the guests' own share cancels out).
    const rtt2 = await pingAcross(8);
    expect(rtt - rtt2).toBeGreaterThan(80 * 0.9);
    expect(rtt - rtt2).toBeLessThan(80 * 1.1);
  }, LONG);

  it('captures a ping across a link into a pcap that tcpdump reads', async () => {
    const pcap = join(lab.home, 'h1-r1.pcap');
    const cap = lab.qkvm(['lab', 'capture', 'routed', 'h1-r1', '-w', pcap, '--count', '4']);
    // The capture is attached once the relay has its subscriber; a ping long enough covers the start.
    const ping = await exec('h1', 'ping -c 8 10.0.2.2');
    expect(ping.code).toBe(0);
    await cap;
    const td = await lab.ns.exec(['tcpdump', '-nr', pcap]);
    expect(td.stdout).toMatch(/10\.0\.1\.2 > 10\.0\.2\.2: ICMP echo request/);
  }, LONG);

  it('cuts and restores a link: the guest sees NO-CARRIER and the ping fails, then works again', async () => {
    await lab.qkvm(['lab', 'link', 'routed', 'r1-h2', 'down']);
    expect((await exec('h2', 'ip link show eth0')).stdout).toMatch(/NO-CARRIER/);
    expect((await exec('h1', 'ping -c 2 -W 2 10.0.2.2')).code).not.toBe(0);
    expect((await status()).links[1].up).toBe(false);
    await lab.qkvm(['lab', 'link', 'routed', 'r1-h2', 'up']);
    expect((await exec('h2', 'ip link show eth0')).stdout).not.toMatch(/NO-CARRIER/);
    expect((await exec('h1', 'ping -c 2 -W 5 10.0.2.2')).code).toBe(0);
  }, LONG);

  it('save and restore bring back a file written on two nodes', async () => {
    await exec('h1', 'echo before-h1 > /tmp/mark');
    await exec('h2', 'echo before-h2 > /tmp/mark');
    const sv = await lab.qkvm(['lab', 'save', 'routed', 's1'], { reject: false });
    expect(sv.code, sv.stderr).toBe(0);
    await exec('h1', 'echo after > /tmp/mark');
    await exec('h2', 'rm /tmp/mark');
    const rs = await lab.qkvm(['lab', 'restore', 'routed', 's1'], { reject: false });
    expect(rs.code, rs.stderr).toBe(0);
    expect((await exec('h1', 'cat /tmp/mark')).stdout).toContain('before-h1');
    expect((await exec('h2', 'cat /tmp/mark')).stdout).toContain('before-h2');
  }, LONG);

  it('re-running up after a node\'s QEMU is killed restarts only that node', async () => {
    const pids = Object.fromEntries((await status()).nodes.map((n: any) => [n.key, n.pid]));
    process.kill(pids.h2, 'SIGKILL');
    const up = await lab.qkvm(['lab', 'up', file], { reject: false });
    expect(up.code, up.stdout + up.stderr).toBe(0);
    expect(up.stdout).toMatch(/routed-r1 +running/);
    const after = Object.fromEntries((await status()).nodes.map((n: any) => [n.key, n.pid]));
    expect(after.r1).toBe(pids.r1);
    expect(after.h1).toBe(pids.h1);
    expect(after.h2).not.toBe(pids.h2);
    // The relay reconnected to the new QEMU, and h2's exec ran again.
    expect((await exec('h1', 'ping -c 2 -W 5 10.0.2.2')).code).toBe(0);
  }, LONG);

  it('lab down leaves no guest, tap, bridge, qdisc, relay, nft table, dnsmasq or image', async () => {
    const r = await lab.qkvm(['lab', 'down', file], { reject: false });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse((await lab.qkvm(['list', '--all', '--json'])).stdout)).toEqual([]);
    expect(await lab.links()).toEqual(['lo']);
    expect((await lab.ns.exec(['tc', 'qdisc', 'show'])).stdout).not.toMatch(/qk|tbf|netem|htb/);
    expect(processesWith(join(lab.run, 'labs'))).toEqual([]);
    expect(processesWith(join(lab.run, 'vms'))).toEqual([]);
    expect(await lab.nftTables()).not.toMatch(/qkvm_/);
    expect(await lab.dnsmasqPids()).toEqual([]);
    expect(tree(join(lab.home, 'images'))).toEqual([]);
    expect(tree(join(lab.home, 'vms'))).toEqual([]);
    expect(tree(join(lab.home, 'networks'))).toEqual([]);
    expect(existsSync(join(lab.home, 'labs', 'routed'))).toBe(false);
    expect(tree(join(lab.run, 'vms'))).toEqual([]);
    expect(tree(join(lab.run, 'labs'))).toEqual([]);
    expect((await lab.qkvm(['lab', 'status', '--json'])).stdout.trim()).toBe('[]');
  }, LONG);
});
