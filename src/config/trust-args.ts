// Which raw QEMU arguments make QEMU run a program (or load code) on the host.
// QEMU 7.2 runs programs in these places only: exec: migration URIs (through
// /bin/sh), tap script=/downscript= (default /etc/qemu-ifup, /etc/qemu-ifdown),
// the bridge helper (-netdev bridge, helper=), slirp's guestfwd=...-cmd: and
// smb= (smbd), and vde (libvdeplug may start a plug program). It loads code
// with -plugin. A monitor (-monitor, -qmp, -mon) accepts `migrate exec:...`,
// -readconfig can hold any of the above where qkvm cannot see it, -set can
// rewrite a netdev after the fact, and -sandbox would replace qkvm's own.
//
// The scan over-approximates on purpose: every element is read both as an
// option and as the value of the option before it, so shifting an argument by
// one (an option qkvm thinks takes a value, or does not) cannot hide it.

export interface ProgramFinding {
  /** Index in extraArgs of the element at fault. */
  index: number;
  /** The option as written (e.g. --netdev), or '' for a bare value. */
  option: string;
  /** The value at fault, as written. */
  value: string;
  /** Why QEMU would run a program. */
  reason: string;
}

export interface BundledScripts { ifup: string; ifdown: string }

/** -opt, --opt, -opt=value, --opt=value -> ("-opt", value?). QEMU reads --opt as -opt. */
export function optionName(arg: string): { name: string; inline?: string } | undefined {
  if (!/^--?[^-]/.test(arg)) return undefined;
  const body = arg.replace(/^--?/, '');
  const eq = body.indexOf('=');
  return eq > 0 ? { name: `-${body.slice(0, eq).toLowerCase()}`, inline: body.slice(eq + 1) } : { name: `-${body.toLowerCase()}` };
}

/** QEMU's key=value list: `,,` is a literal comma; a first item without `=` is the implied key. */
export function parseKeyVals(text: string, impliedKey = 'type'): [string, string][] {
  const items: string[] = [];
  let cur = '';
  for (let i = 0; i < text.length; i++) {
    if (text[i] === ',') {
      if (text[i + 1] === ',') { cur += ','; i++; continue; }
      items.push(cur); cur = '';
    } else cur += text[i];
  }
  items.push(cur);
  return items.map((it, i): [string, string] => {
    const eq = it.indexOf('=');
    if (eq < 0) return i === 0 ? [impliedKey, it] : [it.toLowerCase(), 'on'];
    return [it.slice(0, eq).toLowerCase().replace(/_/g, '-'), it.slice(eq + 1)];
  });
}

/** A -netdev/-nic/-net value as key/value pairs; the JSON form (-netdev '{"type":"tap",...}') too. */
function netdevProps(value: string): [string, string][] | undefined {
  const t = value.trim();
  if (!t.startsWith('{')) return parseKeyVals(value);
  try {
    const doc = JSON.parse(t);
    if (!doc || typeof doc !== 'object') return undefined;
    return Object.entries(doc).map(([k, v]) => [k.toLowerCase().replace(/_/g, '-'), typeof v === 'string' ? v : JSON.stringify(v)]);
  } catch { return undefined; }
}

const NET_OPTIONS = new Set(['-netdev', '-nic', '-net']);

/** Why this option with this value makes QEMU run a program, or undefined. */
export function programReason(option: string, value: string | undefined, scripts: BundledScripts): string | undefined {
  switch (option) {
    case '-plugin': return 'loads a shared library into QEMU (code that runs as root)';
    case '-sandbox': return "replaces qkvm's own seccomp sandbox";
    case '-readconfig': return 'reads options from a file qkvm cannot check (it may start programs)';
    case '-monitor': case '-qmp': case '-qmp-pretty': case '-mon':
      return 'opens another monitor, which accepts `migrate exec:...` (a shell command run as root)';
    case '-set': {
      if (value === undefined) return undefined;
      const [group, , prop] = value.split('=')[0].toLowerCase().split('.');
      if (['netdev', 'net', 'nic', 'sandbox', 'mon', 'plugin'].includes(group)) return `rewrites a ${group} option after qkvm's checks (e.g. a tap script)`;
      if (prop && /^(script|downscript|helper|smb|guestfwd)$/.test(prop)) return `sets ${prop}, which runs a program`;
      return undefined;
    }
  }
  if (!NET_OPTIONS.has(option) || value === undefined) return undefined;
  const props = netdevProps(value);
  if (!props) return 'a netdev in JSON form that qkvm cannot read';
  const all = (k: string) => props.filter(([key]) => key === k).map(([, v]) => v);
  const types = all('type').map((t) => t.toLowerCase());
  if (types.includes('bridge')) return 'a bridge netdev runs qemu-bridge-helper (or its helper=) as root';
  if (types.includes('vde')) return 'a vde netdev lets libvdeplug start a program';
  if (all('helper').length) return `helper=${all('helper')[0]} runs that program as root`;
  if (all('guestfwd').some((g) => /-cmd:/i.test(g))) return 'guestfwd=...-cmd: runs that command as root for each connection';
  if (all('smb').length) return 'smb= starts smbd as root';
  if (types.includes('tap') && !all('fd').length && !all('fds').length) {
    for (const [key, bundled, dflt] of [['script', scripts.ifup, '/etc/qemu-ifup'], ['downscript', scripts.ifdown, '/etc/qemu-ifdown']] as const) {
      const vals = all(key);
      if (!vals.length) return `a tap without ${key}= runs ${dflt} as root (write ${key}=no)`;
      const bad = vals.find((v) => v !== 'no' && v !== '' && v !== bundled);
      if (bad !== undefined) return `${key}=${bad} runs that program as root (only qkvm's ${bundled} or "no" are accepted)`;
    }
  }
  return undefined;
}

/** Every element of extraArgs that would make QEMU run a program. */
export function findPrograms(args: readonly string[], scripts: BundledScripts): ProgramFinding[] {
  const out: ProgramFinding[] = [];
  const seen = new Set<number>();
  const add = (f: ProgramFinding) => { if (!seen.has(f.index)) { seen.add(f.index); out.push(f); } };
  args.forEach((arg, i) => {
    if (/exec:/i.test(arg)) add({ index: i, option: i > 0 && optionName(args[i - 1]) ? args[i - 1] : '', value: arg, reason: 'an exec: URI: QEMU runs it through /bin/sh as root' });
    const opt = optionName(arg);
    if (!opt) return;
    // The inline form (-opt=value) and the next element are both read as the value.
    for (const [value, at] of [[opt.inline, i], [args[i + 1], i + 1]] as const) {
      if (value === undefined && at !== i) continue;
      const reason = programReason(opt.name, value, scripts);
      // An option refused whatever its value (-plugin, -sandbox) is shown with the word after it.
      const shown = value ?? (args[i + 1] !== undefined && !optionName(args[i + 1]) ? args[i + 1] : arg);
      if (reason) { add({ index: at, option: arg, value: shown, reason }); break; }
    }
  });
  return out.sort((a, b) => a.index - b.index);
}
