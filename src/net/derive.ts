// Names qkvm derives for a network's host-side objects: the bridge and the
// nftables table. Pure and stable, so a later command finds what an earlier one made.
import { createHash } from 'node:crypto';
import type { NetworkSpec } from './schema.js';

const shortHash = (text: string, len: number) => createHash('sha256').update(text).digest('hex').slice(0, len);

/** qkbr-NAME when it fits in 15 characters, otherwise qkbr-PREFIX + a hash of the whole name. */
export function derivedBridgeName(network: string): string {
  const plain = `qkbr-${network}`;
  if (plain.length <= 15) return plain;
  return `qkbr-${network.slice(0, 4)}${shortHash(network, 6)}`;
}

export function bridgeOf(spec: Pick<NetworkSpec, 'name' | 'bridge'>): string {
  return spec.bridge ?? derivedBridgeName(spec.name);
}

/** nft identifiers take [A-Za-z0-9_]: other characters become _ and a hash keeps names apart. */
export function nftTableName(network: string): string {
  const safe = network.replace(/[^A-Za-z0-9_]/g, '_');
  return safe === network ? `qkvm_${network}` : `qkvm_${safe}_${shortHash(network, 6)}`;
}
