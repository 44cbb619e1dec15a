// The teaching translator: explains every option of a legacy qemu-kvm command
// line, says what QEMU 7.2 makes of it, and writes the modern command.
import { parseSize, MiB } from '../../config/size.js';
import { shorthandDrive, translateDrive, type DriveContext } from './drive.js';
import { expandShortBooleans, formatKeyVal, getKey, hasKey, parseKeyVal, withoutKeys, type KeyVal } from './keyval.js';
import { planNetworks } from './net.js';
import { planNuma } from './numa.js';
import { explainOption, OPTIONS } from './options.js';
import { parseOptions } from './parse.js';
import { checkSmp, fixSmp, formatSmp, parseSmp } from './smp.js';
import { worst } from './status.js';
import { normalizeCommandLine, type BinaryKind } from './tokenize.js';
import type { Explanation, ExplanationEntry, RawOption, Rewrite } from './types.js';

const USB_CONTROLLERS = /^(qemu-xhci|nec-usb-xhci|usb-ehci|ich9-usb-[eu]hci\d|piix3-usb-uhci|piix4-usb-uhci|pci-ohci|sysbus-ohci)$/;
const SOUND_DEVICES = ['AC97', 'ac97', 'ES1370', 'es1370', 'sb16', 'gus', 'cs4231a', 'adlib', 'intel-hda', 'ich9-intel-hda', 'usb-audio'];
const STDIO_RE = /^(mon:)?stdio\b/;

/** Facts about the whole line that single options depend on. */
interface Facts {
  binary?: string;
  kind?: BinaryKind;
  accelOpts: RawOption[];
  machineAccel?: string;
  enableKvm?: RawOption;
  noKvm?: RawOption;
  /** The accelerators the modern command tries, in order. */
  accels: string[];
  /** tcg properties from removed options (-tb-size), merged into the tcg accelerator. */
  tcgProps: KeyVal[];
  daemonize: boolean;
  nodefaults: boolean;
  nographic: boolean;
  /** The first -serial stdio and -monitor stdio: QEMU lets only one chardev use stdio. */
  stdioSerial?: RawOption;
  stdioMonitor?: RawOption;
  hasKernel: boolean;
  /** The option that picks an SDL or GTK window, which takes the old grab/cursor options. */
  windowOpt?: RawOption;
  windowType?: 'sdl' | 'gtk';
  windowProps: KeyVal[];
  usbController: boolean;
  usbAdded: boolean;
  drives: DriveContext;
  /** Counters for the ids the modern command makes up (drive0, usbdisk0, vcon0). */
  ids: Record<string, number>;
}

function newId(f: Facts, prefix: string): string {
  const n = f.ids[prefix] ?? 0;
  f.ids[prefix] = n + 1;
  return `${prefix}${n}`;
}

function machineKv(o: RawOption): KeyVal[] {
  return parseKeyVal(o.value ?? '', 'type');
}

function accelFromOption(o: RawOption): string {
  return (o.value ?? '').split(',')[0];
}

