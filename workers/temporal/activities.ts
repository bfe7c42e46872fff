import { Context } from '@temporalio/activity';
import {
  finishAssembly as finishAssemblyRun,
  runAssemblyStep as runOneAssemblyStep,
  storedAssemblySteps,
} from '../../src/assembly/run-assembly.js';
import { writeAssemblyOutputs } from '../../src/engine/assembly-outputs.js';
import { sha256 } from '../../src/store/content-store.js';
import type {
  AssemblyActivities,
  AssemblyRunRef,
  FinishActivityInput,
  FinishedRun,
  PreparedRun,
  StepActivityInput,
  StepActivityResult,
} from '../../workflows/assembly-types.js';
import { type AssemblySession, openAssemblySession } from './assembly-session.js';

/** How often a running activity heartbeats even when the step reports no progress (an evaluation can be long). */
const HEARTBEAT_INTERVAL_MS = 5_000;

/** Runs kept loaded in one worker process; a worker serving more runs reloads the least recently used. */
const SESSIONS_KEPT = 2;

/**
 * The assembly activities over the embedded engine's code: prepare loads the run, each step is
 * `runAssemblyStep` on the state named by its hash, finish reads the steps back from the store and writes the
 * output folder as `mal assemble` does. Every result is a function of inputs stored by hash, so a retried
 * activity (a worker died) redoes at most one step and gives the same bytes.
 */
export function createAssemblyActivities(): {
  readonly activities: AssemblyActivities;
  /** Closes the runs still loaded (their thread pools and model files), when the worker stops. */
  close(): Promise<void>;
} {
  const sessions = new Map<string, Promise<AssemblySession>>();

  const sessionFor = async (ref: AssemblyRunRef): Promise<AssemblySession> => {
    const key = sessionKey(ref);
    let session = sessions.get(key);
    if (session === undefined) {
      session = openAssemblySession(ref);
      sessions.set(key, session);
      session.catch(() => sessions.delete(key));
      while (sessions.size > SESSIONS_KEPT) {
        const [oldestKey, oldest] = sessions.entries().next().value as [string, Promise<AssemblySession>];
        sessions.delete(oldestKey);
        void oldest.then((s) => s.close()).catch(() => undefined);
      }
    } else {
      // Most recently used last, so eviction takes the oldest.
      sessions.delete(key);
      sessions.set(key, session);
    }
    return withHeartbeats(() => session);
  };

  const dropSession = async (ref: AssemblyRunRef): Promise<void> => {
    const key = sessionKey(ref);
    const session = sessions.get(key);
    sessions.delete(key);
    if (session !== undefined) await (await session).close();
  };

  const activities: AssemblyActivities = {
    async prepareAssembly(ref: AssemblyRunRef): Promise<PreparedRun> {
      const session = await sessionFor(ref);
      const { prepared } = session;
      return {
        budget: session.plan.steps,
        initialStateHash: prepared.initialStateHash,
        initialObjective: prepared.initial.objective,
        backend: prepared.inputs.backend,
        zoo: prepared.zooHashes,
      };
    },

    async runAssemblyStep(input: StepActivityInput): Promise<StepActivityResult> {
      const session = await sessionFor(input);
      const context = Context.current();
      session.listen({
        progress: (phase, done, total, candidate) => context.heartbeat({ phase, done, total, candidate }),
      });
      try {
        const run = await withHeartbeats(() =>
          runOneAssemblyStep(session.prepared, {
            index: input.index,
            stateHash: input.stateHash,
            objective: input.objective,
          }),
        );
        const a = run.step.accepted;
        return {
          index: run.step.index,
          accepted:
            a === null
              ? null
              : {
                  model: a.candidate.model,
                  layers: a.candidate.layers,
                  baseLayers: a.candidate.baseLayers,
                  lambda: a.lambda,
                },
          stateAfter: run.step.stateAfter,
          objectiveAfter: run.step.objectiveAfter,
          stepKey: run.key,
          resumed: run.resumed,
        };
      } finally {
        session.listen(undefined);
      }
    },

    async finishAssembly(input: FinishActivityInput): Promise<FinishedRun> {
      const session = await sessionFor(input);
      const result = await withHeartbeats(async () => {
        const { steps, state } = await storedAssemblySteps(session.prepared, input.stepsDone);
        return finishAssemblyRun(session.prepared, steps, state, input.stopReason);
      });
      const files = await writeAssemblyOutputs(input.output, result, session.baseSpec, session.plan);
      const { lineage } = result;
      await dropSession(input);
      return {
        model: files.model,
        report: files.report,
        modelSha256: sha256(result.model),
        healedModel: files.healedModel ?? null,
        initialObjective: lineage.initial.objective,
        finalObjective: lineage.final.objective,
        steps: lineage.steps.length,
        accepted: lineage.steps.filter((s) => s.accepted !== null).length,
        stopReason: lineage.stopReason,
      };
    },
  };
  return {
    activities,
    async close(): Promise<void> {
      const open = [...sessions.values()];
      sessions.clear();
      for (const s of open) await (await s).close();
    },
  };
}

function sessionKey(ref: AssemblyRunRef): string {
  return JSON.stringify([ref.plan, ref.output, ref.backend ?? null, ref.base ?? null, ref.zoo ?? null]);
}

/** Heartbeats on a timer while `work` runs, when called inside an activity. */
export async function withHeartbeats<T>(work: () => Promise<T>): Promise<T> {
  let context: Context | undefined;
  try {
    context = Context.current();
  } catch {
    return work();
  }
  const activity = context;
  const timer = setInterval(() => activity.heartbeat(), HEARTBEAT_INTERVAL_MS);
  try {
    return await work();
  } finally {
    clearInterval(timer);
  }
}
