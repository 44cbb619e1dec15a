// The shapes the legacy translator returns.

/**
 * ok: QEMU 7.2 takes it as written. deprecated: still taken, but on its way out.
 * removed: QEMU 7.2 rejects it. conflict: it clashes with another option of the
 * line. changed: taken, but it now means something else or needs a fix.
 * unknown: the translator does not know it; passed through as written.
 * error: this QEMU refuses it as written (checked against its own introspection).
 * host: this QEMU takes it, but this host lacks what it needs; the modern command
 * uses what works here. help: a help query (-M ?), answered with this QEMU's list.
 */
export type LegacyStatus = 'ok' | 'deprecated' | 'removed' | 'conflict' | 'changed' | 'unknown' | 'help' | 'host' | 'error';

export interface ExplanationEntry {
  /** The option as QEMU spells it (-net, -drive), or FILE for a bare disk image. */
  option: string;
  value?: string;
  /** The words as written on the line. */
  raw: string[];
  status: LegacyStatus;
  /** One or two sentences: what the option does, in QEMU's vocabulary. */
  explain: string;
  /** Why the status, and what the modern form does instead. */
  note?: string;
  /** What the modern command has in its place ([] when it is dropped). */
  modern?: string[];
}

export interface Explanation {
  /** The binary the line named, if any. */
  binary?: string;
  entries: ExplanationEntry[];
  modern: { binary: 'qemu-system-x86_64'; args: string[] };
  warnings: string[];
  /** Help queries on the line (-M ?, -cpu help), with this QEMU's answer. */
  help?: { query: string; items: string[] }[];
  /** Whether the line was checked against a real QEMU's introspection, and which version. */
  checkedAgainst?: string;
}

/** One option of the line, grouped with its argument. */
export interface RawOption {
  option: string;
  value?: string;
  raw: string[];
  /** A word that is not an option: QEMU takes it as the first hard disk image. */
  positional?: boolean;
  /** The option needs an argument and the line ended first. */
  missingArg?: boolean;
  /** Index on the line, for stable ids. */
  index: number;
}

/** What an option becomes in the modern command. */
export interface Rewrite {
  status: LegacyStatus;
  note?: string;
  modern: string[];
}
