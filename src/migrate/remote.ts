// `qkvm migrate NAME ssh://HOST`: live migration to another host's qkvm, over
// ssh and nothing else. The far side prepares (`qkvm migrate-incoming`: same
// definition, disks there or created, QEMU waiting with -incoming, NBD for
// --copy-storage); the stream then goes direct over TCP, or through an ssh
// tunnel with --tunnel. On any failure the far side undoes what it made and
// the guest keeps running here.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { imageInfo } from '../storage/qemu-img.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { QkvmError } from '../errors.js';
import { withQmp } from '../runtime/qmp.js';
import type { QmpClient } from '../qmp/index.js';
import { captureRemote } from '../remote/run.js';
import { formatTarget, sshDestination, sshOptions, type SshTarget } from '../remote/target.js';
import { portableSpec, requireMigratable } from './common.js';
import { mirroredDisks, type IncomingRequest, type MirrorDisk } from './incoming.js';
import { freePort, migrateGuest, type MigrateOptions } from './live.js';
import type { MigrationResult } from './progress.js';

export interface ToHostOptions extends MigrateOptions {
  /** The stream through ssh (-L) instead of a direct TCP connection. */
  tunnel?: boolean;
  /** Copy the guest's writable disks live (NBD on the far side, blockdev-mirror here). */
  copyStorage?: boolean;
  /** Progress of the disk copy, 0..1. */
  onCopy?: (fraction: number, detail: string) => void;
}

export interface ToHostResult extends MigrationResult { host: string; tunnel: boolean; copied: string[] }

/** A port on the far side for QEMU's -incoming (and NBD): picked here, retried once if taken there. */
const farPort = () => randomInt(20000, 60000);

/** An ssh with -L forwards, in the background once the forwards stand (-f + ExitOnForwardFailure), ended through its control socket. */
async function openTunnel(t: SshTarget, forwards: [number, number][]): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'qkvm-tunnel-'));
  const control = join(dir, 'ctl');
  const base = [...sshOptions(t), '-o', `ControlPath=${control}`];
  const args = [...base, '-o', 'ControlMaster=yes', '-o', 'ExitOnForwardFailure=yes', '-f', '-N',
    ...forwards.flatMap(([local, far]) => ['-L', `127.0.0.1:${local}:127.0.0.1:${far}`]), '--', sshDestination(t)];
  const code = await new Promise<number>((res) => {
    const c = spawn('ssh', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    c.stderr.on('data', (d) => { err += d; });
    c.on('close', (n) => { if (n) process.stderr.write(err); res(n ?? 1); });
  });
  const close = async () => {
    await new Promise<void>((res) => spawn('ssh', [...base, '-O', 'exit', '--', sshDestination(t)], { stdio: 'ignore' }).on('close', () => res()));
    rmSync(dir, { recursive: true, force: true });
  };
  if (code !== 0) { await close(); throw new QkvmError('HOST', `the ssh tunnel to ${formatTarget(t)} did not come up (ssh exited ${code}); the guest stays here`); }
  return close;
}

interface BlockJob { device: string; len: number; offset: number; ready: boolean; status: string }

/** blockdev-mirror of each disk to the far side's NBD export, in write-blocking mode (so once ready, every guest write reaches both). */
async function mirrorDisks(name: string, disks: MirrorDisk[], nbd: { host: string; port: number }, onCopy?: ToHostOptions['onCopy']): Promise<void> {
  await withQmp(name, async (qmp) => {
    for (const d of disks) {
      await qmp.execute('blockdev-add', { driver: 'nbd', 'node-name': `mirror-${d.target}`, server: { type: 'inet', host: nbd.host, port: String(nbd.port) }, export: d.export }, { timeoutMs: 15_000 });
      await qmp.execute('blockdev-mirror', { 'job-id': `mirror-${d.target}`, device: d.node, target: `mirror-${d.target}`, sync: 'full', 'copy-mode': 'write-blocking' }, { timeoutMs: 15_000 });
    }
    for (;;) {
      const jobs = (await qmp.execute<BlockJob[]>('query-block-jobs', {}, { timeoutMs: 10_000 })).filter((j) => j.device.startsWith('mirror-'));
      if (jobs.length < disks.length) throw new QkvmError('QEMU', `a disk copy to the far side stopped (${disks.length - jobs.length} of ${disks.length} jobs ended early); the guest stays here`);
      const [len, off] = jobs.reduce(([l, o], j) => [l + j.len, o + j.offset], [0, 0]);
      onCopy?.(len ? off / len : 1, `${(off / 2 ** 20).toFixed(0)}/${(len / 2 ** 20).toFixed(0)} MiB`);
      if (jobs.every((j) => j.ready)) return;
      await new Promise((r) => setTimeout(r, 200));
    }
  });
}

