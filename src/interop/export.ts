// `qkvm export NAME --format libvirt|ovf|ova|nomad`: reads the definition (and,
// for OVF/OVA, the disks), writes only where the user said, never over a file.
import { createHash } from 'node:crypto';
import { copyFileSync, constants, createReadStream, existsSync, lstatSync, mkdirSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import type { VmSpec } from '../config/schema.js';
import { loadVm } from '../config/store.js';
import { withTempDir } from '../config/tempdir.js';
import { QkvmError, invalid } from '../errors.js';
import { bridgeOf } from '../net/derive.js';
import { nicMac } from '../net/guest.js';
import { loadNetwork, networkExists } from '../net/store.js';
import { formatOf } from '../qemu/devices/block.js';
import { isGuestRunning } from '../storage/guests.js';
import { convertImage, imageInfo } from '../storage/qemu-img.js';
import { resolveDiskPath } from '../storage/resolve.js';
import { toLibvirt, type NetworkFacts } from './libvirt.js';
import { nomadHcl, toNomad } from './nomad.js';
import { checkOvfExport, toOvf, type OvfBus } from './ovf.js';
import { writeTar } from './tar.js';

export const EXPORT_FORMATS = ['libvirt', 'ovf', 'ova', 'nomad'] as const;
export type ExportFormat = typeof EXPORT_FORMATS[number];

export interface ExportOptions {
  format: ExportFormat;
  /** libvirt, nomad: a file (default: the text is returned for stdout). ovf: a new directory. ova: a new file (default ./NAME.ova). */
  out?: string;
  /** libvirt: the domain type for accel auto. */
  domainType?: 'kvm' | 'qemu';
  /** libvirt: a file libvirt's QEMU logs the serial console to. */
  serialLog?: string;
  /** ovf/ova: the controller for virtio-blk disks. */
  diskBus?: OvfBus;
  /** nomad: JSON (the API's form) instead of HCL. */
  json?: boolean;
  artifactBase?: string;
  anyAddress?: boolean;
  datacenters?: string[];
  /** Progress of long steps (disk conversion, archiving): a label and a fraction. */
  onProgress?: (label: string, fraction: number) => void;
}

export interface ExportResult { name: string; format: ExportFormat; files: string[]; text?: string; notes: string[] }

export function networkFacts(name: string): NetworkFacts | undefined {
  if (!networkExists(name)) return undefined;
  const n = loadNetwork(name);
  return { mode: n.mode, bridge: n.mode === 'user' ? undefined : bridgeOf(n), hostfwd: n.hostfwd };
}

const macsOf = (spec: VmSpec) => spec.nics.map((_, i) => nicMac(spec, i));

/** A new file: refused when anything (even a dangling symlink) is there. */
function freshPath(path: string, what: string): string {
  const p = resolve(path);
  let taken = false;
  try { lstatSync(p); taken = true; } catch { /* free */ }
  if (taken) throw new QkvmError('EXISTS', `${what} ${p} already exists`, { hint: 'qkvm never writes over a file: pick another -o, or move it away' });
  return p;
}

function writeNew(path: string, text: string): void {
  writeFileSync(path, text, { flag: 'wx', mode: 0o644 });
}

export async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

export const manifestLine = (name: string, hex: string) => `SHA256(${name})= ${hex}\n`;

export async function exportGuest(name: string, o: ExportOptions): Promise<ExportResult> {
  if (!EXPORT_FORMATS.includes(o.format)) throw invalid(`--format ${JSON.stringify(o.format)}: must be one of ${EXPORT_FORMATS.join(', ')}`);
  const spec = loadVm(name);
  const base = { name, format: o.format };
  if (o.format === 'libvirt') {
    if (o.serialLog !== undefined && !/^\/[^\0]*$/.test(o.serialLog)) throw invalid(`--serial-log ${JSON.stringify(o.serialLog)}: must be an absolute path`);
    const { xml, notes } = toLibvirt(spec, { diskPath: resolveDiskPath, network: networkFacts, macs: macsOf(spec), domainType: o.domainType, serialLog: o.serialLog });
    if (!o.out) return { ...base, files: [], text: xml, notes };
    const out = freshPath(o.out, 'output file');
    writeNew(out, xml);
    return { ...base, files: [out], notes };
  }
  if (o.format === 'nomad') {
    const { job, notes } = toNomad(spec, resolveDiskPath, { artifactBase: o.artifactBase, anyAddress: o.anyAddress, datacenters: o.datacenters });
    const text = o.json ? JSON.stringify(job, null, 2) + '\n' : nomadHcl(job);
    if (!o.out) return { ...base, files: [], text, notes };
    const out = freshPath(o.out, 'output file');
    writeNew(out, text);
    return { ...base, files: [out], notes };
  }
  return exportOvf(spec, o);
}

/** OVF (a directory: NAME.ovf, NAME.mf, the disks) or OVA (one tar of them, the descriptor first). */
async function exportOvf(spec: VmSpec, o: ExportOptions): Promise<ExportResult> {
  const name = spec.name;
  // Refuse before any disk is read or written.
  checkOvfExport(spec, { diskBus: o.diskBus }).check(`guest "${name}" cannot be written as OVF`, `change those fields (\`qkvm edit ${name}\`), then export again`);
  if (isGuestRunning(name)) throw new QkvmError('STATE', `guest "${name}" is running: its disks change while they are copied`, { hint: `shut it down first: \`qkvm shutdown ${name}\`` });
  const sources = spec.disks.map((d) => resolveDiskPath(d.file));
  for (const [i, p] of sources.entries()) if (!existsSync(p)) throw new QkvmError('NOT_FOUND', `disks[${i}] of "${name}": ${p} does not exist`);

  const write = async (dir: string): Promise<{ ovf: string; mf: string; disks: string[]; notes: string[] }> => {
    const files: { href: string; size: number; capacity: number }[] = [];
    const diskFiles: string[] = [];
    let k = 0; let c = 0;
    for (const [i, d] of spec.disks.entries()) {
      if (d.media === 'cdrom') {
        const href = `${name}-cdrom${++c}.iso`;
        const to = join(dir, href);
        copyFileSync(sources[i], to, constants.COPYFILE_EXCL);
        const size = statSync(to).size;
        files.push({ href, size, capacity: size });
        diskFiles.push(to);
        continue;
      }
      const href = `${name}-disk${++k}.vmdk`;
      const to = join(dir, href);
      const [info] = await imageInfo(sources[i], { forceShare: false });
      await convertImage({
        source: sources[i], target: to, format: 'vmdk' as any, sourceFormat: formatOf({ file: sources[i], format: d.format }), anyFormat: true,
        options: [['subformat', 'streamOptimized']], unrecorded: true,
        onProgress: (f) => o.onProgress?.(`convert ${basename(sources[i])} to ${href}`, f),
      });
      files.push({ href, size: statSync(to).size, capacity: info['virtual-size'] });
      diskFiles.push(to);
    }
    const { xml, notes } = toOvf({ spec, macs: macsOf(spec), files, options: { diskBus: o.diskBus } });
    const ovf = join(dir, `${name}.ovf`);
    writeNew(ovf, xml);
    let mf = '';
    for (const p of [ovf, ...diskFiles]) mf += manifestLine(basename(p), await sha256(p));
    const mfPath = join(dir, `${name}.mf`);
    writeNew(mfPath, mf);
    return { ovf, mf: mfPath, disks: diskFiles, notes };
  };

  if (o.format === 'ovf') {
    const dir = resolve(o.out ?? name);
    if (existsSync(dir) && (!lstatSync(dir).isDirectory() || readdirSync(dir).length)) throw new QkvmError('EXISTS', `${dir} exists and is not an empty directory`, { hint: 'give -o a new directory' });
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    const made: string[] = [];
    try {
      const r = await write(dir);
      made.push(r.ovf, r.mf, ...r.disks);
      return { name, format: 'ovf', files: made, notes: r.notes };
    } catch (e) {
      for (const f of readdirSync(dir)) if (f.startsWith(`${name}`)) { try { unlinkSync(join(dir, f)); } catch { /* gone */ } }
      throw e;
    }
  }
  const out = freshPath(o.out ?? `${name}.ova`, 'output file');
  return withTempDir('qkvm-ova-', async (dir) => {
    const r = await write(dir);
    // OVF 1.1 section 5.3: the descriptor first, the manifest next, then the files in References order.
    const members = [r.ovf, r.mf, ...r.disks].map((p) => ({ name: basename(p), path: p, size: statSync(p).size }));
    try {
      await writeTar(out, members, (done, total) => o.onProgress?.(`write ${basename(out)}`, total ? done / total : 1));
    } catch (e) {
      try { unlinkSync(out); } catch { /* never made */ }
      throw e;
    }
    return { name, format: 'ova' as const, files: [out], notes: r.notes };
  });
}
