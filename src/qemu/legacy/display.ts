// The display options: -vnc, -sdl, -curses, -display, the SDL window options that
// became -display properties, and the chardevs that want the terminal (stdio).
import { expandShortBooleans, formatKeyVal, getKey, parseKeyVal, withoutKeys, type KeyVal } from './keyval.js';
import { ok, type Facts } from './facts.js';
import { OPTIONS } from './options.js';
import { worst } from './status.js';
import type { RawOption, Rewrite } from './types.js';

const STDIO_RE = /^(mon:)?stdio\b/;

export function translateVnc(o: RawOption, warnings: string[]): Rewrite {
  let kv = parseKeyVal(o.value ?? '', 'vnc');
  let status: Rewrite['status'] = 'ok';
  const notes: string[] = [];
  const gone = kv.filter((k) => ['tls', 'x509', 'x509verify', 'acl'].includes(k.key));
  if (gone.length) {
    status = 'removed';
    notes.push(`${gone.map((k) => k.key).join(', ')} ${gone.length > 1 ? 'were' : 'was'} removed (QEMU 3.1/6.0): TLS now comes from -object tls-creds-x509,id=tls0,dir=... with tls-creds=tls0, access control from tls-authz/sasl-authz.`);
    warnings.push(`${o.option} ${o.value}: ${gone.map((k) => k.key).join(', ')} dropped; set up -object tls-creds-x509 and tls-creds= to encrypt VNC`);
    kv = withoutKeys(kv, 'tls', 'x509', 'x509verify', 'acl');
  }
  const fixed = expandShortBooleans(kv);
  if (fixed.length) {
    status = worst(status, 'deprecated');
    notes.push(`Short-form booleans (${fixed.join(', ')}) are deprecated since QEMU 6.0: write ${fixed.map((w) => `${w}=on`).join(', ')}.`);
  }
  const display = getKey(kv, 'vnc') ?? '';
  const m = /^(.*):(\d+)$/.exec(display);
  if (m && (m[1] === '' || m[1] === '0.0.0.0' || m[1] === '[::]' || m[1] === '::')) {
    warnings.push(`${o.option} ${o.value}: VNC listens on all host addresses (as it always did), so anyone who can reach TCP port ${5900 + Number(m[2])} sees the guest's screen; prefer vnc=127.0.0.1:${m[2]} and an SSH tunnel`);
  }
  if (getKey(kv, 'password') === 'on') {
    warnings.push(`${o.option} ${o.value}: the VNC password is never on the command line: set it once QEMU runs, with the monitor (change vnc password, or set_password vnc PASSWORD) or QMP (set_password); until then nobody can log in`);
  }
  if (getKey(kv, 'password') !== undefined && getKey(kv, 'password') !== 'on' && getKey(kv, 'password') !== 'off') {
    status = worst(status, 'changed');
    notes.push('password= is an on/off switch; the password itself is set over the monitor or QMP.');
    kv = kv.map((k) => (k.key === 'password' ? { key: 'password', value: 'on' } : k));
  }
  notes.push(`The modern spelling is -display vnc=${formatKeyVal(kv)} (the same thing: VNC is a remote display, not a window).`);
  return { status, note: notes.join(' '), modern: ['-display', `vnc=${formatKeyVal(kv)}`] };
}

export function translateDisplay(o: RawOption, f: Facts): Rewrite {
  const value = o.option === '-sdl' ? 'sdl' : o.option === '-curses' ? 'curses' : o.value ?? '';
  if (value.startsWith('vnc=')) return ok(o);
  let kv = parseKeyVal(value, 'type');
  let status: Rewrite['status'] = o.option === '-display' ? 'ok' : 'removed';
  const notes: string[] = [];
  if (o.option !== '-display') notes.push(OPTIONS[o.option].note!);
  const legacy: Record<string, KeyVal> = { alt_grab: { key: 'grab-mod', value: 'lshift-lctrl-lalt' }, ctrl_grab: { key: 'grab-mod', value: 'rctrl' } };
  for (const k of kv) {
    if (k.key in legacy && k.value !== 'off') { status = worst(status, 'removed'); notes.push(`${k.key}=on was removed in QEMU 7.1: ${legacy[k.key].key}=${legacy[k.key].value}.`); }
    if (k.key === 'window_close') { status = worst(status, 'removed'); notes.push('window_close= was renamed window-close= (QEMU 7.1).'); }
  }
  kv = kv.flatMap((k) => (k.key in legacy ? (k.value === 'off' ? [] : [legacy[k.key]]) : k.key === 'window_close' ? [{ key: 'window-close', value: k.value }] : [k]));
  if (getKey(kv, 'type') === 'curses' && f.daemonize) {
    notes.push('QEMU refuses curses with -daemonize ("curses display cannot be used with -daemonize"): a daemon has no terminal to draw in. -display none keeps the guest running headless.');
    return { status: 'conflict', note: notes.join(' '), modern: ['-display', 'none'] };
  }
  if (o === f.windowOpt && f.windowProps.length) {
    kv = [...withoutKeys(kv, ...f.windowProps.map((p) => p.key)), ...f.windowProps];
    notes.push(`Carries ${f.windowProps.map((p) => `${p.key}=${p.value}`).join(', ')} from the removed window options.`);
  }
  return { status, note: notes.join(' ') || undefined, modern: ['-display', formatKeyVal(kv)] };
}

