// qkvm image build|list|info|rm (base images from Debian's packages) and
// qkvm ssh NAME [-- CMD].
import type { Argv, CommandModule } from 'yargs';
import { action } from './action.js';
import { keyValues, note, print, printJson, table } from './output.js';
import { invalid } from '../errors.js';

const api = () => import('../api.js');
const json = (y: Argv) => y.option('json', { type: 'boolean', default: false, describe: 'print JSON' });
const fmtGiB = (n: number) => `${(n / 1024 ** 3).toFixed(n % 1024 ** 3 ? 1 : 0)} GiB`;

const build: CommandModule<any, any> = {
  command: 'build <image>',
  describe: 'Build a bootable base image from Debian\'s packages (mmdebstrap), cached by its inputs',
  builder: (y) => y.positional('image', { type: 'string', describe: 'debian-12' })
    .option('size', { type: 'string', default: '4G', describe: 'the root file system\'s size' })
    .option('packages', { type: 'string', describe: 'more Debian packages, comma-separated: htop,curl' })
    .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'print mmdebstrap\'s own lines too' })
    .example('qkvm image build debian-12', 'about a minute or two the first time; then cached')
    .example('qkvm image build debian-12 --size 8G --packages htop,curl', ''),
  handler: action(async (a: any) => {
    const packages = a.packages === undefined ? [] : String(a.packages).split(',').map((s: string) => s.trim()).filter(Boolean);
    if (a.packages !== undefined && !packages.length) throw invalid(`--packages: no package names in "${a.packages}"`, 'write names like htop,curl');
    const { buildImage } = await api();
    const started = Date.now();
    const secs = () => ((Date.now() - started) / 1000).toFixed(0);
    const r = await buildImage(a.image, {
      size: a.size, packages,
      onProgress: (n, of, what) => note(`[${n}/${of}] ${secs()} s  ${what}`),
      onLine: a.verbose ? (l) => note(`  ${l}`) : undefined,
    });
    print(`${r.manifest.id} ${r.cached ? 'is already built (same inputs)' : `built in ${r.manifest.buildSeconds} s`}: ${r.manifest.dir}`);
    if (!r.cached) note(`a guest from it: qkvm create NAME --template ${r.manifest.image} --ssh-key ~/.ssh/id_ed25519.pub`);
  }),
};

const list: CommandModule<any, any> = {
  command: 'list',
  describe: 'List the base images built here',
  builder: (y) => json(y).example('qkvm image list --json', ''),
  handler: action(async (a: any) => {
    const { listImages } = await api();
    const rows = listImages();
    if (a.json) return printJson(rows);
    if (!rows.length) return print('no images built; build one: qkvm image build debian-12');
    print(table(rows, [
      { header: 'ID', get: (r) => r.id },
      { header: 'SIZE', get: (r) => fmtGiB(r.inputs.size), align: 'right' },
      { header: 'KERNEL', get: (r) => r.kernelVersion },
      { header: 'PACKAGES', get: (r) => r.inputs.packages.join(',') || '-' },
      { header: 'BUILT', get: (r) => r.built.replace('T', ' ').slice(0, 19) },
    ]));
  }),
};

const info: CommandModule<any, any> = {
  command: 'info <image>',
  describe: 'Show a base image: its inputs, files and the guests built on it',
  builder: (y) => json(y.positional('image', { type: 'string', describe: 'debian-12 (the newest build) or an ID from `qkvm image list`' }))
    .example('qkvm image info debian-12', ''),
  handler: action(async (a: any) => {
    const { findImage } = await api();
    const { imagesBackedBy } = await import('../storage/backing.js');
    const { join } = await import('node:path');
    const m = findImage(a.image);
    const users = imagesBackedBy(join(m.dir, 'disk.qcow2'));
    if (a.json) return printJson({ ...m, overlays: users });
    print(keyValues([
      ['id', m.id], ['directory', m.dir], ['suite', m.inputs.suite], ['size', fmtGiB(m.inputs.size)],
      ['kernel', m.kernelVersion], ['extra packages', m.inputs.packages.join(', ') || 'none'],
      ['built', `${m.built} in ${m.buildSeconds} s`], ['overlays on it', users.join(', ') || 'none'],
      ['boot', `direct kernel: ${m.dir}/vmlinuz, initrd.img, root=/dev/vda`],
    ]));
  }),
};

const rm: CommandModule<any, any> = {
  command: 'rm <image>',
  describe: 'Remove a base image qkvm built (refused while a guest\'s overlay is built on it)',
  builder: (y) => y.positional('image', { type: 'string' }).example('qkvm image rm debian-12-0123456789ab', ''),
  handler: action(async (a: any) => {
    const r = await (await api()).removeImage(a.image);
    print(`removed ${r.removed}`);
  }),
};

