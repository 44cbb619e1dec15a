// `qkvm net ...`: network definitions and their life (see src/net/network.ts).
import type { Argv, CommandModule } from 'yargs';
import { action } from './action.js';
import { keyValues, note, print, printJson, table } from './output.js';
import { nicCommands, showCommand } from './nic.js';
import { formatCommand } from '../net/exec.js';
import {
  defineNetwork, listNetworks, networkLeases, networkStatus, setNetworkAutostart, startAutostartNetworks, startCommands,
  startNetwork, stopNetwork, undefineNetwork, setNetworkStp,
} from '../net/network.js';
import { loadNetwork } from '../net/store.js';
import { reconcileNetworking } from '../net/guest.js';
import { bridgeSetup } from '../net/bridgesetup.js';
import { NetworkMode } from '../net/schema.js';
import { invalid } from '../errors.js';

const quietOpt = { quiet: { type: 'boolean' as const, alias: 'q', describe: 'do not show the host commands as they run' } };

const define: CommandModule<any, any> = {
  command: 'define <name>',
  describe: 'define a network (isolated, routed, nat, bridge or user)',
  builder: (y: Argv) => y
    .positional('name', { type: 'string', describe: 'network name ("default" gets 192.168.122.0/24 in nat and routed mode)' })
    .option('mode', { choices: NetworkMode.options, demandOption: true, describe: 'isolated: guests only; routed: + gateway and forwarding; nat: + masquerade and DHCP; bridge: join an existing host bridge; user: QEMU slirp' })
    .option('subnet', { type: 'string', describe: 'IPv4 subnet, e.g. 10.10.0.0/24 (the bridge takes its first address)' })
    .option('bridge', { type: 'string', describe: 'bridge name (default qkbr-NAME); for --mode bridge, the existing bridge' })
    .option('uplink', { type: 'string', describe: 'nat: masquerade only traffic that leaves through this interface' })
    .option('dhcp-range', { type: 'string', describe: 'FIRST-LAST addresses dnsmasq hands out (default: all after the gateway)' })
    .option('dhcp', { type: 'boolean', default: true, describe: 'run dnsmasq for DHCP and DNS (--no-dhcp to turn off)' })
    .option('mtu', { type: 'number', describe: 'MTU of the bridge and its taps' })
    .option('vlan', { type: 'number', describe: '802.1Q tag for the taps of this network' })
    .option('hostfwd', { type: 'string', array: true, describe: 'user mode: port forward, e.g. tcp:127.0.0.1:2222-:22 (repeatable)' })
    .option('autostart', { type: 'boolean', default: false, describe: 'start with `qkvm net start --autostart` (at boot)' })
    .option('stp', { type: 'boolean', describe: 'spanning tree on the bridge qkvm makes (isolated, routed, nat)' })
    .option('forward-delay', { type: 'number', describe: 'with --stp: seconds a new port listens, then learns, before it forwards (2-30, default 15)' })
    .option('force', { type: 'boolean', describe: 'accept a subnet that overlaps an address or route of this host (with a warning)' })
    .option('json', { type: 'boolean', describe: 'print the definition as JSON' }),
  handler: action(async (a: any) => {
    const spec = await defineNetwork({
      name: a.name, mode: a.mode, subnet: a.subnet, bridge: a.bridge, uplink: a.uplink, dhcpRange: a.dhcpRange,
      dhcp: a.dhcp, mtu: a.mtu, vlan: a.vlan, hostfwd: a.hostfwd, autostart: a.autostart, stp: a.stp, forwardDelay: a.forwardDelay,
    }, { force: a.force, onNote: note });
    if (a.json) return printJson(spec);
    print(`network "${spec.name}" defined (mode ${spec.mode}${spec.subnet ? `, subnet ${spec.subnet}` : ''}); start it with \`qkvm net start ${spec.name}\``);
  }),
};

