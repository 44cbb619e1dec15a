// Turns what a tutorial shows (a shell line, or argv) into QEMU's argv, and
// remembers which binary the line ran: qemu-kvm preferred KVM, qemu-system-* TCG.
import { invalid } from '../../errors.js';

/**
 * Splits a command line the way a POSIX shell does for plain words: 'single',
 * "double" (with \" \\ \$ \` escapes), backslash escapes, backslash-newline
 * continuations, and # comments at the start of a word. No expansions.
 */
export function splitCommandLine(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let i = 0;
  const n = line.length;
  while (i < n) {
    const c = line[i];
    if (c === '\\') {
      if (line[i + 1] === '\n') { i += 2; continue; }
      if (line[i + 1] === '\r' && line[i + 2] === '\n') { i += 3; continue; }
      if (i + 1 < n) { word += line[i + 1]; inWord = true; i += 2; continue; }
      i += 1;
      continue;
    }
    if (c === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw invalid('command line: unterminated single quote', 'close the quote that starts ' + JSON.stringify(line.slice(i, i + 20)));
      word += line.slice(i + 1, end);
      inWord = true;
      i = end + 1;
      continue;
    }
    if (c === '"') {
      i += 1;
      let closed = false;
      while (i < n) {
        const d = line[i];
        if (d === '"') { closed = true; i += 1; break; }
        if (d === '\\' && i + 1 < n && '"\\$`\n'.includes(line[i + 1])) {
          if (line[i + 1] !== '\n') word += line[i + 1];
          i += 2;
          continue;
        }
        word += d;
        i += 1;
      }
      if (!closed) throw invalid('command line: unterminated double quote');
      inWord = true;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\n' || c === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
      i += 1;
      continue;
    }
    if (c === '#' && !inWord) {
      const nl = line.indexOf('\n', i);
      i = nl < 0 ? n : nl;
      continue;
    }
    word += c;
    inWord = true;
    i += 1;
  }
  if (inWord) words.push(word);
  return words;
}

/** Binaries that old tutorials run; qemu-kvm and kvm used KVM unless told otherwise. */
const BINARY_RE = /^(?:.*\/)?(qemu-kvm|kvm|qemu|qemu-system-[A-Za-z0-9_]+)$/;

export type BinaryKind = 'kvm' | 'system';

export interface CommandLine {
  /** The binary as written (qemu-kvm, /usr/libexec/qemu-kvm, ...), when the line had one. */
  binary?: string;
  /** qemu-kvm/kvm picked KVM by default; qemu-system-* picks TCG. */
  binaryKind?: BinaryKind;
  /** QEMU's arguments, as written. */
  args: string[];
  /** Things dropped on the way: prompts, sudo, environment assignments. */
  warnings: string[];
}

/**
 * Accepts argv after the binary, argv with the binary, or one string holding the
 * whole line. A leading `--` (as in `qkvm explain -- qemu-kvm ...`) is dropped, and
 * so are a shell prompt (`$`, `#`), `sudo` and VAR=value assignments.
 */
export function normalizeCommandLine(input: string | readonly string[]): CommandLine {
  let words: string[];
  if (typeof input === 'string') words = splitCommandLine(input);
  else if (input.length === 1 && /\s/.test(input[0].trim())) words = splitCommandLine(input[0]);
  else words = [...input];

  const warnings: string[] = [];
  while (words.length) {
    const w = words[0];
    if (w === '--' || w === '$' || w === '#' || w === 'sudo') { words.shift(); continue; }
    const env = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(w);
    if (env) {
      words.shift();
      warnings.push(env[1] === 'QEMU_AUDIO_DRV'
        ? `${w}: the QEMU_AUDIO_* variables are deprecated (removed in QEMU 8.2); choose the audio backend with -audiodev ${env[2] || 'DRIVER'},id=snd0 and audiodev=snd0 on the sound device`
        : `${w}: environment assignment ignored`);
      continue;
    }
    break;
  }

  let binary: string | undefined;
  let binaryKind: BinaryKind | undefined;
  const m = words.length ? BINARY_RE.exec(words[0]) : null;
  if (m) {
    binary = words.shift();
    binaryKind = m[1] === 'qemu-kvm' || m[1] === 'kvm' ? 'kvm' : 'system';
    if (m[1] !== 'qemu-kvm' && m[1] !== 'kvm' && m[1] !== 'qemu' && m[1] !== 'qemu-system-x86_64') {
      warnings.push(`${binary}: the modern command uses qemu-system-x86_64; a 64-bit PC runs 32-bit guests too`);
    }
  }
  return { binary, binaryKind, args: words, warnings };
}
