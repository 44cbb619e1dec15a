// The only place that draws tables, JSON and progress on the terminal.
export interface Column<T> { header: string; get: (row: T) => string | number | undefined; align?: 'left' | 'right' }

export function table<T>(rows: T[], columns: Column<T>[]): string {
  const cells = rows.map((r) => columns.map((c) => String(c.get(r) ?? '-')));
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map((row) => row[i].length)));
  const line = (vals: string[]) =>
    vals.map((v, i) => (columns[i].align === 'right' ? v.padStart(widths[i]) : v.padEnd(widths[i]))).join('  ').trimEnd();
  return [line(columns.map((c) => c.header)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n');
}

export function keyValues(pairs: [string, string | number | undefined | null][]): string {
  const width = Math.max(...pairs.map(([k]) => k.length)) + 1;
  return pairs.filter(([, v]) => v !== undefined && v !== null).map(([k, v]) => `${(k + ':').padEnd(width)} ${v}`).join('\n');
}

/** Memory as people read it: 512 MiB, 2 GiB, 1.5 GiB. */
export function fmtBytes(n?: number): string | undefined {
  if (n === undefined) return undefined;
  const mib = n / 1024 ** 2;
  return mib >= 1024 ? `${(mib / 1024).toFixed(mib % 1024 ? 1 : 0)} GiB` : `${Math.round(mib)} MiB`;
}

export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function print(text: string): void {
  process.stdout.write(text.endsWith('\n') ? text : text + '\n');
}

/** A warning on stderr, marked as one. */
export function warn(text: string): void {
  note(`qkvm: warning: ${text}`);
}

/** Notes for the user go to stderr, so stdout stays parseable. */
export function note(text: string): void {
  process.stderr.write(text.endsWith('\n') ? text : text + '\n');
}

/**
 * A progress bar on stderr when it is a terminal; otherwise a line every 10%,
 * so logs stay readable.
 */
export function progressBar(label: string): { update(fraction: number, detail?: string): void; done(detail?: string): void } {
  const tty = process.stderr.isTTY;
  let lastDecile = -1;
  return {
    update(fraction, detail = '') {
      const f = Math.max(0, Math.min(1, fraction));
      if (tty) {
        const width = 30;
        const filled = Math.round(f * width);
        process.stderr.write(`\r${label} [${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ${detail}\x1b[K`);
      } else {
        const decile = Math.floor(f * 10);
        if (decile > lastDecile) {
          lastDecile = decile;
          process.stderr.write(`${label}: ${(f * 100).toFixed(0)}% ${detail}\n`);
        }
      }
    },
    done(detail = 'done') {
      if (tty) process.stderr.write(`\r${label}: ${detail}\x1b[K\n`);
      else process.stderr.write(`${label}: ${detail}\n`);
    },
  };
}
