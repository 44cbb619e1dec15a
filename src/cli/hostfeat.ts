// `qkvm host hugepages ...` and `qkvm host ksm ...`: thin wrappers over src/host/.
import type { Argv, CommandModule } from 'yargs';
import { action } from './action.js';
import { fmtBytes, keyValues, note, print, printJson, table } from './output.js';

const hp = () => import('../host/hugepages.js');
const json = (y: Argv) => y.option('json', { type: 'boolean', default: false, describe: 'print JSON' });

const reserve: CommandModule<any, any> = {
  command: 'reserve <count>',
  describe: 'Set how many huge pages the kernel keeps (nr_hugepages) and report how many it really gave',
  builder: (y: Argv) => json(y.positional('count', { type: 'string', describe: 'number of pages (0 gives them all back)' })
    .option('size', { type: 'string', describe: 'page size, e.g. 2M or 1G (default: the kernel\'s default huge page size)' }))
    .example('qkvm host hugepages reserve 512', 'keep 512 pages of 2M (1 GiB) for guests with hugepages: true'),
  handler: action(async (a) => {
    const r = (await hp()).reserveHugepages(a.count, a.size);
    if (a.json) return printJson(r);
    print(`huge pages of ${r.size}: ${r.total} reserved (asked ${r.requested}, was ${r.previous}), ${r.free} free`);
    if (r.total < r.requested) note(`the kernel gave ${r.total} of ${r.requested}: memory is short or fragmented; reserve early after boot, or use vm.nr_hugepages in /etc/sysctl.conf`);
  }),
};

const mount: CommandModule<any, any> = {
  command: 'mount [dir]',
  describe: 'Mount hugetlbfs (at /dev/hugepages by default) unless one is mounted; qkvm records it so that unmount removes only its own',
  builder: (y: Argv) => json(y.positional('dir', { type: 'string', describe: 'mount point (made if missing)' })
    .option('size', { type: 'string', describe: 'page size of the mount, e.g. 2M or 1G' }))
    .example('qkvm host hugepages mount', 'the tutorial\'s `mount -t hugetlbfs hugetlbfs /dev/hugepages`'),
  handler: action(async (a) => {
    const r = await (await hp()).mountHugetlbfs(a.dir, { size: a.size });
    if (a.json) return printJson(r);
    print(r.mounted ? `mounted hugetlbfs (${fmtBytes(r.pageBytes)} pages) at ${r.path}` : `hugetlbfs (${fmtBytes(r.pageBytes)} pages) is already mounted at ${r.path}: nothing to do`);
  }),
};

const unmount: CommandModule<any, any> = {
  command: 'unmount [dir]',
  aliases: ['umount'],
  describe: 'Unmount a hugetlbfs that qkvm mounted (default /dev/hugepages); others are left in place',
  builder: (y: Argv) => json(y.positional('dir', { type: 'string', describe: 'mount point' }))
    .example('qkvm host hugepages unmount', ''),
  handler: action(async (a) => {
    const r = await (await hp()).unmountHugetlbfs(a.dir);
    if (a.json) return printJson(r);
    print(`unmounted hugetlbfs at ${r.path}${r.removedDir ? ' (and removed the directory qkvm made)' : ''}`);
  }),
};

export const hugepagesCommand: CommandModule<any, any> = {
  command: 'hugepages',
  describe: 'Huge pages: the pools per page size and the hugetlbfs mounts (subcommands: reserve, mount, unmount)',
  builder: (y: Argv) => json(y.command([reserve, mount, unmount]))
    .example('qkvm host hugepages', 'what `grep Huge /proc/meminfo` and `mount | grep hugetlbfs` show'),
  handler: action(async (a) => {
    const st = (await hp()).hugepagesStatus();
    if (a.json) return printJson(st);
    print(table(st.pools, [
      { header: 'Page size', get: (p) => p.size }, { header: 'Total', get: (p) => p.total, align: 'right' },
      { header: 'Free', get: (p) => p.free, align: 'right' }, { header: 'Reserved', get: (p) => p.reserved, align: 'right' },
      { header: 'Available', get: (p) => p.available, align: 'right' }, { header: 'Memory', get: (p) => fmtBytes(p.total * p.pageBytes) },
    ]));
    print('');
    if (!st.mounts.length) print('hugetlbfs: not mounted (guests with hugepages: true will not start; `qkvm host hugepages mount`)');
    for (const m of st.mounts) print(`hugetlbfs: ${m.path} (${fmtBytes(m.pageBytes)} pages${m.ownedByQkvm ? ', mounted by qkvm' : ''})`);
  }),
};

export const ksmCommand: CommandModule<any, any> = {
  command: 'ksm [state]',
  describe: 'Kernel samepage merging: on, off (--unmerge to copy merged pages back out), or status (the default)',
  builder: (y: Argv) => json(y.positional('state', { type: 'string', choices: ['on', 'off', 'status'], default: 'status' })
    .option('unmerge', { type: 'boolean', default: false, describe: 'with off: write 2, unmerging every shared page (needs that memory free); plain off writes 0 and keeps merged pages merged' }))
    .example('qkvm host ksm on', 'the tutorial\'s `echo 1 > /sys/kernel/mm/ksm/run`')
    .example('qkvm host ksm off --unmerge', '`echo 2 > /sys/kernel/mm/ksm/run`'),
  handler: action(async (a) => {
    const ksm = await import('../host/ksm.js');
    if (a.state === 'status' && a.unmerge) throw ksm.unmergeNeedsOff();
    const st = a.state === 'status' ? ksm.ksmStatus() : ksm.setKsm(a.state, { unmerge: a.unmerge }).status;
    if (a.json) return printJson(st);
    print(keyValues([
      ['KSM', `${st.state} (run=${st.run}${st.run === 0 ? ': not scanning; merged pages stay merged' : st.run === 2 ? ': not scanning; merged pages were copied back out' : ': merging identical pages'})`],
      ['pages shared', st.pagesShared], ['pages sharing', st.pagesSharing], ['pages unshared', st.pagesUnshared],
      ['full scans', st.fullScans], ['saved', `${fmtBytes(st.savedBytes)} (pages sharing x ${st.pageBytes / 1024} KiB)`],
    ]));
    note('guests\' memory is merged only when QEMU marks it mergeable: mem-merge, on by default for x86 guests (`memMerge: false` in a definition turns it off)');
  }),
};
