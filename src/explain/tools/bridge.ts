// Host network lines: brctl, tunctl, ovs-vsctl. qkvm makes its own bridges and
// taps (docs/networking.md): a network's bridge when the network starts, a tap
// per NIC when the guest starts. So a bridge line maps to a qkvm network, and
// a tap line needs no equivalent.
import type { ToolExplainer } from '../types.js';
import { equivalent, none, part, unknown } from '../words.js';

/** A tap or a guest's vnet device, which qkvm creates and removes itself. */
export const isTap = (dev: string) => /^(tap|vnet|macvtap)\d*/.test(dev);

const TAP_WHY = 'qkvm creates a tap for each NIC when the guest starts, adds it to the network\'s bridge, and removes it at stop';

/** The qkvm line for "a bridge named BR that guests join". */
export const bridgeNet = (br: string) => ['qkvm', 'net', 'define', br, '--mode', 'isolated', '--bridge', br];
/** The qkvm line for "put UPLINK behind bridge BR". */
export const bridgeSetup = (br: string, uplink: string) => ['qkvm', 'net', 'bridge-setup', br, '--uplink', uplink];

export const explainBrctl: ToolExplainer = (args, _ctx, tool) => {
  const [sub, ...a] = args;
  const all = (says: string) => [part(args, says)];
  switch (sub) {
    case 'addbr': {
      if (!a[0]) break;
      const says = `creates an empty Linux bridge named ${a[0]}: a virtual switch that guests' taps (and an uplink) join`;
      return equivalent(tool, says, bridgeNet(a[0]), all(says), [`qkvm net start ${a[0]}`, `qkvm net bridge-setup ${a[0]} --uplink eth0 --dry-run`]);
    }
    case 'addif': {
      if (!a[0] || !a[1]) break;
      const says = `adds the interface ${a[1]} to the bridge ${a[0]}`;
      if (isTap(a[1])) return none(tool, says, TAP_WHY, all(says), [`qkvm net define lan --mode bridge --bridge ${a[0]}`]);
      return equivalent(tool, `${says}: guests on the bridge reach ${a[1]}'s LAN (the host's address should move to the bridge)`, bridgeSetup(a[0], a[1]), all(says), [`qkvm net define lan --mode bridge --bridge ${a[0]}`]);
    }
    case 'delif': {
      if (!a[0] || !a[1]) break;
      const says = `takes ${a[1]} out of the bridge ${a[0]}`;
      return none(tool, says, isTap(a[1]) ? TAP_WHY : 'qkvm does not undo a bridge-setup; take the uplink out by hand', all(says));
    }
    case 'delbr': {
      if (!a[0]) break;
      const says = `deletes the bridge ${a[0]} (it must be down)`;
      return equivalent(tool, `${says}; qkvm removes a network's bridge when the network stops (only one qkvm made)`, ['qkvm', 'net', 'stop', a[0]], all(says));
    }
    case 'show': {
      const says = 'lists the bridges and the interfaces in each';
      return equivalent(tool, says, ['qkvm', 'net', 'list'], all(says), ['ip link show type bridge']);
    }
    case 'showmacs': {
      if (!a[0]) break;
      const says = `shows the MAC addresses the bridge ${a[0]} has learnt`;
      return none(tool, says, 'qkvm does not show forwarding tables; `bridge fdb show br BR` does', all(says));
    }
    case 'stp': {
      if (!a[0] || !a[1]) break;
      const says = `turns the spanning tree protocol ${a[1]} on the bridge ${a[0]} (it stops loops between bridges)`;
      return none(tool, says, 'qkvm sets no STP on its bridges (a single bridge has no loops)', all(says));
    }
    case 'setfd': case 'sethello': case 'setmaxage': case 'setageing': {
      if (!a[0]) break;
      const says = `sets a bridge timer (${sub}) on ${a[0]}`;
      return none(tool, says, 'qkvm leaves the kernel defaults for bridge timers', all(says));
    }
    default: break;
  }
  return unknown(tool, [tool, ...args.slice(0, 1)], sub ? `brctl ${sub} with these arguments is not a line qkvm knows` : 'brctl needs a subcommand');
};

export const explainTunctl: ToolExplainer = (args, _ctx, tool) => {
  const get = (f: string) => { const i = args.indexOf(f); return i >= 0 ? args[i + 1] : undefined; };
  for (let i = 0; i < args.length; i++) {
    if (!['-t', '-u', '-g', '-d', '-b', '-p', '-n'].includes(args[i])) return unknown(tool, [tool, args[i]], `tunctl has no option ${args[i]} that qkvm knows`);
    if (['-t', '-u', '-g', '-d'].includes(args[i])) i++;
  }
  if (get('-d')) {
    const says = `deletes the persistent tap ${get('-d')}`;
    return none(tool, says, `${TAP_WHY}; after a crash, qkvm recover NAME removes its taps`, [part(args, says)], ['qkvm recover NAME']);
  }
  const tap = get('-t') ?? 'tap0 (the next free tapN)';
  const says = `creates a persistent tap device ${tap}${get('-u') ? ` owned by user ${get('-u')} (so QEMU can run without root)` : ''}`;
  return none(tool, says, TAP_WHY, [part(args, says)], ['qkvm create NAME --network NET']);
};

export const explainOvsVsctl: ToolExplainer = (args, _ctx, tool) => {
  const opts = args.filter((w) => w.startsWith('--'));
  const [sub, ...a] = args.filter((w) => !w.startsWith('--'));
  const why = 'qkvm uses Linux bridges, not Open vSwitch';
  const says: Record<string, string> = {
    'add-br': `creates the Open vSwitch bridge ${a[0] ?? '?'}`,
    'del-br': `deletes the Open vSwitch bridge ${a[0] ?? '?'}`,
    'add-port': `adds port ${a[1] ?? '?'} to the Open vSwitch bridge ${a[0] ?? '?'}`,
    'del-port': `removes port ${a.at(-1) ?? '?'} from an Open vSwitch bridge`,
    show: 'shows the Open vSwitch configuration',
    'list-br': 'lists the Open vSwitch bridges',
    'list-ports': `lists the ports of ${a[0] ?? '?'}`,
  };
  if (!sub || !says[sub]) return unknown(tool, [tool, sub ?? ''].filter(Boolean), sub ? `ovs-vsctl ${sub} is not a line qkvm knows` : 'ovs-vsctl needs a command');
  const parts = [...opts.map((o) => part(o, 'an ovs-vsctl option')), part([sub, ...a], says[sub])];
  if (sub === 'add-br' && a[0]) return none(tool, says[sub], `${why}; a Linux bridge does the same for guests`, parts, [bridgeNet(a[0]).join(' ')]);
  if (sub === 'add-port' && a[1] && !isTap(a[1])) return none(tool, says[sub], `${why}; a Linux bridge with an uplink does the same`, parts, [bridgeSetup(a[0], a[1]).join(' ')]);
  return none(tool, says[sub], sub === 'add-port' ? `${why}; ${TAP_WHY}` : why, parts, ['qkvm net list']);
};
