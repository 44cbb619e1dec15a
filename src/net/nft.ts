// The nftables table a network owns: masquerade for nat, a forwarding fence
// for isolated. One table per network, so stopping it deletes exactly its rules.
import { parseCidr } from './cidr.js';
import { bridgeOf, nftTableName } from './derive.js';
import { run, type CommandListener } from './exec.js';
import type { NetworkSpec } from './schema.js';
import { QkvmError } from '../errors.js';
import type { LiveTable, NftRecord } from './ownership.js';

/** The ruleset text (for `nft -f -`), or undefined when the mode needs no rules. */
export function nftRuleset(spec: NetworkSpec): string | undefined {
  const table = nftTableName(spec.name);
  const br = bridgeOf(spec);
  const lines: string[] = [];
  if (spec.mode === 'nat') {
    const net = parseCidr(spec.subnet!).cidr;
    const out = spec.uplink ? `oifname "${spec.uplink}" ` : '';
    lines.push(
      '  chain postrouting {',
      '    type nat hook postrouting priority srcnat; policy accept;',
      // Multicast and broadcast stay as they are, as libvirt does.
      `    ip saddr ${net} ip daddr 224.0.0.0/24 return`,
      `    ip saddr ${net} ip daddr 255.255.255.255 return`,
      `    ${out}ip saddr ${net} ip daddr != ${net} masquerade`,
      '  }',
    );
  } else if (spec.mode === 'isolated') {
    lines.push(
      '  chain forward {',
      '    type filter hook forward priority filter; policy accept;',
      // Guests reach each other over the bridge, and nothing is routed in or out.
      `    iifname "${br}" oifname != "${br}" drop`,
      `    oifname "${br}" iifname != "${br}" drop`,
      '  }',
    );
  } else {
    return undefined;
  }
  return [`table ip ${table} {`, ...lines, '}', ''].join('\n');
}

export async function nftTableExists(network: string): Promise<boolean> {
  return (await liveTable(nftTableName(network))) !== undefined;
}

/** Parses `nft -a list table ip T`: the table's handle and comment. */
export function parseTableListing(text: string): LiveTable | undefined {
  const h = /^table ip \S+ \{ # handle (\d+)$/m.exec(text);
  if (!h) return undefined;
  const c = /^\s*comment "([^"]*)"\s*$/m.exec(text);
  return { handle: Number(h[1]), comment: c?.[1] };
}

export async function liveTable(table: string): Promise<LiveTable | undefined> {
  const r = await run(['nft', '-a', 'list', 'table', 'ip', table], { allowFail: true });
  return r.exitCode === 0 ? parseTableListing(r.stdout) : undefined;
}

/**
 * Creates the table with `comment` (qkvm's marker) and returns its record.
 * `create table` fails if a table of that name exists, and with it the whole
 * transaction: qkvm never merges its rules into someone else's table.
 */
export async function applyNft(spec: NetworkSpec, comment: string, onCommand?: CommandListener): Promise<NftRecord | undefined> {
  const rules = nftRuleset(spec);
  if (!rules) return undefined;
  const table = nftTableName(spec.name);
  await run(['nft', '-f', '-'], { input: `create table ip ${table} { comment "${comment}" ; }\n${rules}`, onCommand });
  const live = await liveTable(table);
  if (!live || live.comment !== comment) throw new QkvmError('HOST', `nft table ip ${table} did not come up with qkvm's marker`);
  return { table, handle: live.handle, comment };
}

/** Deletes the table by its recorded handle, so a table made by someone else under the same name is never hit. */
export async function deleteNftHandle(rec: NftRecord, onCommand?: CommandListener): Promise<boolean> {
  const r = await run(['nft', 'delete', 'table', 'ip', 'handle', String(rec.handle)], { onCommand, allowFail: true });
  return r.exitCode === 0;
}
