// Moving guests: save, restore, migrate.
import type { Argv, CommandModule } from 'yargs';
import { action } from './action.js';
import { note, print, printJson, progressBar } from './output.js';
import { invalid } from '../errors.js';

const api = () => import('../api.js');
const mig = () => import('../migrate/progress.js');
const name = (y: Argv) => y.positional('name', { type: 'string', demandOption: true, describe: 'guest name' });

type Progress = import('../migrate/progress.js').MigrationProgress;

/** A bar on stderr, or with --json one JSON line per sample on stdout. */
async function reporter(label: string, jsonLines: boolean) {
  const { formatProgress } = await mig();
  const bar = progressBar(label);
  return {
    onProgress: (p: Progress) => {
      if (jsonLines) process.stdout.write(JSON.stringify({ type: 'progress', ...p }) + '\n');
      else bar.update(p.fraction, formatProgress(p));
    },
    done: (text: string) => { if (!jsonLines) bar.done(text); },
  };
}

/** "64M" -> bytes per second; a bare number is MiB/s. */
async function bandwidthOf(v: string | undefined): Promise<number | undefined> {
  if (v === undefined) return undefined;
  const { parseSize } = await api();
  return parseSize(String(v).replace(/\/s$/i, ''), '--bandwidth', 'M');
}

