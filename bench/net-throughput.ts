// Guest-to-guest TCP throughput over a bridge: two demo guests under TCG, one
// serving a 32 MiB file with busybox httpd, the other fetching it with wget.
// qkvm's isolated network (taps through scripts/qemu-ifup) is measured beside
// the raw equivalent: a bridge made by hand and QEMU with script=no taps.
// With /dev/vhost-net both run with vhost=on as well; without it, that is noted.
//
//   npm run build && node dist/bench/net-throughput.js
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DEMO_DIR, Lab, Netns, Serial, missingPrerequisites } from '../test/net/lab.js';
import { median, type BenchResult, type BenchRow } from './types.js';

const BLOB_MIB = 64;
const ROUNDS = 5;
const IP_A = '10.88.0.1';
const IP_B = '10.88.0.2';

/** Seconds per fetch of the blob, measured by the host around the guest's wget. */
async function measure(server: Serial, client: Serial): Promise<number[]> {
  await server.run(`dd if=/dev/zero of=/tmp/blob bs=1M count=${BLOB_MIB} 2>/dev/null; httpd -p 8000 -h /tmp`);
  const warm = await client.run(`wget -q -O /dev/null http://${IP_A}:8000/blob`, 120_000);
  if (warm.status !== 0) throw new Error(`wget failed in the guest:\n${warm.out}`);
  const times: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    const r = await client.run(`wget -q -O /dev/null http://${IP_A}:8000/blob`, 120_000);
    if (r.status !== 0) throw new Error(`wget failed in the guest:\n${r.out}`);
    times.push((performance.now() - t0) / 1000);
  }
  return times;
}

const mbits = (secs: number) => (BLOB_MIB * 8 * 1.048576) / secs;

async function viaQkvm(vhost: 'off' | 'on'): Promise<number> {
  const lab = await new Lab().setup();
  try {
    await lab.qkvm(['net', 'define', 'bench', '--mode', 'isolated']);
    await lab.defineGuest('ba', { nics: [{ network: 'bench', vhost }], ip: `${IP_A}/24`, memory: '256M' });
    await lab.defineGuest('bb', { nics: [{ network: 'bench', vhost }], ip: `${IP_B}/24`, memory: '256M' });
    const a = await lab.boot('ba');
    const b = await lab.boot('bb');
    await b.waitFor(/QKVM-NET eth0/);
    return mbits(median(await measure(a, b)));
  } finally {
    await lab.cleanup();
  }
}

/** The same two guests with a hand-made bridge and plain QEMU command lines. */
async function viaRaw(vhost: 'off' | 'on'): Promise<number> {
  const ns = await new Netns().create();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qkvm-bench-raw-'));
  const consoles: Serial[] = [];
  try {
    await ns.exec(['ip', 'link', 'add', 'name', 'rawbr', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
    await ns.exec(['ip', 'link', 'set', 'rawbr', 'up']);
    for (const [i, ip] of [[0, IP_A], [1, IP_B]] as const) {
      const tap = `rawtap${i}`;
      await ns.exec([
        'qemu-system-x86_64', '-nodefaults', '-machine', 'pc', '-accel', 'tcg', '-m', '256M', '-display', 'none',
        '-kernel', path.join(DEMO_DIR, 'vmlinuz'), '-initrd', path.join(DEMO_DIR, 'initrd.img'),
        '-append', `console=ttyS0 quiet qkvm.ip=${ip}/24`,
        '-netdev', `tap,id=net0,ifname=${tap},script=no,downscript=no${vhost === 'on' ? ',vhost=on' : ''}`,
        '-device', `virtio-net-pci,netdev=net0,mac=52:54:00:00:88:0${i}`,
        '-chardev', `socket,id=s0,path=${dir}/serial${i}.sock,server=on,wait=off`, '-serial', 'chardev:s0',
        '-daemonize', '-pidfile', `${dir}/qemu${i}.pid`,
      ]);
      // QEMU made the tap (script=no): put it on the bridge by hand, as qemu-ifup would.
      await ns.exec(['ip', 'link', 'set', tap, 'master', 'rawbr']);
      await ns.exec(['ip', 'link', 'set', tap, 'up']);
      const s = await Serial.connect(`${dir}/serial${i}.sock`);
      consoles.push(s);
      await s.waitFor(/demo# /);
    }
    await consoles[1].waitFor(/QKVM-NET eth0/);
    return mbits(median(await measure(consoles[0], consoles[1])));
  } finally {
    for (const c of consoles) c.close();
    await ns.destroy();
    rmSync(dir, { recursive: true, force: true });
  }
}

export async function benchNetThroughput(): Promise<BenchResult> {
  const name = 'net-throughput';
  const why = missingPrerequisites();
  if (why) return { name, rows: [], notes: [`skipped: ${why}`] };
  const rows: BenchRow[] = [];
  const notes: string[] = [`guest-to-guest over a bridge, TCG, virtio-net, wget of a ${BLOB_MIB} MiB file, median of ${ROUNDS}; higher is better`];
  // Two runs each, alternating, since the host is shared: the better of each pair counts.
  const raw = await viaRaw('off');
  const qk = await viaQkvm('off');
  const raw2 = await viaRaw('off');
  const qk2 = await viaQkvm('off');
  notes.push(`rounds: raw ${raw.toFixed(0)} / ${raw2.toFixed(0)}, qkvm ${qk.toFixed(0)} / ${qk2.toFixed(0)} Mbit/s`);
  rows.push({ label: 'throughput, no vhost', qkvm: Math.max(qk, qk2), raw: Math.max(raw, raw2), unit: 'Mbit/s', target: '~1x' });
  if (existsSync('/dev/vhost-net')) {
    rows.push({ label: 'throughput, vhost=on', qkvm: await viaQkvm('on'), raw: await viaRaw('on'), unit: 'Mbit/s', target: '~1x' });
  } else {
    notes.push('vhost=on not measured: /dev/vhost-net is missing on this host (modprobe vhost_net where it is available)');
  }
  return { name, rows, notes };
}

// Run directly: print the rows.
if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await benchNetThroughput();
  for (const row of r.rows) console.log(`${row.label}: qkvm ${row.qkvm.toFixed(1)} ${row.unit}, raw ${row.raw.toFixed(1)} ${row.unit}, ratio ${(row.qkvm / row.raw).toFixed(2)}x`);
  for (const n of r.notes ?? []) console.log(`note: ${n}`);
}
