// Parsing of qemu-img's `-p` progress output: "    (12.34/100%)\r" repeated on stdout.

export type ProgressCallback = (fraction: number) => void;

const PROGRESS_RE = /\((\d+(?:\.\d+)?)\/100%\)/g;

/**
 * Feeds chunks of qemu-img -p output; calls `onProgress` with a fraction in 0..1
 * for each new, higher value. A value split across two chunks is read once whole.
 */
export function progressParser(onProgress: ProgressCallback): (chunk: string) => void {
  let rest = '';
  let last = -1;
  return (chunk: string) => {
    const text = rest + chunk;
    let end = 0;
    for (const m of text.matchAll(PROGRESS_RE)) {
      const f = Math.min(1, Math.max(0, Number(m[1]) / 100));
      end = m.index! + m[0].length;
      if (f > last) {
        last = f;
        onProgress(f);
      }
    }
    // Keep the unfinished tail (at most one partial "(NN.NN/100%)").
    const tail = text.slice(end);
    const open = tail.lastIndexOf('(');
    rest = open >= 0 ? tail.slice(open).slice(0, 32) : '';
  };
}

/** Every progress value found in a whole text, as fractions. */
export function parseProgress(text: string): number[] {
  return [...text.matchAll(PROGRESS_RE)].map((m) => Number(m[1]) / 100);
}
