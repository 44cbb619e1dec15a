// Lifecycle commands (virsh names, with virsh's aliases). Handlers import the
// API lazily so that `qkvm --help` and `qkvm list` start fast.
import type { Argv, CommandModule } from 'yargs';
import { action } from './action.js';
import { fmtBytes, keyValues, note, print, printJson, warn } from './output.js';
import { QkvmError, invalid } from '../errors.js';
import { untilMet } from '../runtime/console-exec.js';

// Each handler loads just the runtime module it needs: the whole API costs ~200 ms to import.
const start = () => import('../runtime/start.js');
const stop = () => import('../runtime/stop.js');
const info = () => import('../runtime/info.js');
const state = () => import('../runtime/state.js');
const monitor = () => import('../runtime/monitor.js');
const consoleApi = () => import('../runtime/console.js');

const name = (y: Argv) => y.positional('name', { type: 'string', demandOption: true, describe: 'guest name' });
const json = (y: Argv) => y.option('json', { type: 'boolean', default: false, describe: 'print JSON' });

const fmtUptime = (s?: number) => {
  if (s === undefined) return undefined;
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h ? `${h}h ${m}m` : m ? `${m}m ${s % 60}s` : `${s}s`;
};

export const vmCommands: CommandModule<any, any>[] = [
  {
    command: 'list',
    describe: 'List running guests (--all: every defined guest)',
    builder: (y) => json(y.option('all', { type: 'boolean', default: false, describe: 'include guests that are shut off' })
      .option('inactive', { type: 'boolean', default: false, describe: 'only the guests that are shut off (virsh --inactive)' })
      .option('name', { type: 'boolean', default: false, describe: 'print only the names, one a line (virsh --name)' })
      .example('qkvm list --all', 'every guest and its state')),
    handler: action(async (a: any) => (await import('./list.js')).listCommand(a)),
  },
  {
    command: 'info <name>',
    aliases: ['dominfo'],
    describe: 'Show a guest: state, pid, memory, vCPUs, CPU time, RSS, QMP and VNC addresses, uptime',
    builder: (y) => json(name(y)),
    handler: action(async (a) => {
      const { guestInfo } = await info();
      const i = await guestInfo(a.name);
      if (a.json) return printJson(i);
      print(keyValues([
        ['Name', i.name], ['State', i.state + (i.qemuStatus && i.qemuStatus !== i.state ? ` (QEMU: ${i.qemuStatus})` : '')],
        ['Reason', i.reason], ['PID', i.pid], ['Accel', i.accel],
        ['Memory', fmtBytes(i.memoryBytes)], ['Max memory', fmtBytes(i.maxMemoryBytes)],
        ['DIMMs', i.dimms && (i.dimms.length ? i.dimms.map((d) => `${d.id} ${fmtBytes(d.sizeBytes)} (slot ${d.slot})`).join(', ') : 'none plugged')],
        ['Balloon', fmtBytes(i.balloonBytes)],
        ['vCPUs', i.vcpusOnline !== undefined && i.vcpusOnline !== i.vcpus ? `${i.vcpusOnline} online (${i.vcpus} at start)` : i.vcpus],
        ['CPU time', i.cpuTimeSeconds !== undefined ? `${i.cpuTimeSeconds.toFixed(1)} s` : undefined],
        ['RSS', fmtBytes(i.rssBytes)], ['Uptime', fmtUptime(i.uptimeSeconds)],
        ['QMP', i.qmpSocket], ['Console', i.serialSocket], ['VNC', i.vnc],
        ['Agent', i.agent && ({ answers: 'answers', 'not wired': 'none (agent: false)', 'not answering': 'not answering (booting, or no qemu-ga)', 'not running': undefined })[i.agent]],
        ['Autostart', i.autostart ? 'yes' : 'no'], ['Defined', i.defined ? 'yes' : 'no (transient)'],
        ['Overcommit', i.overcommit && `warning: ${i.overcommit.vcpus} vCPUs of running guests on ${i.overcommit.hostCpus} host CPUs (${i.overcommit.excess} too many)`],
      ]));
    }),
  },
  {
    command: 'domstate <name>',
    aliases: ['state'],
    describe: "Print a guest's state (running, paused, shut off, crashed...)",
    builder: (y) => json(name(y)),
    handler: action(async (a) => {
      const { guestStatus } = await state();
      const s = await guestStatus(a.name);
      if (a.json) return printJson(s);
      print(s.state + (s.reason ? ` (${s.reason})` : ''));
    }),
  },
  {
    command: 'start <name>',
    describe: 'Start a guest in the background; returns when QMP answers and it runs',
    builder: (y) => name(y)
      .option('paused', { type: 'boolean', default: false, describe: 'leave the vCPUs stopped (qkvm resume runs them)' })
      .option('console', { type: 'boolean', default: false, describe: 'attach the serial console once started' })
      .option('force', { type: 'boolean', default: false, describe: 'kept for old scripts: a base of linked clones is never opened writable, with or without it' })
      .option('incoming', { type: 'string', describe: 'wait for a live migration, e.g. tcp:0.0.0.0:4444' })
      .example('qkvm start demo --console', 'start and watch it boot (Ctrl-] detaches)'),
    handler: action((a: any) => startCommand(a)),
  },
  {
    command: 'shutdown <name>',
    describe: 'Press the ACPI power button and wait for the guest to power off',
    builder: (y) => name(y)
      .option('timeout', { type: 'number', default: 60, describe: 'seconds to wait' })
      .option('force', { type: 'boolean', default: false, describe: 'after the timeout: quit, then SIGTERM, then SIGKILL' })
      .option('acpi-timeout', { type: 'number', describe: 'with a guest agent: seconds ACPI gets before qkvm asks qemu-ga (guest-shutdown); default a third of --timeout, at most 20' }),
    handler: action(async (a) => {
      if (!(a.timeout > 0)) throw invalid(`--timeout: must be a positive number of seconds, got "${a.timeout}"`);
      const { shutdownGuest } = await stop();
      const t0 = Date.now();
      if (a.acpiTimeout !== undefined && !(a.acpiTimeout > 0)) throw invalid(`--acpi-timeout: must be a positive number of seconds, got "${a.acpiTimeout}"`, `qkvm shutdown ${a.name} --acpi-timeout 10`);
      const r = await shutdownGuest(a.name, {
        timeoutMs: a.timeout * 1000, force: a.force, acpiTimeoutMs: a.acpiTimeout === undefined ? undefined : a.acpiTimeout * 1000,
        onStep: (s) => s !== 'powerdown' && note(s === 'guest-shutdown' ? 'the guest ignored ACPI: asking its guest agent (guest-shutdown)' : `escalating: ${s}`),
      });
      note(`guest "${a.name}" is shut off after ${((Date.now() - t0) / 1000).toFixed(2)} s (${r.steps.join(' -> ')})`);
    }),
  },
  simple('destroy', 'Stop a guest now, like pulling the plug (also clears a crashed state)', async (n) => {
    const r = await (await stop()).destroyGuest(n);
    note(r.wasRunning ? `guest "${n}" destroyed` : `guest "${n}": crash cleared`);
  }),
  {
    command: 'recover <name>',
    describe: 'Repair what a crash or an interrupted start left (run files, taps); kills only a QEMU proven to be this guest\'s',
    builder: (y) => json(name(y)),
    handler: action(async (a) => {
      const r = await (await import('../runtime/recover.js')).recoverGuest(a.name);
      if (a.json) return printJson(r);
      for (const line of r.actions) note(line);
      print(r.actions.length ? `guest "${r.name}": recovered; now ${r.status.state}` : `guest "${r.name}": nothing to recover (${r.status.state})`);
    }),
  },
  simple('reboot', 'Ask the guest to reboot (Ctrl-Alt-Del)', async (n) => { await (await stop()).rebootGuest(n); note(`guest "${n}" is rebooting`); }),
  simple('reset', 'Hard-reset the guest, like its reset button', async (n) => { await (await stop()).resetGuest(n); note(`guest "${n}" was reset`); }),
  simple('suspend', "Pause the guest's vCPUs", async (n) => { await (await stop()).suspendGuest(n); note(`guest "${n}" is paused`); }),
  simple('resume', "Run a paused guest's vCPUs again", async (n) => { await (await stop()).resumeGuest(n); note(`guest "${n}" is running`); }),
  {
    command: 'console <name>',
    describe: 'The serial console: interactive on a terminal (Ctrl-] detaches); streams when scripted',
    builder: (y) => name(y)
      .option('replay', { type: 'boolean', default: false, describe: 'print what the guest has printed so far (serial.log) and exit' })
      .option('exec', { type: 'string', describe: "run one shell command on the console; print its output, exit with its status" })
      .option('until', { type: 'string', describe: 'exit 0 once the guest prints this text at the start of a line (scripts)' })
      .option('timeout', { type: 'number', describe: 'give up after this many seconds (exit 1; --exec: default 60)' })
      .example("qkvm console demo --exec 'uname -r'", 'run a command in the guest; its output and exit status are the command\'s')
      .example('qkvm console demo --until QKVM-DEMO-READY --timeout 120', 'wait in a script until the guest prints a line starting with this text'),
    handler: action(async (a) => {
      if (a.replay) { process.stdout.write((await consoleApi()).consoleLog(a.name)); return; }
      if (a.exec !== undefined) {
        if (a.until !== undefined) throw invalid('console: give --exec or --until, not both');
        if (a.timeout !== undefined && !(a.timeout > 0)) throw invalid(`console --timeout: "${a.timeout}" is not a positive number of seconds`);
        const r = await (await consoleApi()).execOnConsole(a.name, String(a.exec), { timeoutMs: (a.timeout ?? 60) * 1000 });
        process.stdout.write(r.output);
        process.exitCode = r.status;
        return;
      }
      await attachConsole(a.name, { until: a.until, timeout: a.timeout });
    }),
  },
  {
    command: 'vnc <name>',
    describe: "Show the guest's VNC address; --password sets a password over QMP (read from stdin)",
    builder: (y) => json(name(y).option('password', { type: 'boolean', default: false, describe: 'read a new password from stdin (never from the command line)' })),
    handler: action(async (a) => {
      let password: string | undefined;
      if (a.password) password = await readSecret('VNC password: ');
      const v = await (await monitor()).vnc(a.name, { password });
      if (a.json) return printJson(v);
      if (!v.enabled) return print(`guest "${a.name}" has no VNC display`);
      print(`${v.address}  (display :${v.display}${v.auth ? `, auth ${v.auth}` : ''})`);
      if (password) note('password set');
    }),
  },
  {
    command: 'monitor <name> <command..>',
    aliases: ['qemu-monitor-command'],
    describe: "Run a human monitor (HMP) command, e.g. 'info balloon'",
    builder: (y) => name(y).positional('command', { type: 'string', array: true }).example("qkvm monitor demo 'info status'", '')
      .option('allow-programs', { type: 'boolean', default: false, describe: 'allow a command with an exec: URI (QEMU runs it as root)' }),
    handler: action(async (a) => {
      process.stdout.write(await (await monitor()).hmp(a.name, a.command.join(' '), { allowPrograms: a.allowPrograms }));
    }),
  },
  {
    command: 'qmp <name> <json>',
    describe: 'Send one raw QMP command and print its result',
    builder: (y) => name(y).positional('json', { type: 'string', demandOption: true })
      .example(`qkvm qmp demo '{"execute":"query-status"}'`, '')
      .option('allow-programs', { type: 'boolean', default: false, describe: 'allow a command with an exec: URI (QEMU runs it as root)' }),
    handler: action(async (a) => { printJson(await (await monitor()).qmpPassthrough(a.name, a.json, { allowPrograms: a.allowPrograms })); }),
  },
];

