// attach-interface, detach-interface and domifaddr: a guest's NICs (see src/net/hotplug.ts, addr.ts).
import type { Argv, CommandModule } from 'yargs';
import { action } from './action.js';
import { note, print, printJson, table } from './output.js';
import { formatCommand, type CommandListener } from '../net/exec.js';
import { attachInterface, detachInterface } from '../net/hotplug.js';
import { domifaddr } from '../net/addr.js';

/** Shows each host command (and QMP command) as it runs, on stderr, so it can be read and repeated. */
export const showCommand = (quiet?: boolean): CommandListener | undefined =>
  quiet ? undefined : (argv, stdin) => note(argv[0] === 'qmp' ? `qmp: ${argv[1]}` : `+ ${formatCommand(argv, stdin)}`);

const attach: CommandModule<any, any> = {
  command: 'attach-interface <name>',
  describe: 'plug a NIC into a running guest (netdev_add + device_add)',
  builder: (y: Argv) => y.positional('name', { type: 'string', describe: 'guest name' })
    .option('net', { type: 'string', demandOption: true, describe: 'the qkvm network to join' })
    .option('model', { choices: ['virtio', 'e1000', 'rtl8139'], default: 'virtio' })
    .option('mac', { type: 'string', describe: 'MAC address (default: derived from the guest name)' })
    .option('persist', { type: 'boolean', describe: 'also add it to the definition (alone, when the guest is off)' })
    .option('live', { type: 'boolean', default: true, describe: 'plug into the running guest (--no-live: the definition only)' })
    .example('qkvm attach-interface --domain vm1 --type network --source default --model virtio --config', 'virsh\'s spelling: add a NIC on "default" to the definition')
    .option('quiet', { type: 'boolean', alias: 'q' }),
  handler: action(async (a: any) => {
    const r = await attachInterface(a.name, { network: a.net, model: a.model, mac: a.mac, persist: a.persist || !a.live, live: a.live, onCommand: showCommand(a.quiet) });
    print(`${r.live ? `attached ${r.id} (${r.mac}${r.tap ? `, tap ${r.tap}` : ''}) to network "${r.network}"` : `added a NIC (${r.mac}) on "${r.network}"`}${r.persisted ? ' and saved it in the definition' : ''}`);
  }),
};

const detach: CommandModule<any, any> = {
  command: 'detach-interface <name>',
  describe: 'unplug a NIC from a running guest (device_del, wait for DEVICE_DELETED, netdev_del)',
  builder: (y: Argv) => y.positional('name', { type: 'string', describe: 'guest name' })
    .option('mac', { type: 'string', demandOption: true, describe: 'the NIC\'s MAC address' })
    .option('persist', { type: 'boolean', describe: 'also remove it from the definition' })
    .option('live', { type: 'boolean', default: true, describe: 'unplug from the running guest (--no-live: the definition only)' })
    .option('quiet', { type: 'boolean', alias: 'q' }),
  handler: action(async (a: any) => {
    const r = await detachInterface(a.name, { mac: a.mac, persist: a.persist || !a.live, live: a.live, onCommand: showCommand(a.quiet) });
    print(`${r.live ? `detached ${r.id} (${a.mac})` : `removed the NIC ${a.mac}`}${r.persisted ? ' and from the definition' : ''}`);
  }),
};

const ifaddr: CommandModule<any, any> = {
  command: 'domifaddr <name>',
  describe: 'a guest\'s addresses, from the dnsmasq leases or the neighbour table (--source agent: as the guest agent reports them)',
  builder: (y: Argv) => y.positional('name', { type: 'string' }).option('json', { type: 'boolean' })
    .option('source', { choices: ['lease', 'arp', 'agent'], describe: 'agent: ask qemu-ga in the guest (needs `agent: true`); lease and arp: the host side (leases, then the neighbour table)' })
    .example('qkvm domifaddr web1 --source agent', 'the addresses the guest itself has, on every NIC'),
  handler: action(async (a: any) => {
    const rows = a.source === 'agent' ? await (await import('../agent/addr.js')).domifaddrFromAgent(a.name) : await domifaddr(a.name);
    if (a.json) return printJson(rows);
    print(table(rows, [
      { header: 'NIC', get: (r) => r.nic },
      { header: 'MAC', get: (r) => r.mac },
      { header: 'NETWORK', get: (r) => r.network },
      { header: 'ADDRESS', get: (r) => (r.address ? `${r.address}${r.prefix ? `/${r.prefix}` : ''}` : undefined) },
      { header: 'SOURCE', get: (r) => r.source },
    ]));
  }),
};

export const nicCommands: CommandModule<any, any>[] = [attach, detach, ifaddr];
