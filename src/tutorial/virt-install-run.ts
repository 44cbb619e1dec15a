// `qkvm virt-install`: the plan from the pure parser (virt-install.ts), checked
// against the host (files, formats, pools, networks, the installer's kernel),
// then acted on in order: images, definition, start. Everything is checked
// before anything is made; a failure after that removes only what this run made.
import { existsSync, lstatSync, mkdirSync, rmSync, statSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import YAML from 'yaml';
import { qkvmHome } from '../config/paths.js';
import { parseVmSpec, validateName, type VmSpec, type VmSpecInput } from '../config/schema.js';
import { listVmNames, loadVm, vmExists } from '../config/store.js';
import { loadExeca } from '../config/lazy.js';
import { QkvmError, invalid } from '../errors.js';
import { IFNAME_RE } from '../net/schema.js';
import { parseVirtInstall, type VirtInstallPlan } from './virt-install.js';

/** Where an installer's kernel lives inside ISOs and trees, most common first (kernel, then initrds to try). */
export const KERNEL_PATHS: [string, string[]][] = [
  ['casper/vmlinuz', ['casper/initrd', 'casper/initrd.gz', 'casper/initrd.lz', 'casper/initrd.img']],
  ['install.amd/vmlinuz', ['install.amd/initrd.gz']],
  ['install/vmlinuz', ['install/initrd.gz']],
  ['images/pxeboot/vmlinuz', ['images/pxeboot/initrd.img']],
  ['isolinux/vmlinuz', ['isolinux/initrd.img', 'isolinux/initrd.gz']],
  ['boot/x86_64/loader/linux', ['boot/x86_64/loader/initrd']],
  ['live/vmlinuz', ['live/initrd.img', 'live/initrd.gz']],
  ['boot/vmlinuz', ['boot/initrd.img', 'boot/initrd.gz', 'boot/initramfs']],
  ['debian-installer/amd64/linux', ['debian-installer/amd64/initrd.gz']],
  ['vmlinuz', ['initrd.img', 'initrd.gz', 'initrd']],
];

/** The kernel and initrd among these files (paths relative to the tree's root, no leading slash). */
export function pickKernel(files: string[]): { kernel: string; initrd: string } | undefined {
  const set = new Set(files);
  for (const [k, initrds] of KERNEL_PATHS) {
    if (!set.has(k)) continue;
    const i = initrds.find((x) => set.has(x));
    if (i) return { kernel: k, initrd: i };
  }
  return undefined;
}

async function isoFiles(iso: string): Promise<string[]> {
  const { execa } = await loadExeca();
  const r = await execa('xorriso', ['-indev', iso, '-find', '/', '-type', 'f'], { reject: false });
  if (r.exitCode === undefined || (r as any).code === 'ENOENT') {
    throw new QkvmError('HOST', `--location ${iso}: reading an ISO needs xorriso, which is not installed`, { hint: 'apt-get install xorriso (or loop-mount the ISO and give the directory to --location)' });
  }
  if (r.exitCode !== 0) throw invalid(`--location ${iso}: not a readable ISO image (xorriso: ${String(r.stderr).trim().split('\n').pop()})`);
  return String(r.stdout).split('\n').map((l) => l.trim().replace(/^'(.*)'$/, '$1').replace(/^\//, '')).filter(Boolean);
}

function treeFiles(dir: string): string[] {
  return KERNEL_PATHS.flatMap(([k, i]) => [k, ...i]).filter((f) => { try { return statSync(join(dir, f)).isFile(); } catch { return false; } });
}

export interface InstallerKernel { kernel: string; initrd: string; fromIso?: string; inIso?: { kernel: string; initrd: string } }

/** Finds the installer's kernel and initrd in a local ISO (read with xorriso, not mounted) or a directory tree. */
export async function findInstaller(location: string): Promise<InstallerKernel> {
  let st;
  try { st = statSync(location); } catch { throw invalid(`--location ${location}: no such file or directory`); }
  const candidates = KERNEL_PATHS.map(([k]) => k).join(', ');
  if (st.isDirectory()) {
    const pick = pickKernel(treeFiles(location));
    if (!pick) throw invalid(`--location ${location}: no installer kernel and initrd found (looked for ${candidates})`, 'give --boot kernel=PATH,initrd=PATH instead');
    return { kernel: join(location, pick.kernel), initrd: join(location, pick.initrd) };
  }
  if (!st.isFile()) throw invalid(`--location ${location}: neither an ISO file nor a directory`);
  const pick = pickKernel(await isoFiles(location));
  if (!pick) throw invalid(`--location ${location}: no installer kernel and initrd in this ISO (looked for ${candidates})`, 'give --boot kernel=PATH,initrd=PATH instead');
  return { kernel: '', initrd: '', fromIso: location, inIso: pick };
}

/** A VNC display (0-99) no other definition uses and whose port is free now: virt-install's autoport. */
async function freeDisplay(listen: string, taken: Set<number>): Promise<number> {
  const free = (port: number) => new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, listen, () => s.close(() => resolve(true)));
  });
  for (let d = 0; d < 100; d++) if (!taken.has(d) && await free(5900 + d)) return d;
  throw new QkvmError('HOST', 'no free VNC display between 5900 and 5999', { hint: 'give one: --graphics vnc,port=59NN' });
}

