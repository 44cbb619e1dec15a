// Golden tests (after Proxmox's cfg2cmd): each test/qemu/golden/NAME.yaml is
// built with a fixed host and fixed run paths, and must print exactly NAME.cmd.
// UPDATE_GOLDEN=1 rewrites the .cmd files; review the diff like code.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { buildCommand } from '../../src/qemu/builder.js';
import { formatCommand } from '../../src/qemu/format.js';
import { fixtureNames, loadFixture } from './golden/load.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';

describe('golden command lines', () => {
  for (const name of fixtureNames()) {
    it(name, () => {
      const f = loadFixture(name);
      const cmd = buildCommand(f.spec, f.ctx);
      const text = formatCommand(cmd);
      if (UPDATE || !existsSync(f.cmdFile)) {
        if (!UPDATE) throw new Error(`${f.cmdFile} is missing: run with UPDATE_GOLDEN=1 to write it`);
        writeFileSync(f.cmdFile, text);
      }
      expect(text).toBe(readFileSync(f.cmdFile, 'utf8'));
      // Every option carries its sentence, and argv is exactly the options in order.
      for (const o of cmd.options) expect(o.explain, `${o.opt} ${o.value ?? ''}`).toMatch(/^\S.{10,}$/);
      expect(cmd.args).toEqual(cmd.options.flatMap((o) => (o.value === undefined ? [o.opt] : [o.opt, o.value])));
    });
  }

  it('has a fixture for every field of the definition', () => {
    const seen = new Set<string>();
    const walk = (v: unknown, at: string) => {
      if (v && typeof v === 'object' && !Array.isArray(v)) {
        for (const [k, x] of Object.entries(v)) {
          const p = at ? `${at}.${k}` : k;
          seen.add(p);
          if (!['vcpupin'].includes(k)) walk(x, p);
        }
      } else if (Array.isArray(v)) {
        for (const x of v) walk(x, `${at}[]`);
      }
    };
    const values = new Map<string, Set<string>>();
    const note = (k: string, v: unknown) => {
      if (!values.has(k)) values.set(k, new Set());
      values.get(k)!.add(String(v));
    };
    for (const name of fixtureNames()) {
      const raw = readFileSync(`${loadFixture(name).yamlFile}`, 'utf8');
      const doc = parse(raw) as Record<string, any>;
      delete doc._golden;
      walk(doc, '');
      const spec = loadFixture(name).spec;
      note('machine', spec.machine);
      note('accel', spec.accel);
      note('vga', spec.vga);
      note('smp', typeof spec.smp);
      for (const d of spec.disks) {
        note('disk.bus', d.bus); note('disk.media', d.media); note('disk.cache', d.cache);
        note('disk.readonly', d.readonly); note('disk.snapshot', d.snapshot); note('disk.format', d.format);
      }
      for (const n of spec.nics) { note('nic.type', n.type); note('nic.model', n.model); note('nic.vhost', n.vhost); }
      note('display.type', spec.display.type); note('display.password', spec.display.password);
      note('balloon', spec.balloon); note('serial', spec.serial); note('tablet', spec.tablet); note('agent', spec.agent);
      note('hugepages', spec.hugepages); note('memMerge', spec.memMerge);
    }
    const fields = [
      'name', 'memory', 'cpu', 'smp', 'smp.cpus', 'smp.sockets', 'smp.cores', 'smp.threads', 'smp.maxcpus',
      'machine', 'accel', 'boot', 'boot.order', 'boot.once', 'boot.menu', 'kernel', 'initrd', 'append',
      'disks', 'disks[].file', 'disks[].format', 'disks[].bus', 'disks[].media', 'disks[].cache',
      'disks[].readonly', 'disks[].snapshot', 'disks[].target',
      'nics', 'nics[].type', 'nics[].network', 'nics[].hostfwd', 'nics[].model', 'nics[].mac', 'nics[].vhost',
      'display', 'display.type', 'display.listen', 'display.display', 'display.password',
      'vga', 'balloon', 'tablet', 'serial', 'numa', 'numa[].cpus', 'numa[].memory', 'hugepages', 'memMerge',
      'autostart', 'vcpupin', 'extraArgs', 'description', 'cloudInit', 'agent',
    ];
    expect(fields.filter((f) => !seen.has(f))).toEqual([]);
    const want: Record<string, string[]> = {
      machine: ['pc', 'q35', 'microvm'],
      accel: ['auto', 'kvm', 'tcg'],
      vga: ['std', 'cirrus', 'vmware', 'qxl', 'virtio', 'none', 'undefined'],
      smp: ['number', 'object'],
      'disk.bus': ['virtio', 'ide', 'scsi', 'sata'],
      'disk.media': ['disk', 'cdrom'],
      'disk.cache': ['none', 'writeback', 'writethrough', 'unsafe', 'directsync', 'undefined'],
      'disk.readonly': ['true', 'false'],
      'disk.snapshot': ['true', 'false'],
      'disk.format': ['qcow2', 'raw', 'undefined'],
      'nic.type': ['network', 'user', 'link'],
      'nic.model': ['virtio', 'e1000', 'rtl8139'],
      'nic.vhost': ['auto', 'on', 'off'],
      'display.type': ['none', 'vnc'],
      'display.password': ['true', 'false'],
      balloon: ['true', 'false'], serial: ['true', 'false'], tablet: ['true', 'false'], agent: ['true', 'false'],
      hugepages: ['true', 'false'], memMerge: ['true', 'false', 'undefined'],
    };
    for (const [k, vs] of Object.entries(want)) {
      expect([...(values.get(k) ?? [])].sort(), k).toEqual([...vs].sort());
    }
  });
});
