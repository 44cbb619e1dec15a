// `qkvm lab ...`: labs from one file (src/lab/). Thin: parse, call, print.
import { labGraphCommand } from './lab-graph.js';
import type { Argv, CommandModule } from 'yargs';
import { action } from './action.js';
import { fmtBytes, note, print, printJson, table } from './output.js';
import { invalid } from '../errors.js';

const api = () => import('../lab/lab.js');

/** A lab name typed on the command line, checked with the lab file's rule before anything runs. */
async function labArg(v: unknown): Promise<string> {
  const { LAB_NAME_RE } = await import('../lab/topology.js');
  const s = String(v ?? '');
  if (!LAB_NAME_RE.test(s)) throw invalid(`invalid lab name ${JSON.stringify(s)}`, 'a lab name is 1-12 characters of a-z 0-9, starting with a letter (see `qkvm lab status`)');
  return s;
}

/**
 * One line per node: redrawn in place on a terminal, a plain line per change
 * otherwise (logs, CI).
 */
function nodeLines(): { update(p: import('../lab/lab.js').NodeProgress): void } {
  const tty = !!process.stdout.isTTY;
  const lines = new Map<string, string>();
  let drawn = 0;
  const text = (p: import('../lab/lab.js').NodeProgress) => `${p.guest.padEnd(20)} ${p.phase.padEnd(8)} ${(p.ms / 1000).toFixed(1).padStart(5)} s  ${p.detail ?? ''}`.trimEnd();
  return {
    update(p) {
      if (!tty) { print(text(p)); return; }
      lines.set(p.guest, text(p));
      const cols = process.stdout.columns || 100;
      let out = drawn ? `\x1b[${drawn}A` : '';
      for (const l of lines.values()) out += `\r${l.slice(0, cols - 1)}\x1b[K\n`;
      drawn = lines.size;
      process.stdout.write(out);
    },
  };
}

const up: CommandModule<any, any> = {
  command: 'up <file>',
  describe: 'bring a lab up from its file: networks, relay, then every node in parallel; run again to reconcile',
  builder: (y: Argv) => y.positional('file', { type: 'string', describe: 'the lab file (YAML; see docs/labs.md)' })
    .option('rollback', { type: 'boolean', default: false, describe: 'on a failure, remove what this run created' })
    .option('boot-timeout', { type: 'number', default: 180, describe: 'seconds a node may take to reach a shell on its console' })
    .option('json', { type: 'boolean', describe: 'print the result as JSON' })
    .example('qkvm lab up templates/labs/routed.yaml', 'bring the routed lab up (again: start what is missing, apply the file\'s impairments)'),
  handler: action(async (a: any) => {
    if (!(a.bootTimeout > 0)) throw invalid(`--boot-timeout: "${a.bootTimeout}" is not a positive number of seconds`);
    const lines = a.json ? undefined : nodeLines();
    const r = await (await api()).labUp(a.file, { rollback: a.rollback, bootTimeoutMs: a.bootTimeout * 1000, onProgress: lines?.update, onNote: note });
    const failed = r.nodes.filter((n) => n.action === 'failed');
    if (failed.length) process.exitCode = 1;
    if (a.json) return printJson(r);
    print(table(r.nodes, [
      { header: 'NODE', get: (n) => n.guest },
      { header: 'RESULT', get: (n) => n.action },
      { header: 'TIME', get: (n) => (n.action === 'running' ? '-' : `${(n.ms / 1000).toFixed(1)} s`), align: 'right' },
    ]));
    print(`lab ${r.lab}: ${r.nodes.length - failed.length}/${r.nodes.length} nodes up in ${(r.ms / 1000).toFixed(1)} s; memory for the nodes started: ${fmtBytes(r.memory.need)}${r.memory.available !== undefined ? ` of ${fmtBytes(r.memory.available)} available` : ''}`);
    for (const f of failed) note(`qkvm: error: node ${f.node} (${f.guest}): ${f.error}`);
    if (failed.length) note(r.rolledBack ? 'rolled back: what this run created is removed' : `${failed.length < r.nodes.length ? 'the other nodes are left running; ' : ''}fix the cause and run \`qkvm lab up ${a.file}\` again, or \`qkvm lab down ${r.lab}\``);
  }),
};

