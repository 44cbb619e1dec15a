// The legacy command-line translator: explains old qemu-kvm lines option by
// option, writes the modern QEMU 7.2 command, and turns a line into a VM definition.
export { explainCommandLine } from './translate.js';
export { specFromCommandLine, type SpecFromCommandLine } from './to-spec.js';
export { formatExplanation, formatModernCommand } from './format.js';
export { normalizeCommandLine, splitCommandLine, type CommandLine } from './tokenize.js';
export { OPTIONS as LEGACY_OPTIONS } from './options.js';
export type { Explanation, ExplanationEntry, LegacyStatus } from './types.js';
