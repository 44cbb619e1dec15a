// Directory storage pools, virsh style: a pool is a name for a directory, and
// its volumes are the image files in it. QKVM_HOME/images is the `default` pool.
import { existsSync, mkdirSync, readdirSync, readFileSync, statfsSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import YAML from 'yaml';
import { z } from 'zod';
import { writeFileAtomic, ensureDir } from '../config/atomic.js';
import { home, run } from '../config/paths.js';
import { Name, parseWith, validateName } from '../config/schema.js';
import { QkvmError, invalid, notFound } from '../errors.js';

export const DEFAULT_POOL = 'default';

export const PoolSpec = z.object({
  name: Name,
  type: z.literal('dir'),
  /** The directory that holds the pool's volumes (absolute). */
  target: z.string().min(1).refine((p) => isAbsolute(p), 'must be an absolute path'),
  autostart: z.boolean().default(false),
}).strict();
export type PoolSpec = z.output<typeof PoolSpec>;

export interface PoolStatus extends PoolSpec {
  state: 'active' | 'inactive';
  /** Whether the target directory exists (`pool build` makes it). */
  built: boolean;
  capacity?: number;
  allocation?: number;
  available?: number;
}

// Active is runtime state, like virsh's: it lives under QKVM_RUN and is gone after a reboot.
const activeFile = (name: string) => join(run.poolsDir(), `${name}.active`);
const stoppedFile = (name: string) => join(run.poolsDir(), `${name}.stopped`);

function defaultPool(): PoolSpec {
  return { name: DEFAULT_POOL, type: 'dir', target: home.imagesDir(), autostart: true };
}

export function poolExists(name: string): boolean {
  return name === DEFAULT_POOL || existsSync(home.poolFile(name));
}

export function loadPool(name: string): PoolSpec {
  validateName(name, 'pool name');
  if (name === DEFAULT_POOL) return defaultPool();
  let text: string;
  try {
    text = readFileSync(home.poolFile(name), 'utf8');
  } catch {
    throw notFound(`pool "${name}" is not defined`, 'see `qkvm pool list`, or define it with `qkvm pool define NAME --type dir --target DIR`');
  }
  return parseWith(PoolSpec, YAML.parse(text), home.poolFile(name));
}

export function listPoolNames(): string[] {
  let files: string[] = [];
  try { files = readdirSync(home.poolsDir()); } catch { /* none yet */ }
  const names = files.filter((f) => f.endsWith('.yaml') && !f.startsWith('.')).map((f) => f.slice(0, -5));
  return [DEFAULT_POOL, ...names.filter((n) => n !== DEFAULT_POOL).sort()];
}

function savePool(spec: PoolSpec): void {
  writeFileAtomic(home.poolFile(spec.name), YAML.stringify(spec));
}

export function definePool(input: { name: string; type?: string; target: string }): PoolSpec {
  validateName(input.name, 'pool name');
  if (input.name === DEFAULT_POOL) throw new QkvmError('EXISTS', 'pool "default" always exists: it is QKVM_HOME/images');
  if (existsSync(home.poolFile(input.name))) {
    throw new QkvmError('EXISTS', `pool "${input.name}" is already defined`, { hint: `pick another name, or \`qkvm pool undefine ${input.name}\` first` });
  }
  if ((input.type ?? 'dir') !== 'dir') throw invalid(`pool type: "${input.type}" is not supported`, 'qkvm has directory pools only: --type dir');
  if (!input.target) throw invalid('pool target: a dir pool needs --target DIR');
  const spec = parseWith(PoolSpec, { name: input.name, type: 'dir', target: resolve(input.target), autostart: false }, `pool "${input.name}"`);
  const clash = listPoolNames().map((n) => loadPool(n)).find((p) => p.target === spec.target);
  if (clash) throw new QkvmError('EXISTS', `pool "${clash.name}" already uses ${spec.target}`, { hint: 'two pools on one directory would see each other\'s volumes' });
  savePool(spec);
  return spec;
}

/** Makes the target directory (virsh pool-build). */
export function buildPool(name: string): PoolSpec {
  const spec = loadPool(name);
  mkdirSync(spec.target, { recursive: true, mode: 0o711 });
  return spec;
}

export function isPoolActive(name: string): boolean {
  if (name === DEFAULT_POOL) return true;
  if (existsSync(activeFile(name))) return true;
  if (existsSync(stoppedFile(name))) return false;
  // No daemon runs at boot: an autostart pool becomes active at its first use.
  const spec = loadPool(name);
  if (spec.autostart && existsSync(spec.target)) {
    setActive(name, true);
    return true;
  }
  return false;
}

// `stopped` remembers an explicit stop, so that autostart does not undo it until the next boot.
function setActive(name: string, on: boolean): void {
  ensureDir(run.poolsDir());
  try { unlinkSync(on ? stoppedFile(name) : activeFile(name)); } catch { /* not there */ }
  writeFileSync(on ? activeFile(name) : stoppedFile(name), '', { mode: 0o600 });
}

export function startPool(name: string): PoolSpec {
  const spec = loadPool(name);
  if (!existsSync(spec.target) || !statSync(spec.target).isDirectory()) {
    throw new QkvmError('NOT_FOUND', `pool "${name}": target ${spec.target} is not a directory`, { hint: `build it first: \`qkvm pool build ${name}\`` });
  }
  if (name !== DEFAULT_POOL) setActive(name, true);
  return spec;
}

export function stopPool(name: string): PoolSpec {
  const spec = loadPool(name);
  if (name === DEFAULT_POOL) throw invalid('pool "default" cannot be stopped: it is QKVM_HOME/images');
  setActive(name, false);
  return spec;
}

export function setPoolAutostart(name: string, on: boolean): PoolSpec {
  if (name === DEFAULT_POOL) throw invalid('pool "default" always starts');
  const spec = { ...loadPool(name), autostart: on };
  savePool(spec);
  return spec;
}

/** Removes the definition only: the directory and its volumes stay. */
export function undefinePool(name: string): void {
  validateName(name, 'pool name');
  if (name === DEFAULT_POOL) throw invalid('pool "default" cannot be undefined: it is QKVM_HOME/images');
  loadPool(name);
  if (isPoolActive(name)) throw new QkvmError('STATE', `pool "${name}" is active`, { hint: `stop it first: \`qkvm pool stop ${name}\`` });
  unlinkSync(home.poolFile(name));
  try { unlinkSync(stoppedFile(name)); } catch { /* none */ }
}

export function poolStatus(name: string): PoolStatus {
  const spec = loadPool(name);
  const built = existsSync(spec.target);
  const out: PoolStatus = { ...spec, state: isPoolActive(name) ? 'active' : 'inactive', built };
  if (built) {
    try {
      const fs = statfsSync(spec.target);
      out.capacity = fs.blocks * fs.bsize;
      out.available = fs.bavail * fs.bsize;
      out.allocation = (fs.blocks - fs.bfree) * fs.bsize;
    } catch { /* not readable */ }
  }
  return out;
}

export function listPools(): PoolStatus[] {
  return listPoolNames().map(poolStatus);
}

/** The pool's spec, refusing an inactive pool the way virsh does. */
export function activePool(name: string): PoolSpec {
  const spec = loadPool(name);
  if (name === DEFAULT_POOL) {
    ensureDir(spec.target);
    return spec;
  }
  if (!isPoolActive(name)) throw new QkvmError('STATE', `pool "${name}" is not active`, { hint: `start it: \`qkvm pool start ${name}\`` });
  return spec;
}
