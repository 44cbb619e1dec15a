// What an exporter refuses and what it notes. A field a format cannot express is
// refused (exit 2, naming the field), never dropped; a host-side setting that has
// no meaning in the other tool is named in a note. Importers list what they left.
import { invalid } from '../errors.js';

export interface Refusal { field: string; why: string }

export class Findings {
  readonly refused: Refusal[] = [];
  readonly notes: string[] = [];

  refuse(field: string, why: string): void { this.refused.push({ field, why }); }
  note(line: string): void { this.notes.push(line); }

  /** Throws INVALID listing every refused field, so one run shows them all. */
  check(what: string, hint: string): void {
    if (!this.refused.length) return;
    const lines = this.refused.map((r) => `  ${r.field}: ${r.why}`).join('\n');
    throw invalid(`${what}:\n${lines}`, hint);
  }
}
