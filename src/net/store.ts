// Network definitions on disk: networks/NAME.yaml, validated on every read and
// written atomically.
import { existsSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import YAML from 'yaml';
import { home } from '../config/paths.js';
import { writeFileAtomic } from '../config/atomic.js';
import { validateName } from '../config/schema.js';
import { QkvmError, invalid, notFound } from '../errors.js';
import { parseNetworkSpec, type NetworkSpec, type NetworkSpecInput } from './schema.js';

export function networkExists(name: string): boolean {
  validateName(name, 'network name');
  return existsSync(home.networkFile(name));
}

export function loadNetwork(name: string): NetworkSpec {
  validateName(name, 'network name');
  const file = home.networkFile(name);
  let text: string;
  try { text = readFileSync(file, 'utf8'); } catch {
    throw notFound(`network "${name}" is not defined`, 'see `qkvm net list`, or define it with `qkvm net define NAME --mode nat`');
  }
  let doc: unknown;
  try { doc = YAML.parse(text); } catch (e: any) { throw invalid(`${file}: not valid YAML: ${String(e.message).split('\n')[0]}`); }
  const spec = parseNetworkSpec(doc, file);
  if (spec.name !== name) throw invalid(`${file}: name "${spec.name}" does not match the file name "${name}"`);
  return spec;
}

export function saveNetwork(input: NetworkSpec | NetworkSpecInput, opts: { overwrite?: boolean } = {}): NetworkSpec {
  const spec = parseNetworkSpec(input, `network "${(input as any).name}"`);
  if (!opts.overwrite && existsSync(home.networkFile(spec.name))) {
    throw new QkvmError('EXISTS', `network "${spec.name}" is already defined`, { hint: `pick another name, or \`qkvm net undefine ${spec.name}\` first` });
  }
  writeFileAtomic(home.networkFile(spec.name), YAML.stringify(spec, { lineWidth: 0 }));
  return spec;
}

export function listNetworkNames(): string[] {
  let files: string[];
  try { files = readdirSync(home.networksDir()); } catch { return []; }
  return files.filter((f) => f.endsWith('.yaml') && !f.startsWith('.')).map((f) => f.slice(0, -5)).sort();
}

/** Every definition that parses; a broken file is skipped here and reported by `net info`. */
export function loadAllNetworks(): NetworkSpec[] {
  const out: NetworkSpec[] = [];
  for (const n of listNetworkNames()) {
    try { out.push(loadNetwork(n)); } catch { /* reported when named */ }
  }
  return out;
}

export function removeNetworkFile(name: string): void {
  validateName(name, 'network name');
  try { unlinkSync(home.networkFile(name)); } catch { /* already gone */ }
}
