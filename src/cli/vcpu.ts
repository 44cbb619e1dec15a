// vCPU commands: vcpuinfo, vcpupin, setvcpus, stats.
import type { Argv, CommandModule } from 'yargs';
import { action } from './action.js';
import { note, print, printJson, table } from './output.js';
import { invalid } from '../errors.js';

const api = () => import('../api.js');
const name = (y: Argv) => y.positional('name', { type: 'string', demandOption: true, describe: 'guest name' });
const json = (y: Argv) => y.option('json', { type: 'boolean', default: false, describe: 'print JSON' });

export const vcpuCommands: CommandModule<any, any>[] = [
  {
    command: 'vcpuinfo <name>',
    describe: 'Each vCPU: host thread, the host CPU it last ran on, CPU time, affinity',
    builder: (y) => json(name(y)),
    handler: action(async (a) => {
      const rows = await (await api()).vcpuInfo(a.name);
      if (a.json) return printJson(rows);
      print(table(rows, [
        { header: 'vCPU', get: (r) => r.vcpu, align: 'right' },
        { header: 'Thread', get: (r) => r.threadId, align: 'right' },
        { header: 'Name', get: (r) => r.threadName },
        { header: 'Host CPU', get: (r) => r.hostCpu, align: 'right' },
        { header: 'CPU time', get: (r) => (r.cpuTimeSeconds === undefined ? undefined : `${r.cpuTimeSeconds.toFixed(2)} s`), align: 'right' },
        { header: 'Affinity', get: (r) => r.affinity },
      ]));
    }),
  },
  {
    command: 'vcpupin <name> <vcpu> <cpulist>',
    describe: "Pin a vCPU's host thread to host CPUs (taskset); --config keeps it for the next start",
    builder: (y) => json(name(y)
      .positional('vcpu', { type: 'number', demandOption: true, describe: 'vCPU index' })
      .positional('cpulist', { type: 'string', demandOption: true, describe: 'host CPUs, e.g. 0 or 0-1 or 0,2' })
      .option('config', { type: 'boolean', default: false, describe: 'also store it in the definition (vcpupin:)' })
      .example('qkvm vcpupin demo 0 1 --config', 'run vCPU 0 on host CPU 1, now and at every start')),
    handler: action(async (a) => {
      const r = await (await api()).pinVcpu(a.name, a.vcpu, String(a.cpulist), { config: a.config });
      if (a.json) return printJson(r);
      if (r.live) print(`vCPU ${r.live.vcpu} (thread ${r.live.threadId}) may run on host CPUs ${r.live.affinity}`);
      if (r.config) note(`definition: vcpupin ${a.vcpu} -> ${r.config} (applied at every start)`);
    }),
  },
  {
    command: 'setvcpus <name> <count>',
    describe: 'Hot-plug or unplug vCPUs (device_add / device_del) up to maxcpus',
    builder: (y) => json(name(y).positional('count', { type: 'number', demandOption: true, describe: 'how many vCPUs the guest should have' })
      .example('qkvm setvcpus demo 2', 'plug a second vCPU into a guest defined with smp: {cpus: 1, maxcpus: 2}')),
    handler: action(async (a) => {
      const r = await (await api()).setVcpus(a.name, a.count);
      if (a.json) return printJson(r);
      const how = [r.added.length ? `added ${r.added.join(', ')}` : '', r.removed.length ? `removed ${r.removed.join(', ')}` : ''].filter(Boolean).join('; ') || 'nothing to do';
      print(`guest "${a.name}": ${r.before} -> ${r.after} vCPUs (maxcpus ${r.maxcpus}): ${how}`);
    }),
  },
  {
    command: 'stats [names..]',
    describe: 'CPU % and RSS of each guest\'s QEMU process',
    builder: (y) => json(y.positional('names', { type: 'string', array: true, describe: 'guests (default: every running guest)' })
      .option('watch', { type: 'boolean', default: false, describe: 'refresh until interrupted' })
      .option('interval', { type: 'number', default: 1, describe: 'seconds between samples' })),
    handler: action(async (a) => {
      if (!(a.interval > 0)) throw invalid(`--interval: must be a positive number of seconds, got "${a.interval}"`);
      const { guestStats } = await api();
      const show = (rows: Awaited<ReturnType<typeof guestStats>>) => {
        if (a.json) { process.stdout.write(JSON.stringify(rows) + '\n'); return; }
        const t = table(rows, [
          { header: 'Name', get: (r) => r.name },
          { header: 'PID', get: (r) => r.pid, align: 'right' },
          { header: 'CPU %', get: (r) => r.cpuPercent.toFixed(1), align: 'right' },
          { header: 'RSS', get: (r) => `${Math.round(r.rssBytes / 1024 ** 2)} MiB`, align: 'right' },
          { header: 'CPU time', get: (r) => `${(r.cpuTimeMs / 1000).toFixed(1)} s`, align: 'right' },
        ]);
        if (a.watch && process.stdout.isTTY) process.stdout.write('\x1b[H\x1b[2J');
        print(t);
      };
      const ac = new AbortController();
      process.once('SIGINT', () => ac.abort());
      const rows = await guestStats(a.names, { intervalMs: a.interval * 1000, watch: a.watch, signal: ac.signal, onSample: show });
      if (!a.watch) show(rows);
    }),
  },
];