export interface VirtInstallResult {
  plan: VirtInstallPlan;
  spec: VmSpec;
  /** What the install start boots (differs from spec for --location, --cdrom, --pxe). */
  installSpec: VmSpec;
  created: { images: string[]; networks: string[]; bootDir?: string };
  notes: string[];
  started: boolean;
}

export interface VirtInstallHooks {
  onNote?: (line: string) => void;
  onWarning?: (line: string) => void;
}

/** Formats qkvm runs; others are named in the error. */
async function probeFormat(path: string, flag: string): Promise<'qcow2' | 'raw'> {
  const { imageInfo } = await import('../storage/qemu-img.js');
  const fmt = (await imageInfo(path))[0]?.format;
  if (fmt === 'qcow2' || fmt === 'raw') return fmt;
  throw invalid(`${flag}: ${path} is a ${fmt} image; qkvm runs qcow2 and raw`, `convert it: qkvm qemu-img convert -O qcow2 ${path} ${path.replace(/\.[^./]*$/, '')}.qcow2`);
}

/**
 * Checks the plan against this host and returns the final definition, with no
 * side effect: the --dry-run and --print-xml paths stop here.
 */
export async function resolvePlan(plan: VirtInstallPlan): Promise<{ spec: VmSpecInput; installSpec: VmSpecInput; installer?: InstallerKernel; networksToDefine: { name: string; mode: 'nat' | 'bridge'; bridge?: string }[] }> {
  const notes = plan.notes;
  const spec = structuredClone(plan.spec) as VmSpecInput & { disks: any[]; nics: any[] };
  validateName(plan.name, '--name');
  if (vmExists(plan.name)) {
    throw new QkvmError('EXISTS', `--name ${plan.name}: a guest with that name is already defined`, { hint: `pick another name, or \`qkvm undefine ${plan.name}\` first` });
  }
  const { insidePool, diskFileType } = await import('../storage/placement.js');
  const { loadPool, poolExists } = await import('../storage/pool.js');
  const usedVolumes = new Set<string>();
  for (const p of plan.disks) {
    const d = spec.disks[p.index];
    const flag = p.flag ?? '--disk';
    if (p.pool) {
      if (!poolExists(p.pool)) {
        if (p.pool !== 'default') throw invalid(`--disk pool=${p.pool}: no such pool`, 'see `qkvm pool list`');
      }
      const dir = p.pool === 'default' && !poolExists('default') ? join(qkvmHome(), 'images') : loadPool(p.pool).target;
      const ext = p.format === 'raw' ? 'img' : 'qcow2';
      let vol = `${plan.name}.${ext}`;
      for (let i = 1; existsSync(join(dir, vol)) || usedVolumes.has(`${p.pool}/${vol}`); i++) vol = `${plan.name}-${i}.${ext}`;
      usedVolumes.add(`${p.pool}/${vol}`);
      validateName(vol, `--disk pool=${p.pool}: volume name`);
      d.file = p.pool === 'default' ? vol : `${p.pool}/${vol}`;
      d.format = p.format ?? 'qcow2';
      p.path = join(dir, vol);
      continue;
    }
    if (p.vol) {
      const [pool] = p.vol.split('/');
      if (!poolExists(pool) && pool !== 'default') throw invalid(`--disk vol=${p.vol}: no pool "${pool}"`, 'see `qkvm pool list`');
      const { resolveDiskPath } = await import('../storage/resolve.js');
      const path = resolveDiskPath(p.vol);
      if (!existsSync(path)) throw invalid(`--disk vol=${p.vol}: no such volume (${path})`, `create it: qkvm vol create ${pool} ${p.vol.split('/')[1]} 10G`);
      p.path = path;
      d.format = p.format ?? await probeFormat(path, `--disk vol=${p.vol}`);
      continue;
    }
    const path = p.path!;
    const type = diskFileType(path);
    const what = p.media === 'cdrom' ? 'ISO' : 'image';
    if (type === 'missing') {
      if (!p.size) {
        throw invalid(`${flag} ${path}: no such ${what}`, p.media === 'cdrom' ? 'give the path of an ISO that exists' : `add size=N (GiB) to create it: --disk path=${path},size=10`);
      }
      const dir = join(path, '..');
      if (!existsSync(dir)) {
        // A storage pool's own directory (images/ in a new home) is qkvm's to make, as `pool build` does.
        const { buildPool, listPoolNames, loadPool } = await import('../storage/pool.js');
        const pool = listPoolNames().find((n) => { try { return join(loadPool(n).target) === join(dir); } catch { return false; } });
        if (pool) { if (!plan.dryRun) buildPool(pool); }
        else throw invalid(`${flag} ${path}: the directory ${dir} does not exist`, `create it first: mkdir -p ${dir}`);
      }
      // virt-install's default storage format is qcow2; an explicit format= wins.
      d.format = p.format ?? 'qcow2';
    } else if (type === 'block') {
      d.hostDevice = true;
      if (p.size) notes.push(`--disk ${path}: a block device exists; size= ignored`);
      d.format = p.format ?? 'raw';
    } else if (type === 'file') {
      if (p.size) notes.push(`--disk ${path}: the image exists; size= ignored (qkvm never overwrites an image)`);
      if (p.media === 'cdrom') d.format = 'raw';
      else d.format = p.format ?? await probeFormat(path, `--disk ${path}`);
    } else throw invalid(`${flag} ${path}: a ${type}, which can never be a disk`);
    // A path the user typed is explicit: outside the pools it is attached as external (never removed by qkvm).
    if (!d.hostDevice && !insidePool(path)) d.external = true;
    if (p.media === 'cdrom') delete d.format;
  }

  // Networks: bridge=BR joins a qkvm network of mode bridge on BR, made when missing.
  const { listNetworkNames, loadNetwork, networkExists } = await import('../net/store.js');
  const networksToDefine: { name: string; mode: 'nat' | 'bridge'; bridge?: string }[] = [];
  for (const b of plan.bridges) {
    const existing = listNetworkNames().map((n) => { try { return loadNetwork(n); } catch { return undefined; } }).find((n) => n?.mode === 'bridge' && n.bridge === b.bridge);
    if (existing) { spec.nics[b.index].network = existing.name; continue; }
    if (!IFNAME_RE.test(b.bridge)) throw invalid(`--network bridge=${b.bridge}: not an interface name (1-15 characters of A-Z a-z 0-9 _ . -)`);
    if (!existsSync(`/sys/class/net/${b.bridge}/bridge`)) {
      throw invalid(`--network bridge=${b.bridge}: no bridge ${b.bridge} on this host`, `make one with \`qkvm bridge-setup ${b.bridge} --uplink IFACE\`, or use --network network=default`);
    }
    let netName = b.bridge;
    if (networkExists(netName)) netName = `bridge-${b.bridge}`;
    validateName(netName, `--network bridge=${b.bridge}: network name`);
    if (networkExists(netName)) throw invalid(`--network bridge=${b.bridge}: network "${netName}" exists and is not the bridge ${b.bridge}`);
    if (!networksToDefine.some((n) => n.name === netName)) networksToDefine.push({ name: netName, mode: 'bridge', bridge: b.bridge });
    spec.nics[b.index].network = netName;
    notes.push(`--network bridge=${b.bridge}: joins bridge ${b.bridge} through qkvm network "${netName}" (mode bridge, defined now)`);
  }
  if (plan.defaultNic) {
    if (networkExists('default')) { spec.nics[0] = { type: 'network', network: 'default', ...spec.nics[0] }; }
    else {
      spec.nics[0] = { type: 'user', ...spec.nics[0] };
      notes.push('no --network: user-mode networking (QEMU\'s own NAT), since qkvm has no network "default" (virt-install would use libvirt\'s; make it with `qkvm net define default --mode nat`)');
    }
  }
  for (const n of spec.nics) {
    if (n.type === 'network' && n.network === 'default' && !networkExists('default') && !networksToDefine.some((x) => x.name === 'default')) {
      networksToDefine.push({ name: 'default', mode: 'nat' });
      notes.push('--network network=default: qkvm has no network "default"; it is defined now as libvirt\'s is (mode nat, 192.168.122.0/24)');
    } else if (n.type === 'network' && n.network && !networkExists(n.network) && !networksToDefine.some((x) => x.name === n.network)) {
      validateName(n.network, '--network network=');
      throw invalid(`--network network=${n.network}: no such network`, `define it: qkvm net define ${n.network} --mode nat (see \`qkvm net list\`)`);
    }
  }

  // VNC autoport.
  const display = spec.display as any;
  if (display?.type === 'vnc' && plan.vncAutoPort) {
    const taken = new Set<number>();
    for (const other of listVmNames()) {
      try { const o = loadVm(other); if (o.display.type === 'vnc') taken.add(o.display.display); } catch { /* unreadable: skip */ }
    }
    display.display = await freeDisplay(display.listen ?? '127.0.0.1', taken);
  }

  // The installer: its kernel boots the install start only, as virt-install's does.
  let installer: InstallerKernel | undefined;
  const installSpec: VmSpecInput & { disks: any[] } = structuredClone(spec) as any;
  if (plan.install.kind === 'location') {
    installer = await findInstaller(plan.install.location!);
    const loc = plan.install.location!;
    if (installer.fromIso) {
      // The ISO stays attached as a cdrom: installers read their packages from it.
      const cd = { file: loc, media: 'cdrom', bus: spec.machine === 'q35' ? 'sata' : 'ide', ...(insidePool(loc) ? {} : { external: true }) };
      spec.disks.push(cd);
      installSpec.disks.push(cd);
    }
    const dir = join(qkvmHome(), 'boot', plan.name);
    installSpec.kernel = installer.fromIso ? join(dir, 'vmlinuz') : installer.kernel;
    installSpec.initrd = installer.fromIso ? join(dir, 'initrd') : installer.initrd;
    if (plan.install.extraArgs) installSpec.append = plan.install.extraArgs;
    notes.push(`--location: the installer's kernel ${installer.inIso ? `/${installer.inIso.kernel} (from the ISO)` : installer.kernel} boots this first start only; the definition boots from its disk afterwards`);
  }
  if (plan.install.bootOnce) installSpec.boot = { ...(installSpec.boot as object), once: plan.install.bootOnce };
  // Validate both now: nothing is made from an invalid definition.
  parseVmSpec(spec, `virt-install --name ${plan.name}`);
  parseVmSpec({ ...installSpec, kernel: installSpec.kernel ?? undefined }, `virt-install --name ${plan.name} (install boot)`);
  const { assertDiskPlacement } = await import('../storage/placement.js');
  assertDiskPlacement(parseVmSpec(spec).disks.filter((_, i) => !plan.disks.some((p) => p.index === i && (p.size || p.pool))), `virt-install --name ${plan.name}`);
  const { assertMacsUnique } = await import('../net/guest.js');
  assertMacsUnique(parseVmSpec(spec));
  return { spec, installSpec, installer, networksToDefine };
}

