// What the builder needs to know about the host. Resolved before building (probe.ts
// for the binary, host/ for the KVM boot probe), so that the builder stays pure.
export interface HostCaps {
  /** The qemu-system binary to run (a path or a name on PATH). */
  binary: string;
  /** QEMU's version, e.g. "7.2.22". */
  version: string;
  /** The accelerator `accel: auto` resolved to. */
  accel: 'kvm' | 'tcg';
  /** Why auto chose this accelerator, for `--explain` (e.g. "KVM guests hang on this host"). */
  accelReason?: string;
  /** /dev/vhost-net exists and can be opened: virtio-net taps may use vhost=on. */
  vhostNet: boolean;
  /** false when this QEMU has no seccomp (-sandbox is then left out); Debian's has it. */
  sandbox?: boolean;
}
