// A loopback port for a new guest's ssh hostfwd, chosen when the definition is
// written (templates/debian-12.yaml's {{ssh-port}}): one derived from the name,
// or the next one, skipping ports that listen now and ports other definitions use.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';

const FIRST = 22000;
const SPAN = 2000;

/** TCP ports in LISTEN state on this host (IPv4 and IPv6), from /proc/net/tcp{,6}. */
export function listeningPorts(): Set<number> {
  const out = new Set<number>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try { text = readFileSync(f, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      // local_address is ADDR:PORT in hex; state 0A is LISTEN.
      if (cols.length > 3 && cols[3] === '0A') out.add(parseInt(cols[1].split(':').pop() ?? '', 16));
    }
  }
  return out;
}

/** Host ports named by hostfwd rules (tcp:ADDR:PORT-...). */
export function hostfwdPorts(rules: string[]): number[] {
  return rules.map((r) => /^(?:tcp|udp):[0-9.]*:(\d+)-/.exec(r)?.[1]).filter((p): p is string => !!p).map(Number);
}

/** The port for `name`: stable for a name while it is free, never one in `taken` or listening. */
export function pickPort(name: string, taken: Iterable<number> = []): number {
  const busy = new Set([...listeningPorts(), ...taken]);
  const start = createHash('sha256').update(name).digest().readUInt32BE(0) % SPAN;
  for (let i = 0; i < SPAN; i++) {
    const p = FIRST + ((start + i) % SPAN);
    if (!busy.has(p)) return p;
  }
  throw new Error(`no free port in ${FIRST}-${FIRST + SPAN - 1}`);
}
