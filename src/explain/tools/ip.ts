// iproute2 lines (ip link, addr, route, netns, tuntap): the modern spelling of
// brctl and tunctl, plus addresses and routes, which qkvm sets only on the
// bridges of its own networks.
import type { ToolExplainer, ToolExplanation } from '../types.js';
import { equivalent, none, part, unknown } from '../words.js';
import { bridgeNet, bridgeSetup, isTap } from './bridge.js';

/** ip's objects, which it lets you shorten to any prefix (ip a, ip l, ip r). */
const OBJECTS = ['link', 'address', 'addr', 'route', 'netns', 'tuntap'];
function object(word: string): string | undefined {
  if (word === 'a' || word === 'addr') return 'address';
  const o = OBJECTS.find((x) => x.startsWith(word));
  return o === 'addr' ? 'address' : o;
}
const READ = ['show', 'list', 'ls', 'lst', 'sh', 's', 'get'];

/** "192.168.100.1/24" -> "192.168.100.0/24" (IPv4 only). */
export function networkOf(cidr: string): string | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\/(\d+)$/.exec(cidr);
  if (!m) return undefined;
  const bytes = m.slice(1, 5).map(Number);
  const prefix = Number(m[5]);
  if (bytes.some((b) => b > 255) || prefix > 30 || prefix < 8) return undefined;
  const n = ((bytes[0] << 24) | (bytes[1] << 16) | (bytes[2] << 8) | bytes[3]) >>> 0;
  const net = prefix === 0 ? 0 : (n & (~0 << (32 - prefix))) >>> 0;
  return `${[24, 16, 8, 0].map((s) => (net >>> s) & 255).join('.')}/${prefix}`;
}

const after = (a: string[], key: string) => { const i = a.indexOf(key); return i >= 0 ? a[i + 1] : undefined; };

function link(args: string[], verb: string, a: string[], tool: string): ToolExplanation | undefined {
  const all = (says: string) => [part(args, says)];
  if (verb === undefined || READ.includes(verb)) {
    const says = 'lists the network interfaces and their state';
    return none(tool, says, 'a read-only look at the host; qkvm lists its own networks and their bridges', all(says), ['qkvm net list']);
  }
  if (verb === 'add' && after(a, 'type') === 'bridge') {
    const br = after(a, 'name') ?? a[0];
    const says = `creates a Linux bridge named ${br}: a virtual switch that guests' taps (and an uplink) join`;
    return equivalent(tool, says, bridgeNet(br), all(says), [`qkvm net start ${br}`]);
  }
  if (verb === 'add' && ['macvtap', 'macvlan', 'veth', 'vlan', 'vxlan'].includes(after(a, 'type') ?? '')) {
    const says = `creates a ${after(a, 'type')} interface`;
    return none(tool, says, `qkvm networks use a bridge and taps, not ${after(a, 'type')}`, all(says));
  }
  if ((verb === 'delete' || verb === 'del') && a[0]) {
    const dev = a[0] === 'dev' ? a[1] : a[0];
    const says = `deletes the interface ${dev}`;
    if (isTap(dev)) return none(tool, says, 'qkvm removes the taps it made when the guest stops (qkvm recover NAME after a crash)', all(says), ['qkvm recover NAME']);
    return equivalent(tool, `${says}; qkvm removes a network's bridge when the network stops (only one qkvm made)`, ['qkvm', 'net', 'stop', dev], all(says));
  }
  if (verb === 'set' && a[0]) {
    const dev = a[0] === 'dev' ? a[1] : a[0];
    const master = after(a, 'master');
    if (master) {
      const says = `adds ${dev} to the bridge ${master}`;
      if (isTap(dev)) return none(tool, says, "qkvm adds each guest's tap to its network's bridge itself", all(says));
      return equivalent(tool, `${says}: guests on the bridge reach ${dev}'s LAN`, bridgeSetup(master, dev), all(says), [`qkvm net define lan --mode bridge --bridge ${master}`]);
    }
    if (a.includes('nomaster')) return none(tool, `takes ${dev} out of its bridge`, 'qkvm does not undo a bridge-setup; do it by hand', all(`takes ${dev} out of its bridge`));
    if (a.includes('up') || a.includes('down')) {
      const says = `${a.includes('up') ? 'brings' : 'takes'} the interface ${dev} ${a.includes('up') ? 'up' : 'down'}`;
      return none(tool, says, 'qkvm brings its bridges and taps up itself when a network or guest starts', all(says), ['qkvm net start NET']);
    }
    if (after(a, 'mtu')) return none(tool, `sets ${dev}'s MTU to ${after(a, 'mtu')}`, 'qkvm sets the MTU of its own bridges and taps from the network definition', all(`sets the MTU`), [`qkvm net define NET --mode isolated --mtu ${after(a, 'mtu')}`]);
  }
  return undefined;
}

