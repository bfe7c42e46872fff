import {
  condition,
  continueAsNew,
  defineQuery,
  defineSignal,
  proxyActivities,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
// The loop's policy imports nothing, so it is safe in the workflow sandbox; the embedded loop uses the same one.
import { afterStep, budgetSpentReason, stoppedByRequestReason } from '../src/assembly/loop-policy.js';
import type {
  AcceptedCandidateSummary,
  AssemblyActivities,
  AssemblyPhase,
  AssemblyProgress,
  AssemblyWorkflowInput,
  FinishedRun,
  PreparedRun,
} from './assembly-types.js';

export const progressQuery = defineQuery<AssemblyProgress>('progress');
export const pauseSignal = defineSignal('pause');
export const resumeSignal = defineSignal('resume');
/** Finish after the current step and write the outputs of the steps done so far. */
export const stopSignal = defineSignal('stop');

export const DEFAULT_STEPS_PER_EXECUTION = 20;
export const DEFAULT_HEARTBEAT_TIMEOUT_SECONDS = 120;

/**
 * The assembly loop of MAL §6 as durable steps. Each step is an activity keyed by (index, state hash) whose
 * result is also stored by the worker under the hash of its inputs, so a retried or replayed step costs a
 * store lookup. Continue-as-new every `stepsPerExecution` steps keeps the history small for long runs.
 */
export async function assemblyWorkflow(input: AssemblyWorkflowInput): Promise<FinishedRun> {
  const heartbeatTimeout = `${input.heartbeatTimeoutSeconds ?? DEFAULT_HEARTBEAT_TIMEOUT_SECONDS} s`;
  const quick = proxyActivities<AssemblyActivities>({
    startToCloseTimeout: '30 minutes',
    heartbeatTimeout,
    retry: { maximumAttempts: 5, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
  });
  const long = proxyActivities<AssemblyActivities>({
    // A step of a large plan can take hours; liveness comes from heartbeats, not from this bound.
    startToCloseTimeout: '24 hours',
    heartbeatTimeout,
    retry: { maximumAttempts: 10, nonRetryableErrorTypes: NON_RETRYABLE_ERRORS },
  });
  const ref = {
    plan: input.plan,
    output: input.output,
    backend: input.backend,
    base: input.base,
    zoo: input.zoo,
  };
  const stepsPerExecution = Math.max(1, input.stepsPerExecution ?? DEFAULT_STEPS_PER_EXECUTION);

  let phase: AssemblyPhase = 'preparing';
  let prepared: PreparedRun | undefined = input.cursor?.prepared;
  let index = input.cursor?.index ?? 0;
  let stateHash = input.cursor?.stateHash ?? null;
  let objective = input.cursor?.objective ?? null;
  let lastAccepted: AcceptedCandidateSummary | null = input.cursor?.lastAccepted ?? null;
  let paused = input.cursor?.paused ?? false;
  let stopping = input.cursor?.stopping ?? false;
  const generation = input.cursor?.generation ?? 0;

  setHandler(progressQuery, () => ({
    phase: phase === 'running' && paused ? 'paused' : phase,
    step: index,
    budget: prepared?.budget ?? null,
    objective,
    initialObjective: prepared?.initialObjective ?? null,
    stateHash,
    lastAccepted,
    paused,
    stopping,
    generation,
  }));
  setHandler(pauseSignal, () => {
    paused = true;
  });
  setHandler(resumeSignal, () => {
    paused = false;
  });
  setHandler(stopSignal, () => {
    stopping = true;
  });

  if (prepared === undefined) {
    prepared = await quick.prepareAssembly(ref);
    stateHash = prepared.initialStateHash;
    objective = prepared.initialObjective;
  }
  phase = 'running';
  const run = prepared;
  let stopReason = budgetSpentReason(run.budget);
  let stepsThisExecution = 0;
  while (index < run.budget) {
    await condition(() => !paused || stopping);
    if (stopping) {
      stopReason = stoppedByRequestReason(index);
      break;
    }
    if (stepsThisExecution >= stepsPerExecution || workflowInfo().continueAsNewSuggested) {
      await continueAsNew<typeof assemblyWorkflow>({
        ...input,
        cursor: {
          prepared: run,
          index,
          stateHash: stateHash ?? run.initialStateHash,
          objective: objective ?? run.initialObjective,
          lastAccepted,
          paused,
          stopping,
          generation: generation + 1,
        },
      });
    }
    const result = await long.runAssemblyStep({
      ...ref,
      index,
      stateHash: stateHash ?? run.initialStateHash,
      objective: objective ?? run.initialObjective,
    });
    stepsThisExecution++;
    stateHash = result.stateAfter;
    objective = result.objectiveAfter;
    if (result.accepted !== null) lastAccepted = result.accepted;
    const decision = afterStep(result.index, run.budget, result.accepted !== null);
    if ('stop' in decision) {
      index = result.index + 1;
      stopReason = decision.stop;
      break;
    }
    index = decision.next;
  }
  phase = 'finishing';
  const finished = await quick.finishAssembly({ ...ref, stepsDone: index, stopReason });
  phase = 'done';
  return finished;
}

/** Errors that retrying cannot fix: a bad plan, a missing or damaged store entry, a bad option. */
const NON_RETRYABLE_ERRORS = [
  'PlanError',
  'UsageError',
  'AssemblyStoreError',
  'TaskPlacementUnavailableError',
  'InvalidFileError',
  'SpecError',
];