/** -alt-grab, -ctrl-grab, -no-quit, -show-cursor: now properties of -display sdl/gtk. */
export function windowProp(option: string): { prop: KeyVal; sdlOnly: boolean; removedIn: string } | undefined {
  switch (option) {
    case '-alt-grab': return { prop: { key: 'grab-mod', value: 'lshift-lctrl-lalt' }, sdlOnly: true, removedIn: '7.1' };
    case '-ctrl-grab': return { prop: { key: 'grab-mod', value: 'rctrl' }, sdlOnly: true, removedIn: '7.1' };
    case '-no-quit': return { prop: { key: 'window-close', value: 'off' }, sdlOnly: false, removedIn: '7.0' };
    case '-show-cursor': return { prop: { key: 'show-cursor', value: 'on' }, sdlOnly: false, removedIn: '6.0' };
    default: return undefined;
  }
}

export function translateWindowOption(o: RawOption, f: Facts, warnings: string[]): Rewrite {
  const w = windowProp(o.option)!;
  const form = `-display ${w.sdlOnly ? 'sdl' : 'sdl|gtk'},${w.prop.key}=${w.prop.value}`;
  if (f.windowOpt && (!w.sdlOnly || f.windowType === 'sdl')) {
    return { status: 'removed', note: `Removed in QEMU ${w.removedIn}; the modern form is ${form}, merged into this line's display option.`, modern: [] };
  }
  warnings.push(`${o.option}: dropped; it only applies to ${w.sdlOnly ? 'an SDL window' : 'an SDL or GTK window'} (${form}), and this line picks none`);
  return { status: 'removed', note: `Removed in QEMU ${w.removedIn}; the modern form is ${form}. The line does not use ${w.sdlOnly ? 'SDL' : 'an SDL or GTK window'}, so it is dropped.`, modern: [] };
}

export function translateStdio(o: RawOption, f: Facts): Rewrite {
  if (f.daemonize && STDIO_RE.test(o.value ?? '')) {
    return { status: 'conflict', note: `${o.option} stdio clashes with -daemonize (QEMU: "cannot use stdio with -daemonize"), so it is dropped; use unix:/path/${o.option.slice(1)}.sock,server=on,wait=off to reach it after QEMU detaches.`, modern: [] };
  }
  if (o.value !== 'stdio' || o.option === '-parallel') return ok(o);
  const twice = 'QEMU refuses two users of stdio ("cannot use stdio by multiple character devices")';
  if (f.nographic && !f.nodefaults) {
    return { status: 'conflict', note: `-nographic already puts the serial port and the monitor on stdio, multiplexed (Ctrl-a c switches), and ${twice}; dropped.`, modern: [] };
  }
  if (o.option === '-serial' && f.stdioMonitor && o === f.stdioSerial) {
    return { status: 'conflict', note: `The monitor wants stdio too, and ${twice}: -serial mon:stdio lets them share it (Ctrl-a c switches).`, modern: ['-serial', 'mon:stdio'] };
  }
  if (o.option === '-monitor' && f.stdioSerial && o === f.stdioMonitor) {
    return { status: 'conflict', note: `The serial port wants stdio too, and ${twice}: the monitor shares it through -serial mon:stdio (Ctrl-a c switches).`, modern: [] };
  }
  return ok(o);
}
