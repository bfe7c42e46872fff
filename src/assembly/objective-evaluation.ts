import type { Dataset } from '../data/dataset.js';
import { evaluateTensorsScored, type TaskScoring } from '../eval/calibrated-evaluation.js';
import type { ForwardConfig } from '../eval/forward.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { FloatTensor } from '../tensor/tensor.js';
import type { ObjectiveTask } from './assembly-plan.js';
import type { Evaluated, TaskResult } from './lineage.js';
import { brokenFloor, type FlooredTask, objectiveOf } from './loop-policy.js';

/** A task with its data loaded. */
export interface LoadedTask {
  readonly name: string;
  readonly task: ObjectiveTask;
  readonly dataset: Dataset;
}

/** The tasks as the loop's policy reads them: name, metric, weight and floor. */
export function flooredTasks(tasks: readonly LoadedTask[]): FlooredTask[] {
  return tasks.map((t) => ({
    name: t.name,
    metric: t.task.metric,
    weight: t.task.weight,
    ...(t.task.maxDrop === undefined ? {} : { maxDrop: t.task.maxDrop }),
  }));
}

/** Per-task results summed into the objective (lower is better). */
export function evaluatedOf(tasks: readonly LoadedTask[], results: TaskResult[]): Evaluated {
  return { objective: objectiveOf(flooredTasks(tasks), results), tasks: results };
}

/** Evaluates one model on every task, in this thread. */
export async function evaluateOnTasks(
  tensors: ReadonlyMap<string, FloatTensor>,
  spec: ArchitectureSpec,
  config: ForwardConfig,
  tasks: readonly LoadedTask[],
): Promise<Evaluated> {
  const results: TaskResult[] = [];
  for (const t of tasks) {
    const e = await evaluateTensorsScored(tensors, spec, t.dataset, config, scoringOf(t.task));
    results.push({ name: t.name, loss: e.loss, accuracy: e.accuracy });
  }
  return evaluatedOf(tasks, results);
}

/** How a task's models are measured, as the evaluation code names it. */
export function scoringOf(task: ObjectiveTask): TaskScoring {
  return task.scoring === 'calibrated' ? 'biases' : 'raw';
}

/** The first task floor that `candidate` breaks relative to the original base, described; undefined if none. */
export function brokenTaskFloor(
  tasks: readonly LoadedTask[],
  initial: Evaluated,
  candidate: Evaluated,
): string | undefined {
  return brokenFloor(flooredTasks(tasks), initial.tasks, candidate.tasks);
}