const start: CommandModule<any, any> = {
  command: 'start [name]',
  describe: 'start a network (harmless if it is running)',
  builder: (y: Argv) => y.positional('name', { type: 'string' })
    .option('autostart', { type: 'boolean', describe: 'start every network marked autostart' })
    .option('force', { type: 'boolean', describe: 'start even if the subnet overlaps an address or route of this host (with a warning)' }).options(quietOpt),
  handler: action(async (a: any) => {
    if (a.autostart) {
      const names = await startAutostartNetworks({ onCommand: showCommand(a.quiet), onNote: note });
      return print(names.length ? `started: ${names.join(', ')}` : 'no network is marked autostart');
    }
    if (!a.name) throw invalid('name a network, or use --autostart');
    const st = await startNetwork(a.name, { force: a.force, onCommand: showCommand(a.quiet), onNote: note });
    print(`network "${st.name}" is active${st.bridge ? ` on bridge ${st.bridge}` : ''}${st.gateway ? ` (gateway ${st.gateway})` : ''}`);
  }),
};

const stop: CommandModule<any, any> = {
  command: 'stop <name>',
  describe: 'stop a network: remove its bridge, nft table and dnsmasq',
  builder: (y: Argv) => y.positional('name', { type: 'string' })
    .option('force', { type: 'boolean', describe: 'stop even if guests are still attached' }).options(quietOpt),
  handler: action(async (a: any) => {
    await stopNetwork(a.name, { force: a.force, onCommand: showCommand(a.quiet), onNote: note });
    print(`network "${a.name}" stopped`);
  }),
};

const undefine: CommandModule<any, any> = {
  command: 'undefine <name>',
  describe: 'remove a stopped network\'s definition',
  builder: (y: Argv) => y.positional('name', { type: 'string' }),
  handler: action(async (a: any) => {
    await undefineNetwork(a.name);
    print(`network "${a.name}" undefined`);
  }),
};

const list: CommandModule<any, any> = {
  command: 'list',
  describe: 'list networks',
  builder: (y: Argv) => y.option('json', { type: 'boolean' }),
  handler: action(async (a: any) => {
    // Finish the cleanup of guests that died unseen (kill -9), so GUESTS counts what is really there.
    await reconcileNetworking();
    const rows = await listNetworks();
    if (a.json) return printJson(rows);
    print(table(rows, [
      { header: 'NAME', get: (r) => r.name },
      { header: 'MODE', get: (r) => r.mode },
      { header: 'STATE', get: (r) => (r.active ? (r.problems.length ? 'degraded' : 'active') : 'inactive') },
      { header: 'AUTOSTART', get: (r) => (r.autostart ? 'yes' : 'no') },
      { header: 'BRIDGE', get: (r) => r.bridge },
      { header: 'SUBNET', get: (r) => r.subnet },
      { header: 'GUESTS', get: (r) => r.ports.length, align: 'right' },
    ]));
  }),
};

const info: CommandModule<any, any> = {
  command: 'info <name>',
  describe: 'show a network: definition, state, and the commands start runs',
  builder: (y: Argv) => y.positional('name', { type: 'string' }).option('json', { type: 'boolean' }),
  handler: action(async (a: any) => {
    const spec = loadNetwork(a.name);
    const st = await networkStatus(a.name);
    const commands = startCommands(spec).map((c) => formatCommand(c));
    if (a.json) return printJson({ ...st, definition: spec, startCommands: commands });
    print(keyValues([
      ['Name', st.name], ['Mode', st.mode], ['State', st.active ? 'active' : 'inactive'], ['Autostart', st.autostart ? 'yes' : 'no'],
      ['Bridge', st.bridge], ['Subnet', st.subnet], ['Gateway', st.gateway], ['Uplink', spec.uplink],
      ['DHCP range', spec.dhcpRange], ['MTU', spec.mtu], ['VLAN', spec.vlan],
      ['STP', st.stp ? (st.stp.on ? `on (forward delay ${st.stp.forwardDelayS} s)` : 'off') : spec.stp ? `on at start (forward delay ${spec.forwardDelay ?? 15} s)` : undefined],
      ['Hostfwd', spec.hostfwd.length ? spec.hostfwd.join(' ') : undefined],
      ['dnsmasq pid', st.dnsmasqPid], ['nft table', st.nftTable],
      ['Ports', st.ports.length ? st.ports.join(' ') : undefined],
      ['Problems', st.problems.length ? st.problems.join('; ') : undefined],
    ]));
    if (commands.length) print(`\nStarting it runs:\n${commands.map((c) => `  ${c}`).join('\n')}`);
  }),
};

