// What the whole line says that single options depend on (the accelerator, the
// display, -daemonize, USB controllers), and the small helpers every rewrite uses.
import { type DriveContext } from './drive.js';
import { expandShortBooleans, formatKeyVal, getKey, parseKeyVal, type KeyVal } from './keyval.js';
import { type BinaryKind } from './tokenize.js';
import type { RawOption, Rewrite } from './types.js';

export const USB_CONTROLLERS = /^(qemu-xhci|nec-usb-xhci|usb-ehci|ich9-usb-[eu]hci\d|piix3-usb-uhci|piix4-usb-uhci|pci-ohci|sysbus-ohci)$/;

/** Facts about the whole line that single options depend on. */
export interface Facts {
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

export function newId(f: Facts, prefix: string): string {
  const n = f.ids[prefix] ?? 0;
  f.ids[prefix] = n + 1;
  return `${prefix}${n}`;
}

export function machineKv(o: RawOption): KeyVal[] {
  return parseKeyVal(o.value ?? '', 'type');
}

export function accelFromOption(o: RawOption): string {
  return (o.value ?? '').split(',')[0];
}

export function scan(opts: RawOption[], binary: string | undefined, kind: BinaryKind | undefined): Facts {
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

export const tcgArg = (f: Facts, accel: string) => (accel === 'tcg' && f.tcgProps.length ? formatKeyVal([{ key: 'accel', value: 'tcg', implied: true }, ...f.tcgProps]) : accel);
export const accelArgs = (f: Facts, accels: string[]) => accels.flatMap((a) => ['-accel', tcgArg(f, a)]);

/** The option as QEMU spells it (--opt becomes -opt), with its value. */
export const asWritten = (o: RawOption): string[] => (o.positional ? [...o.raw] : [o.option, ...(o.value !== undefined ? [o.value] : [])]);
export const ok = (o: RawOption, note?: string): Rewrite => ({ status: 'ok', note, modern: asWritten(o) });

export function shortBools(o: RawOption, implied: string, negatable: string[] = []): Rewrite {
  const kv = parseKeyVal(o.value ?? '', implied);
  const fixed = expandShortBooleans(kv, negatable);
  if (!fixed.length) return ok(o);
  return {
    status: 'deprecated',
    note: `Short-form booleans (${fixed.join(', ')}) are deprecated since QEMU 6.0 and make 7.2 warn: write ${kv.filter((k) => !k.implied && fixed.some((w) => w === k.key || w === `no${k.key}`)).map((k) => `${k.key}=${k.value}`).join(', ')}.`,
    modern: [o.option, formatKeyVal(kv)],
  };
}