const down: CommandModule<any, any> = {
  command: 'down <lab>',
  describe: 'remove every guest, network, relay and image the lab created, then its records',
  builder: (y: Argv) => y.positional('lab', { type: 'string', describe: 'the lab file, or the lab\'s name' })
    .option('json', { type: 'boolean' })
    .example('qkvm lab down routed', 'tear the routed lab down (qkvm lab down routed.yaml works too)'),
  handler: action(async (a: any) => {
    const l = await api();
    const r = await l.labDown(l.labNameOf(a.lab), { onNote: note });
    if (a.json) return printJson(r);
    print(`lab ${r.lab} is down: removed ${r.guests.length} guest(s), ${r.networks.length} network(s), ${r.images.length} image(s)${r.relay ? ', its relay' : ''}`);
  }),
};

const status: CommandModule<any, any> = {
  command: 'status [lab]',
  describe: 'per node state and addresses, per link its kind, impairment and state (all labs without a name); reads only',
  builder: (y: Argv) => y.positional('lab', { type: 'string' }).option('json', { type: 'boolean' })
    .example('qkvm lab status routed --json', ''),
  handler: action(async (a: any) => {
    const l = await api();
    const labs = a.lab !== undefined ? [await l.labStatus(await labArg(a.lab))] : await l.allLabStatus();
    if (a.json) return printJson(a.lab !== undefined ? labs[0] : labs);
    if (!labs.length) return print('no lab is up');
    const { formatImpairment } = await import('../lab/topology.js');
    for (const s of labs) {
      print(`lab ${s.lab} (${s.file})${s.relay ? '' : s.links.some((x) => x.kind === 'p2p') ? '  relay: not running' : ''}`);
      print(table(s.nodes, [
        { header: 'NODE', get: (n) => n.guest },
        { header: 'STATE', get: (n) => n.state },
        { header: 'PID', get: (n) => n.pid },
        { header: 'ADDRESSES', get: (n) => n.addresses.filter((x) => x.address).map((x) => `${x.nic} ${x.address}/${x.prefix}`).join(', ') || undefined },
      ]));
      if (s.links.length) {
        print(table(s.links, [
          { header: 'LINK', get: (x) => x.id },
          { header: 'KIND', get: (x) => x.kind },
          { header: 'ENDS', get: (x) => `${x.a} <-> ${x.b}` },
          { header: 'STATE', get: (x) => (x.up ? 'up' : 'down') },
          { header: 'IMPAIRMENT', get: (x) => formatImpairment(x.impair) },
          { header: 'RELAY', get: (x) => (x.connected ? x.connected.map((c) => (c ? 'connected' : 'waiting')).join('/') : undefined) },
        ]));
      }
    }
  }),
};

const exec: CommandModule<any, any> = {
  command: 'exec <node> [cmd..]',
  describe: 'run a shell command in a node over its serial console; its output and exit status are the command\'s',
  builder: (y: Argv) => y.positional('node', { type: 'string', describe: 'the node\'s guest name, LAB-KEY (routed-h1)' })
    .positional('cmd', { type: 'string', array: true })
    .option('timeout', { type: 'number', default: 60, describe: 'seconds to wait for the command' })
    .parserConfiguration({ 'populate--': true, 'unknown-options-as-args': true })
    .example('qkvm lab exec routed-h1 -- ping -c 3 10.0.2.2', ''),
  handler: action(async (a: any) => {
    const words = [...(a.cmd ?? []), ...(a['--'] ?? [])].map(String);
    if (!(a.timeout > 0)) throw invalid(`--timeout: "${a.timeout}" is not a positive number of seconds`);
    const r = await (await api()).labExec(a.node, words.join(' '), { timeoutMs: a.timeout * 1000 });
    process.stdout.write(r.output);
    process.exitCode = r.status;
  }),
};

const consoleCmd: CommandModule<any, any> = {
  command: 'console <node>',
  describe: 'attach to a node\'s serial console (Ctrl-] detaches)',
  builder: (y: Argv) => y.positional('node', { type: 'string', describe: 'LAB-KEY (routed-r1)' }).example('qkvm lab console routed-r1', ''),
  handler: action(async (a: any) => {
    (await api()).labNode(a.node);
    await (await import('./vm.js')).attachConsole(a.node, {});
  }),
};

