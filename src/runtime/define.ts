// Definitions: create (the virt-install analogue), define, dumpconfig, edit, undefine.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { withTempDir } from '../config/tempdir.js';
import { dirname, join, resolve } from 'node:path';
import { loadExeca } from '../config/lazy.js';
import YAML from 'yaml';
import { home, templatesDir } from '../config/paths.js';
import { ensureDir } from '../config/atomic.js';
import { parseVmSpec, validateName, type VmSpec, type VmSpecInput } from '../config/schema.js';
import { loadVm, loadVmText, parseVmYaml, readDefinitionFile, removeVmFile, rewriteDefinition, saveVm, vmExists } from '../config/store.js';
import { withLock } from '../config/lock.js';
import { exposureWarnings } from '../config/exposure.js';
import { QkvmError, invalid, notFound } from '../errors.js';
import { guestStatus, isActive } from './state.js';
import { removeAllowance, storeTrust, type Grant } from '../config/trust.js';
import { listVmNames } from '../config/store.js';
import { listImages } from '../image/build.js';
import { newInstanceId } from '../image/cloud-init.js';
import { hostfwdPorts, pickPort } from '../image/port.js';

export function templateNames(): string[] {
  try {
    return readdirSync(templatesDir()).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();
  } catch { return []; }
}

/**
 * A template with its placeholders filled: {{name}}, {{images}}, {{demo}},
 * {{image:IMAGE}} (the directory of the newest build of IMAGE, `qkvm image
 * build`) and {{ssh-port}} (a free loopback port for the ssh hostfwd). The
 * template-only key `linkedClone:` (a base disk) is returned apart: createGuest
 * makes the first disk a qcow2 overlay on it.
 */
export function templateParts(template: string, name: string): { spec: VmSpecInput; linkedClone?: string } {
  if (!templateNames().includes(template)) {
    throw notFound(`no template "${template}"`, `templates: ${templateNames().join(', ')}`);
  }
  let text = readFileSync(join(templatesDir(), `${template}.yaml`), 'utf8')
    .replaceAll('{{name}}', name)
    .replaceAll('{{images}}', home.imagesDir())
    .replaceAll('{{demo}}', home.demoDir());
  if (text.includes('{{image:')) text = text.replace(/\{\{image:([a-z0-9.-]+)\}\}/g, (_m, img: string) => baseImageDir(img));
  if (text.includes('{{ssh-port}}')) text = text.replaceAll('{{ssh-port}}', String(sshPortFor(name)));
  const { linkedClone, ...doc } = YAML.parse(text) as VmSpecInput & { linkedClone?: string };
  return { spec: { ...doc, name }, ...(linkedClone ? { linkedClone } : {}) };
}

export function templateSpec(template: string, name: string): VmSpecInput {
  return templateParts(template, name).spec;
}

/** The newest build of a base image, or where it would be (createGuest then says to build it). */
function baseImageDir(image: string): string {
  const newest = listImages().find((m) => m.image === image);
  return newest?.dir ?? join(home.baseImagesDir(), `${image}-not-built`);
}

/** A loopback port no defined guest's hostfwd names and nothing listens on. */
export function sshPortFor(name: string): number {
  const taken: number[] = [];
  for (const other of listVmNames()) {
    if (other === name) continue;
    try { for (const n of loadVm(other).nics) taken.push(...hostfwdPorts(n.hostfwd)); } catch { /* unreadable: skip */ }
  }
  return pickPort(name, taken);
}

/** Deep enough for a cloudInit block: the flags' fields over the template's. */
function mergeCloudInit(base: VmSpecInput, over: Partial<VmSpecInput> | undefined): VmSpecInput['cloudInit'] {
  const a = base.cloudInit, b = over?.cloudInit;
  if (!a && !b) return undefined;
  return { ...(a ?? {}), ...(b ?? {}) };
}

