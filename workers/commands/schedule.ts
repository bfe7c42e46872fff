import type { CommandDefinition } from '../../src/cli/command.js';
import { DEFAULT_SCHEDULE_ID, temporalOptionSpecs } from '../temporal/temporal-settings.js';

export const nightlyCommand: CommandDefinition = {
  name: 'schedule nightly',
  summary:
    'Create a Temporal Schedule that runs the zoo integration: assemble the zoo models added since the last published version into it and publish the next version when the objective improved.',
  positionals: [],
  options: {
    cron: { type: 'string', valueName: 'expr', description: 'cron expression, UTC', default: '0 2 * * *' },
    plan: {
      type: 'string',
      valueName: 'plan.yaml',
      description: 'the assembly plan (objective, policy)',
      required: true,
    },
    zoo: { type: 'string', valueName: 'dir', description: 'the zoo folder to watch', required: true },
    publish: {
      type: 'string',
      valueName: 'dir',
      description: 'publication folder: v1/, v2/, … and a latest pointer',
      required: true,
    },
    id: {
      type: 'string',
      valueName: 'schedule-id',
      description: 'schedule id',
      default: DEFAULT_SCHEDULE_ID,
    },
    ...temporalOptionSpecs,
  },
  run: async (args, io) => (await import('./schedule-run.js')).runNightly(args, io),
};

export const listCommand: CommandDefinition = {
  name: 'schedule ls',
  summary: 'List the Temporal Schedules: id, workflow, next run.',
  positionals: [],
  options: { ...temporalOptionSpecs },
  run: async (args, io) => (await import('./schedule-run.js')).runList(args, io),
};

/** Runs or removes one schedule by id. */
function scheduleActionCommand(action: 'delete' | 'trigger', summary: string): CommandDefinition {
  return {
    name: `schedule ${action}`,
    summary,
    positionals: ['schedule-id'],
    options: { ...temporalOptionSpecs },
    run: async (args, io) => (await import('./schedule-run.js')).runScheduleAction(action, args, io),
  };
}

export const triggerCommand = scheduleActionCommand('trigger', 'Run a schedule now, once.');
export const deleteCommand = scheduleActionCommand(
  'delete',
  'Delete a schedule (runs already started go on).',
);
