// vCPUs with real QEMU under TCG: vcpuinfo matches /proc, pinning (live and from
// the definition) shows in the threads' affinity, a hot-plugged vCPU comes
// online in the guest and an unplugged one goes away, stats sees the process,
// and overcommit is reported.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_CI, State, whyNot, type Serial } from '../migrate/harness.js';
import { hostCpus } from '../../src/runtime/vcpu.js';

const why = whyNot();
if (why && !IN_CI) console.warn(`vcpu: skipped: ${why}`);

const allowed = (pid: number, tid: number) => /^Cpus_allowed_list:\s*(\S+)$/m.exec(readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8'))![1];
const comm = (pid: number, tid: number) => readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();

describe.skipIf(why !== '' && !IN_CI)('vCPUs', () => {
  const st = new State('vcpu');
  const host = hostCpus();
  const last = host[host.length - 1];
  let serial: Serial;
  let pid: number;

  beforeAll(async () => {
    if (why) throw new Error(why);
    await st.define('cpu', { smp: { cpus: 1, maxcpus: 2 }, vcpupin: { '0': String(last) } });
    serial = await st.boot('cpu');
    pid = st.pid('cpu');
  });
  afterAll(() => st.cleanup());

  it('vcpuinfo names each vCPU thread, as /proc sees it, pinned as the definition says', async () => {
    const rows = JSON.parse((await st.ok('vcpuinfo', 'cpu', '--json')).stdout);
    expect(rows).toHaveLength(1);
    const [v] = rows;
    expect(v.vcpu).toBe(0);
    expect(comm(pid, v.threadId)).toBe('CPU 0/TCG');
    expect(v.threadName).toBe('CPU 0/TCG');
    expect(v.affinity).toBe(allowed(pid, v.threadId));
    // The definition's vcpupin was applied by the start hook.
    expect(v.affinity).toBe(String(last));
    expect(host).toContain(v.hostCpu);
    expect(v.cpuTimeSeconds).toBeGreaterThan(0);
  });

  it('vcpupin changes the thread affinity, and refuses host CPUs that do not exist', async () => {
    const rows = JSON.parse((await st.ok('vcpuinfo', 'cpu', '--json')).stdout);
    const r = JSON.parse((await st.ok('vcpupin', 'cpu', '0', String(host[0]), '--json')).stdout);
    expect(r.live.affinity).toBe(String(host[0]));
    expect(allowed(pid, rows[0].threadId)).toBe(String(host[0]));
    const bad = await st.qkvm('vcpupin', 'cpu', '0', `${last + 1}`);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/do not exist/);
    const noVcpu = await st.qkvm('vcpupin', 'cpu', '5', '0');
    expect(noVcpu.exitCode).toBe(2);
    expect(noVcpu.stderr).toMatch(/vCPU 5 does not exist/);
  });

  it('vcpupin --config stores the pinning in the definition', async () => {
    await st.ok('vcpupin', 'cpu', '0', String(host[0]), '--config');
    const spec = JSON.parse((await st.ok('dumpconfig', 'cpu', '--json')).stdout);
    expect(spec.vcpupin).toEqual({ '0': String(host[0]) });
  });

  it('setvcpus hot-plugs a vCPU that the guest brings online, and unplugs it again', async () => {
    const r = JSON.parse((await st.ok('setvcpus', 'cpu', '2', '--json')).stdout);
    expect(r).toMatchObject({ before: 1, after: 2, maxcpus: 2 });
    // The guest's own view; online it by hand if its hotplug helper has not yet.
    const seen = await serial.run('for n in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do f=/sys/devices/system/cpu/cpu1/online; [ -f $f ] && { [ "$(cat $f)" = 1 ] || echo 1 > $f; [ "$(cat $f)" = 1 ] && break; }; sleep 1; done; echo ONLINE=$(cat /sys/devices/system/cpu/online) NPROC=$(grep -c ^processor /proc/cpuinfo)');
    expect(seen.out).toMatch(/ONLINE=0-1 NPROC=2/);
    const rows = JSON.parse((await st.ok('vcpuinfo', 'cpu', '--json')).stdout);
    expect(rows.map((x: any) => x.vcpu)).toEqual([0, 1]);
    expect(comm(pid, rows[1].threadId)).toBe('CPU 1/TCG');
    expect((await st.ok('info', 'cpu')).stdout).toMatch(/vCPUs:\s+2 online \(1 at start\)/);

    const down = JSON.parse((await st.ok('setvcpus', 'cpu', '1', '--json')).stdout);
    expect(down).toMatchObject({ before: 2, after: 1 });
    expect((await serial.run('cat /sys/devices/system/cpu/online')).out).toMatch(/^0\r?$/m);
    const over = await st.qkvm('setvcpus', 'cpu', '3');
    expect(over.exitCode).toBe(2);
    expect(over.stderr).toMatch(/more than maxcpus \(2\)/);
  });

  it('stats shows CPU % and RSS of the QEMU process', async () => {
    const rows = JSON.parse((await st.ok('stats', '--json', '--interval', '0.5')).stdout);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ name: 'cpu', pid });
    expect(rows[0].rssBytes).toBeGreaterThan(32 * 2 ** 20);
    expect(rows[0].cpuPercent).toBeGreaterThanOrEqual(0);
    const one = await st.ok('stats', 'cpu', '--interval', '0.2');
    expect(one.stdout).toMatch(/^cpu\s+\d+\s+[\d.]+\s+\d+ MiB/m);
  });

  it('start and info warn when running guests overcommit the host CPUs', async () => {
    // A paused guest costs no CPU, but its vCPUs count: 1 + (host + 1) = host + 2.
    await st.define('big', { smp: host.length + 1, memory: '64M' });
    const r = await st.ok('start', 'big', '--paused');
    expect(r.stderr).toContain(`overcommitted by 2`);
    const info = JSON.parse((await st.ok('info', 'cpu', '--json')).stdout);
    expect(info.overcommit).toEqual({ vcpus: host.length + 2, hostCpus: host.length, excess: 2 });
    expect((await st.ok('info', 'cpu')).stdout).toMatch(/Overcommit:\s+warning: .*\(2 too many\)/);
    await st.ok('destroy', 'big');
    expect(JSON.parse((await st.ok('info', 'cpu', '--json')).stdout).overcommit).toBeUndefined();
  });
});
