import { basename, resolve } from 'node:path';
import { loadPlanFile } from '../../src/assembly/plan-file.js';
import { validatePlan } from '../../src/assembly/validate-plan.js';
import type { CommandIO, ParsedArgs } from '../../src/cli/command.js';
import { numberOption } from '../../src/cli/command.js';
import { ASSEMBLY_OBJECTIVE } from '../../src/cli/directions.js';
import { isBackendPreference } from '../../src/compute/backend.js';
import { UsageError } from '../../src/errors.js';
import { sha256 } from '../../src/store/content-store.js';
import type { AssemblyWorkflowInput, FinishedRun } from '../../workflows/assembly-types.js';
import { connectTemporalClient, startWorkflowRun } from '../temporal/temporal-client.js';
import { temporalSettings } from '../temporal/temporal-settings.js';

export async function runSubmit(args: ParsedArgs, io: CommandIO): Promise<number> {
  const planPath = resolve(args.positionals[0]);
  const plan = await loadPlanFile(planPath);
  // Fail here, not in a worker an hour later, on a plan that cannot run.
  await validatePlan(plan);
  const output = resolve(args.strings.get('out') ?? plan.output);
  const backend = args.strings.get('backend');
  if (backend !== undefined && !isBackendPreference(backend))
    throw new UsageError(`unknown backend '${backend}'`);
  const stepsPerExecution = numberOption(args, 'steps-per-execution');
  const heartbeatTimeoutSeconds = numberOption(args, 'heartbeat-timeout');
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
    const handle = await startWorkflowRun(client, settings, 'assemblyWorkflow', runId, input);
    io.out(runId);
    io.err(`submitted ${planPath} → ${output} on task queue '${settings.taskQueue}'`);
    if (!args.flags.has('wait')) return 0;
    const result = (await handle.result()) as FinishedRun;
    io.out(JSON.stringify({ ...result, directions: { objective: ASSEMBLY_OBJECTIVE } }));
    return 0;
  } finally {
    await close();
  }
}