/** The definition as YAML, as `qkvm dumpconfig` prints it (--print-xml). */
export function specYaml(spec: VmSpecInput): string {
  return YAML.stringify(spec);
}

/** Runs virt-install's line: checks, creates, defines and starts. */
export async function virtInstall(argv: string[], hooks: VirtInstallHooks = {}): Promise<VirtInstallResult & { yaml?: string; dryRun?: string[] }> {
  const plan = parseVirtInstall(argv, { cwd: process.cwd() });
  const r = await resolvePlan(plan);
  const note = (l: string) => hooks.onNote?.(l);
  // What the line means here, said before anything is made.
  for (const n of plan.notes) note(`note: ${n}`);
  const base = { plan, notes: plan.notes, spec: parseVmSpec(r.spec), installSpec: parseVmSpec(r.installSpec), started: false };
  if (plan.printXml) return { ...base, created: { images: [], networks: [] }, yaml: specYaml(r.spec) };
  if (plan.dryRun) {
    const steps = [
      ...r.networksToDefine.map((n) => `define network "${n.name}" (mode ${n.mode}${n.bridge ? `, bridge ${n.bridge}` : ''})`),
      ...plan.disks.filter((p) => p.size && p.path && !existsSync(p.path)).map((p) => `create ${p.path} (${r.spec.disks![p.index].format}, ${p.size}${p.sparse ? '' : ', preallocated'})`),
      ...(r.installer?.fromIso ? [`copy the installer's kernel and initrd out of ${r.installer.fromIso}`] : []),
      `define guest "${plan.name}"`,
      `start guest "${plan.name}"`,
    ];
    return { ...base, created: { images: [], networks: [] }, dryRun: steps };
  }

  const created: VirtInstallResult['created'] = { images: [], networks: [] };
  let defined = false;
  try {
    const { defineNetwork } = await import('../net/network.js');
    for (const n of r.networksToDefine) {
      await defineNetwork({ name: n.name, mode: n.mode, bridge: n.bridge }, { onNote: note });
      created.networks.push(n.name);
    }
    const { createImage } = await import('../storage/qemu-img.js');
    for (const p of plan.disks) {
      if (!p.size || !p.path || existsSync(p.path)) continue;
      const format = r.spec.disks![p.index].format as 'qcow2' | 'raw';
      mkdirSync(join(p.path, '..'), { recursive: true });
      await createImage({ file: p.path, format, size: p.size, preallocation: p.sparse ? undefined : 'falloc', owner: { by: 'virt-install', guest: plan.name } });
      created.images.push(p.path);
      note(`created disk image ${p.path} (${format}, ${p.size})`);
    }
    if (r.installer?.fromIso) {
      const dir = join(qkvmHome(), 'boot', plan.name);
      if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      created.bootDir = dir;
      const { execa } = await loadExeca();
      await execa('xorriso', ['-osirrox', 'on', '-indev', r.installer.fromIso,
        '-extract', `/${r.installer.inIso!.kernel}`, join(dir, 'vmlinuz'),
        '-extract', `/${r.installer.inIso!.initrd}`, join(dir, 'initrd')], { stdio: 'ignore' });
      // Only regular files: a symlink in the ISO must not make QEMU read some other host file as the kernel.
      for (const f of ['vmlinuz', 'initrd']) {
        if (!lstatSync(join(dir, f)).isFile()) throw invalid(`--location ${r.installer.fromIso}: /${f === 'vmlinuz' ? r.installer.inIso!.kernel : r.installer.inIso!.initrd} is not a regular file in the ISO`);
      }
    }
    const { createGuest } = await import('../runtime/define.js');
    const { spec } = await createGuest(plan.name, { overrides: r.spec, onNote: note, onWarning: hooks.onWarning });
    defined = true;
    note(`guest "${plan.name}" defined`);
    const { startGuest } = await import('../runtime/start.js');
    const installSpec = parseVmSpec(r.installSpec, `guest "${plan.name}" (install boot)`);
    await startGuest(plan.name, { spec: installSpec, onNote: note, onWarning: hooks.onWarning });
    if (plan.vncPassword !== undefined) {
      const { vnc } = await import('../runtime/monitor.js');
      await vnc(plan.name, { password: plan.vncPassword });
      note('VNC password set over QMP');
    }
    return { ...base, spec, created, started: true };
  } catch (e) {
    // Undo only what this run made, newest first; the error that stopped it is the one reported.
    if (defined) {
      try { const { destroyGuest } = await import('../runtime/stop.js'); await destroyGuest(plan.name).catch(() => undefined); } catch { /* not running */ }
      try { const { undefineGuest } = await import('../runtime/define.js'); await undefineGuest(plan.name); } catch { /* leave it: the error says what happened */ }
    }
    if (created.bootDir) rmSync(created.bootDir, { recursive: true, force: true });
    if (created.images.length) {
      const { forgetOwned, realPathNoFollow } = await import('../storage/owned.js');
      const real = created.images.map((f) => { try { return realPathNoFollow(f); } catch { return f; } });
      for (const f of created.images) { try { unlinkSync(f); } catch { /* gone */ } }
      await forgetOwned(real).catch(() => undefined);
    }
    if (created.networks.length) {
      const { undefineNetwork, stopNetwork } = await import('../net/network.js');
      for (const n of created.networks.reverse()) {
        await stopNetwork(n).catch(() => undefined);
        await undefineNetwork(n).catch(() => undefined);
      }
    }
    throw e;
  }
}

