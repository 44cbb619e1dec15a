// `qkvm trust NAME`: shows, records or revokes the allowance for a stored
// guest's extraArgs (config/trust.ts). --digest ties the allowance to the
// arguments the user was shown, so a definition changed in between is refused.
import { withLock } from '../config/lock.js';
import { loadVm } from '../config/store.js';
import { checkDigest, decideExtraArgs, readAllowance, removeAllowance, storeTrust, type Allowance } from '../config/trust.js';
import type { ProgramFinding } from '../config/trust-args.js';
import { invalid } from '../errors.js';

export interface TrustOptions { allowExtraArgs?: boolean; allowPrograms?: boolean; digest?: string; revoke?: boolean; onNote?: (line: string) => void }

export interface TrustStatus { name: string; extraArgs: string[]; allowed: boolean; programs: ProgramFinding[]; allowance?: Allowance }

export async function trustGuest(name: string, opts: TrustOptions = {}): Promise<TrustStatus> {
  if (opts.revoke && (opts.allowExtraArgs || opts.allowPrograms)) throw invalid('trust: --revoke cannot be combined with --allow-extra-args or --allow-programs');
  return withLock('vm', name, 'recording what the guest may run', async () => {
    const spec = loadVm(name);
    if (opts.revoke) removeAllowance(name);
    else if (opts.allowExtraArgs || opts.allowPrograms) {
      if (!spec.extraArgs.length) throw invalid(`trust: guest "${name}" has no extraArgs to allow`);
      checkDigest(name, spec.extraArgs, opts.digest);
      const w = storeTrust(name, spec.extraArgs, { extraArgs: opts.allowExtraArgs, programs: opts.allowPrograms });
      if (w) opts.onNote?.(w);
    }
    const allowance = readAllowance(name);
    const d = decideExtraArgs(spec.extraArgs, allowance);
    return { name, extraArgs: spec.extraArgs, allowed: d.missing.length === 0, programs: d.programs, allowance: d.missing.length ? undefined : allowance };
  });
}