const ssh: CommandModule<any, any> = {
  command: 'ssh <name> [command..]',
  describe: 'ssh into a guest: finds its address and port, its user and key; waits for sshd while it boots',
  builder: (y) => y.positional('name', { type: 'string', demandOption: true, describe: 'guest name' })
    .positional('command', { type: 'string', array: true, describe: 'a command to run (after --)' })
    .option('identity', { alias: 'i', type: 'string', describe: 'the private key to offer (default: the one matching the guest\'s key)' })
    .option('wait', { type: 'number', default: 300, describe: 'seconds to wait for sshd while the guest boots' })
    .option('print', { type: 'boolean', default: false, describe: 'print the ssh command instead of running it' })
    .example('qkvm ssh web', 'a login shell')
    .example('qkvm ssh web -- hostname', 'run one command'),
  handler: action(async (a: any) => {
    const { loadVm } = await api();
    const { sshArgs, sshMaster, sshTarget, waitForSsh, waitForSshTarget } = await import('../image/ssh.js');
    const { ensureDir } = await import('../config/atomic.js');
    const { home, run } = await import('../config/paths.js');
    const { dirname, resolve } = await import('node:path');
    const { existsSync } = await import('node:fs');
    if (!Number.isFinite(a.wait) || a.wait < 0) throw invalid(`--wait: invalid number of seconds "${a.wait}"`, 'write seconds, e.g. --wait 120');
    if (a.identity && !existsSync(a.identity)) throw invalid(`--identity: ${a.identity} does not exist`, 'give a private key file, e.g. -i ~/.ssh/id_ed25519');
    const spec = loadVm(a.name);
    const command: string[] = [...(a.command ?? []), ...(a['--'] ?? [])].map(String);
    const quote = (s: string) => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
    if (a.print) {
      const t = await sshTarget(spec);
      if (a.identity) t.identity = resolve(a.identity);
      return print(['ssh', ...sshArgs(t, command)].map(quote).join(' '));
    }
    // Nothing answers for a guest that is not running: say so now, not after --wait.
    const { guestStatus, isActive, requireActive } = await import('../runtime/state.js');
    await requireActive(a.name, { query: false, hint: `start it first: qkvm start ${a.name} && qkvm ssh ${a.name}` });
    const running = async () => isActive((await guestStatus(a.name, { query: false })).state);
    // One line redrawn on a terminal; a line every 15 s in a log.
    const tty = process.stderr.isTTY;
    const started = Date.now();
    let last = -1;
    let drew = false;
    const onWait = (s: number, what: string) => {
      if (tty) { process.stderr.write(`\rqkvm ssh: ${what} (${s} s)\x1b[K`); drew = true; } else if (s >= last + 15) { last = s; note(`qkvm ssh: ${what} (${s} s)`); }
    };
    // A guest on a network has no address until its DHCP lease (or its agent) tells it.
    const t = await waitForSshTarget(spec, { deadline: started + a.wait * 1000, running, onWait: (what) => onWait(Math.round((Date.now() - started) / 1000), what) });
    if (a.identity) t.identity = resolve(a.identity);
    ensureDir(dirname(home.knownHosts()));
    const { execa } = await import('execa');
    const master = sshMaster(run.sshControl(a.name));
    // A master left by a qkvm ssh that died: end it, so that ours can take the path
    // (ssh would otherwise fall back to a plain connection that -f -N keeps forever).
    const { lstatSync, unlinkSync } = await import('node:fs');
    const isSocket = () => { try { return lstatSync(run.sshControl(a.name)).isSocket(); } catch { return false; } };
    if (isSocket()) {
      await execa('ssh', sshArgs(t, [], master.exit), { reject: false, stdio: 'ignore' });
      if (isSocket()) unlinkSync(run.sshControl(a.name));
    }
    await waitForSsh(t, {
      name: a.name,
      timeoutMs: Math.max(0, started + a.wait * 1000 - Date.now()),
      running,
      // The seconds on the line count from the start of qkvm ssh, across both waits.
      onWait: (_s, what) => onWait(Math.round((Date.now() - started) / 1000), what),
      // With a known key, a login that works is the mark (cloud-init adds the key after sshd may listen).
      // That login stays as the master of the command's connection: one handshake, not two.
      login: t.identity ? async () => (await execa('ssh', sshArgs(t, [], ['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=10', ...master.start]), { reject: false, stdio: 'ignore' })).exitCode === 0 : undefined,
    });
    if (drew) process.stderr.write('\r\x1b[K');
    const r = await execa('ssh', sshArgs(t, command, t.identity ? master.use : []), { stdio: 'inherit', reject: false })
      .finally(() => t.identity && execa('ssh', sshArgs(t, [], master.exit), { reject: false, stdio: 'ignore' }));
    process.exitCode = r.exitCode ?? 255;
  }),
};

export const imageCommands: CommandModule<any, any>[] = [
  {
    command: 'image <command>',
    describe: 'Base images built from Debian\'s packages: build, list, info, rm',
    builder: (y: Argv) => y.command([build, list, info, rm]).demandCommand(1, 'name an image command'),
    handler: () => undefined,
  },
  ssh,
];
