/**
 * The `mal` process: the core commands (src/cli/commands) and the cluster commands (workers/commands) on one
 * program. bin/mal.js runs the compiled form (dist/workers/mal.js); tests run it in-process (test/support/run-mal.ts)
 * or from sources through tsx.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { CommandIO, RegistryEntry } from '../src/cli/command.js';
import { coreCommands } from '../src/cli/commands/index.js';
import { consoleIO } from '../src/cli/console-io.js';
import { packageVersion } from '../src/cli/package-version.js';
import { runProgram } from '../src/cli/program.js';
import { clusterCommandOverrides, clusterCommands } from './commands/index.js';

const overrides = new Map(clusterCommandOverrides.map((c) => [c.name, c]));

/** Every command; a core command with a cluster form (`study --cluster`) appears once, in its cluster form. */
export const malCommands: readonly RegistryEntry[] = [
  ...coreCommands.map((c) => overrides.get(c.name) ?? c),
  ...clusterCommands,
];

/** Runs `mal <argv…>` and returns its exit code; output goes to `io` (default: this process's streams). */
export function main(argv: readonly string[], io: CommandIO = consoleIO()): Promise<number> {
  return runProgram(argv, malCommands, io, { version: packageVersion(import.meta.url) });
}

// Run directly (`node --import tsx workers/mal.ts …`) rather than imported by bin/mal.js.
if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await main(process.argv.slice(2));
}
