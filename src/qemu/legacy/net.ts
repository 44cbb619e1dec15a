// -net hubs ("vlans") to -netdev/-device pairs. A hub with one NIC and one
// backend becomes a direct pair; anything else keeps its hub as hubports, which is
// exactly what a vlan was. -redir, -tftp, -bootp and -smb move onto the first
// user-mode backend, as they applied to the first slirp stack.
import { formatKeyVal, getKey, hasKey, parseKeyVal, withoutKeys, type KeyVal } from './keyval.js';
import type { RawOption, Rewrite } from './types.js';

export const NIC_DEVICE: Record<string, string> = { virtio: 'virtio-net-pci' };
/** QEMU 7.2's default -net nic model on pc and q35. */
export const DEFAULT_NIC_MODEL = 'e1000';

const BACKENDS = ['user', 'tap', 'socket', 'bridge', 'vde', 'l2tpv3', 'netmap', 'vhost-user', 'vhost-vdpa', 'stream', 'dgram'];

interface Part {
  opt: RawOption;
  kv: KeyVal[];
  type: string;
  hub: string;
}

export interface NetPlan {
  rewrites: Map<RawOption, Rewrite>;
  warnings: string[];
}

/** Turns `-redir tcp:2222::22` into the hostfwd rule `tcp::2222-:22`. */
export function redirToHostfwd(v: string): string | undefined {
  const m = /^(?:(tcp|udp):)?(\d+):([0-9.]*):(\d+)$/.exec(v);
  if (!m) return undefined;
  return `${m[1] ?? 'tcp'}::${m[2]}-${m[3]}:${m[4]}`;
}

const nicDevice = (kv: KeyVal[], netdev?: string): string => {
  const model = getKey(kv, 'model') ?? DEFAULT_NIC_MODEL;
  const dev: KeyVal[] = [{ key: 'driver', value: NIC_DEVICE[model] ?? model, implied: true }];
  if (netdev) dev.push({ key: 'netdev', value: netdev });
  for (const k of kv) {
    if (k.implied || ['model', 'vlan', 'name', 'id', 'netdev'].includes(k.key)) continue;
    dev.push(k.key === 'macaddr' ? { key: 'mac', value: k.value } : k);
  }
  return formatKeyVal(dev);
};

const backendNetdev = (p: Part, id: string, extra: KeyVal[] = []): string =>
  formatKeyVal([{ key: 'type', value: p.type, implied: true }, { key: 'id', value: id }, ...withoutKeys(p.kv, 'type', 'vlan', 'name', 'id'), ...extra]);

