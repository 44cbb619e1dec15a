// The NoCloud seed on disk: an ISO 9660 image labelled "cidata" holding
// user-data, meta-data and (when given) network-config, made with xorriso as
// virt-install and Proxmox make theirs. Its file name carries the content key,
// so a changed cloudInit block gives a new seed and an unchanged one is reused.
import { existsSync, lstatSync, readdirSync, renameSync, rmdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ensureDir } from '../config/atomic.js';
import { home } from '../config/paths.js';
import type { VmSpec } from '../config/schema.js';
import { withTempDir } from '../config/tempdir.js';
import { loadExeca } from '../config/lazy.js';
import { QkvmError } from '../errors.js';
import { renderSeed, seedKey } from './cloud-init.js';

const SEED_RE = /^cidata-[0-9a-f]{16}\.iso$/;

/** Where the seed of this definition lives (whether or not it was made yet). */
export function seedFile(spec: VmSpec): string | undefined {
  if (!spec.cloudInit) return undefined;
  return join(home.seedDir(spec.name), `cidata-${seedKey(renderSeed(spec.name, spec.cloudInit))}.iso`);
}

/** The argv that writes a seed ISO from a directory: what a person would type. */
export function xorrisoArgs(out: string, dir: string): string[] {
  return ['-as', 'mkisofs', '-quiet', '-output', out, '-volid', 'cidata', '-joliet', '-rock', dir];
}

/**
 * Makes the seed for a definition when it does not exist yet, and removes the
 * guest's older seeds (only files qkvm names cidata-KEY.iso, never a symlink).
 */
export async function ensureSeed(spec: VmSpec): Promise<string | undefined> {
  const out = seedFile(spec);
  if (!out || !spec.cloudInit) return undefined;
  const dir = ensureDir(home.seedDir(spec.name));
  if (!existsSync(out)) {
    const files = renderSeed(spec.name, spec.cloudInit);
    await withTempDir('qkvm-seed-', async (tmp) => {
      for (const [name, text] of Object.entries(files)) if (text !== undefined) writeFileSync(join(tmp, name), text, { mode: 0o600 });
      const partial = `${out}.partial`;
      try { unlinkSync(partial); } catch { /* none */ }
      const r = await (await loadExeca()).execa('xorriso', xorrisoArgs(partial, tmp), { reject: false });
      if (r.exitCode !== 0) {
        try { unlinkSync(partial); } catch { /* none */ }
        throw new QkvmError('HOST', `xorriso could not write the cloud-init seed ${out}: ${String(r.stderr || r.shortMessage).trim()}`, { hint: 'install xorriso: scripts/setup-host.sh' });
      }
      renameSync(partial, out);
    });
  }
  for (const f of readdirSync(dir)) {
    const p = join(dir, f);
    if (p !== out && SEED_RE.test(f) && lstatSync(p).isFile()) unlinkSync(p);
  }
  return out;
}

/** Removes a guest's seeds (undefine): only cidata-KEY.iso files, then the directory if it is empty. */
export function removeSeeds(name: string): void {
  const dir = home.seedDir(name);
  let entries: string[];
  try {
    if (!lstatSync(dir).isDirectory()) return;
    entries = readdirSync(dir);
  } catch { return; }
  for (const f of entries) {
    const p = join(dir, f);
    if (SEED_RE.test(f) && lstatSync(p).isFile()) unlinkSync(p);
  }
  try { if (!readdirSync(dir).length) rmdirSync(dir); } catch { /* gone */ }
}
