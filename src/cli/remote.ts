// Named remote hosts for --connect: qkvm remote add|list|rm.
import type { CommandModule } from 'yargs';
import { action } from './action.js';
import { print, printJson, table } from './output.js';

const store = () => import('../remote/store.js');

const remoteCommand: CommandModule<any, any> = {
  command: 'remote <action>',
  describe: 'Named remote hosts for --connect (over ssh): add, list, rm',
  builder: (y) => y
    .command({
      command: 'add <name> <uri>',
      describe: 'Remember a host: ssh://[USER@]HOST[:PORT]',
      builder: (z) => z.positional('name', { type: 'string', demandOption: true }).positional('uri', { type: 'string', demandOption: true })
        .option('identity', { alias: 'i', type: 'string', describe: 'private key for ssh -i' })
        .option('known-hosts', { type: 'string', describe: 'a known_hosts file for this host' })
        .option('qkvm', { type: 'string', describe: 'the qkvm command on that host (default: qkvm on its PATH)' })
        .option('force', { type: 'boolean', default: false, describe: 'replace a remote of that name' })
        .example('qkvm remote add kvm2 ssh://root@192.0.2.7', '')
        .example('qkvm --connect kvm2 list', 'then run any command there'),
      handler: action(async (a: any) => {
        const r = (await store()).addRemote(a.name, a.uri, { identity: a.identity, knownHosts: a.knownHosts, qkvm: a.qkvm, force: a.force });
        print(`remote "${r.name}" is ${r.uri}: try \`qkvm --connect ${r.name} doctor\``);
      }),
    })
    .command({
      command: 'list',
      describe: 'List the remotes',
      builder: (z) => z.option('json', { type: 'boolean', default: false }),
      handler: action(async (a: any) => {
        const rows = (await store()).listRemotes();
        if (a.json) return printJson(rows);
        print(rows.length ? table(rows, [
          { header: 'Name', get: (r) => r.name }, { header: 'URI', get: (r) => r.uri },
          { header: 'Identity', get: (r) => r.identity }, { header: 'qkvm there', get: (r) => r.qkvm?.join(' ') },
        ]) : 'no remotes: qkvm remote add NAME ssh://root@HOST');
      }),
    })
    .command({
      command: 'rm <name>',
      aliases: ['remove'],
      describe: 'Forget a remote (nothing on that host changes)',
      builder: (z) => z.positional('name', { type: 'string', demandOption: true }),
      handler: action(async (a: any) => {
        (await store()).removeRemote(a.name);
        print(`remote "${a.name}" removed`);
      }),
    })
    .demandCommand(1, 'give add, list or rm'),
  handler: () => undefined,
};

export const remoteCommands: CommandModule<any, any>[] = [remoteCommand];
