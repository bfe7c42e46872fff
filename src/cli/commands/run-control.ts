import { WorkflowNotFoundError } from '@temporalio/client';
import { connectTemporalClient } from '../../../workers/temporal/temporal-client.js';
import { temporalOptionSpecs, temporalSettings } from '../../../workers/temporal/temporal-settings.js';
import { UsageError } from '../../errors.js';
import type { Command } from '../command.js';

/** `mal pause|resume|stop <run>`: one signal each to a submitted run. */
function runControlCommand(signal: 'pause' | 'resume' | 'stop', summary: string): Command {
  return {
    name: signal,
    summary,
    positionals: ['run'],
    options: { ...temporalOptionSpecs },
    async run(args, io) {
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
    },
  };
}

export const runControlCommands: readonly Command[] = [
  runControlCommand('pause', 'Pause a submitted run after its current step.'),
  runControlCommand('resume', 'Resume a paused run.'),
  runControlCommand('stop', 'Stop a submitted run after its current step and write its outputs.'),
];
