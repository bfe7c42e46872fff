import { executeChild, proxyActivities, workflowInfo } from '@temporalio/workflow';
import { assemblyWorkflow } from './assembly-workflow.js';
import type {
  ZooIntegrationActivities,
  ZooIntegrationInput,
  ZooIntegrationResult,
} from './zoo-integration-types.js';

/**
 * The nightly integration: assemble the models added to the zoo since the last published version into that
 * version's model, and publish the result as the next version when it improved the objective. A night with
 * no new models, or whose run accepts nothing, publishes nothing; the next night retries the same models, and
 * its steps come back from the run's store.
 */
export async function zooIntegrationWorkflow(input: ZooIntegrationInput): Promise<ZooIntegrationResult> {
  const activities = proxyActivities<ZooIntegrationActivities>({
    startToCloseTimeout: '30 minutes',
    retry: { maximumAttempts: 5, nonRetryableErrorTypes: ['PlanError', 'UsageError', 'InvalidFileError'] },
  });
  const changes = await activities.findZooChanges(input);
  if (changes.added.length === 0)
    return {
      published: null,
      reason: `no zoo models added since ${changes.lastVersion ?? 'the start'}`,
      added: [],
    };
  const output = `${input.publish.replace(/\/+$/, '')}/runs/${changes.nextVersion}`;
  const runId = `${workflowInfo().workflowId}-assemble-${changes.nextVersion}`;
  const run = await executeChild(assemblyWorkflow, {
    workflowId: runId,
    args: [
      {
        plan: input.plan,
        output,
        backend: input.backend,
        base: changes.base,
        zoo: input.zoo,
        stepsPerExecution: input.stepsPerExecution,
        heartbeatTimeoutSeconds: input.heartbeatTimeoutSeconds,
      },
    ],
  });
  if (run.accepted === 0 || !(run.finalObjective < run.initialObjective))
    return {
      published: null,
      reason: `nothing improved the objective of ${changes.lastVersion ?? 'the base'} (${run.stopReason})`,
      added: changes.added,
    };
  const published = await activities.publishAssembly({
    publish: input.publish,
    version: changes.nextVersion,
    output,
    base: changes.base,
    parent: changes.lastVersion,
    added: changes.added,
    zooSeen: changes.zooSeen,
    runId,
  });
  return {
    published,
    reason: `objective ${run.initialObjective.toFixed(4)} → ${run.finalObjective.toFixed(4)} with ${run.accepted} transplant(s)`,
    added: changes.added,
  };
}
