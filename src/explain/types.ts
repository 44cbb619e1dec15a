// What `qkvm explain` says about one command of a tutorial line that is not
// a QEMU line: plain words for each part, and the qkvm line that does the same.

/** equivalent: `qkvm` does the same; none: qkvm has no such thing (and `why`); unknown: not a line qkvm knows. */
export type ToolVerdict = 'equivalent' | 'none' | 'unknown';

export interface Part {
  /** The words of the line this part covers, as written. */
  words: string;
  says: string;
}

export interface ToolExplanation {
  verdict: ToolVerdict;
  /** The tool's name as the line wrote it (after sudo and a prompt). */
  tool: string;
  /** What the whole command does, in one or two sentences. */
  says: string;
  parts: Part[];
  /** The qkvm line that does the same, exactly as it can be pasted (verdict equivalent). */
  qkvm?: string;
  /** Related qkvm lines worth knowing (a second step, or a check). */
  see?: string[];
  /** Why there is no equivalent, or what qkvm does not know. */
  why?: string;
  /** The swapped line this qkvm's own parser refused (so it is not offered as the equivalent), and its error. */
  refused?: { qkvm: string; error: string };
}

/** What a tool module may look up: qkvm's own command list, taken from its yargs commands. */
export interface ToolContext {
  /** Top-level qkvm command names and aliases -> their one-line description. */
  commands: ReadonlyMap<string, string>;
}

/** A tool module: the words after the tool's name -> the explanation. Pure. */
export type ToolExplainer = (args: string[], ctx: ToolContext, tool: string) => ToolExplanation;
