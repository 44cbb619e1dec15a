// `qkvm list`, kept in a module of its own: main.ts runs a plain list from this
// and a few small modules, without loading the rest of the CLI.
import { fmtBytes, print, printJson, table } from './output.js';
import { listGuests } from '../runtime/info.js';

/** `qkvm list`; also reached from main.ts's fast path, so it imports only what it needs. */
export async function listCommand(a: { all?: boolean; json?: boolean }): Promise<void> {
  const rows = await listGuests({ all: a.all });
  if (a.json) return printJson(rows);
  print(table(rows, [
    { header: 'Name', get: (r) => r.name },
    { header: 'State', get: (r) => r.state + (r.reason && r.state === 'crashed' ? ` (${r.reason})` : '') },
    { header: 'PID', get: (r) => r.pid, align: 'right' },
    { header: 'Memory', get: (r) => fmtBytes(r.memoryBytes), align: 'right' },
    { header: 'vCPUs', get: (r) => r.vcpus, align: 'right' },
    { header: 'Autostart', get: (r) => (r.autostart ? 'yes' : 'no') },
  ]));
}

