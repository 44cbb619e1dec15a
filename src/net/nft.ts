// The nftables table a network owns: masquerade for nat, a forwarding fence
// for isolated. One table per network, so stopping it deletes exactly its rules.
import { parseCidr } from './cidr.js';
import { bridgeOf, nftTableName } from './derive.js';
import { run, type CommandListener } from './exec.js';
import type { NetworkSpec } from './schema.js';

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
  const r = await run(['nft', 'list', 'table', 'ip', nftTableName(network)], { allowFail: true });
  return r.exitCode === 0;
}

/** Loads the table, replacing an older copy in the same transaction. */
export async function applyNft(spec: NetworkSpec, onCommand?: CommandListener): Promise<void> {
  const rules = nftRuleset(spec);
  if (!rules) return;
  const table = nftTableName(spec.name);
  // add + delete + define in one file: nft applies it atomically, whether or not the table existed.
  const text = `add table ip ${table}\ndelete table ip ${table}\n${rules}`;
  await run(['nft', '-f', '-'], { input: text, onCommand });
}

export async function deleteNft(network: string, onCommand?: CommandListener): Promise<void> {
  if (!(await nftTableExists(network))) return;
  await run(['nft', 'delete', 'table', 'ip', nftTableName(network)], { onCommand, allowFail: true });
}
