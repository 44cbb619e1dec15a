// vCPU arithmetic, kept apart from the zod schema so that light commands (list) need not load zod.
export type SmpField = number | { cpus?: number; sockets?: number; cores?: number; threads?: number; maxcpus?: number };

/** The definition's vCPU figures, whatever form smp took. */
export function smpOf(spec: { smp: SmpField }): { cpus: number; maxcpus: number; sockets?: number; cores?: number; threads?: number } {
  if (typeof spec.smp === 'number') return { cpus: spec.smp, maxcpus: spec.smp };
  const topo = spec.smp.sockets || spec.smp.cores || spec.smp.threads
    ? (spec.smp.sockets ?? 1) * (spec.smp.cores ?? 1) * (spec.smp.threads ?? 1) : undefined;
  const maxcpus = spec.smp.maxcpus ?? topo ?? spec.smp.cpus ?? 1;
  return { ...spec.smp, cpus: spec.smp.cpus ?? maxcpus, maxcpus };
}
