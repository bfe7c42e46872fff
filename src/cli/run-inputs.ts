import type { RunInput } from '../io/output-guard.js';
import type { ParsedArgs } from './command.js';

/** The files named by string options that were given (`--maps`, `--base-spec`), as inputs of the run. */
export function optionalInputs(args: ParsedArgs, roles: Readonly<Record<string, string>>): RunInput[] {
  return Object.entries(roles).flatMap(([option, role]) => {
    const path = args.strings.get(option);
    return path === undefined ? [] : [{ path, role }];
  });
}
