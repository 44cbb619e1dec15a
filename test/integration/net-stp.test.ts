// STP on a network's bridge, in a network namespace: `stp: true` (and
// forwardDelay) applied at `net start`, shown in `net info`, and `qkvm net stp`
// on a running network, checked in /sys/class/net/BR/bridge/stp_state.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { IN_CI, Lab, missingPrerequisites } from '../net/lab.js';

const why = missingPrerequisites();
if (why && !IN_CI) console.warn(`net-stp: skipped: ${why}`);

describe.skipIf(why !== '' && !IN_CI)('STP on a network bridge', () => {
  const lab = new Lab();
  const BR = 'qkbr-lan';
  const sys = async (f: string) => Number((await lab.sh(`cat /sys/class/net/${BR}/bridge/${f}`)).stdout.trim());
  const ifindex = async () => Number((await lab.sh(`cat /sys/class/net/${BR}/ifindex`)).stdout.trim());
  const definition = () => parse(readFileSync(path.join(lab.home, 'networks', 'lan.yaml'), 'utf8'));

  beforeAll(async () => {
    if (why) throw new Error(why);
    await lab.setup();
  });
  afterAll(async () => { await lab.cleanup(); });

  it('refuses stp where qkvm has no bridge, and a forward delay without stp or out of range (exit 2)', async () => {
    const user = await lab.qkvm(['net', 'define', 'u', '--mode', 'user', '--stp'], { reject: false });
    expect(user.code).toBe(2);
    expect(user.stderr).toMatch(/stp = true: mode user has no bridge of qkvm's/);
    const nostp = await lab.qkvm(['net', 'define', 'lan', '--mode', 'isolated', '--forward-delay', '4'], { reject: false });
    expect(nostp.code).toBe(2);
    expect(nostp.stderr).toMatch(/forwardDelay = 4: forwardDelay applies with stp: true/);
    const range = await lab.qkvm(['net', 'define', 'lan', '--mode', 'isolated', '--stp', '--forward-delay', '1'], { reject: false });
    expect(range.code).toBe(2);
    expect(range.stderr).toMatch(/forwardDelay = 1/);
    expect((await lab.qkvm(['net', 'list', '--json'])).stdout.trim()).toBe('[]');
  });

  it('net start applies stp and the forward delay; net info shows them', async () => {
    await lab.qkvm(['net', 'define', 'lan', '--mode', 'isolated', '--stp', '--forward-delay', '2']);
    expect(definition()).toMatchObject({ stp: true, forwardDelay: 2 });
    const info0 = (await lab.qkvm(['net', 'info', 'lan'])).stdout;
    expect(info0).toMatch(/^STP:\s+on at start \(forward delay 2 s\)$/m);
    expect(info0).toContain(`ip link set dev ${BR} type bridge stp_state 1 forward_delay 200`);
    const start = await lab.qkvm(['net', 'start', 'lan']);
    expect(start.stderr + start.stdout).toContain(`stp_state 1 forward_delay 200`);
    expect(await sys('stp_state')).toBe(1);
    expect(await sys('forward_delay')).toBe(200);
    const info = JSON.parse((await lab.qkvm(['net', 'info', 'lan', '--json'])).stdout);
    expect(info.stp).toEqual({ on: true, forwardDelayS: 2 });
    expect((await lab.qkvm(['net', 'info', 'lan'])).stdout).toMatch(/^STP:\s+on \(forward delay 2 s\)$/m);
  });

  it('a new port listens and learns for the forward delay before it forwards (the kernel runs STP)', async () => {
    await lab.sh(`ip link add qkt-stp0 type veth peer name qkt-stp1 && ip link set qkt-stp0 master ${BR} && ip link set qkt-stp0 up && ip link set qkt-stp1 up`);
    const state = async () => Number((await lab.sh(`cat /sys/class/net/${BR}/brif/qkt-stp0/state`)).stdout.trim());
    // 1 listening, 2 learning, 3 forwarding (a bridge without STP forwards at once).
    expect([1, 2]).toContain(await state());
    const seen = new Set<number>();
    for (let i = 0; i < 100 && !seen.has(3); i++) { seen.add(await state()); await new Promise((r) => setTimeout(r, 100)); }
    expect(seen.has(3)).toBe(true);
    await lab.sh('ip link del qkt-stp0');
  });

  it('net stp turns it off and on on the running bridge, keeps it in the definition, and net start then changes nothing', async () => {
    const idx = await ifindex();
    const off = await lab.qkvm(['net', 'stp', 'lan', 'off']);
    expect(off.stdout).toMatch(/network "lan": STP off on bridge qkbr-lan/);
    expect(await sys('stp_state')).toBe(0);
    expect(await sys('forward_delay')).toBe(0);
    expect(definition().stp).toBeUndefined();
    const on = JSON.parse((await lab.qkvm(['net', 'stp', 'lan', 'on', '--forward-delay', '4', '--json'])).stdout);
    expect(on.stp).toEqual({ on: true, forwardDelayS: 4 });
    expect(await sys('stp_state')).toBe(1);
    expect(await sys('forward_delay')).toBe(400);
    expect(definition()).toMatchObject({ stp: true, forwardDelay: 4 });
    await lab.qkvm(['net', 'start', 'lan']);
    expect(await ifindex()).toBe(idx);
    expect(await sys('forward_delay')).toBe(400);
  });

  it('net stp refuses a bad delay (nothing changed), a stopped network and a bridge-mode network', async () => {
    const bad = await lab.qkvm(['net', 'stp', 'lan', 'on', '--forward-delay', '31'], { reject: false });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/forwardDelay = 31/);
    expect(await sys('forward_delay')).toBe(400);
    const word = await lab.qkvm(['net', 'stp', 'lan', 'maybe'], { reject: false });
    expect(word.code).toBe(2);

    await lab.qkvm(['net', 'stop', 'lan']);
    const stopped = await lab.qkvm(['net', 'stp', 'lan', 'off'], { reject: false });
    expect(stopped.code).toBe(1);
    expect(stopped.stderr).toMatch(/network "lan" is not running/);
    expect(stopped.stderr).toMatch(/hint: qkvm net start lan/);

    await lab.sh('ip link add qkt-host0 type bridge');
    await lab.qkvm(['net', 'define', 'hb', '--mode', 'bridge', '--bridge', 'qkt-host0']);
    const hb = await lab.qkvm(['net', 'stp', 'hb', 'on'], { reject: false });
    expect(hb.code).toBe(2);
    expect(hb.stderr).toMatch(/mode bridge: it has no bridge of qkvm's/);
    expect((await lab.sh('cat /sys/class/net/qkt-host0/bridge/stp_state')).stdout.trim()).toBe('0');
  });
});