/** After the switch-over (source paused): end each mirror job without pivoting; write-blocking left nothing behind. */
async function endMirrors(qmp: QmpClient, disks: MirrorDisk[]): Promise<void> {
  for (const d of disks) await qmp.execute('block-job-cancel', { device: `mirror-${d.target}` }, { timeoutMs: 10_000 }).catch(() => undefined);
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const left = (await qmp.execute<BlockJob[]>('query-block-jobs', {}, { timeoutMs: 10_000 })).filter((j) => j.device.startsWith('mirror-'));
    if (!left.length) return;
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function abortThere(t: SshTarget, name: string): Promise<void> {
  await captureRemote(t, ['migrate-incoming', name, '--abort'], { timeoutMs: 60_000 }).catch(() => undefined);
}

export async function migrateToHost(name: string, t: SshTarget, opts: ToHostOptions = {}): Promise<ToHostResult> {
  await requireMigratable(name);
  const spec = portableSpec(name);
  const disks = opts.copyStorage ? mirroredDisks(spec) : [];
  const copyStorage = opts.copyStorage ? {
    // The far side makes each image at the disk's virtual size (qemu-img -U: this guest holds it open).
    disks: await Promise.all(disks.map(async (d) => ({ target: d.target, bytes: (await imageInfo(d.path, { forceShare: true }))[0]['virtual-size'] }))),
  } : undefined;
  // QEMU listens there on the address the source reaches it by; through a tunnel, on the far loopback only.
  const listenHost = opts.tunnel ? '127.0.0.1' : t.host;
  let ports = { qemu: farPort(), nbd: farPort() };
  const request = (): IncomingRequest => ({
    spec, listen: `tcp:${listenHost.includes(':') ? `[${listenHost}]` : listenHost}:${ports.qemu}`,
    copyStorage: copyStorage && { ...copyStorage, nbd: { host: listenHost, port: ports.nbd } },
  });
  opts.onNote?.(`${formatTarget(t)}: qkvm migrate-incoming ${name} (listening on ${request().listen}${opts.tunnel ? ', through an ssh tunnel' : ''})`);
  let prep = await captureRemote(t, ['migrate-incoming', name], { input: JSON.stringify(request()) });
  if (prep.code !== 0 && /Address already in use/i.test(prep.stderr)) {
    ports = { qemu: farPort(), nbd: farPort() };
    prep = await captureRemote(t, ['migrate-incoming', name], { input: JSON.stringify(request()) });
  }
  if (prep.code !== 0) {
    const why = prep.stderr.trim().replace(/^qkvm: (error: )?/, '');
    throw new QkvmError(prep.code === 2 ? 'INVALID' : 'STATE', `${formatTarget(t)} cannot receive "${name}": ${why}; the guest stays here`);
  }
  let closeTunnel: (() => Promise<void>) | undefined;
  try {
    let uri = `tcp:${t.host.includes(':') ? `[${t.host}]` : t.host}:${ports.qemu}`;
    let nbd = { host: t.host, port: ports.nbd };
    if (opts.tunnel) {
      const [lq, ln] = [await freePort(), await freePort()];
      closeTunnel = await openTunnel(t, copyStorage ? [[lq, ports.qemu], [ln, ports.nbd]] : [[lq, ports.qemu]]);
      uri = `tcp:127.0.0.1:${lq}`;
      nbd = { host: '127.0.0.1', port: ln };
    }
    if (disks.length) await mirrorDisks(name, disks, nbd, opts.onCopy);
    const result = await migrateGuest(name, uri, { ...opts, beforeQuit: disks.length ? (qmp) => endMirrors(qmp, disks) : undefined });
    const fin = await captureRemote(t, ['migrate-incoming', name, '--finish'], { timeoutMs: 60_000 });
    if (fin.code !== 0) opts.onNote?.(`warning: ${formatTarget(t)}: finishing there failed: ${fin.stderr.trim()}`);
    return { ...result, host: formatTarget(t), tunnel: !!opts.tunnel, copied: disks.map((d) => d.path) };
  } catch (e) {
    // Mirror jobs (if any) end with the cancelled migration's QMP session; the far side undoes what it made.
    await withQmp(name, async (qmp) => {
      for (const d of disks) await qmp.execute('block-job-cancel', { device: `mirror-${d.target}`, force: true }).catch(() => undefined);
    }).catch(() => undefined);
    await abortThere(t, name);
    throw e;
  } finally {
    await closeTunnel?.();
  }
}
