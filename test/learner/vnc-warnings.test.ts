// Issue 10, item 7: `create --from-cmdline` says one consistent thing about VNC.
import { describe, expect, it } from 'vitest';
import { exposureWarnings } from '../../src/config/exposure.js';
import { parseVmSpec } from '../../src/config/schema.js';
import { specFromCommandLine } from '../../src/qemu/legacy/index.js';

/** Every warning create prints about VNC: the translation's and the definition's own. */
function vncWarnings(line: string): string[] {
  const r = specFromCommandLine(line, 'xp');
  const spec = parseVmSpec({ ...r.spec, name: 'xp' }, 'xp');
  return [...r.warnings, ...exposureWarnings(spec)].filter((w) => /vnc/i.test(w));
}

describe('one VNC warning per line, never two that disagree', () => {
  it('-vnc :1 becomes loopback; the one warning says how to serve others safely (with a password)', () => {
    const w = vncWarnings('qemu-kvm -m 256 -vnc :1');
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(/127\.0\.0\.1:5901 only/);
    expect(w[0]).toMatch(/display\.listen: 0\.0\.0\.0 together with display\.password: true/);
  });

  it('-vnc :1,password: loopback, and how to set the password for this guest', () => {
    const w = vncWarnings('qemu-kvm -m 256 -vnc :1,password');
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(/`qkvm vnc xp --password`/);
  });

  it('-vnc 0.0.0.0:1 without a password: only the exposure warning, which names the fixes', () => {
    const w = vncWarnings('qemu-kvm -m 256 -vnc 0.0.0.0:1');
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(/with no password/);
  });

  it('-vnc 0.0.0.0:1,password: kept as written, one warning', () => {
    const w = vncWarnings('qemu-kvm -m 256 -vnc 0.0.0.0:1,password');
    expect(w).toHaveLength(1);
    expect(w[0]).toMatch(/every host address \(0\.0\.0\.0:5901\), as written, behind a password/);
  });

  it('-vnc 127.0.0.1:1: nothing to warn about', () => {
    expect(vncWarnings('qemu-kvm -m 256 -vnc 127.0.0.1:1')).toEqual([]);
  });
});
