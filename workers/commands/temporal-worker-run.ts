import type { CommandIO, ParsedArgs } from '../../src/cli/command.js';
import { temporalSettings } from '../temporal/temporal-settings.js';
import { createTemporalWorker } from '../temporal/temporal-worker.js';

export async function runTemporalWorker(args: ParsedArgs, io: CommandIO): Promise<number> {
  const settings = temporalSettings(args.strings);
  const handle = await createTemporalWorker(settings);
  io.err(
    `temporal worker: polling task queue '${settings.taskQueue}' on ${settings.address} (namespace '${settings.namespace}')`,
  );
  await handle.run();
  io.err('temporal worker: stopped');
  return 0;
}
