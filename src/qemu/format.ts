// Prints a QemuCommand for people: one option per line, every word shell-quoted,
// so that what `qkvm cmdline` shows can be pasted into a shell and run.
import type { QemuCommand } from './builder.js';

const SAFE = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** POSIX shell quoting: safe words stay bare, anything else goes in single quotes ('\'' for a quote). */
export function shellQuote(s: string): string {
  if (s !== '' && SAFE.test(s)) return s;
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export interface FormatOptions {
  /** Precede each option with a `# sentence` saying what it does. */
  explain?: boolean;
}

/**
 * Without explain: `binary \` then one `  -opt value \` line per option.
 * With explain the lines become a bash array, because a comment cannot sit
 * between backslash-continued lines (it would end the command); the array keeps
 * the output pasteable: `qemu_args=( # why \n -opt value ... ); binary "${qemu_args[@]}"`.
 */
export function formatCommand(cmd: QemuCommand, opts: FormatOptions = {}): string {
  const line = (o: QemuCommand['options'][number]) => (o.value === undefined ? shellQuote(o.opt) : `${shellQuote(o.opt)} ${shellQuote(o.value)}`);
  if (!opts.explain) {
    return [shellQuote(cmd.binary), ...cmd.options.map(line)].join(' \\\n  ') + '\n';
  }
  const out = ['# The QEMU command, one option per line with what it does. Paste it into bash to run it.', 'qemu_args=('];
  for (const o of cmd.options) {
    out.push(`  # ${o.explain.replace(/\n/g, ' ')}`);
    out.push(`  ${line(o)}`);
  }
  out.push(')');
  out.push(`${shellQuote(cmd.binary)} "\${qemu_args[@]}"`);
  return out.join('\n') + '\n';
}