export const migrateCommands: CommandModule<any, any>[] = [
  {
    command: 'save <name> <file>',
    describe: 'Stop the guest and write its definition, RAM and device state to FILE; its QEMU exits',
    builder: (y) => name(y).positional('file', { type: 'string', demandOption: true })
      .option('force', { type: 'boolean', default: false, describe: 'replace FILE if it exists' })
      .option('json', { type: 'boolean', default: false, describe: 'progress and result as JSON lines' })
      .example('qkvm save demo /var/tmp/demo.qkvmsave', ''),
    handler: action(async (a) => {
      const r0 = await reporter('saving', a.json);
      const { formatResult } = await mig();
      const r = await (await api()).saveGuest(a.name, a.file, { force: a.force, onProgress: r0.onProgress });
      r0.done('done');
      if (a.json) return print(JSON.stringify({ type: 'result', ...r }));
      // The guest was stopped before the save: QEMU's downtime figure means nothing here.
      print(`guest "${a.name}" saved to ${r.file} (${(r.bytes / 1024 ** 2).toFixed(1)} MiB): ${formatResult({ ...r, downtimeMs: undefined })}`);
    }),
  },
  {
    command: 'restore <file>',
    describe: 'Start a guest from a save file (-incoming defer + migrate-incoming) and resume it',
    builder: (y) => y.positional('file', { type: 'string', demandOption: true })
      .option('name', { type: 'string', describe: 'restore under another name' })
      .option('paused', { type: 'boolean', default: false, describe: 'leave it paused' })
      .option('use-file-definition', { type: 'boolean', default: false, describe: 'start from the definition in the file, not the stored one (it is not stored)' })
      .option('allow-extra-args', { type: 'boolean', default: false, describe: 'allow the raw extraArgs of the definition used, for this restore' })
      .option('allow-programs', { type: 'boolean', default: false, describe: 'also allow extraArgs that make QEMU run programs as root' })
      .option('json', { type: 'boolean', default: false, describe: 'print JSON' }),
    handler: action(async (a) => {
      const r = await (await api()).restoreGuest(a.file, {
        name: a.name, paused: a.paused, onNote: note,
        useFileDefinition: a.useFileDefinition, allowExtraArgs: a.allowExtraArgs, allowPrograms: a.allowPrograms,
      });
      if (a.json) return printJson(r);
      print(`guest "${r.name}" restored from ${a.file} (saved ${r.header.savedAt}): ${r.status.state} after ${(r.elapsedMs / 1000).toFixed(2)} s`);
    }),
  },
  {
    command: 'migrate <name> [uri]',
    describe: 'Live-migrate a guest to tcp:HOST:PORT (the destination runs `qkvm start NAME --incoming tcp:...`), or to another qkvm state directory with --to-home',
    builder: (y) => name(y).positional('uri', { type: 'string', describe: 'tcp:HOST:PORT where the destination waits' })
      .option('to-home', { type: 'string', describe: 'migrate into this QKVM_HOME on this host (loopback)' })
      .option('tunnel', { type: 'boolean', default: false, describe: 'to ssh://HOST: send the stream through ssh instead of a direct TCP connection' })
      .option('copy-storage', { alias: 'copy-storage-all', type: 'boolean', default: false, describe: 'to ssh://HOST: copy the writable disks live (NBD there, mirror here)' })
      .option('to-run', { type: 'string', describe: 'the destination QKVM_RUN (default: TO-HOME/run)' })
      .option('bandwidth', { type: 'string', describe: 'max bandwidth per second, e.g. 64M (default: uncapped)' })
      .option('downtime', { type: 'number', describe: 'max downtime in ms (QEMU default 300)' })
      .option('cancel', { type: 'boolean', default: false, describe: 'cancel the migration under way' })
      .option('json', { type: 'boolean', default: false, describe: 'progress and result as JSON lines' })
      .example('qkvm migrate demo tcp:192.0.2.7:4444', 'after `qkvm start demo --incoming tcp:0:4444` there')
      .example('qkvm migrate demo --to-home /var/lib/qkvm2', 'between two state directories on this host')
      .example('qkvm migrate demo ssh://root@192.0.2.7 --copy-storage', 'to another host\'s qkvm, over ssh, disks included'),
    handler: action(async (a) => {
      const m = await api();
      if (a.cancel) {
        await m.cancelMigration(a.name);
        return note(`guest "${a.name}": migration cancel requested`);
      }
      if (!a.uri === !a['to-home']) throw invalid('migrate: give either a tcp:HOST:PORT URI or --to-home DIR');
      const r0 = await reporter('migrating', a.json);
      const { formatResult } = await mig();
      // ssh://HOST, qemu+ssh://HOST/system or a remote's name: another host's qkvm.
      if (a.uri && !/^tcp:/.test(a.uri)) {
        const { resolveTarget } = await import('../remote/store.js');
        const { migrateToHost } = await import('../migrate/remote.js');
        const target = resolveTarget(a.uri);
        const copyBar = a.json ? undefined : progressBar('copying disks');
        const t0 = Date.now();
        const r = await migrateToHost(a.name, target, {
          bandwidth: await bandwidthOf(a.bandwidth), downtimeMs: a.downtime, onProgress: r0.onProgress, onNote: a.json ? undefined : note,
          tunnel: a.tunnel, copyStorage: a.copyStorage,
          onCopy: (f, d) => { if (a.json) process.stdout.write(JSON.stringify({ type: 'copy', fraction: f, detail: d }) + '\n'); else copyBar!.update(f, d); },
        });
        r0.done('done');
        const wallMs = Date.now() - t0;
        if (a.json) return print(JSON.stringify({ type: 'result', wallMs, ...r }));
        return print(`guest "${a.name}" migrated to ${r.host}${r.tunnel ? ' through ssh' : ''}${r.copied.length ? ` with ${r.copied.length} disk(s) copied` : ''}: ${formatResult(r)} (${(wallMs / 1000).toFixed(2)} s in all); its definition stays here, shut off`);
      }
      if (a.tunnel || a.copyStorage) throw invalid('migrate: --tunnel and --copy-storage apply to a migration to ssh://HOST');
      const opts = { bandwidth: await bandwidthOf(a.bandwidth), downtimeMs: a.downtime, onProgress: r0.onProgress, onNote: a.json ? undefined : note };
      const t0 = Date.now();
      const r = a.uri ? await m.migrateGuest(a.name, a.uri, opts) : await m.migrateToHome(a.name, { ...opts, toHome: a['to-home'], toRun: a['to-run'] });
      r0.done('done');
      const wallMs = Date.now() - t0;
      if (a.json) return print(JSON.stringify({ type: 'result', wallMs, ...r }));
      print(`guest "${a.name}" migrated${'home' in r ? ` to ${(r as any).home}` : ` to ${a.uri}`}: ${formatResult(r)} (${(wallMs / 1000).toFixed(2)} s with qkvm's own steps)`);
    }),
  },
  {
    // The far side's half of `migrate NAME ssh://HOST`, run there over ssh; not for people.
    command: 'migrate-incoming <name>',
    describe: false,
    builder: (y) => name(y).option('abort', { type: 'boolean', default: false }).option('finish', { type: 'boolean', default: false }),
    handler: action(async (a) => {
      const inc = await import('../migrate/incoming.js');
      if (a.abort) return printJson(await inc.abortIncoming(a.name));
      if (a.finish) return printJson(await inc.finishIncoming(a.name));
      const chunks: Buffer[] = [];
      for await (const c of process.stdin) chunks.push(c as Buffer);
      let req;
      try { req = JSON.parse(Buffer.concat(chunks).toString('utf8')); } catch { throw invalid('migrate-incoming: stdin is not the JSON request a qkvm source sends'); }
      printJson(await inc.prepareIncoming(a.name, req));
    }),
  },
];