function scan(opts: RawOption[], binary: string | undefined, kind: BinaryKind | undefined): Facts {
  const f: Facts = {
    binary, kind, accelOpts: [], accels: [], tcgProps: [], daemonize: false, nodefaults: false, nographic: false, hasKernel: false,
    windowProps: [], usbController: false, usbAdded: false, drives: {}, ids: {},
  };
  for (const o of opts) {
    switch (o.option) {
      case '-accel': f.accelOpts.push(o); break;
      case '-machine': case '-M': {
        const a = getKey(machineKv(o), 'accel');
        if (a && f.machineAccel === undefined) f.machineAccel = a;
        if (getKey(machineKv(o), 'usb') === 'on') f.usbController = true;
        break;
      }
      case '-enable-kvm': f.enableKvm = o; break;
      case '-no-kvm': f.noKvm = o; break;
      case '-daemonize': f.daemonize = true; break;
      case '-nodefaults': f.nodefaults = true; break;
      case '-kernel': f.hasKernel = true; break;
      case '-usb': f.usbController = true; break;
      case '-device': if (USB_CONTROLLERS.test((o.value ?? '').split(',')[0])) f.usbController = true; break;
      case '-tb-size': if (o.value) f.tcgProps.push({ key: 'tb-size', value: o.value }); break;
      case '-sdl': f.windowOpt = o; f.windowType = 'sdl'; break;
      case '-curses': f.windowOpt = undefined; f.windowType = undefined; break;
      case '-nographic': f.nographic = true; f.windowOpt = undefined; f.windowType = undefined; break;
      case '-serial': if (o.value === 'stdio') f.stdioSerial ??= o; break;
      case '-monitor': if (o.value === 'stdio') f.stdioMonitor ??= o; break;
      case '-display': {
        const t = (o.value ?? '').split(',')[0];
        if (t === 'sdl' || t === 'gtk') { f.windowOpt = o; f.windowType = t; } else if (!t.startsWith('vnc')) { f.windowOpt = undefined; f.windowType = undefined; }
        break;
      }
    }
  }
  const lastOf = (a?: RawOption, b?: RawOption) => (a && b ? (a.index > b.index ? a : b) : a ?? b);
  if (f.accelOpts.length) f.accels = f.accelOpts.map(accelFromOption);
  else if (f.machineAccel) f.accels = f.machineAccel.split(':');
  else if (f.enableKvm || f.noKvm) f.accels = [lastOf(f.enableKvm, f.noKvm) === f.enableKvm ? 'kvm' : 'tcg'];
  else if (kind !== 'system') f.accels = ['kvm', 'tcg'];
  else f.accels = ['tcg'];
  return f;
}

const tcgArg = (f: Facts, accel: string) => (accel === 'tcg' && f.tcgProps.length ? formatKeyVal([{ key: 'accel', value: 'tcg', implied: true }, ...f.tcgProps]) : accel);
const accelArgs = (f: Facts, accels: string[]) => accels.flatMap((a) => ['-accel', tcgArg(f, a)]);

/** The option as QEMU spells it (--opt becomes -opt), with its value. */
const asWritten = (o: RawOption): string[] => (o.positional ? [...o.raw] : [o.option, ...(o.value !== undefined ? [o.value] : [])]);
const ok = (o: RawOption, note?: string): Rewrite => ({ status: 'ok', note, modern: asWritten(o) });

function shortBools(o: RawOption, implied: string, negatable: string[] = []): Rewrite {
  const kv = parseKeyVal(o.value ?? '', implied);
  const fixed = expandShortBooleans(kv, negatable);
  if (!fixed.length) return ok(o);
  return {
    status: 'deprecated',
    note: `Short-form booleans (${fixed.join(', ')}) are deprecated since QEMU 6.0 and make 7.2 warn: write ${kv.filter((k) => !k.implied && fixed.some((w) => w === k.key || w === `no${k.key}`)).map((k) => `${k.key}=${k.value}`).join(', ')}.`,
    modern: [o.option, formatKeyVal(kv)],
  };
}

const OLD_MACHINE = /^pc-(?:(i440fx|q35)-)?(\d+)\.(\d+)$/;

