// Definitions on disk: vms/NAME.yaml, validated on every read and written atomically.
import { closeSync, constants, existsSync, fstatSync, lstatSync, openSync, readdirSync, readFileSync, unlinkSync } from 'node:fs';
import YAML from 'yaml';
import { join } from 'node:path';
import { home, templatesDir } from './paths.js';
import { writeFileAtomic } from './atomic.js';
import { parseVmSpec, validateName, type VmSpec, type VmSpecInput } from './schema.js';
import { NAME_RE } from './name.js';
import { QkvmError, notFound, invalid } from '../errors.js';

export function vmExists(name: string): boolean {
  validateName(name, 'guest name');
  return existsSync(home.vmFile(name));
}

/**
 * The largest definition qkvm reads: 1 MiB. Real ones are a few KiB; a 50 MB
 * file once took 20 s and 3.5 GB to parse, and slowed every later command.
 */
export const MAX_DEFINITION_BYTES = 1024 * 1024;

function tooLarge(file: string, size: number): QkvmError {
  return invalid(`${file}: the definition is ${size} bytes, more than the limit of ${MAX_DEFINITION_BYTES} bytes (1 MiB)`,
    'a definition holds settings, not data: remove what does not belong in it');
}

/**
 * Reads a definition file, refusing one over MAX_DEFINITION_BYTES before any
 * of it is read. `follow: false` (qkvm's own files) also refuses a symlink.
 * A missing file throws the system error (ENOENT) for the caller to word.
 */
export function readDefinitionFile(file: string, opts: { follow?: boolean } = {}): string {
  if (!opts.follow) {
    const st = lstatSync(file);
    if (st.isSymbolicLink()) throw invalid(`${file}: is a symbolic link; qkvm reads its own definitions only from regular files`, 'replace the link with the file itself');
    if (st.size > MAX_DEFINITION_BYTES) throw tooLarge(file, st.size);
  }
  const fd = openSync(file, constants.O_RDONLY | (opts.follow ? 0 : constants.O_NOFOLLOW) | constants.O_NONBLOCK);
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw invalid(`${file}: not a regular file`, 'give a YAML file');
    if (st.size > MAX_DEFINITION_BYTES) throw tooLarge(file, st.size);
    const text = readFileSync(fd, 'utf8');
    // It may have grown between fstat and read.
    if (Buffer.byteLength(text) > MAX_DEFINITION_BYTES) throw tooLarge(file, Buffer.byteLength(text));
    return text;
  } finally {
    closeSync(fd);
  }
}

/** Parses YAML text into a validated definition; `source` names the file in errors. */
export function parseVmYaml(text: string, source: string): VmSpec {
  if (Buffer.byteLength(text) > MAX_DEFINITION_BYTES) throw tooLarge(source, Buffer.byteLength(text));
  let doc: unknown;
  try {
    doc = YAML.parse(text);
  } catch (e: any) {
    throw invalid(`${source}: not valid YAML: ${e.message.split('\n')[0]}`);
  }
  if (doc == null || typeof doc !== 'object' || Array.isArray(doc)) throw invalid(`${source}: a definition must be a YAML mapping`);
  return parseVmSpec(doc, source);
}

/** A command that defines NAME, as printed: from the template of that name when there is one (a new home starts empty). */
export function notDefinedHint(name: string): string {
  if (existsSync(join(templatesDir(), `${name}.yaml`))) return `create it from the template "${name}": \`qkvm create ${name} --template ${name}\``;
  return `see \`qkvm list --all\`, or define it: \`qkvm create ${name} --memory 512M\` (\`qkvm templates\` lists ready-made ones)`;
}

export function loadVm(name: string): VmSpec {
  validateName(name, 'guest name');
  const file = home.vmFile(name);
  let text: string;
  try {
    text = readDefinitionFile(file);
  } catch (e: any) {
    if (e?.code !== 'ENOENT') throw e;
    throw notFound(`guest "${name}" is not defined`, notDefinedHint(name));
  }
  const spec = parseVmYaml(text, file);
  if (spec.name !== name) throw invalid(`${file}: name "${spec.name}" does not match the file name "${name}"`);
  return spec;
}

export function loadVmText(name: string): string {
  validateName(name, 'guest name');
  try { return readDefinitionFile(home.vmFile(name)); } catch (e: any) { if (e?.code !== 'ENOENT') throw e; throw notFound(`guest "${name}" is not defined`, notDefinedHint(name)); }
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

/** Names of the stored definitions; a file whose name breaks the name rule is left out (see invalidVmFiles). */
export function listVmNames(): string[] {
  let files: string[];
  try { files = readdirSync(home.vmsDir()); } catch { return []; }
  return files.filter((f) => f.endsWith('.yaml') && !f.startsWith('.')).map((f) => f.slice(0, -5)).filter((n) => NAME_RE.test(n)).sort();
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
