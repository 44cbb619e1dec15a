// `qkvm import FILE [--name NAME]`: libvirt domain XML, an .ovf (with its files
// beside it) or an .ova. libvirt disks stay where they are (external: true when
// outside the pools); OVF disks are converted to qcow2 in the default pool and
// recorded as qkvm's own. The user's files are only ever read.
import { closeSync, lstatSync, openSync, readSync, realpathSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { ensureDir } from '../config/atomic.js';
import { parseVmSpec, validateName, type VmSpecInput } from '../config/schema.js';
import { listVmNames, loadVm, vmExists } from '../config/store.js';
import { withTempDir } from '../config/tempdir.js';
import { QkvmError, invalid, notFound } from '../errors.js';
import { bridgeOf } from '../net/derive.js';
import { nicMac } from '../net/guest.js';
import { loadAllNetworks, networkExists } from '../net/store.js';
import { forgetOwned } from '../storage/owned.js';
import { insidePool } from '../storage/placement.js';
import { convertImage, imageInfo } from '../storage/qemu-img.js';
import { resolveDiskPath } from '../storage/resolve.js';
import { manifestLine, sha256 } from './export.js';
import { fromLibvirt } from './libvirt.js';
import { checkHref, fromOvf, type OvfDiskRef } from './ovf.js';
import { extractMember, listTar, readMemberText, type TarMember } from './tar.js';

export type ImportKind = 'libvirt' | 'ovf' | 'ova';

export interface ImportOptions {
  /** The new guest's name (default: the one in the file). */
  name?: string;
  onProgress?: (label: string, fraction: number) => void;
}

export interface ImportResult { name: string; kind: ImportKind; unmapped: string[]; notes: string[]; images: string[] }

const MAX_XML = 4 * 1024 * 1024;

/** The first bytes of a file the user named (following a symlink they typed is theirs to decide). */
function head(path: string, n: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const b = Buffer.alloc(n);
    const got = readSync(fd, b, 0, n, 0);
    return b.subarray(0, got);
  } finally { closeSync(fd); }
}

export function detectKind(path: string, firstBytes: Buffer): ImportKind {
  if (firstBytes.length >= 262 && firstBytes.subarray(257, 262).toString('ascii') === 'ustar') return 'ova';
  const t = firstBytes.toString('utf8');
  if (/<domain[\s>]/.test(t)) return 'libvirt';
  if (/<(\w+:)?Envelope[\s>]/.test(t)) return 'ovf';
  throw invalid(`${path}: neither libvirt domain XML, an OVF descriptor nor an OVA archive`, 'give `virsh dumpxml` output, a .ovf or a .ova');
}

function readText(path: string): string {
  const st = lstatSync(resolve(path), { throwIfNoEntry: false }) ?? (() => { throw notFound(`${path} does not exist`); })();
  const real = st.isSymbolicLink() ? lstatSync(realpathSync(path)) : st;
  if (!real.isFile()) throw invalid(`${path} is not a regular file`);
  if (real.size > MAX_XML) throw invalid(`${path} is ${real.size} bytes: more than the ${MAX_XML} a descriptor may have`);
  return head(path, real.size).toString('utf8');
}

/** MACs that another guest already has are dropped (the import then gets its own), with a note. */
function freeMacs(spec: VmSpecInput, notes: string[]): void {
  const taken = new Map<string, string>();
  for (const other of listVmNames()) {
    if (other === spec.name) continue;
    try { const o = loadVm(other); o.nics.forEach((_, k) => taken.set(nicMac(o, k), other)); } catch { /* unreadable: skip */ }
  }
  for (const [i, n] of (spec.nics ?? []).entries()) {
    const m = (n as { mac?: string }).mac;
    if (m && taken.has(m)) { delete (n as { mac?: string }).mac; notes.push(`nics[${i}]: MAC ${m} is guest "${taken.get(m)}"'s; the import gets its own`); }
  }
}

function finalName(fileName: string, o: ImportOptions): string {
  const name = o.name ?? fileName;
  validateName(name, o.name ? '--name' : 'the name in the file (give --name to choose another)');
  if (vmExists(name)) throw new QkvmError('EXISTS', `guest "${name}" is already defined`, { hint: 'give the import another name with --name' });
  return name;
}

