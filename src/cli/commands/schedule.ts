import { resolve } from 'node:path';
import { ScheduleAlreadyRunning, ScheduleNotFoundError } from '@temporalio/client';
import { connectTemporalClient } from '../../../workers/temporal/temporal-client.js';
import { temporalOptionSpecs, temporalSettings } from '../../../workers/temporal/temporal-settings.js';
import type { ZooIntegrationInput } from '../../../workflows/zoo-integration-types.js';
import { loadPlanFile } from '../../assembly/plan-file.js';
import { UsageError } from '../../errors.js';
import { openZoo } from '../../zoo/zoo-folder.js';
import type { Command, ParsedArgs } from '../command.js';

const DEFAULT_SCHEDULE_ID = 'mal-nightly';

function requiredString(args: ParsedArgs, name: string): string {
  const value = args.strings.get(name);
  if (value === undefined || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

const nightlyCommand: Command = {
  name: 'schedule nightly',
  summary:
    'Create a Temporal Schedule that runs the zoo integration: assemble the zoo models added since the last published version into it and publish the next version when the objective improved.',
  positionals: [],
  options: {
    cron: { type: 'string', valueName: 'expr', description: 'cron expression, UTC', default: '0 2 * * *' },
    plan: {
      type: 'string',
      valueName: 'plan.yaml',
      description: 'the assembly plan (objective, policy) [required]',
    },
    zoo: { type: 'string', valueName: 'dir', description: 'the zoo folder to watch [required]' },
    publish: {
      type: 'string',
      valueName: 'dir',
      description: 'publication folder: v1/, v2/, … and a latest pointer [required]',
    },
    id: {
      type: 'string',
      valueName: 'schedule-id',
      description: 'schedule id',
      default: DEFAULT_SCHEDULE_ID,
    },
    ...temporalOptionSpecs,
  },
  async run(args, io) {
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
  },
};

const listCommand: Command = {
  name: 'schedule ls',
  summary: 'List the Temporal Schedules: id, workflow, next run.',
  positionals: [],
  options: { ...temporalOptionSpecs },
  async run(args, io) {
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
  },
};

/** Runs or removes one schedule by id. */
function scheduleActionCommand(action: 'delete' | 'trigger', summary: string): Command {
  return {
    name: `schedule ${action}`,
    summary,
    positionals: ['schedule-id'],
    options: { ...temporalOptionSpecs },
    async run(args, io) {
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
    },
  };
}

export const scheduleCommands: readonly Command[] = [
  nightlyCommand,
  listCommand,
  scheduleActionCommand('trigger', 'Run a schedule now, once.'),
  scheduleActionCommand('delete', 'Delete a schedule (runs already started go on).'),
];
