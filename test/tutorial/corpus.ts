// The tutorial corpus: lines as classic KVM tutorials write them, kept in
// test/fixtures/tutorial/TOOL.yaml, run verbatim through a real shell with the
// tool's name swapped for qkvm. Only the host paths a tutorial assumes
// (/var/lib/libvirt/images, /home/user, ~/...) are mapped into the test's own
// directory: paths are the reader's environment, not the line's syntax.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'yaml';
import { CLI, REPO } from '../net/lab.js';

export type Status = 'supported' | 'partial' | 'refused';

export interface CorpusEntry {
  /** Unique in the whole corpus, e.g. vi-03, virsh-12, img-07. */
  id: string;
  /** Where a line like it is taught (a kind of tutorial; no URL needed). */
  source: string;
  /** The line as the tutorial writes it: tool name first, backslash continuations, en dashes and all. */
  line: string;
  /** supported: works fully; partial: works with a note for what is ignored; refused: qkvm says exactly why not. */
  status: Status;
  /** For partial and refused: the text qkvm's output must contain (the note or the reason). */
  says?: string;
  /** Tool-specific expectations, checked by that tool's test. */
  expect?: Record<string, unknown>;
}

/** The tool names a tutorial line may start with, and what replaces each. */
export const SWAP: Record<string, string> = {
  virsh: 'qkvm',
  'virt-install': 'qkvm virt-install',
  'virt-clone': 'qkvm virt-clone',
  'qemu-img': 'qkvm qemu-img',
  'qemu-kvm': 'qkvm qemu-kvm',
  'qemu-system-x86_64': 'qkvm qemu-kvm',
};

const FIXTURES = path.join(REPO, 'test/fixtures/tutorial');

export function loadCorpus(tool: string): CorpusEntry[] {
  const entries = parse(readFileSync(path.join(FIXTURES, `${tool}.yaml`), 'utf8')) as CorpusEntry[];
  const seen = new Set<string>();
  for (const e of entries) {
    if (!e.id || !e.source || !e.line || !['supported', 'partial', 'refused'].includes(e.status)) throw new Error(`${tool}.yaml: entry ${JSON.stringify(e).slice(0, 80)} lacks id, source, line or a valid status`);
    if (seen.has(e.id)) throw new Error(`${tool}.yaml: duplicate id ${e.id}`);
    if (e.status !== 'supported' && !e.says) throw new Error(`${tool}.yaml: ${e.id} is ${e.status} but has no says:`);
    seen.add(e.id);
  }
  return entries;
}

/** Every corpus file's entries, for the count in docs and the closing note. */
export function allCorpus(): CorpusEntry[] {
  return readdirSync(FIXTURES).filter((f) => f.endsWith('.yaml')).flatMap((f) => loadCorpus(f.slice(0, -5)));
}

/** The line with its leading tool name (after an optional "sudo " or "# " prompt) swapped for qkvm's. */
export function toQkvm(line: string): string {
  const m = /^\s*(?:[$#]\s+)?(?:sudo\s+)?(\S+)/.exec(line);
  if (!m || !(m[1] in SWAP)) throw new Error(`corpus line does not start with a known tool: ${line.slice(0, 60)}`);
  return line.slice(0, m.index) + line.slice(m.index).replace(/^\s*(?:[$#]\s+)?(?:sudo\s+)?\S+/, SWAP[m[1]]);
}

export interface TutorialWorld {
  /** The test's directory: cwd of every line, and where tutorial host paths are mapped. */
  dir: string;
  home: string;
  run: string;
  /** A host path as a tutorial writes it, mapped into dir. */
  mapped(p: string): string;
  /** Runs one corpus line (or any shell line starting with a known tool) verbatim, through bash. */
  exec(line: string, opts?: { input?: string; timeoutMs?: number; env?: Record<string, string> }): Promise<{ code: number; stdout: string; stderr: string; command: string }>;
  cleanup(): void;
}

/** Tutorial host paths, longest first, and where they land under the world's dir. */
const PATH_MAP: [string, string][] = [
  ['/var/lib/libvirt/images', 'libvirt/images'],
  ['/var/lib/libvirt/boot', 'libvirt/boot'],
  ['/home/user', 'home/user'],
  ['~/', 'home/user/'],
];

/**
 * A private QKVM_HOME and QKVM_RUN, a `qkvm` on PATH that runs this build, and
 * a directory that stands in for the tutorial's host paths. Destroy guests you
 * start before cleanup(): it removes only files.
 */
export function tutorialWorld(opts: { netns?: string } = {}): TutorialWorld {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'qkvm-tutorial-'));
  const home = path.join(dir, 'qkvm-home');
  const run = path.join(dir, 'qkvm-run');
  const bin = path.join(dir, 'bin');
  for (const d of [home, bin, ...PATH_MAP.map(([, to]) => path.join(dir, to))]) mkdirSync(d, { recursive: true });
  mkdirSync(run, { recursive: true, mode: 0o700 });
  writeFileSync(path.join(bin, 'qkvm'), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI)} "$@"\n`);
  chmodSync(path.join(bin, 'qkvm'), 0o755);
  const mapped = (p: string) => {
    for (const [from, to] of PATH_MAP) if (p.startsWith(from)) return path.join(dir, to, p.slice(from.length));
    return p;
  };
  const mapLine = (line: string) => PATH_MAP.reduce((l, [from, to]) => l.split(from).join(path.join(dir, to) + (from.endsWith('/') ? '/' : '')), line);
  return {
    dir, home, run, mapped,
    exec(line, o = {}) {
      const command = mapLine(toQkvm(line));
      return new Promise((resolve, reject) => {
        // In a network namespace when the world has one (lines that make bridges and taps).
        const argv = opts.netns ? ['ip', 'netns', 'exec', opts.netns, 'bash', '-c', command] : ['bash', '-c', command];
        const child = spawn(argv[0], argv.slice(1), {
          cwd: dir,
          env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, QKVM_HOME: home, QKVM_RUN: run, ...o.env },
          stdio: ['pipe', 'pipe', 'pipe'],
        });
        let stdout = '', stderr = '';
        child.stdout.on('data', (d) => { stdout += d; });
        child.stderr.on('data', (d) => { stderr += d; });
        const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`timed out: ${command}\n${stderr}`)); }, o.timeoutMs ?? 60_000);
        child.on('close', (code) => { clearTimeout(timer); resolve({ code: code ?? -1, stdout, stderr, command }); });
        child.stdin.end(o.input ?? '');
      });
    },
    cleanup() { rmSync(dir, { recursive: true, force: true }); },
  };
}