export async function importFile(file: string, o: ImportOptions = {}): Promise<ImportResult> {
  const path = resolve(file);
  const st = lstatSync(path, { throwIfNoEntry: false });
  if (!st) throw notFound(`${file} does not exist`);
  const kind = detectKind(file, head(path, 4096));
  if (kind === 'libvirt') return importLibvirt(file, path, o);
  return importOvf(file, path, kind, o);
}

async function importLibvirt(file: string, path: string, o: ImportOptions): Promise<ImportResult> {
  const bridges = new Map(loadAllNetworks().filter((n) => n.mode !== 'user').map((n) => [bridgeOf(n), n.name]));
  const r = fromLibvirt(readText(path), { networkForBridge: (b) => bridges.get(b), networkExists, insidePool }, file);
  const name = finalName(r.spec.name, o);
  const spec: VmSpecInput = { ...r.spec, name };
  freeMacs(spec, r.notes);
  parseVmSpec(spec, file);
  const { createGuest } = await import('../runtime/define.js');
  await createGuest(name, { overrides: spec });
  return { name, kind: 'libvirt', unmapped: r.unmapped, notes: r.notes, images: [] };
}

/** A file an OVF names, beside it: a regular file, not a symlink, in the descriptor's own directory. */
export function besideDescriptor(dir: string, href: string): string {
  checkHref(href);
  const p = join(dir, href);
  const st = lstatSync(p, { throwIfNoEntry: false });
  if (!st) throw notFound(`${href}, named by the OVF, is not beside it in ${dir}`);
  if (st.isSymbolicLink()) throw invalid(`${p} is a symbolic link: an OVF's files must be plain files beside it`);
  if (!st.isFile()) throw invalid(`${p} is not a regular file`);
  if (realpathSync(dirname(p)) !== realpathSync(dir)) throw invalid(`${href} is not in the OVF's own directory`);
  return p;
}

/** qemu-img must not follow anything out of the file: no backing file, no data file, no extent elsewhere. */
async function assertSelfContained(path: string, format: string, label: string): Promise<void> {
  const [info] = await imageInfo(path, { format: format as any });
  if (info.format !== format) throw invalid(`${label}: qemu-img reads it as ${info.format}, not ${format}`);
  const i = info as any;
  if (i['backing-filename'] || i['full-backing-filename']) throw invalid(`${label}: it names a backing file (${i['backing-filename']}); an imported disk must be self-contained`);
  const data = i['format-specific']?.data ?? {};
  if (data['data-file']) throw invalid(`${label}: it names an external data file`);
  for (const e of data.extents ?? []) {
    if (e.filename && realpathSync(e.filename) !== realpathSync(path)) throw invalid(`${label}: a VMDK extent points at ${e.filename}, outside the file`);
  }
}

