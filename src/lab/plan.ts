// A lab's plan: the resolved topology turned into what qkvm makes for it (one
// guest definition per node, one network definition per network, the relay's
// links, the images the lab creates), every part validated by the same zod
// schemas as `qkvm define` and `qkvm net define`, before anything runs.
import { existsSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { home, run } from '../config/paths.js';
import { parseVmSpec, type VmSpec, type VmSpecInput } from '../config/schema.js';
import { parseMemory } from '../config/size.js';
import { QkvmError, invalid } from '../errors.js';
import { parseNetworkSpec, type NetworkSpec } from '../net/schema.js';
import { formatOf } from '../qemu/devices/block.js';
import { templateSpec } from '../runtime/define.js';
import type { Impairment, Topology } from './topology.js';

/** Size of the qcow2 disk a node gets when it has none, so that `lab save` has somewhere to put its RAM state. */
export const STATE_DISK_SIZE = '16M';
/** What one QEMU process costs beyond its guest's RAM (TCG code cache, device models, QEMU itself), for the memory check. */
export const QEMU_OVERHEAD_BYTES = 96 * 1024 * 1024;
/** The template a node gets when it names none. */
export const DEFAULT_TEMPLATE = 'demo';

/** An image the lab creates for a node: a linked clone of `base:`, or the small qcow2 state disk. */
export interface PlannedImage { path: string; kind: 'overlay' | 'state'; backing?: string; size?: string }

export interface NodePlan {
  key: string;
  guest: string;
  /** The definition as stored (input form: what `qkvm dumpconfig` shows). */
  input: VmSpecInput;
  spec: VmSpec;
  images: PlannedImage[];
  memoryBytes: number;
}

export interface NetworkPlan { key: string; name: string; spec: NetworkSpec; /** subnet left for defineNetwork to pick */ pickSubnet: boolean }

/** One point-to-point link as the relay takes it (src/lab/relay.ts RelayLink): a and b are the QEMU sockets. */
export interface PlannedLink { id: string; a: string; b: string; impair: Impairment; up: boolean }

export interface LabPlan {
  topology: Topology;
  nodes: NodePlan[];
  networks: NetworkPlan[];
  links: PlannedLink[];
}

/** Turns a lab's topology into its plan; `fileDir` resolves a relative `base:`. Throws INVALID naming the bad value. */
export function planLab(topo: Topology, fileDir: string, source = 'lab file'): LabPlan {
  const networks = topo.networks.map((n): NetworkPlan => {
    const mode = n.fields.mode;
    if (mode === 'bridge' || mode === 'user') {
      throw invalid(`${source}: networks.${n.key}.mode: ${mode} is not a lab network`, 'use isolated, routed or nat (a lab creates and removes its networks; bridge joins a host bridge, user is QEMU\'s slirp)');
    }
    if ('name' in n.fields) throw invalid(`${source}: networks.${n.key}.name: a lab network is named by its key (${n.name})`);
    const needsSubnet = (mode === 'nat' || mode === 'routed') && n.fields.subnet === undefined;
    // nat and routed need a subnet: defineNetwork picks a free one when the file gives none.
    const input = { ...n.fields, name: n.name, ...(needsSubnet ? { subnet: '192.168.100.0/24' } : {}) };
    return { key: n.key, name: n.name, spec: parseNetworkSpec(input, `${source}: networks.${n.key}`), pickSubnet: needsSubnet };
  });

  const nodes = topo.nodes.map((node): NodePlan => {
    const where = `${source}: nodes.${node.key}`;
    const { template, base, ...fields } = node.fields as Record<string, unknown> & { template?: string; base?: string };
    let tpl: VmSpecInput;
    try {
      tpl = templateSpec(template ?? DEFAULT_TEMPLATE, node.guest);
    } catch (e) {
      if (e instanceof QkvmError) throw invalid(`${where}.template: ${e.message}`, e.hint);
      throw e;
    }
    const disks: Record<string, unknown>[] = [...((fields.disks ?? tpl.disks ?? []) as Record<string, unknown>[])];
    const images: PlannedImage[] = [];
    if (base !== undefined) {
      const backing = isAbsolute(base) ? base : resolve(fileDir, base);
      if (!existsSync(backing) || !statSync(backing).isFile()) throw invalid(`${where}.base: no image file ${backing}`, 'give the path of an existing image (relative paths are read from the lab file\'s directory)');
      const path = join(home.imagesDir(), `${node.guest}.qcow2`);
      images.push({ path, kind: 'overlay', backing });
      disks.unshift({ file: path, format: 'qcow2' });
    }
    const input: VmSpecInput = { ...tpl, ...fields, name: node.guest, disks: disks as any, nics: nicsOf(topo, node.key) as any };
    let spec = parseVmSpec(input, where);
    // Internal snapshots (lab save) need a writable qcow2 disk to hold the RAM state.
    if (!spec.disks.some((d) => formatOf(d) === 'qcow2' && !d.readonly && d.media === 'disk' && !d.snapshot)) {
      const path = join(home.imagesDir(), `${node.guest}-state.qcow2`);
      images.push({ path, kind: 'state', size: STATE_DISK_SIZE });
      input.disks = [...disks, { file: path, format: 'qcow2' }] as any;
      spec = parseVmSpec(input, where);
    }
    return { key: node.key, guest: node.guest, input, spec, images, memoryBytes: parseMemory(spec.memory, `${where}.memory`) };
  });

  const byKey = new Map(nodes.map((n) => [n.key, n]));
  const links = topo.links.filter((l) => l.kind === 'p2p').map((l): PlannedLink => {
    const b = l.b as { node: string; ifc: number };
    return { id: l.id, a: run.linkSocket(byKey.get(l.a.node)!.guest, l.a.ifc), b: run.linkSocket(byKey.get(b.node)!.guest, b.ifc), impair: l.impair, up: true };
  });
  return { topology: topo, nodes, networks, links };
}

/** A node's NICs in ethN order: a link NIC for a point-to-point link, a network NIC on LAB-NET for a network link. */
export function nicsOf(topo: Topology, key: string): Record<string, unknown>[] {
  const ends: { ifc: number; nic: Record<string, unknown> }[] = [];
  for (const l of topo.links) {
    for (const [me, other] of [[l.a, l.b], [l.b, l.a]] as const) {
      if ('network' in me || me.node !== key) continue;
      const nic = 'network' in other
        ? { type: 'network', network: `${topo.name}-${other.network}`, model: 'virtio' }
        : { type: 'link', model: 'virtio' };
      ends.push({ ifc: me.ifc, nic });
    }
  }
  return ends.sort((x, y) => x.ifc - y.ifc).map((e) => e.nic);
}

/** What the nodes to start will take: their RAM plus QEMU's own overhead each. */
export function memoryNeed(nodes: NodePlan[]): number {
  return nodes.reduce((sum, n) => sum + n.memoryBytes + QEMU_OVERHEAD_BYTES, 0);
}

/** MemAvailable from /proc/meminfo, in bytes (undefined when unreadable). */
export function memAvailable(meminfo: string): number | undefined {
  const m = /^MemAvailable:\s+(\d+)\s+kB/m.exec(meminfo);
  return m ? Number(m[1]) * 1024 : undefined;
}

const mib = (b: number) => `${Math.round(b / 1024 / 1024)} MiB`;

/** Refuses a lab whose nodes cannot fit in the host's available memory. */
export function checkMemory(lab: string, nodes: NodePlan[], available: number | undefined): { need: number; available?: number } {
  const need = memoryNeed(nodes);
  if (available !== undefined && nodes.length && need > available) {
    throw new QkvmError('HOST', `lab ${lab}: ${nodes.length} node(s) need ${mib(need)} (their memory plus ${mib(QEMU_OVERHEAD_BYTES)} per QEMU), but this host has ${mib(available)} available`, {
      hint: 'lower memory: in the lab file (defaults: { memory: 160M }), run fewer nodes, or free memory; nodes from one base: image share it as linked clones, and KSM (`qkvm host ksm on`) merges their identical pages once they run',
    });
  }
  return { need, available };
}

export const labFileDir = (file: string) => dirname(resolve(file));
