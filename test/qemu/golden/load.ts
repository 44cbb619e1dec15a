// Loads the golden fixtures: NAME.yaml (a VM definition, plus an optional
// `_golden:` block that adjusts the build context) beside NAME.cmd.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';
import { parseVmSpec, type VmSpec } from '../../../src/config/schema.js';
import type { BuildContext } from '../../../src/qemu/builder.js';
import type { HostCaps } from '../../../src/qemu/caps.js';

export const GOLDEN_DIR = path.dirname(fileURLToPath(import.meta.url));

/** The host every fixture is built for, unless its _golden block says otherwise. */
export const GOLDEN_CAPS: HostCaps = {
  binary: 'qemu-system-x86_64',
  version: '7.2.22',
  accel: 'tcg',
  accelReason: 'KVM guests hang on this host',
  vhostNet: false,
};

export const goldenRun = (name: string) => ({
  qmpSocket: `/run/qkvm/${name}/qmp.sock`,
  serialSocket: `/run/qkvm/${name}/serial.sock`,
  serialLog: `/run/qkvm/${name}/serial.log`,
  pidFile: `/run/qkvm/${name}/qemu.pid`,
  qemuLog: `/run/qkvm/${name}/qemu.log`,
  linkSocket: (index: number) => `/run/qkvm/${name}/net${index}.sock`,
  agentSocket: `/run/qkvm/${name}/qga.sock`,
});

export const GOLDEN_SCRIPTS = { ifup: '/usr/lib/qkvm/scripts/qemu-ifup', ifdown: '/usr/lib/qkvm/scripts/qemu-ifdown' };

/** POOL/VOLUME -> the pool's directory; paths stay as they are. */
export const goldenResolveDisk = (file: string) => (file.startsWith('/') ? file : `/var/lib/qkvm/pools/${file}`);

interface GoldenBlock {
  caps?: Partial<HostCaps>;
  run?: boolean;
  paused?: boolean;
  incoming?: string;
  nics?: { tap?: string; mac: string }[];
}

export interface Fixture {
  name: string;
  yamlFile: string;
  cmdFile: string;
  spec: VmSpec;
  ctx: BuildContext;
}

export function loadFixture(name: string): Fixture {
  const yamlFile = path.join(GOLDEN_DIR, `${name}.yaml`);
  const raw = parse(readFileSync(yamlFile, 'utf8')) as Record<string, unknown>;
  const g = (raw._golden ?? {}) as GoldenBlock;
  delete raw._golden;
  const spec = parseVmSpec(raw, yamlFile);
  const ctx: BuildContext = {
    caps: { ...GOLDEN_CAPS, ...g.caps },
    run: g.run === false ? undefined : goldenRun(spec.name),
    paused: g.paused,
    incoming: g.incoming,
    nics: g.nics,
    scripts: GOLDEN_SCRIPTS,
    resolveDisk: goldenResolveDisk,
  };
  return { name, yamlFile, cmdFile: path.join(GOLDEN_DIR, `${name}.cmd`), spec, ctx };
}

export const fixtureNames = (): string[] =>
  readdirSync(GOLDEN_DIR).filter((f) => f.endsWith('.yaml')).map((f) => f.slice(0, -5)).sort();
