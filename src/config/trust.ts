// What a definition may make qkvm do as root beyond its own fields: raw
// extraArgs run only when the user allowed exactly them, out of band (a file
// that says "allowed" proves nothing), and those that make QEMU run a program
// need a second, separate allowance. The record is QKVM_HOME/trust/NAME.json:
// the sha256 of the allowed extraArgs, so any change needs a new allowance.
import { createHash } from 'node:crypto';
import { lstatSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from './atomic.js';
import { validateName } from './name.js';
import { qkvmHome, scripts as bundledScripts } from './paths.js';
import { QkvmError, invalid } from '../errors.js';
import { findPrograms, type BundledScripts, type ProgramFinding } from './trust-args.js';

export interface Allowance {
  version: 1;
  name: string;
  /** sha256 (hex) of JSON.stringify(extraArgs): exactly the arguments allowed. */
  digest: string;
  /** The allowed arguments themselves, for `qkvm trust NAME` to show. */
  extraArgs: string[];
  /** Also allowed to make QEMU run programs (exec:, foreign tap scripts...). */
  programs: boolean;
  allowedAt: string;
}

/** What the command line grants for this one command (--allow-extra-args, --allow-programs). */
export interface Grant { extraArgs?: boolean; programs?: boolean }

export const DIGEST_SHOWN = 16;

export const trustFile = (name: string) => join(qkvmHome(), 'trust', `${validateName(name, 'guest name')}.json`);

export function extraArgsDigest(args: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify(args)).digest('hex');
}

const defaultScripts = (): BundledScripts => ({ ifup: bundledScripts.ifup(), ifdown: bundledScripts.ifdown() });

/** The recorded allowance, or undefined. Only a regular file (lstat: no symlink) with the right shape counts. */
export function readAllowance(name: string): Allowance | undefined {
  const file = trustFile(name);
  try {
    if (!lstatSync(file).isFile()) return undefined;
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    if (doc?.version !== 1 || doc.name !== name || typeof doc.digest !== 'string' || !/^[0-9a-f]{64}$/.test(doc.digest)) return undefined;
    if (!Array.isArray(doc.extraArgs) || doc.programs !== true && doc.programs !== false) return undefined;
    return doc as Allowance;
  } catch { return undefined; }
}

/** Records that the user allowed exactly these extraArgs (and, with programs, what runs programs). */
export function writeAllowance(name: string, extraArgs: readonly string[], programs: boolean): Allowance {
  const a: Allowance = { version: 1, name: validateName(name, 'guest name'), digest: extraArgsDigest(extraArgs), extraArgs: [...extraArgs], programs, allowedAt: new Date().toISOString() };
  writeFileAtomic(trustFile(name), JSON.stringify(a, null, 2) + '\n');
  return a;
}

/** Removes the record (a symlink in its place is removed, never followed). */
export function removeAllowance(name: string): void {
  rmSync(trustFile(name), { force: true });
}

export interface TrustDecision {
  digest: string;
  programs: ProgramFinding[];
  /** The flags still missing: empty when the arguments may run. */
  missing: ('--allow-extra-args' | '--allow-programs')[];
  /** The arguments run on the strength of a recorded allowance (not a flag of this command). */
  fromRecord: boolean;
}

/** The pure decision: may these extraArgs run, given the record and this command's flags? */
export function decideExtraArgs(args: readonly string[], allowance: Allowance | undefined, grant: Grant = {}, scripts: BundledScripts = defaultScripts()): TrustDecision {
  const digest = extraArgsDigest(args);
  const programs = findPrograms(args, scripts);
  if (!args.length) return { digest, programs, missing: [], fromRecord: false };
  const recorded = allowance !== undefined && allowance.digest === digest;
  const missing: TrustDecision['missing'] = [];
  if (!grant.extraArgs && !recorded) missing.push('--allow-extra-args');
  if (programs.length && !grant.programs && !(recorded && allowance.programs)) missing.push('--allow-programs');
  return { digest, programs, missing, fromRecord: recorded && !grant.extraArgs };
}

