// The page's buttons: each one is the API call the matching CLI command makes,
// so the web console can do nothing the CLI cannot.
import { invalid } from '../errors.js';
import { validateName } from '../config/name.js';
import { startGuest } from '../runtime/start.js';
import { destroyGuest, rebootGuest, resumeGuest, shutdownGuest, suspendGuest } from '../runtime/stop.js';
import { setBalloon } from '../runtime/memory.js';
import { createSnapshot, revertSnapshot } from '../storage/snapshots.js';

export const ACTIONS = ['start', 'shutdown', 'destroy', 'reboot', 'suspend', 'resume', 'snapshot-create', 'snapshot-revert', 'balloon'] as const;
export type Action = typeof ACTIONS[number];

export function isAction(a: string): a is Action {
  return (ACTIONS as readonly string[]).includes(a);
}

/** Runs one action; returns the lines the CLI would have printed. */
export async function runAction(name: string, action: Action, body: Record<string, unknown>): Promise<{ notes: string[] }> {
  validateName(name, 'guest name');
  const notes: string[] = [];
  const arg = (k: string) => {
    // createSnapshot/revertSnapshot check the tag itself (validateSnapshotTag).
    const v = body[k];
    if (v !== undefined && typeof v !== 'string') throw invalid(`${action}: ${k} must be a string, not ${JSON.stringify(v)}`);
    return v === '' ? undefined : v;
  };
  switch (action) {
    case 'start': await startGuest(name, { onNote: (l) => notes.push(l), onWarning: (l) => notes.push(`warning: ${l}`) }); break;
    case 'shutdown': await shutdownGuest(name, { force: body.force === true }); break;
    case 'destroy': await destroyGuest(name); break;
    case 'reboot': await rebootGuest(name); break;
    case 'suspend': await suspendGuest(name); break;
    case 'resume': await resumeGuest(name); break;
    case 'snapshot-create': {
      const snap = arg('snapshot');
      const s = await createSnapshot(name, snap);
      notes.push(`snapshot ${s.name} created${s.live ? ' (with RAM state)' : ''}`);
      break;
    }
    case 'snapshot-revert': {
      const snap = arg('snapshot');
      const r = await revertSnapshot(name, snap);
      notes.push(`reverted to ${r.name}${r.live ? ' (RAM state loaded)' : ' (disks only)'}`);
      break;
    }
    case 'balloon': {
      const size = arg('size');
      if (!size) throw invalid('balloon: give a size, like 128M');
      const r = await setBalloon(name, size, { timeoutMs: 30_000 });
      notes.push(`balloon at ${Math.round(r.actualBytes / 2 ** 20)} MiB (target ${Math.round(r.targetBytes / 2 ** 20)} MiB)${r.reached ? '' : ', still adjusting'}`);
      break;
    }
  }
  return { notes };
}