export interface CreateOptions {
  template?: string;
  /** The spec (from --from-cmdline, or built by the CLI from flags), merged over the template. */
  overrides?: Partial<VmSpecInput>;
  /** Disks to create with qemu-img when their file does not exist: index in disks -> size. */
  diskSizes?: Record<number, string>;
  overwrite?: boolean;
  /** --allow-extra-args / --allow-programs: record the allowance for the extraArgs stored. */
  trust?: Grant;
  onNote?: (line: string) => void;
  /** Hears a warning about the definition (VNC without a password on a public address, hostfwd on every address). */
  onWarning?: (line: string) => void;
}

async function assertMacsUnique(spec: VmSpec): Promise<void> {
  const net: any = await import('../net/guest.js');
  if (typeof net.assertMacsUnique === 'function') await net.assertMacsUnique(spec);
}

/** Files outside pools and host devices only when the definition says so (storage/placement.ts). */
async function assertPlacement(spec: VmSpec, name: string): Promise<void> {
  const { assertDiskPlacement } = await import('../storage/placement.js');
  assertDiskPlacement(spec.disks, `guest "${name}"`);
}

/** A linked clone's size, when given, is at least its base's virtual size. */
async function assertNotSmaller(size: string, base: string): Promise<void> {
  const { parseSize, formatSize } = await import('../config/size.js');
  const { imageInfo } = await import('../storage/qemu-img.js');
  const want = parseSize(size, 'disk size');
  const have = (await imageInfo(base))[0]['virtual-size'];
  if (want < have) {
    throw invalid(`disk size ${size}: smaller than the base image ${base} (${formatSize(have)}); a linked clone can only be as large or larger`, `give at least ${formatSize(have)}, e.g. --disk-size 20G`);
  }
}

/** Undoes a create that failed half-way: removes the images it made, and their records. */
async function removeCreated(files: string[]): Promise<void> {
  const { rmSync } = await import('node:fs');
  const { forgetOwned, realPathNoFollow } = await import('../storage/owned.js');
  const real = files.map((f) => realPathNoFollow(f));
  for (const f of files) rmSync(f, { force: true });
  await forgetOwned(real);
}

/** `qkvm create NAME`: writes vms/NAME.yaml; creates missing disk images that were given a size. */
export async function createGuest(name: string, opts: CreateOptions = {}): Promise<{ spec: VmSpec; createdImages: string[] }> {
  validateName(name, 'guest name');
  return withLock('vm', name, 'creating the guest', async () => {
    if (vmExists(name) && !opts.overwrite) {
      throw new QkvmError('EXISTS', `guest "${name}" is already defined`, { hint: `pick another name, or \`qkvm undefine ${name}\` first` });
    }
    const parts = opts.template ? templateParts(opts.template, name) : { spec: { name } as VmSpecInput };
    const base = parts.spec;
    const input: VmSpecInput = { ...base, ...opts.overrides, name };
    const cloudInit = mergeCloudInit(base, opts.overrides);
    // A new guest is a new cloud-init instance: its own instance-id, kept in the definition.
    if (cloudInit) input.cloudInit = { ...cloudInit, 'instance-id': cloudInit['instance-id'] ?? newInstanceId(name) };
    const spec = parseVmSpec(input, `guest "${name}"`);
    await assertMacsUnique(spec);
    await assertPlacement(spec, name);
    for (const w of exposureWarnings(spec)) opts.onWarning?.(w);
    // Every image this create makes is planned and checked first: a bad size on
    // the last --disk must not leave the first one behind.
    const { createArgs, createImage } = await import('../storage/qemu-img.js');
    const { formatOf } = await import('../qemu/devices/block.js');
    const { resolveDiskPath } = await import('../storage/resolve.js');
    const owner = { by: 'create', guest: name };
    const plan: Parameters<typeof createImage>[0][] = [];
    const sizes = { ...(opts.diskSizes ?? {}) };
    for (const i of Object.keys(sizes)) {
      if (!spec.disks[Number(i)]) throw invalid(`disk size ${sizes[Number(i)]}: guest "${name}" has no disk ${Number(i) + 1} to give it to`, 'give the disk too: --disk FILE,size=SIZE');
    }
    if (parts.linkedClone && spec.disks[0]) {
      const base = parts.linkedClone;
      if (!existsSync(base)) throw notFound(`template "${opts.template}" needs its base image ${base}, which is not built`, `build it first: qkvm image build ${opts.template}`);
      const path = resolveDiskPath(spec.disks[0].file);
      if (existsSync(path)) throw new QkvmError('EXISTS', `${path} already exists`, { hint: `qkvm never overwrites an image: remove it, or pick another name than "${name}"` });
      // A linked clone: the guest writes only to its overlay; the base stays as built.
      // A size makes the overlay larger than the base (cloud-init's resizefs grows
      // the guest's file system to it); smaller would cut the base's data off.
      const size = sizes[0];
      delete sizes[0];
      if (size !== undefined) await assertNotSmaller(size, base);
      plan.push({ file: path, format: 'qcow2', backingFile: base, backingFormat: 'qcow2', ...(size !== undefined ? { size } : {}), owner });
    }
    for (const [i, size] of Object.entries(sizes)) {
      const d = spec.disks[Number(i)];
      const path = resolveDiskPath(d.file);
      if (existsSync(path)) continue;
      // The same format rule the builder uses, so the image matches the command line.
      plan.push({ file: path, format: formatOf(d), size, owner });
    }
    for (const p of plan) createArgs(p);
    const created: string[] = [];
    try {
      for (const p of plan) {
        ensureDir(dirname(p.file));
        await createImage(p);
        created.push(p.file);
      }
      const warning = storeTrust(name, spec.extraArgs, opts.trust);
      saveVm(input, { overwrite: opts.overwrite });
      if (warning) opts.onNote?.(warning);
    } catch (e) {
      await removeCreated(created);
      throw e;
    }
    return { spec, createdImages: created };
  });
}

