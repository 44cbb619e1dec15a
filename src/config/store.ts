// Definitions on disk: vms/NAME.yaml, validated on every read and written atomically.
import { existsSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import YAML from 'yaml';
import { home } from './paths.js';
import { writeFileAtomic } from './atomic.js';
import { parseVmSpec, validateName, type VmSpec, type VmSpecInput } from './schema.js';
import { QkvmError, notFound, invalid } from '../errors.js';

export function vmExists(name: string): boolean {
  validateName(name, 'guest name');
  return existsSync(home.vmFile(name));
}

/** Parses YAML text into a validated definition; `source` names the file in errors. */
export function parseVmYaml(text: string, source: string): VmSpec {
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (e: any) {
    throw invalid(`${source}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  if (doc == null || typeof doc !== 'object' || Array.isArray(doc)) throw invalid(`${source}: a definition must be a YAML mapping`);
  return parseVmSpec(doc, source);
}

export function loadVm(name: string): VmSpec {
  validateName(name, 'guest name');
  const file = home.vmFile(name);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw notFound(`guest "${name}" is not defined`, 'see `qkvm list --all`, or create it with `qkvm create`');
  }
  const spec = parseVmYaml(text, file);
  if (spec.name !== name) throw invalid(`${file}: name "${spec.name}" does not match the file name "${name}"`);
  return spec;
}

export function loadVmText(name: string): string {
  validateName(name, 'guest name');
  try { return readFileSync(home.vmFile(name), 'utf8'); } catch { throw notFound(`guest "${name}" is not defined`); }
}

export function dumpVmYaml(spec: VmSpec | VmSpecInput): string {
  return YAML.stringify(spec, { lineWidth: 0 });
}

/** Writes a definition; `overwrite: false` refuses an existing name. Returns the validated spec. */
export function saveVm(input: VmSpec | VmSpecInput, opts: { overwrite?: boolean; text?: string } = {}): VmSpec {
  const spec = parseVmSpec(input, `guest "${(input as any).name}"`);
  if (!opts.overwrite && existsSync(home.vmFile(spec.name))) {
    throw new QkvmError('EXISTS', `guest "${spec.name}" is already defined`, { hint: `pick another name, or \`qkvm undefine ${spec.name}\` first` });
  }
  writeFileAtomic(home.vmFile(spec.name), opts.text ?? dumpVmYaml(input));
  return spec;
}

export function listVmNames(): string[] {
  let files: string[];
  try { files = readdirSync(home.vmsDir()); } catch { return []; }
  return files.filter((f) => f.endsWith('.yaml') && !f.startsWith('.')).map((f) => f.slice(0, -5)).sort();
}

export function removeVmFile(name: string): void {
  validateName(name, 'guest name');
  try { unlinkSync(home.vmFile(name)); } catch { /* already gone */ }
  try { unlinkSync(home.snapshotsFile(name)); } catch { /* none */ }
}

/**
 * Replaces some top-level fields of a stored definition, keeping the rest of
 * the file as the user wrote it (comments, order, omitted defaults). The caller
 * holds the guest's lock.
 */
export function rewriteDefinition(name: string, changes: Partial<VmSpecInput>): VmSpec {
  const file = home.vmFile(name);
  const doc = YAML.parseDocument(loadVmText(name));
  for (const [key, value] of Object.entries(changes)) {
    if (value === undefined) doc.delete(key);
    else doc.set(key, doc.createNode(value));
  }
  const text = doc.toString({ lineWidth: 0 });
  const spec = parseVmYaml(text, file);
  writeFileAtomic(file, text);
  return spec;
}