/** The command that allows exactly the extraArgs now stored for NAME; it refuses if they changed since. */
export function trustCommand(name: string, d: Pick<TrustDecision, 'digest' | 'programs'>): string {
  return `qkvm trust ${name} --allow-extra-args${d.programs.length ? ' --allow-programs' : ''} --digest ${d.digest.slice(0, DIGEST_SHOWN)}`;
}

export function describeFindings(programs: readonly ProgramFinding[]): string[] {
  return programs.map((p) => `  ${p.option && p.option !== p.value ? `${p.option} ` : ''}${p.value}: ${p.reason}`);
}

/**
 * Throws INVALID (exit 2) unless the decision allows the arguments. `subject`
 * names the definition ('guest "g1"', 'the definition in FILE'); `howToAllow`
 * is a command that works when pasted.
 */
export function assertAllowed(args: readonly string[], d: TrustDecision, subject: string, howToAllow: string): void {
  if (!d.missing.length) return;
  const lines = [`${subject}: extraArgs ${JSON.stringify(args)} are not allowed (${d.missing.join(' and ')} needed)`];
  if (d.programs.length) lines.push('they make QEMU run a program as root:', ...describeFindings(d.programs));
  else lines.push('raw QEMU arguments run as root unchecked, so qkvm runs them only when you allowed exactly them');
  throw new QkvmError('INVALID', lines.join('\n'), {
    hint: `if you wrote them and mean QEMU to run them as root, allow exactly these arguments:\n  ${howToAllow}`,
  });
}

/** The warning printed at every start of a guest whose extraArgs are allowed. */
export function extraArgsWarning(name: string, args: readonly string[], d: TrustDecision): string {
  return `warning: guest "${name}" runs with raw extraArgs that qkvm does not check: ${JSON.stringify(args)}`
    + (d.programs.length ? ` (allowed to run programs as root: ${d.programs.map((p) => p.value).join(', ')})` : '');
}

/**
 * Start's check: the stored allowance must match these extraArgs exactly.
 * Returns the warning to show, or undefined when there are none.
 */
export function checkAtStart(name: string, args: readonly string[]): string | undefined {
  if (!args.length) return undefined;
  const d = decideExtraArgs(args, readAllowance(name));
  assertAllowed(args, d, `guest "${name}"`, trustCommand(name, d));
  return extraArgsWarning(name, args, d);
}

/**
 * Records the user's allowance when a definition is stored with the flags
 * (define, create, edit, trust). Without them, a record that no longer matches
 * is removed, and the returned note says start will refuse the arguments.
 */
export function storeTrust(name: string, args: readonly string[], grant: Grant = {}): string | undefined {
  if (grant.programs && !grant.extraArgs) throw invalid('--allow-programs works only together with --allow-extra-args', 'give both flags');
  const before = readAllowance(name);
  if (!args.length) {
    if (before) removeAllowance(name);
    return undefined;
  }
  const d = decideExtraArgs(args, before, grant);
  if (grant.extraArgs) {
    assertAllowed(args, d, `guest "${name}"`, `the same command with ${d.missing.join(' ')}`);
    writeAllowance(name, args, d.programs.length > 0);
    return extraArgsWarning(name, args, d);
  }
  if (before && before.digest !== d.digest) removeAllowance(name);
  if (!d.missing.length) return undefined;
  return `warning: guest "${name}" has extraArgs that are not allowed; \`qkvm start\` will refuse them until you run:\n  ${trustCommand(name, d)}`;
}

/** `qkvm trust NAME --digest D`: D must be a prefix of the digest of the extraArgs stored now. */
export function checkDigest(name: string, args: readonly string[], given: string | undefined): void {
  const digest = extraArgsDigest(args);
  if (given === undefined) return;
  if (!/^[0-9a-f]{8,64}$/.test(given) || !digest.startsWith(given)) {
    throw invalid(`trust: --digest ${given} does not match the extraArgs now stored for "${name}" (${digest.slice(0, DIGEST_SHOWN)}): they changed since the command was printed`,
      `look at them with \`qkvm dumpconfig ${name}\`, then run \`qkvm start ${name}\` again for a fresh command`);
  }
}