/** `qkvm define FILE`: validates a YAML file and stores it as written (comments kept). */
export async function defineGuest(file: string, opts: { overwrite?: boolean; trust?: Grant; onNote?: (line: string) => void; onWarning?: (line: string) => void } = {}): Promise<VmSpec> {
  let text: string;
  try { text = readDefinitionFile(resolve(file), { follow: true }); } catch (e: any) { if (e instanceof QkvmError) throw e; throw notFound(`cannot read ${file}: ${e.code ?? e.message}`); }
  const spec = parseVmYaml(text, file);
  await assertMacsUnique(spec);
  await assertPlacement(spec, spec.name);
  for (const w of exposureWarnings(spec)) opts.onWarning?.(w);
  return withLock('vm', spec.name, 'defining the guest', async () => {
    if (vmExists(spec.name) && !opts.overwrite) {
      throw new QkvmError('EXISTS', `guest "${spec.name}" is already defined`, { hint: 'use --overwrite to replace its definition, or `qkvm edit`' });
    }
    const warning = storeTrust(spec.name, spec.extraArgs, opts.trust);
    const saved = saveVm(YAML.parse(text), { overwrite: true, text });
    if (warning) opts.onNote?.(warning);
    return saved;
  });
}

export function dumpConfig(name: string): string {
  loadVm(name);
  return loadVmText(name);
}

/** `qkvm undefine`: removes the definition; disks only with removeStorage, and only the guest's own. */
export async function undefineGuest(name: string, opts: { removeStorage?: boolean } = {}): Promise<{ removed: string[]; kept: string[]; why: Record<string, string> }> {
  validateName(name, 'guest name');
  return withLock('vm', name, 'undefining the guest', async () => {
    const spec = loadVm(name);
    await (await import('./recover.js')).recoverLocked(name);
    const st = await guestStatus(name);
    if (isActive(st.state)) {
      throw new QkvmError('STATE', `guest "${name}" is ${st.state}`, { hint: `stop it first: \`qkvm shutdown ${name}\` or \`qkvm destroy ${name}\`` });
    }
    let removed: string[] = [];
    // Why each kept file was kept (only with removeStorage): the CLI prints it.
    const why: Record<string, string> = {};
    if (opts.removeStorage) {
      const { removeGuestStorage } = await import('../storage/remove.js');
      const plan = await removeGuestStorage(spec);
      removed = plan.remove;
      for (const k of plan.keep) why[k.path] = k.why;
    }
    removeVmFile(name);
    removeAllowance(name);
    // The cloud-init seeds qkvm made for it (cidata-KEY.iso only).
    (await import('../image/seed.js')).removeSeeds(name);
    const { resolveDiskPath } = await import('../storage/resolve.js');
    const kept = [...new Set(spec.disks.map((d) => resolveDiskPath(d.file)))].filter((p) => !removed.includes(p));
    return { removed, kept, why };
  });
}

