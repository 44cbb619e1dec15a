// qkvm agent NAME VERB: talk to qemu-ga inside the guest (src/agent/).
import type { Argv, CommandModule } from 'yargs';
import { invalid } from '../errors.js';
import { action } from './action.js';
import { keyValues, print, printJson, table } from './output.js';

const VERBS = ['ping', 'info', 'exec', 'fsfreeze', 'fstrim', 'set-user-password', 'network', 'time', 'users', 'osinfo'] as const;
type Verb = (typeof VERBS)[number];

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

const agentCommand: CommandModule<any, any> = {
  command: 'agent <name> <verb> [args..]',
  describe: 'Talk to the QEMU guest agent (qemu-ga) in a guest started with `agent: true`',
  builder: (y: Argv) => y
    .positional('name', { type: 'string', describe: 'guest name' })
    .positional('verb', { choices: VERBS, describe: 'what to ask the agent' })
    .positional('args', { type: 'string', array: true, describe: 'fsfreeze: status|freeze|thaw; set-user-password: USER' })
    .option('json', { type: 'boolean', default: false, describe: 'print the agent\'s reply as JSON' })
    .option('timeout', { type: 'number', describe: 'exec: seconds the command may run in the guest (default 300); others: seconds to wait for the agent to answer (default 5)' })
    .option('minimum', { type: 'number', describe: 'fstrim: skip free ranges smaller than this many bytes' })
    .example('qkvm agent web1 ping', 'does qemu-ga answer?')
    .example('qkvm agent web1 exec -- cat /etc/hostname', 'run a program in the guest (argv, no shell); its output and exit status are qkvm\'s')
    .example('qkvm agent web1 fsfreeze status', 'thawed or frozen')
    .example('printf %s "$PW" | qkvm agent web1 set-user-password debian', 'set a password, read from stdin (never from the command line)')
    .example('qkvm agent web1 network --json', 'the guest\'s interfaces and addresses, as the guest sees them'),
  handler: action(async (a: any) => {
    const verb = a.verb as Verb;
    const rest: string[] = (a.args ?? []).map(String);
    const after: string[] = (a['--'] ?? []).map(String);
    if (a.timeout !== undefined && !(a.timeout > 0)) throw invalid(`--timeout: "${a.timeout}" is not a positive number of seconds`, `qkvm agent ${a.name} ${verb} --timeout 30`);
    if (a.minimum !== undefined && !(Number.isInteger(a.minimum) && a.minimum >= 0)) throw invalid(`--minimum: "${a.minimum}" is not a number of bytes`, `qkvm agent ${a.name} fstrim --minimum 65536`);
    if (verb !== 'exec' && after.length) throw invalid(`agent ${verb}: takes nothing after --`, `qkvm agent ${a.name} exec -- ${after.join(' ')}`);
    const { withAgent } = await import('../agent/session.js');
    const c = await import('../agent/commands.js');
    const syncTimeoutMs = verb !== 'exec' && a.timeout ? a.timeout * 1000 : undefined;

    if (verb === 'fsfreeze') {
      const op = rest[0];
      if (rest.length !== 1 || !['status', 'freeze', 'thaw'].includes(op)) throw invalid(`agent fsfreeze: give status, freeze or thaw${op ? `, not "${rest.join(' ')}"` : ''}`, `qkvm agent ${a.name} fsfreeze status`);
    } else if (verb === 'set-user-password') {
      if (rest.length !== 1) throw invalid('agent set-user-password: give the user name (the password comes on stdin)', `printf %s "$PW" | qkvm agent ${a.name} set-user-password debian`);
      c.validateUserName(rest[0]);
    } else if (verb === 'exec') {
      const argv = [...rest, ...after];
      if (!argv.length) throw invalid('agent exec: no command to run', `qkvm agent ${a.name} exec -- cat /etc/hostname`);
    } else if (rest.length) {
      throw invalid(`agent ${verb}: unexpected "${rest.join(' ')}"`, `qkvm agent ${a.name} ${verb}`);
    }

    // The password is read (and checked) before anything is sent to the guest.
    let password: string | undefined;
    if (verb === 'set-user-password') {
      if (process.stdin.isTTY) throw invalid('agent set-user-password: the password is read from stdin, which is a terminal', `printf %s "$PW" | qkvm agent ${a.name} set-user-password ${rest[0]}`);
      password = c.passwordFromStdin(await readStdin());
      c.passwordArgs(rest[0], password);
    }

    await withAgent(a.name, async (qga) => {
      switch (verb) {
        case 'ping':
          await c.ping(qga);
          if (a.json) return printJson({ answers: true });
          return print(`guest agent of "${a.name}" answers`);
        case 'info': {
          const i = await c.agentInfo(qga);
          if (a.json) return printJson(i);
          const enabled = i.supported_commands.filter((x) => x.enabled).map((x) => x.name).sort();
          const disabled = i.supported_commands.filter((x) => !x.enabled).map((x) => x.name).sort();
          return print(keyValues([['Version', i.version], ['Commands', enabled.join(' ')], ['Disabled', disabled.join(' ') || 'none']]));
        }
        case 'exec': {
          const r = await c.exec(qga, [...rest, ...after], { timeoutMs: (a.timeout ?? 300) * 1000 });
          if (a.json) return printJson({ pid: r.pid, exitCode: r.exitCode, signal: r.signal, stdout: r.stdout.toString('utf8'), stderr: r.stderr.toString('utf8'), truncated: r.truncated });
          process.stdout.write(r.stdout);
          process.stderr.write(r.stderr);
          if (r.truncated) process.stderr.write('qkvm: note: qemu-ga cut the output short (it keeps at most 16 MiB)\n');
          if (r.signal !== undefined) process.stderr.write(`qkvm: the command was killed by signal ${r.signal}\n`);
          process.exitCode = c.execExitStatus(r);
          return;
        }
        case 'fsfreeze': {
          const op = rest[0];
          if (op === 'status') {
            const s = await c.fsfreezeStatus(qga);
            return a.json ? printJson({ status: s }) : print(s);
          }
          const n = op === 'freeze' ? await c.fsfreeze(qga) : await c.fsthaw(qga);
          if (a.json) return printJson({ [op === 'freeze' ? 'frozen' : 'thawed']: n });
          return print(`${n} filesystem${n === 1 ? '' : 's'} ${op === 'freeze' ? 'frozen' : 'thawed'}${op === 'freeze' ? `: thaw them with \`qkvm agent ${a.name} fsfreeze thaw\`` : ''}`);
        }
        case 'fstrim': {
          const r = await c.fstrim(qga, a.minimum);
          if (a.json) return printJson(r);
          return print(table(r.paths, [
            { header: 'PATH', get: (p) => p.path },
            { header: 'TRIMMED', get: (p) => p.trimmed, align: 'right' },
            { header: 'ERROR', get: (p) => p.error },
          ]));
        }
        case 'set-user-password':
          await c.setUserPassword(qga, rest[0], password!);
          if (a.json) return printJson({ user: rest[0], set: true });
          return print(`password of "${rest[0]}" set in "${a.name}"`);
        case 'network': {
          const ifs = await c.interfaces(qga);
          if (a.json) return printJson(ifs);
          const rows = ifs.flatMap((i) => (i['ip-addresses']?.length ? i['ip-addresses'] : [undefined]).map((ip) => ({ i, ip })));
          return print(table(rows, [
            { header: 'NAME', get: (r) => r.i.name },
            { header: 'MAC', get: (r) => r.i['hardware-address'] },
            { header: 'ADDRESS', get: (r) => (r.ip ? `${r.ip['ip-address']}/${r.ip.prefix}` : undefined) },
          ]));
        }
        case 'time': {
          const t = await c.guestTime(qga);
          if (a.json) return printJson(t);
          const skew = (Date.now() - t.nanoseconds / 1e6) / 1000;
          return print(keyValues([['Guest time', t.iso], ['Zone', t.zone], ['Host - guest', `${skew.toFixed(3)} s`]]));
        }
        case 'users': {
          const u = await c.users(qga);
          if (a.json) return printJson(u);
          return print(u.length ? table(u, [
            { header: 'USER', get: (x) => x.user },
            { header: 'LOGIN', get: (x) => new Date(x['login-time'] * 1000).toISOString().replace('T', ' ').slice(0, 19) },
          ]) : 'nobody is logged in');
        }
        case 'osinfo': {
          const o = await c.osInfo(qga);
          if (a.json) return printJson(o);
          return print(keyValues([['OS', o['pretty-name'] ?? o.name], ['ID', o.id], ['Version', o['version-id']], ['Kernel', o['kernel-release']], ['Machine', o.machine]]));
        }
      }
    }, { syncTimeoutMs });
  }),
};

export const agentCommands: CommandModule<any, any>[] = [agentCommand];