const impair: CommandModule<any, any> = {
  command: 'impair <lab> <link>',
  describe: 'set a point-to-point link\'s impairment live (replaces the one it had; no option clears it)',
  builder: (y: Argv) => y.positional('lab', { type: 'string' }).positional('link', { type: 'string', describe: 'a link id (r1-h2) or an endpoint (r1:eth1)' })
    .option('delay', { type: 'string', describe: 'one-way delay, like 80ms' })
    .option('jitter', { type: 'string', describe: 'uniform jitter around the delay, like 5ms' })
    .option('loss', { type: 'string', describe: 'random loss, like 1%' })
    .option('rate', { type: 'string', describe: 'rate limit, like 10mbit' })
    .option('json', { type: 'boolean' })
    .example('qkvm lab impair routed r1-h2 --delay 40ms --loss 0.5%', ''),
  handler: action(async (a: any) => {
    const { parseImpairment, formatImpairment } = await import('../lab/topology.js');
    const lab = await labArg(a.lab);
    const imp = parseImpairment({ delay: a.delay, jitter: a.jitter, loss: a.loss, rate: a.rate }, 'lab impair');
    const r = await (await api()).labImpair(lab, String(a.link), imp);
    if (a.json) return printJson(r);
    print(`lab ${lab}: link ${r.id}: ${formatImpairment(r.impair)}`);
  }),
};

const link: CommandModule<any, any> = {
  command: 'link <lab> <link> <state>',
  describe: 'cut (down) or restore (up) a link: frames are dropped and the node NICs lose their carrier',
  builder: (y: Argv) => y.positional('lab', { type: 'string' }).positional('link', { type: 'string' })
    .positional('state', { choices: ['up', 'down'] })
    .example('qkvm lab link routed r1-h2 down', 'h2 sees NO-CARRIER on eth0; `up` restores it'),
  handler: action(async (a: any) => {
    const lab = await labArg(a.lab);
    const r = await (await api()).labLink(lab, String(a.link), a.state === 'up');
    print(`lab ${lab}: link ${r.id} is ${r.up ? 'up' : 'down'}`);
  }),
};

const captureCmd: CommandModule<any, any> = {
  command: 'capture <lab> <link>',
  describe: 'write the frames of a point-to-point link to a pcap file (tcpdump -r, Wireshark)',
  builder: (y: Argv) => y.positional('lab', { type: 'string' }).positional('link', { type: 'string' })
    .option('w', { type: 'string', demandOption: true, describe: 'the pcap file to write (must not exist)' })
    .option('count', { type: 'number', describe: 'stop after this many frames' })
    .option('seconds', { type: 'number', describe: 'stop after this many seconds' })
    .example('qkvm lab capture routed r1-h2 -w r1-h2.pcap --count 10', 'then: tcpdump -r r1-h2.pcap'),
  handler: action(async (a: any) => {
    const lab = await labArg(a.lab);
    const ac = new AbortController();
    const stop = () => ac.abort();
    process.once('SIGINT', stop);
    try {
      if (a.count === undefined && a.seconds === undefined) note('capturing until Ctrl-C');
      const r = await (await api()).labCapture(lab, String(a.link), String(a.w), { count: a.count, seconds: a.seconds, signal: ac.signal });
      print(`lab ${lab}: link ${r.id}: ${r.frames} frame(s) written to ${r.file}`);
    } finally { process.off('SIGINT', stop); }
  }),
};

const save: CommandModule<any, any> = {
  command: 'save <lab> <snap>',
  describe: 'snapshot every node together (pause all, snapshot each, resume)',
  builder: (y: Argv) => y.positional('lab', { type: 'string' }).positional('snap', { type: 'string' }).example('qkvm lab save routed before-break', ''),
  handler: action(async (a: any) => {
    const lab = await labArg(a.lab);
    const r = await (await api()).labSave(lab, String(a.snap));
    print(`lab ${lab}: snapshot "${a.snap}" of ${r.nodes.join(', ')}`);
  }),
};

const restore: CommandModule<any, any> = {
  command: 'restore <lab> <snap>',
  describe: 'revert every node to a snapshot taken by `lab save`, together',
  builder: (y: Argv) => y.positional('lab', { type: 'string' }).positional('snap', { type: 'string' }).example('qkvm lab restore routed before-break', ''),
  handler: action(async (a: any) => {
    const lab = await labArg(a.lab);
    const r = await (await api()).labRestore(lab, String(a.snap));
    print(`lab ${lab}: ${r.nodes.join(', ')} back at snapshot "${a.snap}"`);
  }),
};

const subcommands: CommandModule<any, any>[] = [up, down, status, exec, consoleCmd, impair, link, captureCmd, save, restore, labGraphCommand];

export const labCommands: CommandModule<any, any>[] = [{
  command: 'lab <command>',
  describe: 'labs from one file: guests, networks and impaired links (up, down, status, graph, exec, console, impair, link, capture, save, restore)',
  builder: (y: Argv) => y.command(subcommands).demandCommand(1),
  handler: () => undefined,
}];