/** `qkvm edit`: $EDITOR on a copy; the definition changes only if the edited copy is valid. */
export async function editGuest(name: string, editor = process.env.VISUAL || process.env.EDITOR || 'vi', opts: { trust?: Grant; onNote?: (line: string) => void } = {}): Promise<{ changed: boolean }> {
  const before = loadVmText(name);
  // The copy lives in a private temporary directory removed however the edit ends.
  return withTempDir('qkvm-edit-', async (dir) => {
    const copy = join(dir, `${name}.yaml`);
    writeFileSync(copy, before, { mode: 0o600 });
    // The editor is a command the user chose, possibly with flags: split it on spaces, no shell.
    const [cmd, ...args] = editor.trim().split(/\s+/);
    const r = await (await loadExeca()).execa(cmd, [...args, copy], { stdio: 'inherit', reject: false });
    if (r.exitCode === undefined) throw new QkvmError('HOST', `cannot run the editor "${editor}": ${r.shortMessage}`, { hint: 'set EDITOR or VISUAL to an editor that is installed' });
    if (r.exitCode !== 0) throw new QkvmError('INVALID', `the editor (${editor}) exited with ${r.exitCode}; the definition is unchanged`);
    const after = readDefinitionFile(copy);
    if (after === before) return { changed: false };
    let spec: VmSpec;
    try {
      spec = parseVmYaml(after, `${name}.yaml (edited)`);
    } catch (e: any) {
      const keep = join(home.vmsDir(), `.${name}.yaml.rejected`);
      writeFileSync(keep, after, { mode: 0o600 });
      throw new QkvmError('INVALID', `${e.message}\nthe old definition is kept; your edit is saved in ${keep}`);
    }
    if (spec.name !== name) throw invalid(`edit: renaming is not supported (name "${spec.name}" != "${name}"); the old definition is kept`);
    await assertMacsUnique(spec);
    await assertPlacement(spec, name);
    await withLock('vm', name, 'saving an edited definition', async () => {
      const warning = storeTrust(name, spec.extraArgs, opts.trust);
      saveVm(YAML.parse(after), { overwrite: true, text: after });
      if (warning) opts.onNote?.(warning);
    });
    return { changed: true };
  });
}

export async function setAutostart(name: string, enabled: boolean): Promise<void> {
  await withLock('vm', name, 'setting autostart', async () => {
    const text = loadVmText(name);
    const doc = YAML.parseDocument(text);
    doc.set('autostart', enabled);
    const out = doc.toString();
    parseVmYaml(out, home.vmFile(name));
    saveVm(YAML.parse(out), { overwrite: true, text: out });
  });
}

/** Edits a definition programmatically (keeping its comments): used by --persist and setvcpus. */
export async function updateDefinition(name: string, change: (spec: VmSpecInput) => VmSpecInput | void): Promise<VmSpec> {
  return withLock('vm', name, 'updating the definition', async () => {
    const before = YAML.parse(loadVmText(name)) as VmSpecInput;
    const draft = structuredClone(before);
    const after = change(draft) ?? draft;
    // Only the fields that changed are rewritten, so comments elsewhere survive.
    const changed: Record<string, unknown> = {};
    for (const key of new Set([...Object.keys(before), ...Object.keys(after)])) {
      const a = (before as any)[key], b = (after as any)[key];
      if (JSON.stringify(a) !== JSON.stringify(b)) changed[key] = b;
    }
    return rewriteDefinition(name, changed as Partial<VmSpecInput>);
  }, 10_000);
}
