// QEMU's seccomp filter. QEMU 7.2 installs it before -daemonize forks and calls
// setsid, so spawn=deny (fork) and elevateprivileges=deny (setsid) make a
// daemonized QEMU fail at once; both stay allowed, and what may spawn is
// decided before QEMU runs (config/trust.ts). Tap scripts and save's exec:
// also need spawn. See docs/safety.md.
import type { Device, Option } from './option.js';

export const SANDBOX = 'on,obsolete=deny,resourcecontrol=deny';

export class Sandbox implements Device {
  validate(): void { /* nothing to check */ }

  toArgs(): Option[] {
    return [{
      opt: '-sandbox',
      value: SANDBOX,
      explain: 'turns on QEMU\'s seccomp filter: obsolete system calls and changes to scheduling, priorities and CPU affinity are refused (spawn and privilege changes stay allowed: -daemonize needs them in QEMU 7.2)',
    }];
  }
}