/** `qkvm start`; also reached from main.ts's fast path. */
export async function startCommand(a: { name: string; paused?: boolean; force?: boolean; incoming?: string; console?: boolean }): Promise<void> {
  const { startGuest } = await start();
  const t0 = Date.now();
  const st = await startGuest(a.name, { paused: a.paused, force: a.force, incoming: a.incoming, onNote: note, onWarning: warn });
  note(`guest "${a.name}" is ${st.state} (pid ${st.pid}) after ${((Date.now() - t0) / 1000).toFixed(2)} s`);
  if (a.console) await attachConsole(a.name, {});
}

function simple(cmd: string, describe: string, run: (name: string) => Promise<void>): CommandModule<any, any> {
  return { command: `${cmd} <name>`, describe, builder: name, handler: action(async (a) => run(a.name)) };
}

async function readSecret(prompt: string): Promise<string> {
  const { createInterface } = await import('node:readline');
  if (!process.stdin.isTTY) {
    const chunks: Buffer[] = [];
    for await (const c of process.stdin) chunks.push(c as Buffer);
    return Buffer.concat(chunks).toString('utf8').split('\n')[0];
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
  (rl as any)._writeToOutput = (s: string) => { if (s.startsWith(prompt)) process.stderr.write(prompt); };
  return new Promise((resolve) => rl.question(prompt, (v) => { rl.close(); process.stderr.write('\n'); resolve(v); }));
}

/** Ctrl-] (0x1d) detaches, as in virsh and telnet. */
const DETACH = 0x1d;

export async function attachConsole(name: string, opts: { until?: string; timeout?: number }): Promise<void> {
  const { openConsole } = await consoleApi();
  const sock = await openConsole(name);
  const tty = process.stdin.isTTY && !opts.until;
  await new Promise<void>((resolve, reject) => {
    let seen = '';
    let timer: NodeJS.Timeout | undefined;
    const finish = (err?: Error) => {
      if (timer) clearTimeout(timer);
      if (tty) process.stdin.setRawMode(false);
      process.stdin.pause();
      sock.destroy();
      if (err) reject(err); else resolve();
    };
    if (opts.timeout) {
      timer = setTimeout(() => {
        finish(new QkvmError('TIMEOUT', `console: timed out after ${opts.timeout} s${opts.until ? ` waiting for "${opts.until}"` : ''}`));
      }, opts.timeout * 1000);
    }
    let typed = '';
    sock.on('data', (d) => {
      process.stdout.write(d);
      if (opts.until) {
        seen = (seen + d.toString('utf8')).slice(-65536);
        // At a line start, and not the echo of what the script typed (console-exec.ts).
        if (untilMet(seen, opts.until, typed)) finish();
      }
    });
    sock.on('close', () => finish());
    if (tty) {
      note(`Connected to the serial console of "${name}". Escape character is ^] (Ctrl-])`);
      process.stdin.setRawMode(true);
      process.stdin.on('data', (d: Buffer) => {
        if (d.includes(DETACH)) { note('\r\ndetached'); finish(); return; }
        sock.write(d);
      });
      process.stdin.resume();
    } else {
      process.stdin.on('data', (d) => { typed = (typed + d.toString('utf8')).slice(-65536); sock.write(d); });
      // Scripted: when input ends, give the guest a moment to answer, unless we wait for a text.
      process.stdin.on('end', () => { if (!opts.until) setTimeout(() => finish(), 1500); });
      process.stdin.resume();
    }
  });
}
