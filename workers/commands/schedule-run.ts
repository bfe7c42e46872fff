import { resolve } from 'node:path';
import { ScheduleAlreadyRunning, ScheduleNotFoundError } from '@temporalio/client';
import { loadPlanFile } from '../../src/assembly/plan-file.js';
import type { CommandIO, ParsedArgs } from '../../src/cli/command.js';
import { requiredString } from '../../src/cli/command.js';
import { UsageError } from '../../src/errors.js';
import { openZoo } from '../../src/zoo/zoo-folder.js';
import type { ZooIntegrationInput } from '../../workflows/zoo-integration-types.js';
import { connectTemporalClient } from '../temporal/temporal-client.js';
import { DEFAULT_SCHEDULE_ID, temporalSettings } from '../temporal/temporal-settings.js';

export async function runNightly(args: ParsedArgs, io: CommandIO): Promise<number> {
  const plan = resolve(requiredString(args, 'plan'));
  const zoo = resolve(requiredString(args, 'zoo'));
  const publish = resolve(requiredString(args, 'publish'));
  // Fail now on a bad plan or zoo, not at two in the morning.
  await loadPlanFile(plan);
  await openZoo(zoo);
  const scheduleId = args.strings.get('id') ?? DEFAULT_SCHEDULE_ID;
  const cron = args.strings.get('cron') ?? '0 2 * * *';
  const settings = temporalSettings(args.strings);
  const { client, close } = await connectTemporalClient(settings);
  try {
    const input: ZooIntegrationInput = { plan, zoo, publish };
    await client.schedule.create({
      scheduleId,
      spec: { cronExpressions: [cron] },
      action: {
        type: 'startWorkflow',
        workflowType: 'zooIntegrationWorkflow',
        taskQueue: settings.taskQueue,
        workflowId: `${scheduleId}-run`,
        args: [input],
      },
    });
  } catch (error) {
    if (error instanceof ScheduleAlreadyRunning)
      throw new UsageError(
        `a schedule '${scheduleId}' exists; 'mal schedule delete ${scheduleId}' first or pick --id`,
      );
    throw error;
  } finally {
    await close();
  }
  io.out(scheduleId);
  io.err(`scheduled zoo integration '${scheduleId}' at '${cron}' (UTC): ${zoo} → ${publish}`);
  return 0;
}

export async function runList(args: ParsedArgs, io: CommandIO): Promise<number> {
  const settings = temporalSettings(args.strings);
  const { client, close } = await connectTemporalClient(settings);
  try {
    for await (const s of client.schedule.list()) {
      const next = s.info.nextActionTimes[0]?.toISOString() ?? 'none';
      const action = s.action?.type === 'startWorkflow' ? s.action.workflowType : 'unknown';
      io.out(`${s.scheduleId}\t${action}\tnext ${next}${s.state.paused ? '\tpaused' : ''}`);
    }
  } finally {
    await close();
  }
  return 0;
}

/** Runs or removes one schedule by id. */
export async function runScheduleAction(
  action: 'delete' | 'trigger',
  args: ParsedArgs,
  io: CommandIO,
): Promise<number> {
  const scheduleId = args.positionals[0];
  const settings = temporalSettings(args.strings);
  const { client, close } = await connectTemporalClient(settings);
  try {
    const handle = client.schedule.getHandle(scheduleId);
    if (action === 'delete') await handle.delete();
    else await handle.trigger();
  } catch (error) {
    if (error instanceof ScheduleNotFoundError) throw new UsageError(`no schedule '${scheduleId}'`);
    throw error;
  } finally {
    await close();
  }
  io.err(`${action === 'delete' ? 'deleted' : 'triggered'} schedule ${scheduleId}`);
  return 0;
}
