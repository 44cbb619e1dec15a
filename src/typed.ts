// What people type, read kindly: one edit distance for every "did you mean"
// (commands, flags, QEMU options and values), and one rule for the en dash a
// web page put where a tutorial wrote "--". Pure; no imports, so any layer may use it.

/** Optimal string alignment distance: an insertion, deletion, change, or two neighbouring letters swapped (cahce) costs 1. */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

/** "–name", "—name", "–-name" (a web page's dash for "--") read as "--name"; any other word as it is. */
export const normalizeDash = (w: string): string => w.replace(/^[\u2013\u2014][-\u2013\u2014]?(?=[A-Za-z])/, '--');
