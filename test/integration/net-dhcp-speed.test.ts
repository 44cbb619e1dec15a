// Every demo guest on a nat network has its DHCP lease within 3 s of its /init
// starting, measured in the guest's own clock: /init writes its uptime to
// /run/qkvm-init.uptime, and the udhcpc script writes the uptime at which it
// got the first lease to /run/udhcpc.eth0.bound. Before the fix (dnsmasq's 3 s
// ping check against udhcpc's 3 tries 1 s apart, then a 10 s pause) the lease
// came 10-14 s late; see docs/networking.md, "How fast a guest gets its lease".
// Guests boot one after another, one running at a time.
// Also: a change to scripts/demo-guest/netup rebuilds the cached demo guest.
import { spawnSync } from 'node:child_process';
import { appendFileSync, copyFileSync, cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_DIR, IN_CI, Lab, REPO, missingPrerequisites, type Serial } from '../net/lab.js';

const why = missingPrerequisites();
if (why && !IN_CI) console.warn(`net-dhcp-speed: skipped: ${why}`);

const GUESTS = ['dh1', 'dh2', 'dh3'];
const LIMIT_S = 3;

/** The bytes of one file in a newc cpio archive (the demo guest's initramfs). */
function cpioFile(archive: Buffer, name: string): Buffer | undefined {
  let off = 0;
  while (off + 110 <= archive.length) {
    const hdr = archive.toString('latin1', off, off + 110);
    if (!hdr.startsWith('07070')) return undefined;
    const size = parseInt(hdr.slice(54, 62), 16);
    const nameSize = parseInt(hdr.slice(94, 102), 16);
    const nameStart = off + 110;
    const entry = archive.toString('latin1', nameStart, nameStart + nameSize - 1);
    const dataStart = (nameStart + nameSize + 3) & ~3;
    if (entry === name || entry === `./${name}`) return archive.subarray(dataStart, dataStart + size);
    if (entry === 'TRAILER!!!') return undefined;
    off = (dataStart + size + 3) & ~3;
  }
  return undefined;
}

describe.skipIf(why !== '' && !IN_CI)('DHCP on a nat network is as fast as a real network', () => {
  const lab = new Lab();

  beforeAll(async () => {
    if (why) throw new Error(why);
    await lab.setup();
    await lab.qkvm(['net', 'define', 'default', '--mode', 'nat']);
    await lab.qkvm(['net', 'start', 'default']);
  });
  afterAll(async () => {
    for (const g of GUESTS) await lab.qkvm(['destroy', g], { reject: false });
    await lab.qkvm(['net', 'stop', 'default'], { reject: false });
    await lab.cleanup();
  });

  it(`each guest has its lease within ${LIMIT_S} s of /init, in its own clock, and qkvm shows it`, async () => {
    const seen: { guest: string; init: number; bound: number; addr: string }[] = [];
    for (const name of GUESTS) {
      await lab.defineGuest(name, { nics: [{ network: 'default' }] });
      const g: Serial = await lab.boot(name);
      const [, addr] = await g.waitFor(/QKVM-NET eth0 (192\.168\.122\.\d+)\r?\n/);
      const r = await g.run('echo "TIMES $(cat /run/qkvm-init.uptime) $(cat /run/udhcpc.eth0.bound)"');
      const m = /TIMES (\d+\.\d+) (\d+\.\d+)/.exec(r.out);
      expect(m, `the guest's timestamps: ${r.out}`).not.toBeNull();
      const [init, bound] = [Number(m![1]), Number(m![2])];
      seen.push({ guest: name, init, bound, addr });
      console.log(`net-dhcp-speed: ${name}: /init at ${init} s, lease at ${bound} s: ${(bound - init).toFixed(2)} s`);

      expect(bound).toBeGreaterThan(init);
      expect(bound - init, `${name}: lease ${(bound - init).toFixed(2)} s after /init`).toBeLessThan(LIMIT_S);

      const leases = JSON.parse((await lab.qkvm(['net', 'leases', 'default', '--json'])).stdout) as { ip: string; hostname?: string }[];
      expect(leases.map((l) => l.ip)).toContain(addr);
      const ifaddr = JSON.parse((await lab.qkvm(['domifaddr', name, '--json'])).stdout);
      expect(ifaddr).toEqual([expect.objectContaining({ nic: 'net0', network: 'default', address: addr, source: 'lease' })]);
      // One guest at a time: the next one boots on a quiet host.
      await lab.qkvm(['destroy', name]);
    }
    expect(seen.map((s) => s.guest)).toEqual(GUESTS);
  }, 600_000);

  it('a change to scripts/demo-guest/netup rebuilds the cached demo guest, with the new netup in it', () => {
    // A copy of the scripts and of the built guest: up to date first, then a
    // changed netup makes it rebuild (from the cached kernel package).
    const work = mkdtempSync(path.join(os.tmpdir(), 'qkvm-dhcp-rebuild-'));
    try {
      const script = path.join(work, 'scripts/build-demo-guest.sh');
      mkdirSync(path.dirname(script), { recursive: true });
      cpSync(path.join(REPO, 'scripts/build-demo-guest.sh'), script);
      cpSync(path.join(REPO, 'scripts/demo-guest'), path.join(work, 'scripts/demo-guest'), { recursive: true });
      const out = path.join(work, 'demo');
      mkdirSync(path.join(out, 'debs'), { recursive: true });
      for (const f of ['vmlinuz', 'initrd.img', 'VERSION', 'inputs.sha256']) copyFileSync(path.join(DEMO_DIR, f), path.join(out, f));
      for (const deb of readdirSync(path.join(DEMO_DIR, 'debs'))) copyFileSync(path.join(DEMO_DIR, 'debs', deb), path.join(out, 'debs', deb));

      const same = spawnSync('bash', [script, out], { encoding: 'utf8', timeout: 120_000 });
      expect(same.status, same.stderr).toBe(0);
      expect(same.stdout).toContain('demo guest is up to date');

      appendFileSync(path.join(work, 'scripts/demo-guest/netup'), '# QKVM-TEST-NETUP-CHANGE\n');
      const rebuilt = spawnSync('bash', [script, out], { encoding: 'utf8', timeout: 280_000 });
      expect(rebuilt.status, rebuilt.stderr).toBe(0);
      expect(rebuilt.stdout).toContain('demo guest built');
      expect(rebuilt.stderr).not.toMatch(/downloading/);
      const netup = cpioFile(gunzipSync(readFileSync(path.join(out, 'initrd.img'))), 'etc/qkvm/netup');
      expect(netup?.toString('utf8')).toContain('# QKVM-TEST-NETUP-CHANGE');
      // The cache the other tests use has the netup of this tree.
      const cached = cpioFile(gunzipSync(readFileSync(path.join(DEMO_DIR, 'initrd.img'))), 'etc/qkvm/netup');
      expect(cached?.toString('utf8')).toBe(readFileSync(path.join(REPO, 'scripts/demo-guest/netup'), 'utf8'));
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  }, 300_000);
});
