// The teaching translator: explains every option of a legacy qemu-kvm command
// line, says what QEMU 7.2 makes of it, and writes the modern command.
import { parseSize, MiB } from '../../config/size.js';
import { translateChardev, translateDevice, translateSoundhw, translateUsbdevice } from './devices.js';
import { translateDisplay, translateStdio, translateVnc, translateWindowOption, windowProp } from './display.js';
import { shorthandDrive, translateDrive } from './drive.js';
import { accelArgs, accelFromOption, asWritten, machineKv, newId, ok, scan, shortBools, tcgArg, type Facts } from './facts.js';
import { expandShortBooleans, formatKeyVal, getKey, hasKey, parseKeyVal, withoutKeys } from './keyval.js';
import { planNetworks } from './net.js';
import { planNuma } from './numa.js';
import { explainOption, OPTIONS } from './options.js';
import { parseOptions } from './parse.js';
import { checkSmp, fixSmp, formatSmp, parseSmp } from './smp.js';
import { worst } from './status.js';
import { normalizeCommandLine } from './tokenize.js';
import { applyVerdicts, type VerdictContext } from './verdict.js';
import type { Explanation, ExplanationEntry, RawOption, Rewrite } from './types.js';

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
/**
 * With ctx (this QEMU's introspection and the host's facts), every verdict is
 * checked against what this QEMU really takes; without it, only the translator's
 * knowledge of QEMU 7.2 speaks.
 */
export function explainCommandLine(input: string | readonly string[], ctx?: VerdictContext): Explanation {
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
  const help = ctx ? applyVerdicts(opts, entries, warnings, ctx) : [];
  if (ctx?.host && !ctx.host.kvm && prefix[0] === '-accel') {
    // qemu-kvm's KVM-then-TCG fallback: without /dev/kvm, TCG alone.
    prefix.splice(0, prefix.length, '-accel', tcgArg(f, 'tcg'));
    const i = warnings.findIndex((w) => w.includes('so the modern command starts with -accel kvm -accel tcg'));
    if (i >= 0) warnings[i] = `${cl.binary ?? 'qemu-kvm'}: qemu-kvm used KVM when it could and fell back to TCG; this host has no /dev/kvm, so the modern command says -accel tcg`;
  }
  if (f.tcgProps.length && !f.accelOpts.length && !f.machineAccel && !f.noKvm && !f.enableKvm && cl.binaryKind === 'system') {
    // qemu-system-* with -tb-size and no accelerator: TCG is the default, say it.
    prefix.push('-accel', tcgArg(f, 'tcg'));
  }
  return {
    ...(cl.binary ? { binary: cl.binary } : {}),
    entries,
    modern: { binary: 'qemu-system-x86_64', args: [...prefix, ...entries.flatMap((e) => e.modern ?? [])] },
    warnings: [...new Set(warnings)],
    ...(help.length ? { help } : {}),
    ...(ctx ? { checkedAgainst: ctx.qemu.version } : {}),
  };
}
