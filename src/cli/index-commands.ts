// Build step: writes command-index.json beside this file (command name -> group),
// which lets the CLI load only the group a command belongs to.
import { writeFileSync } from 'node:fs';
import { commandGroups, commandNames } from './commands.js';

const index: Record<string, string> = {};
for (const [group, load] of Object.entries(commandGroups)) {
  for (const c of await load()) {
    for (const n of commandNames(c)) {
      if (index[n] && index[n] !== group) throw new Error(`command "${n}" is defined by both ${index[n]} and ${group}`);
      index[n] = group;
    }
  }
}
writeFileSync(new URL('./command-index.json', import.meta.url), JSON.stringify(index, null, 1) + '\n');
