import type { LegacyStatus } from './types.js';

const RANK: Record<LegacyStatus, number> = { ok: 0, help: 0, unknown: 1, deprecated: 2, changed: 3, host: 4, conflict: 4, removed: 5, error: 6 };

/** The more serious of two statuses (removed > conflict > changed > deprecated > ok). */
export function worst(a: LegacyStatus, b: LegacyStatus): LegacyStatus {
  return RANK[b] > RANK[a] ? b : a;
}
