// Firewall lines: iptables -t nat (masquerade, port forwards) and nft. qkvm
// writes one nft table per nat or routed network, and removes it at stop.
import type { ToolExplainer } from '../types.js';
import { equivalent, none, part, unknown } from '../words.js';
import { networkOf } from './ip.js';

const after = (a: string[], ...keys: string[]) => { for (const k of keys) { const i = a.indexOf(k); if (i >= 0) return a[i + 1]; } return undefined; };
const OWN = 'qkvm writes its own nft table for each nat or routed network when it starts, and removes it at stop';

export const explainIptables: ToolExplainer = (args, _ctx, tool) => {
  const table = after(args, '-t', '--table') ?? 'filter';
  const all = (says: string) => [part(args, says)];
  const listing = args.some((w) => /^-[a-zA-Z]*[LS]/.test(w) && !w.startsWith('--')) || args.includes('--list');
  if (listing) {
    const says = `lists the rules of the ${table} table`;
    return none(tool, says, 'a read-only look at the host; qkvm net info shows the rules a network adds', all(says), ['qkvm net info NET']);
  }
  const chain = after(args, '-A', '-I', '--append', '--insert');
  const target = after(args, '-j', '--jump');
  const src = after(args, '-s', '--source');
  const out = after(args, '-o', '--out-interface');
  if (table === 'nat' && chain === 'POSTROUTING' && target === 'MASQUERADE') {
    const net = src ? networkOf(src) ?? (/^[\d.]+\/\d+$/.test(src) ? src : undefined) : undefined;
    const says = `masquerades (source-NATs) traffic${src ? ` from ${src}` : ''}${out ? ` leaving through ${out}` : ''}: guests on a private subnet reach the outside through the host's address`;
    if (!net) return none(tool, says, 'qkvm masquerades per network subnet; this line names no subnet', all(says), ['qkvm net define nat0 --mode nat --subnet 192.168.100.0/24']);
    return equivalent(tool, says, ['qkvm', 'net', 'define', 'nat0', '--mode', 'nat', '--subnet', net, ...(out ? ['--uplink', out] : [])], all(says), ['qkvm net start nat0']);
  }
  if (table === 'nat' && chain === 'PREROUTING' && target === 'DNAT') {
    const port = after(args, '--dport');
    const to = after(args, '--to-destination', '--to');
    const says = `forwards the host's port ${port ?? '?'} to ${to ?? '?'} (a port forward into a guest)`;
    const guestPort = to?.split(':')[1] ?? port;
    return none(tool, says, 'qkvm adds no port forwards to nat networks; a user-mode network forwards a host port into the guest', all(says), port && guestPort ? [`qkvm net define fwd --mode user --hostfwd tcp::${port}-:${guestPort}`] : undefined);
  }
  if (table === 'filter' && chain === 'FORWARD' && target === 'ACCEPT') {
    const says = 'lets forwarded traffic through the host (between the guests\' bridge and the outside)';
    return none(tool, says, OWN, all(says), ['qkvm net define nat0 --mode nat --subnet 192.168.100.0/24']);
  }
  if (args.includes('-F') || args.includes('--flush')) {
    const says = `deletes every rule of the ${table} table`;
    return none(tool, says, `${OWN}; qkvm flushes nothing else`, all(says));
  }
  return unknown(tool, [tool, ...args.slice(0, 4)], 'qkvm explains iptables -t nat MASQUERADE and DNAT rules, FORWARD ACCEPT, listings and flushes; not this one');
};

export const explainNft: ToolExplainer = (args, _ctx, tool) => {
  const [verb, what] = args.filter((w) => !w.startsWith('-'));
  const all = (says: string) => [part(args, says)];
  if (verb === 'list') {
    const says = `lists nftables ${what ?? ''}`.trim();
    return none(tool, says, 'a read-only look at the host; qkvm net info shows the table a network adds', all(says), ['qkvm net info NET']);
  }
  if (['add', 'insert', 'create'].includes(verb) && ['table', 'chain', 'rule'].includes(what)) {
    const masq = args.includes('masquerade');
    const says = `adds an nftables ${what}${masq ? ' that masquerades (source-NATs) traffic' : ''}`;
    return none(tool, says, OWN, all(says), masq ? ['qkvm net define nat0 --mode nat --subnet 192.168.100.0/24'] : undefined);
  }
  if (['delete', 'flush'].includes(verb) && what) {
    const says = `${verb === 'flush' ? 'empties' : 'deletes'} nftables ${what}${what === 'ruleset' ? ' (every table, qkvm\'s too)' : ''}`;
    return none(tool, says, OWN, all(says));
  }
  return unknown(tool, [tool, ...args.slice(0, 2)], 'qkvm explains nft list, add/insert table|chain|rule, delete and flush; not this one');
};