async function importOvf(file: string, path: string, kind: 'ovf' | 'ova', o: ImportOptions): Promise<ImportResult> {
  let members: TarMember[] = [];
  let descriptor: string;
  if (kind === 'ova') {
    members = listTar(path);
    const ovfs = members.filter((m) => m.name.toLowerCase().endsWith('.ovf'));
    if (ovfs.length !== 1) throw invalid(`${file}: an OVA holds exactly one .ovf descriptor; this one holds ${ovfs.length}`);
    if (members[0] !== ovfs[0]) throw invalid(`${file}: the .ovf descriptor is not the archive's first member (OVF 1.1 section 5.3)`);
    descriptor = readMemberText(path, ovfs[0]);
  } else {
    descriptor = readText(path);
  }
  const r = fromOvf(descriptor, { networkExists }, file);
  const name = finalName(r.spec.name, o);
  const spec: VmSpecInput = { ...r.spec, name };
  const dir = dirname(path);

  // Every file the descriptor names must be there (and in the manifest, when there is one) before anything is written.
  const member = (href: string) => {
    const m = members.find((x) => x.name === checkHref(href));
    if (!m) throw notFound(`${href}, named by the OVF, is not in ${file}`);
    return m;
  };
  const manifestName = kind === 'ova' ? members.find((m) => m.name.toLowerCase().endsWith('.mf'))?.name : undefined;
  let manifest: Map<string, string> | undefined;
  if (kind === 'ova' && manifestName) manifest = parseManifest(readMemberText(path, member(manifestName)));
  if (kind === 'ovf') {
    const mfPath = join(dir, basename(path).replace(/\.ovf$/i, '.mf'));
    const st = lstatSync(mfPath, { throwIfNoEntry: false });
    if (st?.isFile()) manifest = parseManifest(readText(mfPath));
  }
  if (manifest && manifest.size === 0) { r.notes.push('the manifest has no SHA256 lines (only SHA1): files were not checked against it'); manifest = undefined; }
  for (const f of r.files) (kind === 'ova' ? member(f.href) : besideDescriptor(dir, f.href));

  // The new images' names, fixed now so that the definition can be checked before any conversion.
  const vols = r.files.map((f, k) => (f.media === 'cdrom' ? `${name}-cdrom${k + 1}.iso` : `${name}-disk${k + 1}.qcow2`));
  r.files.forEach((f, k) => Object.assign((spec.disks as any[])[f.index], { file: vols[k], format: f.media === 'cdrom' ? 'raw' : 'qcow2' }));
  freeMacs(spec, r.notes);
  parseVmSpec(spec, file);
  const targets = vols.map((v) => resolveDiskPath(v));
  for (const t of targets) if (lstatSync(t, { throwIfNoEntry: false })) throw new QkvmError('EXISTS', `${t} already exists`, { hint: 'give the import another name with --name' });
  ensureDir(dirname(targets[0] ?? resolveDiskPath(`${name}-x.qcow2`)));

  const made: string[] = [];
  const convert = async (f: OvfDiskRef, src: string, k: number) => {
    if (manifest) {
      const want = manifest.get(f.href);
      if (!want) throw invalid(`${file}: ${f.href} is not in the manifest`);
      if ((await sha256(src)) !== want) throw invalid(`${file}: ${f.href} does not match its SHA256 in the manifest (damaged or changed)`);
    }
    await assertSelfContained(src, f.format, f.href);
    await convertImage({
      source: src, target: targets[k], format: f.media === 'cdrom' ? 'raw' : 'qcow2', sourceFormat: f.format as any, anyFormat: true,
      owner: { by: 'import', guest: name },
      onProgress: (x) => o.onProgress?.(`convert ${f.href} to ${vols[k]}`, x),
    });
    made.push(targets[k]);
  };
  try {
    if (manifest) {
      const own = kind === 'ova' ? members[0].name : basename(path);
      const want = manifest.get(own);
      const got = kind === 'ova' ? await sha256OfMember(path, members[0]) : await sha256(path);
      if (want && got !== want) throw invalid(`${file}: ${own} does not match its SHA256 in the manifest (damaged or changed)`);
    }
    if (kind === 'ova') {
      await withTempDir('qkvm-ova-in-', async (tmp) => {
        for (const [k, f] of r.files.entries()) {
          const m = member(f.href);
          const src = join(tmp, `member-${k}`);
          await extractMember(path, m, src, (done) => o.onProgress?.(`read ${f.href}`, m.size ? done / m.size : 1));
          await convert(f, src, k);
        }
      });
    } else {
      for (const [k, f] of r.files.entries()) await convert(f, besideDescriptor(dir, f.href), k);
    }
    const { createGuest } = await import('../runtime/define.js');
    await createGuest(name, { overrides: spec });
  } catch (e) {
    for (const p of made) { try { (await import('node:fs')).unlinkSync(p); } catch { /* gone */ } }
    await forgetOwned(made).catch(() => undefined);
    throw e;
  }
  return { name, kind, unmapped: r.unmapped, notes: r.notes, images: made };
}

async function sha256OfMember(archive: string, m: TarMember): Promise<string> {
  const { createHash } = await import('node:crypto');
  const { createReadStream } = await import('node:fs');
  const h = createHash('sha256');
  if (m.size) for await (const c of createReadStream(archive, { start: m.offset, end: m.offset + m.size - 1 })) h.update(c as Buffer);
  return h.digest('hex');
}

/** `SHA256(name)= hex` (and SHA1, which is only checked for form) lines of an OVF manifest. */
export function parseManifest(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split(/\r?\n/)) {
    if (!line.trim()) continue;
    const m = /^(SHA1|SHA256|SHA512)\s*\(([^)]+)\)\s*=\s*([0-9a-fA-F]+)$/.exec(line.trim());
    if (!m) throw invalid(`manifest line ${JSON.stringify(line.slice(0, 80))} is not "SHA256(file)= hex"`);
    if (m[1] === 'SHA256') out.set(m[2], m[3].toLowerCase());
  }
  return out;
}

export { manifestLine };