function address(args: string[], verb: string, a: string[], tool: string): ToolExplanation | undefined {
  const all = (says: string) => [part(args, says)];
  if (verb === undefined || READ.includes(verb)) {
    const says = "lists the interfaces' IP addresses";
    return none(tool, says, 'a read-only look at the host; qkvm net info shows a network\'s bridge address', all(says), ['qkvm net info NET']);
  }
  if (verb === 'add' && a[0] && after(a, 'dev')) {
    const dev = after(a, 'dev')!;
    const net = networkOf(a[0]);
    const says = `gives the interface ${dev} the address ${a[0]}`;
    if (!net) return none(tool, says, 'qkvm gives its bridges IPv4 addresses from a network\'s subnet; this address is not one it can take', all(says));
    return equivalent(tool, `${says}; a qkvm network's bridge takes its subnet's first address`, ['qkvm', 'net', 'define', dev, '--mode', 'isolated', '--subnet', net, '--bridge', dev], all(says), [`qkvm net start ${dev}`]);
  }
  if ((verb === 'del' || verb === 'delete' || verb === 'flush') && a.length) {
    const says = `removes addresses from ${after(a, 'dev') ?? a[0]}`;
    return none(tool, says, 'qkvm removes only the bridges (and their addresses) it made, when the network stops', all(says));
  }
  return undefined;
}

export const explainIp: ToolExplainer = (args, _ctx, tool) => {
  let i = 0;
  while (args[i]?.startsWith('-')) i++;
  const obj = args[i] ? object(args[i]) : undefined;
  const [verb, ...a] = args.slice(i + 1);
  const rest = args.slice(i);
  const all = (says: string) => [part(rest, says)];
  let e: ToolExplanation | undefined;
  switch (obj) {
    case 'link': e = link(rest, verb, a, tool); break;
    case 'address': e = address(rest, verb, a, tool); break;
    case 'route':
      if (verb === undefined || READ.includes(verb)) e = none(tool, "lists the host's routes", 'a read-only look at the host', all("lists the host's routes"));
      else if (['add', 'del', 'delete', 'replace', 'change'].includes(verb)) e = none(tool, `changes the host's routes (${verb} ${a.join(' ')})`, "qkvm changes no host routes (bridge-setup moves an uplink's routes onto its bridge; a routed network routes its own subnet)", all(`${verb}s a route`), ['qkvm net define NET --mode routed --subnet 10.10.0.0/24']);
      break;
    case 'netns':
      if (verb === undefined || READ.includes(verb) || ['add', 'del', 'delete', 'exec', 'identify', 'pids'].includes(verb)) {
        const says = verb === 'add' ? `creates the network namespace ${a[0]}` : verb === 'exec' ? `runs ${a.slice(1).join(' ')} inside the network namespace ${a[0]}` : `works on network namespaces (${verb ?? 'list'})`;
        e = none(tool, says, 'qkvm runs guests and networks in the host\'s own network namespace; it creates none', all(says));
      }
      break;
    case 'tuntap':
      if (verb === 'add' || verb === 'del' || verb === 'delete') {
        const dev = after(a, 'dev') ?? a.find((w) => isTap(w)) ?? '?';
        const says = verb === 'add' ? `creates a persistent ${after(a, 'mode') ?? 'tap'} device ${dev}${after(a, 'user') ? ` owned by ${after(a, 'user')}` : ''}` : `deletes the tap ${dev}`;
        e = none(tool, says, 'qkvm creates a tap for each NIC when the guest starts, adds it to the bridge, and removes it at stop', all(says), ['qkvm create NAME --network NET']);
      } else if (verb === undefined || READ.includes(verb)) e = none(tool, 'lists tun/tap devices', 'a read-only look at the host', all('lists tun/tap devices'));
      break;
    default: break;
  }
  return e ?? unknown(tool, [tool, ...args.slice(i, i + 2)], obj ? `ip ${args.slice(i, i + 2).join(' ')} with these arguments is not a line qkvm knows` : `ip ${args[i] ?? ''} is not an ip object qkvm knows (link, addr, route, netns, tuntap)`);
};
