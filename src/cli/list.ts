// `qkvm list`, kept in a module of its own: main.ts runs a plain list from this
// and a few small modules, without loading the rest of the CLI.
import { fmtBytes, note, print, printJson, table } from './output.js';
import { listGuests } from '../runtime/info.js';
import { readdirSync } from 'node:fs';
import { home } from '../config/paths.js';
import { NAME_RE } from '../config/name.js';

/** Definition files whose name breaks the name rule (written by an older qkvm, or by hand): reported, never used. */
export function invalidVmFiles(): string[] {
  try {
    return readdirSync(home.vmsDir()).filter((f) => f.endsWith('.yaml') && !f.startsWith('.') && !NAME_RE.test(f.slice(0, -5))).sort();
  } catch { return []; }
}

/** `qkvm list`; also reached from main.ts's fast path, so it imports only what it needs. */
export async function listCommand(a: { all?: boolean; json?: boolean; name?: boolean; inactive?: boolean }): Promise<void> {
  const all = await listGuests({ all: a.all || a.inactive });
  // virsh's --inactive: the guests that are shut off.
  const rows = a.inactive && !a.all ? all.filter((r) => r.state === 'shut off') : all;
  for (const f of invalidVmFiles()) {
    note(`qkvm: warning: ${home.vmsDir()}/${f}: ${JSON.stringify(f.slice(0, -5))} is not a valid guest name, so this definition is ignored; rename the file and its name: field`);
  }
  if (a.json) return printJson(rows);
  // virsh's --name: just the names, one a line (for scripts).
  if (a.name) return print(rows.map((r) => r.name).join('\n'));
  print(table(rows, [
    { header: 'Name', get: (r) => r.name },
    { header: 'State', get: (r) => r.state + (r.reason && r.state === 'crashed' ? ` (${r.reason})` : '') },
    { header: 'PID', get: (r) => r.pid, align: 'right' },
    { header: 'Memory', get: (r) => fmtBytes(r.memoryBytes), align: 'right' },
    { header: 'vCPUs', get: (r) => r.vcpus, align: 'right' },
    { header: 'Autostart', get: (r) => (r.autostart ? 'yes' : 'no') },
  ]));
}