const leases: CommandModule<any, any> = {
  command: 'leases <name>',
  describe: 'show the DHCP leases dnsmasq handed out on a network',
  builder: (y: Argv) => y.positional('name', { type: 'string' }).option('json', { type: 'boolean' }),
  handler: action(async (a: any) => {
    const rows = networkLeases(a.name);
    if (a.json) return printJson(rows);
    print(table(rows, [
      { header: 'MAC', get: (r) => r.mac },
      { header: 'ADDRESS', get: (r) => r.ip },
      { header: 'HOSTNAME', get: (r) => r.hostname },
      { header: 'EXPIRES', get: (r) => new Date(r.expiry * 1000).toISOString() },
    ]));
  }),
};

const autostart: CommandModule<any, any> = {
  command: 'autostart <name>',
  describe: 'mark a network to start at boot (`qkvm net start --autostart`)',
  builder: (y: Argv) => y.positional('name', { type: 'string' }).option('disable', { type: 'boolean' }),
  handler: action(async (a: any) => {
    const spec = await setNetworkAutostart(a.name, !a.disable);
    print(`network "${spec.name}" autostart ${spec.autostart ? 'on' : 'off'}`);
  }),
};

const bridgeSetupCmd: CommandModule<any, any> = {
  command: 'bridge-setup <bridge>',
  describe: 'make a host bridge and move an uplink (its addresses and routes) onto it',
  builder: (y: Argv) => y.positional('bridge', { type: 'string' })
    .option('uplink', { type: 'string', demandOption: true, describe: 'the interface to put behind the bridge, e.g. eth0' })
    .option('dry-run', { type: 'boolean', describe: 'only print the commands' }).options(quietOpt),
  handler: action(async (a: any) => {
    const plan = await bridgeSetup(a.bridge, a.uplink, { dryRun: a.dryRun, onCommand: a.dryRun ? undefined : showCommand(a.quiet) });
    if (plan.alreadyDone) return print(`${a.uplink} is already on bridge ${a.bridge}: nothing to do`);
    if (a.dryRun) return print(plan.commands.map((c) => formatCommand(c)).join('\n'));
    print(`bridge ${a.bridge} is up with ${a.uplink} on it; guests join it with \`qkvm net define NAME --mode bridge --bridge ${a.bridge}\``);
  }),
};

const stp: CommandModule<any, any> = {
  command: 'stp <name> <state>',
  describe: 'turn spanning tree on or off on a running network\'s bridge (and keep it in the definition)',
  builder: (y: Argv) => y.positional('name', { type: 'string' }).positional('state', { choices: ['on', 'off'] })
    .option('forward-delay', { type: 'number', describe: 'with on: seconds of listening, then learning, before a port forwards (2-30, default 15)' })
    .options(quietOpt).option('json', { type: 'boolean' })
    .example('qkvm net stp lab on --forward-delay 4', 'the tutorial\'s `brctl stp br0 on` on the network\'s bridge'),
  handler: action(async (a: any) => {
    const st = await setNetworkStp(a.name, a.state === 'on', { forwardDelay: a.forwardDelay, onCommand: a.json ? undefined : showCommand(a.quiet) });
    if (a.json) return printJson(st);
    print(`network "${a.name}": STP ${st.stp?.on ? `on on bridge ${st.bridge} (forward delay ${st.stp.forwardDelayS} s)` : `off on bridge ${st.bridge}`}`);
  }),
};

export const netCommands: CommandModule<any, any>[] = [{
  command: 'net <command>',
  describe: 'networks: define, start, stop, list, info, leases, autostart, stp, bridge-setup',
  builder: (y: Argv) => y.command([define, start, stop, undefine, list, info, leases, autostart, stp, bridgeSetupCmd]).demandCommand(1),
  handler: () => undefined,
}, ...nicCommands];