function translateMachine(o: RawOption, f: Facts, warnings: string[]): Rewrite {
  let kv = machineKv(o);
  let status: Rewrite['status'] = 'ok';
  const notes: string[] = [];
  const type = getKey(kv, 'type');
  const m = type ? OLD_MACHINE.exec(type) : null;
  if (type && m) {
    const board = m[1] ?? 'i440fx';
    const [maj, min] = [Number(m[2]), Number(m[3])];
    const oldest = board === 'q35' ? [2, 4] : [1, 4];
    const tooOld = maj < oldest[0] || (maj === oldest[0] && min < oldest[1]);
    let to = type;
    if (tooOld) {
      to = board === 'q35' ? 'q35' : 'pc';
      status = 'removed';
      notes.push(`QEMU 7.2 no longer has machine type ${type} (the oldest ${board === 'q35' ? 'Q35' : 'i440FX'} type is pc-${board}-${oldest.join('.')}); ${to} is the current ${board === 'q35' ? 'Q35' : 'i440FX'} machine.`);
      warnings.push(`${o.option} ${type}: replaced by ${to}; the guest sees newer chipset details (a re-activation prompt in old Windows is possible)`);
    } else if (!m[1]) {
      to = `pc-i440fx-${maj}.${min}`;
      status = 'changed';
      notes.push(`The short name ${type} is gone; the same machine is called ${to}.`);
    }
    if (board === 'i440fx' && maj === 1 && min >= 4) {
      status = worst(status, 'deprecated');
      notes.push('pc-i440fx-1.4 to 1.7 are deprecated since QEMU 7.0.');
    }
    kv = kv.map((k) => (k.key === 'type' ? { ...k, value: to } : k));
  }
  const fixed = expandShortBooleans(kv);
  if (fixed.length) { status = worst(status, 'deprecated'); notes.push(`Short-form booleans (${fixed.join(', ')}) are deprecated: write them as key=on.`); }
  const modern: string[] = [];
  if (hasKey(kv, 'accel')) {
    const accel = getKey(kv, 'accel')!;
    kv = withoutKeys(kv, 'accel');
    if (f.accelOpts.length) {
      status = worst(status, 'conflict');
      notes.push(`accel=${accel} clashes with -accel (QEMU 7.2: "The -accel and -machine accel= options are incompatible"); -accel wins, so accel= is dropped.`);
    } else if (getKey(machineKv(o), 'accel') === f.machineAccel) {
      notes.push(`-machine accel=${accel} is written -accel ${accel.split(':').join(' -accel ')} in modern QEMU.`);
      modern.push(...accelArgs(f, accel.split(':')));
    }
  }
  if (kv.length) modern.unshift(o.option, formatKeyVal(kv));
  return { status, note: notes.join(' ') || undefined, modern };
}

function translateCpu(o: RawOption, f: Facts, warnings: string[]): Rewrite {
  const v = o.value ?? '';
  const [model, ...flags] = v.split(',');
  if (model !== 'host') return ok(o);
  if (!f.accels.includes('kvm')) {
    warnings.push('-cpu host: replaced by -cpu max, because the modern command runs under TCG, and only KVM can pass the host CPU through');
    return {
      status: 'conflict',
      note: 'Under TCG QEMU 7.2 refuses it ("CPU model \'host\' requires KVM or HVF"); -cpu max is the closest: every feature TCG can emulate.',
      modern: ['-cpu', ['max', ...flags].join(',')],
    };
  }
  warnings.push('-cpu host needs KVM: on a host without a working /dev/kvm (or where QEMU falls back to TCG) use -cpu max');
  return ok(o);
}

function translateSmp(o: RawOption, warnings: string[]): Rewrite {
  const { smp, other } = parseSmp(o.value ?? '');
  const check = checkSmp(smp);
  if (check.ok) {
    if (!check.zero) return ok(o);
    const value = formatSmp(Object.fromEntries(Object.entries(smp).filter(([, n]) => n !== 0)), other);
    return { status: 'deprecated', note: 'A topology value of 0 is deprecated since QEMU 6.2: leave the value out and QEMU computes it.', modern: value ? ['-smp', value] : [] };
  }
  const fixed = fixSmp(smp);
  const value = formatSmp(fixed, other);
  warnings.push(`-smp ${o.value}: ${check.problem}; QEMU 7.2 refuses that, so the modern command uses -smp ${value}`);
  return {
    status: 'changed',
    note: `QEMU 5.2 and later insist that sockets*dies*cores*threads equals maxcpus; here ${check.problem}. Fixed to ${value}, keeping the vCPU count.`,
    modern: ['-smp', value],
  };
}

