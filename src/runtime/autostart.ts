// Host boot: networks first (guests need their bridges), then every autostart guest.
import { listVmNames, loadVm } from '../config/store.js';
import { startAutostartNetworks } from '../net/network.js';
import { guestStatus, isActive } from './state.js';
import { startGuest } from './start.js';

export interface AutostartResult { kind: 'network' | 'guest'; name: string; result: string }

export async function autostartAll(opts: { onNote?: (line: string) => void } = {}): Promise<AutostartResult[]> {
  const out: AutostartResult[] = [];
  try {
    for (const n of await startAutostartNetworks()) out.push({ kind: 'network', name: n, result: 'started' });
  } catch (e) {
    out.push({ kind: 'network', name: '*', result: `failed: ${(e as Error).message}` });
  }
  // One guest at a time: a host booting many TCG guests at once helps none of them.
  for (const name of listVmNames()) {
    let spec;
    try { spec = loadVm(name); } catch (e) { out.push({ kind: 'guest', name, result: `failed: ${(e as Error).message.split('\n')[0]}` }); continue; }
    if (!spec.autostart) continue;
    if (isActive((await guestStatus(name)).state)) { out.push({ kind: 'guest', name, result: 'already running' }); continue; }
    try {
      const st = await startGuest(name, { onNote: opts.onNote });
      out.push({ kind: 'guest', name, result: `started (pid ${st.pid})` });
    } catch (e) {
      out.push({ kind: 'guest', name, result: `failed: ${(e as Error).message.split('\n')[0]}` });
    }
  }
  return out;
}
