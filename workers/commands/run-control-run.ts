import { WorkflowNotFoundError } from '@temporalio/client';
import type { CommandIO, ParsedArgs } from '../../src/cli/command.js';
import { UsageError } from '../../src/errors.js';
import { connectTemporalClient } from '../temporal/temporal-client.js';
import { temporalSettings } from '../temporal/temporal-settings.js';

/** Sends one signal to a submitted run. */
export async function signalRun(
  signal: 'pause' | 'resume' | 'stop',
  args: ParsedArgs,
  io: CommandIO,
): Promise<number> {
  const runId = args.positionals[0];
  const settings = temporalSettings(args.strings);
  const { client, close } = await connectTemporalClient(settings);
  try {
    await client.workflow.getHandle(runId).signal(signal);
  } catch (error) {
    if (error instanceof WorkflowNotFoundError)
      throw new UsageError(
        `no running run '${runId}' in namespace '${settings.namespace}' at ${settings.address}`,
      );
    throw error;
  } finally {
    await close();
  }
  io.err(`${signal}: signalled run ${runId}`);
  return 0;
}
