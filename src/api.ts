// The public library surface: what the CLI uses, and what other programs may import.
export { QkvmError, type QkvmErrorCode } from './errors.js';
export { qkvmHome, qkvmRun, home, run } from './config/paths.js';
export { VmSpec, parseVmSpec, validateName, smpOf, type VmSpecInput } from './config/schema.js';
export { parseSize, formatSize } from './config/size.js';
export { loadVm, saveVm, listVmNames, vmExists, parseVmYaml } from './config/store.js';
export { buildCommand, type QemuCommand, type BuildContext } from './qemu/builder.js';
export { formatCommand, shellQuote } from './qemu/format.js';
export { resolveCaps, qemuBinary } from './runtime/caps.js';
export { startGuest, commandFor, type StartOptions } from './runtime/start.js';
export { shutdownGuest, destroyGuest, suspendGuest, resumeGuest, resetGuest, rebootGuest } from './runtime/stop.js';
export { guestStatus, type GuestStatus, type GuestState } from './runtime/state.js';
export { listGuests, guestInfo, type GuestInfo, type GuestSummary } from './runtime/info.js';
export { openConsole, waitForConsole, consoleLog } from './runtime/console.js';
export { hmp, qmpPassthrough, vnc } from './runtime/monitor.js';
export { withQmp, connectQmp } from './runtime/qmp.js';
export { createGuest, defineGuest, dumpConfig, undefineGuest, editGuest, setAutostart, updateDefinition, templateNames, templateSpec } from './runtime/define.js';
export { QmpClient } from './qmp/index.js';
export * from './storage/index.js';
