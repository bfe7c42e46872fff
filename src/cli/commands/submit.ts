import { basename, resolve } from 'node:path';
import { WorkflowExecutionAlreadyStartedError } from '@temporalio/client';
import { connectTemporalClient } from '../../../workers/temporal/temporal-client.js';
import { temporalOptionSpecs, temporalSettings } from '../../../workers/temporal/temporal-settings.js';
import type { AssemblyWorkflowInput, FinishedRun } from '../../../workflows/assembly-types.js';
import { loadPlanFile } from '../../assembly/plan-file.js';
import { validatePlan } from '../../assembly/validate-plan.js';
import { BACKEND_PREFERENCES, isBackendPreference } from '../../compute/backend.js';
import { UsageError } from '../../errors.js';
import { sha256 } from '../../store/content-store.js';
import { type Command, numberOption } from '../command.js';

export const submitCommand: Command = {
  name: 'submit',
  summary:
    'Submit an assembly plan to the Temporal cluster as a durable run and print its run id. The plan, zoo and output folder must be at the same paths on the Temporal workers (a shared folder).',
  positionals: ['plan'],
  options: {
    out: { type: 'string', valueName: 'dir', description: "output folder (default: the plan's output)" },
    id: { type: 'string', valueName: 'run-id', description: 'run id (default: assemble-<plan>-<time>)' },
    backend: {
      type: 'string',
      valueName: BACKEND_PREFERENCES.join('|'),
      description: "TensorFlow.js backend on the workers (default: the plan's)",
    },
    'steps-per-execution': {
      type: 'string',
      valueName: 'n',
      description: 'steps per workflow execution before continue-as-new (default 20)',
    },
    'heartbeat-timeout': {
      type: 'string',
      valueName: 'seconds',
      description: 'how long a step may go without a heartbeat before it is retried elsewhere (default 120)',
    },
    wait: { type: 'boolean', description: 'wait for the run to finish and print its result' },
    ...temporalOptionSpecs,
  },
  async run(args, io) {
    const planPath = resolve(args.positionals[0]);
    const plan = await loadPlanFile(planPath);
    // Fail here, not in a worker an hour later, on a plan that cannot run.
    await validatePlan(plan);
    const output = resolve(args.strings.get('out') ?? plan.output);
    const backend = args.strings.get('backend');
    if (backend !== undefined && !isBackendPreference(backend))
      throw new UsageError(`unknown backend '${backend}'`);
    const stepsPerExecution = numberOption(args, 'steps-per-execution', 1, 10_000);
    const heartbeatTimeoutSeconds = numberOption(args, 'heartbeat-timeout', 1, 86_400);
    const runId =
      args.strings.get('id') ??
      `assemble-${basename(planPath).replace(/\.ya?ml$/, '')}-${sha256(`${planPath}\n${output}\n${Date.now()}`).slice(0, 10)}`;
    const settings = temporalSettings(args.strings);
    const { client, close } = await connectTemporalClient(settings);
    try {
      const input: AssemblyWorkflowInput = {
        plan: planPath,
        output,
        ...(backend === undefined ? {} : { backend }),
        ...(heartbeatTimeoutSeconds === undefined ? {} : { heartbeatTimeoutSeconds }),
        ...(stepsPerExecution === undefined ? {} : { stepsPerExecution: Math.round(stepsPerExecution) }),
      };
      let handle: Awaited<ReturnType<typeof client.workflow.start>>;
      try {
        handle = await client.workflow.start('assemblyWorkflow', {
          taskQueue: settings.taskQueue,
          workflowId: runId,
          args: [input],
        });
      } catch (error) {
        if (error instanceof WorkflowExecutionAlreadyStartedError)
          throw new UsageError(
            `a run with id '${runId}' is already running; pick another --id or 'mal status ${runId}'`,
          );
        throw error;
      }
      io.out(runId);
      io.err(`submitted ${planPath} → ${output} on task queue '${settings.taskQueue}'`);
      if (!args.flags.has('wait')) return 0;
      const result = (await handle.result()) as FinishedRun;
      io.out(JSON.stringify(result));
      return 0;
    } finally {
      await close();
    }
  },
};
