// Devices that old options added: -usbdevice, -soundhw, and -device/-chardev
// spellings that changed.
import { formatKeyVal, getKey, hasKey, parseKeyVal } from './keyval.js';
import { newId, shortBools, type Facts } from './facts.js';
import { worst } from './status.js';
import type { RawOption, Rewrite } from './types.js';

const SOUND_DEVICES = ['AC97', 'ac97', 'ES1370', 'es1370', 'sb16', 'gus', 'cs4231a', 'adlib', 'intel-hda', 'ich9-intel-hda', 'usb-audio'];

const USB_SIMPLE: Record<string, string> = { tablet: 'usb-tablet', mouse: 'usb-mouse', keyboard: 'usb-kbd', 'wacom-tablet': 'usb-wacom-tablet', braille: 'usb-braille' };

function usbPrefix(f: Facts): string[] {
  if (f.usbController || f.usbAdded) return [];
  f.usbAdded = true;
  return ['-usb'];
}

export function translateUsbdevice(o: RawOption, f: Facts, warnings: string[]): Rewrite {
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

export function translateSoundhw(o: RawOption, warnings: string[]): Rewrite {
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

export function translateDevice(o: RawOption, warnings: string[]): Rewrite {
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

export function translateChardev(o: RawOption): Rewrite {
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
