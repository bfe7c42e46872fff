/**
 * An assembly of the weak demo base with a 16-model zoo (bench/sixteen-model-zoo.ts; one step of alignments,
 * successive halving and λ curves) on the cluster engine (NATS + Temporal on this machine) with one task-worker
 * process against two, each worker running one task at a time, each run checked against the embedded engine's
 * bytes. The ratio is what a second worker buys; on 2 cores the Temporal worker and the servers share the same
 * cores, so the CPU seconds each process used say how much of the work stayed in the Temporal worker.
 *
 *   npm run build && npx tsx bench/cluster-speedup.ts [steps]
 */
import { pathToFileURL } from 'node:url';
import { type ClusterCheck, runClusterCheck } from '../scripts/e2e-cluster.js';
import { sixteenModelPlan } from './sixteen-model-zoo.js';

function describe(label: string, run: ClusterCheck): void {
  const cpu =
    run.cpuSeconds === undefined
      ? ''
      : `; CPU s: Temporal worker ${run.cpuSeconds.temporalWorker.toFixed(1)}, task workers ${run.cpuSeconds.taskWorkers.map((c) => c.toFixed(1)).join(' + ')}`;
  console.log(
    `${label.padEnd(34)} ${run.clusterSeconds.toFixed(1)} s (${run.same ? 'same bytes' : 'DIFFERENT bytes'}${cpu})`,
  );
}

export async function main(steps = 1): Promise<void> {
  const plan = await sixteenModelPlan(steps, (line) => console.log(line));
  const quiet = () => {};
  const options = { taskWorkerConcurrency: 1 };
  const one = await runClusterCheck(plan, quiet, { ...options, taskWorkers: 1 });
  const two = await runClusterCheck(plan, quiet, { ...options, taskWorkers: 2 });
  console.log(`16-model zoo, ${steps} step(s), each task worker 1 thread`);
  console.log(`${'embedded engine (reference)'.padEnd(34)} ${one.embeddedSeconds.toFixed(1)} s`);
  describe('cluster, 1 task worker', one);
  describe('cluster, 2 task workers', two);
  console.log(
    `speed-up of 2 workers over 1: ${(one.clusterSeconds / two.clusterSeconds).toFixed(2)}× (target ≥ 1.5×)`,
  );
  if (!one.same || !two.same) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main(Number(process.argv[2] ?? 1));
