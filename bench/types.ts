// What each benchmark returns: qkvm and its raw equivalent, measured in the same run.
export interface BenchRow { label: string; qkvm: number; raw: number; unit: string; target?: string }
export interface BenchResult { name: string; rows: BenchRow[]; notes?: string[] }

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
