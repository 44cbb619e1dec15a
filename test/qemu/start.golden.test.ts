// Golden tests of the argv that `start` really runs: runtime/start.ts commandFor,
// which adds -S (unless an incoming migration runs at once), the second -qmp and
// the user-network expansion to what the builder makes. Each
// test/qemu/golden/start/NAME.yaml is a definition plus a `_start:` block (start
// options, networks to define); NAME.cmd is the expected command, one option a
// line, with the run directory as /run/qkvm and the scripts directory as <repo>.
// UPDATE_GOLDEN=1 rewrites the .cmd files; review the diff like code.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseVmSpec } from '../../src/config/schema.js';
import { projectRoot } from '../../src/config/paths.js';
import { formatCommand } from '../../src/qemu/format.js';
import { commandFor } from '../../src/runtime/start.js';
import { GOLDEN_CAPS, GOLDEN_DIR } from './golden/load.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';
const DIR = path.join(GOLDEN_DIR, 'start');
const names = readdirSync(DIR).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();

interface StartBlock { autostart?: boolean; incoming?: string; nics?: { tap?: string; mac: string }[]; networks?: Record<string, unknown>[] }

const saved = { home: process.env.QKVM_HOME, run: process.env.QKVM_RUN };
let home: string;
beforeAll(() => {
  home = mkdtempSync(path.join(tmpdir(), 'qkvm-golden-'));
  process.env.QKVM_HOME = home;
  // commandFor only computes run paths; nothing is created there.
  process.env.QKVM_RUN = '/run/qkvm';
});
afterAll(() => {
  rmSync(home, { recursive: true, force: true });
  for (const [k, v] of [['QKVM_HOME', saved.home], ['QKVM_RUN', saved.run]] as const) {
    if (v === undefined) delete process.env[k]; else process.env[k] = v;
  }
});

/** The argv of a fixture, as `start` would run it. */
function startArgv(name: string): { binary: string; args: string[]; text: string } {
  const raw = parse(readFileSync(path.join(DIR, `${name}.yaml`), 'utf8')) as Record<string, unknown>;
  const s = (raw._start ?? {}) as StartBlock;
  delete raw._start;
  rmSync(path.join(home, 'networks'), { recursive: true, force: true });
  mkdirSync(path.join(home, 'networks'), { recursive: true });
  for (const n of s.networks ?? []) writeFileSync(path.join(home, 'networks', `${n.name}.yaml`), stringify(n));
  const spec = parseVmSpec(raw, name);
  const cmd = commandFor(spec, GOLDEN_CAPS, { nics: s.nics, incoming: s.incoming, autostart: s.autostart });
  return { binary: cmd.binary, args: cmd.args, text: formatCommand(cmd).replaceAll(projectRoot, '<repo>') };
}

describe('golden: the argv start runs (commandFor)', () => {
  it('has fixtures', () => expect(names.length).toBeGreaterThanOrEqual(3));
  for (const name of names) {
    it(name, () => {
      const { args, text } = startArgv(name);
      const file = path.join(DIR, `${name}.cmd`);
      if (UPDATE || !existsSync(file)) {
        if (!UPDATE) throw new Error(`${file} is missing: run with UPDATE_GOLDEN=1 to write it`);
        writeFileSync(file, text);
      }
      expect(text).toBe(readFileSync(file, 'utf8'));
      // Both QMP monitors, each once, in the guest's run directory.
      const qmp = args.flatMap((a, i) => (a === '-qmp' ? [args[i + 1]] : []));
      expect(qmp).toEqual([expect.stringMatching(/^unix:\/run\/qkvm\/vms\/[^/]+\/qmp\.sock,/), expect.stringMatching(/^unix:\/run\/qkvm\/vms\/[^/]+\/qmp-state\.sock,/)]);
    });
  }
});