function translateVnc(o: RawOption, warnings: string[]): Rewrite {
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

function translateDisplay(o: RawOption, f: Facts): Rewrite {
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
function windowProp(option: string): { prop: KeyVal; sdlOnly: boolean; removedIn: string } | undefined {
  switch (option) {
    case '-alt-grab': return { prop: { key: 'grab-mod', value: 'lshift-lctrl-lalt' }, sdlOnly: true, removedIn: '7.1' };
    case '-ctrl-grab': return { prop: { key: 'grab-mod', value: 'rctrl' }, sdlOnly: true, removedIn: '7.1' };
    case '-no-quit': return { prop: { key: 'window-close', value: 'off' }, sdlOnly: false, removedIn: '7.0' };
    case '-show-cursor': return { prop: { key: 'show-cursor', value: 'on' }, sdlOnly: false, removedIn: '6.0' };
    default: return undefined;
  }
}

function translateWindowOption(o: RawOption, f: Facts, warnings: string[]): Rewrite {
  const w = windowProp(o.option)!;
  const form = `-display ${w.sdlOnly ? 'sdl' : 'sdl|gtk'},${w.prop.key}=${w.prop.value}`;
  if (f.windowOpt && (!w.sdlOnly || f.windowType === 'sdl')) {
    return { status: 'removed', note: `Removed in QEMU ${w.removedIn}; the modern form is ${form}, merged into this line's display option.`, modern: [] };
  }
  warnings.push(`${o.option}: dropped; it only applies to ${w.sdlOnly ? 'an SDL window' : 'an SDL or GTK window'} (${form}), and this line picks none`);
  return { status: 'removed', note: `Removed in QEMU ${w.removedIn}; the modern form is ${form}. The line does not use ${w.sdlOnly ? 'SDL' : 'an SDL or GTK window'}, so it is dropped.`, modern: [] };
}

const USB_SIMPLE: Record<string, string> = { tablet: 'usb-tablet', mouse: 'usb-mouse', keyboard: 'usb-kbd', 'wacom-tablet': 'usb-wacom-tablet', braille: 'usb-braille' };

function usbPrefix(f: Facts): string[] {
  if (f.usbController || f.usbAdded) return [];
  f.usbAdded = true;
  return ['-usb'];
}

function translateUsbdevice(o: RawOption, f: Facts, warnings: string[]): Rewrite {
  const v = o.value ?? '';
  const simple = USB_SIMPLE[v];
  if (simple) {
    return {
      status: 'deprecated',
      note: `A legacy shortcut (deprecated since QEMU 2.10, still taken by 7.2 for devices without parameters); the modern form is -device ${simple}, with -usb (or a controller such as -device qemu-xhci) for the bus.`,
      modern: [...usbPrefix(f), '-device', simple],
    };
  }
  const [kind, ...rest] = v.split(':');
  const arg = rest.join(':');
  const esc = (s: string) => s.replace(/,/g, ',,');
  switch (kind) {
    case 'disk': {
      const id = newId(f, 'usbdisk');
      return { status: 'removed', note: 'QEMU 7.2: "usbdevice parameters are not supported anymore"; the modern form is -drive if=none,id=ID,file=FILE -device usb-storage,drive=ID.', modern: ['-drive', `if=none,id=${id},file=${esc(arg.replace(/^format=[^:]*:/, ''))}`, ...usbPrefix(f), '-device', `usb-storage,drive=${id}`] };
    }
    case 'host': {
      const byAddr = /^(\d+)\.(\d+)$/.exec(arg);
      const byId = /^([0-9a-fA-F]{1,4}):([0-9a-fA-F]{1,4})$/.exec(arg);
      const props = byAddr ? `hostbus=${byAddr[1]},hostaddr=${byAddr[2]}` : byId ? `vendorid=0x${byId[1]},productid=0x${byId[2]}` : undefined;
      if (!props) warnings.push(`-usbdevice ${v}: not a host:BUS.ADDR or host:VENDOR:PRODUCT; dropped`);
      return { status: 'removed', note: 'QEMU 7.2: "usbdevice parameters are not supported anymore"; the modern form is -device usb-host,vendorid=0xVVVV,productid=0xPPPP (or hostbus=,hostaddr=).', modern: props ? [...usbPrefix(f), '-device', `usb-host,${props}`] : [] };
    }
    case 'audio': case 'ccid': {
      const dev = `usb-${kind}`;
      return { status: 'removed', note: `Removed in QEMU 6.0; the modern form is -device ${dev}.`, modern: [...usbPrefix(f), '-device', dev] };
    }
    default:
      warnings.push(`-usbdevice ${v}: dropped; describe it with -device (see qemu-system-x86_64 -device help)`);
      return { status: 'removed', note: 'QEMU 7.2 refuses it; USB devices with parameters are -device options now.', modern: [] };
  }
}

const SOUNDHW: Record<string, string[]> = {
  ac97: ['-device', 'AC97'], es1370: ['-device', 'ES1370'], sb16: ['-device', 'sb16'], gus: ['-device', 'gus'],
  cs4231a: ['-device', 'cs4231a'], adlib: ['-device', 'adlib'], hda: ['-device', 'intel-hda', '-device', 'hda-duplex'],
};

function translateSoundhw(o: RawOption, warnings: string[]): Rewrite {
  const cards = (o.value ?? '').split(',').flatMap((c) => (c === 'all' ? Object.keys(SOUNDHW) : [c.toLowerCase()]));
  const modern: string[] = [];
  for (const c of cards) {
    if (SOUNDHW[c]) modern.push(...SOUNDHW[c]);
    else if (c === 'pcspk') warnings.push('-soundhw pcspk: the PC speaker is always there; to hear it give -audiodev DRIVER,id=snd0 -machine pcspk-audiodev=snd0');
    else warnings.push(`-soundhw ${c}: not a sound card QEMU knows; dropped`);
  }
  warnings.push(`-soundhw ${o.value}: the sound card has no audiodev=, so QEMU picks a host audio backend itself (deprecated since 4.2); add -audiodev pa,id=snd0 (or alsa, sdl, none) and audiodev=snd0 to choose`);
  return { status: 'removed', note: 'Removed in QEMU 7.1; sound cards are -device options now (hda needs two: intel-hda and a codec such as hda-duplex).', modern };
}

function translateDevice(o: RawOption, warnings: string[]): Rewrite {
  const kv = parseKeyVal(o.value ?? '', 'driver');
  const driver = getKey(kv, 'driver') ?? '';
  if (driver === 'pci-assign' || driver === 'kvm-pci-assign') {
    const host = getKey(kv, 'host');
    return { status: 'removed', note: 'KVM device assignment was removed (QEMU 2.12); VFIO replaced it: bind the device to the vfio-pci host driver, then -device vfio-pci,host=BUS:DEV.FN.', modern: host ? ['-device', `vfio-pci,host=${host}`] : [] };
  }
  if (driver === 'ivshmem') {
    warnings.push('-device ivshmem: dropped; use -device ivshmem-plain,memdev=ID with -object memory-backend-file (or ivshmem-doorbell,chardev=ID)');
    return { status: 'removed', note: 'Removed in QEMU 4.0; split into ivshmem-plain (shared memory only) and ivshmem-doorbell (with interrupts).', modern: [] };
  }
  const r = shortBools(o, 'driver');
  if (driver === 'sga') return { ...r, status: worst(r.status, 'deprecated'), note: `${r.note ?? ''} -device sga is deprecated since 6.2: SeaBIOS prints to the serial port by itself with -machine graphics=off.`.trim() };
  if (SOUND_DEVICES.includes(driver) && !hasKey(kv, 'audiodev')) {
    return { ...r, status: worst(r.status, 'deprecated'), note: `${r.note ?? ''} A sound card without audiodev= is deprecated since QEMU 4.2: add -audiodev DRIVER,id=snd0 and audiodev=snd0.`.trim() };
  }
  return r;
}

function translateChardev(o: RawOption): Rewrite {
  const r = shortBools(o, 'backend', ['wait']);
  const backend = (o.value ?? '').split(',')[0];
  const alias: Record<string, string> = { tty: 'serial', parport: 'parallel' };
  if (alias[backend]) {
    const kv = parseKeyVal(r.modern[1], 'backend');
    kv[0] = { ...kv[0], value: alias[backend] };
    return { status: worst(r.status, 'deprecated'), note: `${r.note ?? ''} The backend name ${backend} is deprecated: write ${alias[backend]}.`.trim(), modern: ['-chardev', formatKeyVal(kv)] };
  }
  return r;
}

function translateStdio(o: RawOption, f: Facts): Rewrite {
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

function translateSimpleDrive(o: RawOption, f: Facts): Rewrite {
  const kv = shorthandDrive(o.option, o.value ?? '');
  const r = translateDrive(formatKeyVal(kv), () => newId(f, 'drive'), f.drives);
  const note = o.positional
    ? 'A bare file name is QEMU\'s shorthand for -hda FILE; the modern command spells the -drive out.'
    : `Still taken by QEMU 7.2; the modern command spells out the -drive it stands for.`;
  return { ...r, note: [note, r.note].filter(Boolean).join(' ') };
}

function translateOne(o: RawOption, f: Facts, ctx: { net: Map<RawOption, Rewrite>; numa: Map<RawOption, Rewrite>; warnings: string[] }): Rewrite {
  const { warnings } = ctx;
  if (o.missingArg) {
    warnings.push(`${o.option}: needs an argument and the line ends; dropped`);
    return { status: 'changed', note: 'It needs an argument, and the line ends before one; QEMU would refuse it.', modern: [] };
  }
  const planned = ctx.net.get(o) ?? ctx.numa.get(o);
  if (planned) return planned;
  const w = windowProp(o.option);
  if (w) return translateWindowOption(o, f, warnings);
  const v = o.value ?? '';
  switch (o.option) {
    case 'FILE': case '-hda': case '-hdb': case '-hdc': case '-hdd': case '-cdrom': case '-fda': case '-fdb':
      return translateSimpleDrive(o, f);
    case '-drive': return translateDrive(v, () => newId(f, 'drive'), f.drives);
    case '-machine': case '-M': return translateMachine(o, f, warnings);
    case '-cpu': return translateCpu(o, f, warnings);
    case '-smp': return translateSmp(o, warnings);
    case '-accel': {
      const name = accelFromOption(o);
      return name === 'tcg' && f.tcgProps.length ? { status: 'ok', note: 'Carries tb-size= from the removed -tb-size.', modern: ['-accel', `${v},${formatKeyVal(f.tcgProps)}`] } : ok(o);
    }
    case '-enable-kvm': {
      if (f.accelOpts.length || f.machineAccel) {
        warnings.push('-enable-kvm: dropped, because the line also picks the accelerator with -accel or -machine accel=');
        return { status: 'conflict', note: 'QEMU 7.2 refuses -enable-kvm together with -accel or -machine accel= ("The -accel and -machine accel= options are incompatible"); the explicit accelerator wins.', modern: [] };
      }
      if (f.accels[0] !== 'kvm') {
        return { status: 'conflict', note: 'The line also has -no-kvm, later; the later one wins.', modern: [] };
      }
      return { status: 'ok', note: 'The modern spelling is -accel kvm.', modern: ['-accel', 'kvm'] };
    }
    case '-no-kvm': {
      if (f.accelOpts.length || f.machineAccel) return { status: 'removed', note: 'Removed in QEMU 5.2 (it meant -accel tcg); the line picks its accelerator with -accel, so it is dropped.', modern: [] };
      if (f.accels[0] !== 'tcg') return { status: 'conflict', note: 'Removed in QEMU 5.2; the line also has -enable-kvm, later, which wins.', modern: [] };
      return { status: 'removed', note: OPTIONS['-no-kvm'].note, modern: accelArgs(f, ['tcg']) };
    }
    case '-tb-size':
      if (f.accels.includes('tcg')) return { status: 'removed', note: 'Removed in QEMU 6.0; merged into -accel tcg,tb-size=N.', modern: [] };
      warnings.push(`-tb-size ${v}: dropped; it only matters under TCG (-accel tcg,tb-size=${v})`);
      return { status: 'removed', note: 'Removed in QEMU 6.0; the modern form is -accel tcg,tb-size=N, and this line does not use TCG.', modern: [] };
    case '-kvm-shadow-memory': {
      const n = Number(v);
      return { status: 'removed', note: 'A qemu-kvm option that QEMU never had; the machine property kvm-shadow-mem (in bytes) does the same.', modern: Number.isFinite(n) && n > 0 ? ['-machine', `kvm-shadow-mem=${n * MiB}`] : [] };
    }
    case '-sdl': case '-curses': case '-display': return translateDisplay(o, f);
    case '-vnc': return translateVnc(o, warnings);
    case '-nographic':
      if (f.daemonize && !f.nodefaults) {
        return { status: 'conflict', note: 'QEMU refuses -nographic with -daemonize ("-nographic cannot be used with -daemonize"): -nographic puts the serial port and monitor on stdio, which a daemon does not have. -display none keeps the "no window" part.', modern: ['-display', 'none'] };
      }
      return ok(o);
    case '-monitor': case '-serial': case '-parallel': return translateStdio(o, f);
    case '-usbdevice': return translateUsbdevice(o, f, warnings);
    case '-soundhw': return translateSoundhw(o, warnings);
    case '-device': return translateDevice(o, warnings);
    case '-chardev': return translateChardev(o);
    case '-object': return shortBools(o, 'qom-type');
    case '-netdev': case '-nic': return shortBools(o, 'type');
    case '-spice': {
      const r = shortBools(o, 'spice');
      return hasKey(parseKeyVal(v), 'password') ? { ...r, status: worst(r.status, 'deprecated'), note: `${r.note ?? ''} password= is deprecated since 6.0 (visible in ps): use password-secret= with -object secret.`.trim() } : r;
    }
    case '-localtime':
      return { status: 'removed', note: 'Removed in QEMU 3.1; the modern form is -rtc base=localtime.', modern: ['-rtc', 'base=localtime'] };
    case '-startdate':
      return { status: 'removed', note: 'Removed in QEMU 3.1; the modern form is -rtc base=DATE.', modern: ['-rtc', `base=${v === 'now' ? 'utc' : v}`] };
    case '-pcidevice': {
      const host = getKey(parseKeyVal(v), 'host');
      return { status: 'removed', note: 'KVM device assignment was removed (QEMU 2.12); VFIO replaced it: bind the device to the vfio-pci host driver, then -device vfio-pci,host=BUS:DEV.FN.', modern: host ? ['-device', `vfio-pci,host=${host}`] : [] };
    }
    case '-virtioconsole': {
      const backend = v.split(/[:,]/)[0];
      if (['stdio', 'pty', 'null', 'vc'].includes(backend) && v === backend) {
        const id = newId(f, 'vcon');
        return { status: 'removed', note: OPTIONS['-virtioconsole'].note, modern: ['-device', 'virtio-serial-pci', '-chardev', `${backend},id=${id}`, '-device', `virtconsole,chardev=${id}`] };
      }
      warnings.push(`-virtioconsole ${v}: dropped; write -device virtio-serial-pci -chardev ...,id=X -device virtconsole,chardev=X`);
      return { status: 'removed', note: OPTIONS['-virtioconsole'].note, modern: [] };
    }
    case '-uuid':
      if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(v)) {
        warnings.push(`-uuid ${v}: not a UUID (8-4-4-4-12 hex digits); dropped`);
        return { status: 'changed', note: 'QEMU refuses it: "failed to parse UUID string". Dropped.', modern: [] };
      }
      return ok(o);
    case '-initrd': case '-append':
      if (!f.hasKernel) {
        warnings.push(`${o.option}: dropped; it only works with -kernel`);
        return { status: 'conflict', note: `QEMU refuses it without -kernel ("${o.option} only allowed with -kernel option").`, modern: [] };
      }
      return ok(o);
    case '-vga':
      return v === 'cirrus' ? ok(o, 'Cirrus was the default long ago; -vga std is the better choice for any guest newer than Windows XP.') : ok(o);
    case '-daemonize':
      return ok(o, 'Once detached, QEMU\'s messages go nowhere: add -D FILE to keep a log.');
    case '-m':
      try {
        parseSize(getKey(parseKeyVal(v, 'size'), 'size') ?? '', '-m', 'M');
        return ok(o);
      } catch {
        warnings.push(`-m ${v}: not a size QEMU understands`);
        return { status: 'unknown', modern: asWritten(o) };
      }
  }
  const info = OPTIONS[o.option];
  if (!info) {
    warnings.push(`${o.raw.join(' ')}: not an option the translator knows; passed through as written (check it with qemu-system-x86_64 -help)`);
    return { status: 'unknown', note: 'Passed through as written.', modern: asWritten(o) };
  }
  if (info.status) return { status: info.status, note: info.note, modern: info.modern ? info.modern(v) : [] };
  return ok(o);
}

/** Explains a legacy command line option by option and writes the modern command. */
export function explainCommandLine(input: string | readonly string[]): Explanation {
  const cl = normalizeCommandLine(input);
  const opts = parseOptions(cl.args);
  const f = scan(opts, cl.binary, cl.binaryKind);
  const warnings = [...cl.warnings];

  // Window options merge into the line's SDL/GTK display option.
  for (const o of opts) {
    const w = windowProp(o.option);
    if (w && f.windowOpt && (!w.sdlOnly || f.windowType === 'sdl')) f.windowProps.push(w.prop);
  }

  const memOpt = [...opts].reverse().find((o) => o.option === '-m' && o.value);
  let memoryMiB = 128;
  try {
    if (memOpt) memoryMiB = parseSize(getKey(parseKeyVal(memOpt.value!, 'size'), 'size') ?? '128', '-m', 'M') / MiB;
  } catch { /* reported with -m */ }
  const net = planNetworks(opts);
  const numa = planNuma(opts, {
    memoryMiB,
    memPath: opts.find((o) => o.option === '-mem-path')?.value,
    prealloc: opts.some((o) => o.option === '-mem-prealloc'),
  });
  warnings.push(...net.warnings, ...numa.warnings);

  const prefix: string[] = [];
  const picksAccel = f.accelOpts.length || f.machineAccel || f.enableKvm || f.noKvm;
  if (!picksAccel && cl.binaryKind !== 'system' && opts.length) {
    prefix.push(...accelArgs(f, ['kvm', 'tcg']));
    warnings.push(`${cl.binary ?? 'no binary named, so taken as qemu-kvm'}: qemu-kvm used KVM when it could and fell back to TCG, but qemu-system-x86_64 uses TCG unless told otherwise, so the modern command starts with -accel kvm -accel tcg`);
  }

  const entries: ExplanationEntry[] = opts.map((o) => {
    const r = translateOne(o, f, { net: net.rewrites, numa: numa.rewrites, warnings });
    const entry: ExplanationEntry = {
      option: o.option,
      ...(o.value !== undefined ? { value: o.value } : {}),
      raw: o.raw,
      status: r.status,
      explain: o.positional ? `Attaches ${o.value} as the first IDE hard disk (index 0).` : explainOption(o.option, o.value),
      ...(r.note ? { note: r.note } : {}),
      modern: r.modern,
    };
    return entry;
  });
  if (f.tcgProps.length && !f.accelOpts.length && !f.machineAccel && !f.noKvm && !f.enableKvm && cl.binaryKind === 'system') {
    // qemu-system-* with -tb-size and no accelerator: TCG is the default, say it.
    prefix.push('-accel', tcgArg(f, 'tcg'));
  }
  return {
    ...(cl.binary ? { binary: cl.binary } : {}),
    entries,
    modern: { binary: 'qemu-system-x86_64', args: [...prefix, ...entries.flatMap((e) => e.modern ?? [])] },
    warnings: [...new Set(warnings)],
  };
}