export function planNetworks(opts: readonly RawOption[]): NetPlan {
  const rewrites = new Map<RawOption, Rewrite>();
  const warnings: string[] = [];
  const parts: Part[] = [];
  for (const o of opts) {
    if (o.option !== '-net' || o.value === undefined) continue;
    const kv = parseKeyVal(o.value, 'type');
    const type = getKey(kv, 'type') ?? '';
    if (type === 'none') {
      rewrites.set(o, { status: 'ok', note: 'The modern spelling is -nic none.', modern: ['-nic', 'none'] });
      continue;
    }
    if (type === 'nic' && getKey(kv, 'netdev')) {
      // Already tied to a -netdev: no hub involved.
      const removed = hasKey(kv, 'vlan') || hasKey(kv, 'name');
      rewrites.set(o, { status: removed ? 'removed' : 'ok', note: 'A NIC tied to a -netdev is a -device in modern form.', modern: ['-device', nicDevice(kv, getKey(kv, 'netdev'))] });
      continue;
    }
    parts.push({ opt: o, kv, type, hub: getKey(kv, 'vlan') ?? '0' });
  }

  // Legacy slirp options, in line order.
  const hostfwd: string[] = [];
  const slirp: KeyVal[] = [];
  const legacy: RawOption[] = [];
  for (const o of opts) {
    if (o.value === undefined) continue;
    if (o.option === '-redir') {
      const rule = redirToHostfwd(o.value);
      if (rule) hostfwd.push(rule);
      else warnings.push(`-redir ${o.value}: not of the form [tcp|udp]:hostport:[guestaddr]:guestport; dropped`);
      legacy.push(o);
    } else if (o.option === '-tftp' || o.option === '-smb' || o.option === '-bootp') {
      slirp.push({ key: o.option === '-bootp' ? 'bootfile' : o.option.slice(1), value: o.value });
      legacy.push(o);
    }
  }
  const slirpExtra: KeyVal[] = [...hostfwd.map((r) => ({ key: 'hostfwd', value: r })), ...slirp];
  const firstUser = parts.find((p) => p.type === 'user');
  const hasOtherNet = opts.some((o) => o.option === '-netdev' || o.option === '-nic');

  const hubs = new Map<string, Part[]>();
  for (const p of parts) hubs.set(p.hub, [...(hubs.get(p.hub) ?? []), p]);

  for (const [hub, members] of hubs) {
    const nics = members.filter((p) => p.type === 'nic');
    const backs = members.filter((p) => BACKENDS.includes(p.type));
    const extraFor = (p: Part) => (p === firstUser ? slirpExtra : []);
    const status = (p: Part) => (hasKey(p.kv, 'vlan') || hasKey(p.kv, 'name') ? 'removed' as const : 'ok' as const);
    const why = (p: Part) => (status(p) === 'removed'
      ? `${hasKey(p.kv, 'vlan') ? 'vlan=' : 'name='} was removed (QEMU ${hasKey(p.kv, 'vlan') ? '3.0' : '5.1'}): a NIC and its host backend now pair up by id, -netdev TYPE,id=ID with -device MODEL,netdev=ID.`
      : 'QEMU 7.2 still takes -net without vlan=, but the modern form pairs -netdev TYPE,id=ID with -device MODEL,netdev=ID.');
    const backendIds: string[] = [];
    if (nics.length <= 1 && backs.length <= 1) {
      const id = (backs[0] && getKey(backs[0].kv, 'id')) ?? `net${hub}`;
      for (const n of nics) {
        if (!backs.length) warnings.push(`-net ${n.opt.value}: this NIC has no backend on hub ${hub}, so the guest sees a cable that leads nowhere`);
        rewrites.set(n.opt, { status: status(n), note: why(n), modern: ['-device', nicDevice(n.kv, backs.length ? id : undefined)] });
      }
      for (const b of backs) {
        if (!nics.length) warnings.push(`-net ${b.opt.value}: no NIC uses this backend (QEMU warns that it has no peer)`);
        rewrites.set(b.opt, { status: status(b), note: why(b), modern: ['-netdev', backendNetdev(b, id, extraFor(b))] });
        backendIds.push(id);
      }
    } else {
      // Several NICs or backends on one hub: keep the hub, one hubport each.
      let k = 0;
      for (const p of [...nics, ...backs].sort((a, b) => a.opt.index - b.opt.index)) {
        const port = `hub${hub}p${k++}`;
        const note = `${why(p)} Hub ${hub} has several members, so each joins it through -netdev hubport,hubid=${hub} (what a vlan was).`;
        if (p.type === 'nic') {
          rewrites.set(p.opt, { status: status(p), note, modern: ['-netdev', `hubport,id=${port},hubid=${hub}`, '-device', nicDevice(p.kv, port)] });
        } else {
          const id = getKey(p.kv, 'id') ?? `net${hub}-${k - 1}`;
          rewrites.set(p.opt, { status: status(p), note, modern: ['-netdev', backendNetdev(p, id, extraFor(p)), '-netdev', `hubport,id=${port},hubid=${hub},netdev=${id}`] });
          backendIds.push(id);
        }
      }
    }
    for (const p of members) {
      if (rewrites.has(p.opt)) continue;
      if (p.type === 'dump') {
        const file = getKey(p.kv, 'file');
        const len = getKey(p.kv, 'len');
        const modern = backendIds.length
          ? ['-object', formatKeyVal([{ key: 't', value: 'filter-dump', implied: true }, { key: 'id', value: `dump${hub}` }, { key: 'netdev', value: backendIds[0] }, ...(file ? [{ key: 'file', value: file }] : []), ...(len ? [{ key: 'maxlen', value: len }] : [])])]
          : [];
        if (!backendIds.length) warnings.push(`-net ${p.opt.value}: hub ${hub} has no backend to record; dropped`);
        rewrites.set(p.opt, { status: 'removed', note: 'Removed in QEMU 2.12; the modern form is -object filter-dump,id=ID,netdev=NETDEV,file=FILE.', modern });
      } else if (p.type === 'channel') {
        rewrites.set(p.opt, { status: 'removed', note: 'Removed in QEMU 2.12; use guestfwd= on the user-mode -netdev.', modern: [] });
        warnings.push(`-net ${p.opt.value}: dropped; add guestfwd=tcp:IP:PORT-DEV to the user-mode -netdev instead`);
      } else {
        rewrites.set(p.opt, { status: 'unknown', note: `-net type "${p.type}" passed through as written.`, modern: ['-net', p.opt.value!] });
      }
    }
  }

  // The legacy slirp options: merged into the first user backend, or into a
  // user-mode NIC of their own when the line had no network at all (old QEMU's
  // default NIC was exactly that).
  legacy.forEach((o, i) => {
    const what = o.option === '-redir' ? 'hostfwd' : o.option === '-bootp' ? 'bootfile' : o.option.slice(1);
    const removedIn = `Removed in QEMU 3.1; the modern form is ${what}= on a user-mode -netdev.`;
    if (firstUser) {
      rewrites.set(o, { status: 'removed', note: `${removedIn} Merged into -netdev user,id=${getKey(firstUser.kv, 'id') ?? `net${firstUser.hub}`}.`, modern: [] });
    } else if (!parts.length && !hasOtherNet) {
      const modern = i === 0 ? ['-netdev', formatKeyVal([{ key: 'type', value: 'user', implied: true }, { key: 'id', value: 'net0' }, ...slirpExtra]), '-device', `${DEFAULT_NIC_MODEL},netdev=net0`] : [];
      rewrites.set(o, { status: 'removed', note: `${removedIn} The line has no -net, so QEMU's default NIC (${DEFAULT_NIC_MODEL} on user-mode networking) is spelled out to carry it.`, modern });
    } else {
      rewrites.set(o, { status: 'removed', note: `${removedIn} The line has no -net user, so there is nothing to attach it to.`, modern: [] });
      warnings.push(`${o.raw.join(' ')}: dropped; it needs a user-mode network (-netdev user,id=ID,${what}=...)`);
    }
  });
  return { rewrites, warnings };
}
