import type { Dataset } from '../data/dataset.js';
import type { ForwardConfig } from '../eval/forward.js';
import { evaluateTensors } from '../eval/model-evaluation.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';
import type { FloatTensor } from '../tensor/tensor.js';
import type { ObjectiveTask } from './assembly-plan.js';
import type { Evaluated, TaskResult } from './lineage.js';

/** A task with its data loaded. */
export interface LoadedTask {
  readonly name: string;
  readonly task: ObjectiveTask;
  readonly dataset: Dataset;
}

/** `Σ weight · value` with value the loss, or −accuracy: lower is better either way. */
export function objectiveOf(tasks: readonly LoadedTask[], results: readonly TaskResult[]): number {
  let total = 0;
  tasks.forEach((t, i) => {
    const r = results[i];
    total += t.task.weight * (t.task.metric === 'loss' ? r.loss : -r.accuracy);
  });
  return total;
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
    const e = await evaluateTensors(tensors, spec, t.dataset, config);
    results.push({ name: t.name, loss: e.loss, accuracy: e.accuracy });
  }
  return { objective: objectiveOf(tasks, results), tasks: results };
}

/** The first task floor that `candidate` breaks relative to the original base, described; undefined if none. */
export function brokenFloor(
  tasks: readonly LoadedTask[],
  initial: Evaluated,
  candidate: Evaluated,
): string | undefined {
  for (let i = 0; i < tasks.length; i++) {
    const maxDrop = tasks[i].task.maxDrop;
    if (maxDrop === undefined) continue;
    const before = initial.tasks[i];
    const after = candidate.tasks[i];
    if (tasks[i].task.metric === 'loss' && after.loss > before.loss + maxDrop) {
      return `task ${tasks[i].name}: loss ${after.loss.toFixed(4)} exceeds the floor ${before.loss.toFixed(4)} + ${maxDrop}`;
    }
    if (tasks[i].task.metric === 'accuracy' && after.accuracy < before.accuracy - maxDrop) {
      return `task ${tasks[i].name}: accuracy ${after.accuracy.toFixed(4)} is below the floor ${before.accuracy.toFixed(4)} − ${maxDrop}`;
    }
  }
  return undefined;
}
