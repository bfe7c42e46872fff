/**
 * An assembly of the weak demo base with a 16-model zoo (bench/sixteen-model-zoo.ts; one step of alignments,
 * successive halving and λ curves) on the cluster engine (NATS + Temporal on this machine) with one task-worker
 * process against two, each worker running one task at a time, each run checked against the embedded engine's
 * bytes. The ratio is what a second worker buys, for the whole run (with the CLI's start, the run's loading and
 * the final baselines, which a second worker does not share) and for its step(s) alone (what grows with the zoo
 * and the steps; the lineage's own seconds). On 2 cores the Temporal worker and the servers share the same cores,
 * so the CPU seconds each process used say how much of the work stayed in the Temporal worker.
 *
 *   npm run build && npx tsx bench/cluster-speedup.ts [steps] [rounds]
 */
import { pathToFileURL } from 'node:url';
import { type ClusterCheck, runClusterCheck } from '../scripts/e2e-cluster.js';
import { sixteenModelPlan } from './sixteen-model-zoo.js';

function describe(label: string, runs: readonly ClusterCheck[]): void {
  const best = fastest(runs);
  const cpu =
    best.cpuSeconds === undefined
      ? ''
      : `; CPU s: Temporal worker ${best.cpuSeconds.temporalWorker.toFixed(1)}, task workers ${best.cpuSeconds.taskWorkers.map((c) => c.toFixed(1)).join(' + ')}`;
  const same = runs.every((r) => r.same) ? 'same bytes' : 'DIFFERENT bytes';
  console.log(
    `${label.padEnd(26)} ${best.clusterSeconds.toFixed(1)} s, step(s) ${best.clusterStepSeconds.toFixed(1)} s (best of ${runs.map((r) => r.clusterSeconds.toFixed(1)).join(', ')}; ${same}${cpu})`,
  );
}

/** The least disturbed of repeated runs: on a shared machine the others only ever add time. */
function fastest(runs: readonly ClusterCheck[]): ClusterCheck {
  return runs.reduce((a, b) => (b.clusterSeconds < a.clusterSeconds ? b : a));
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export async function main(steps = 1, rounds = 2): Promise<void> {
  const plan = await sixteenModelPlan(steps, (line) => console.log(line));
  await compareWorkerCounts(plan, `16-model zoo, ${steps} step(s)`, rounds);
}

/**
 * The plan on the cluster with one task worker and with two (each one thread), `rounds` times alternated, each run
 * checked against the embedded engine's bytes; prints the runs and the speed-ups. Exit code 1 on different bytes.
 */
export async function compareWorkerCounts(plan: string, label: string, rounds: number): Promise<void> {
  const quiet = () => {};
  const options = { taskWorkerConcurrency: 1 };
  const one: ClusterCheck[] = [];
  const two: ClusterCheck[] = [];
  // Alternated, so a change in the machine's load touches both alike.
  for (let r = 0; r < rounds; r++) {
    one.push(await runClusterCheck(plan, quiet, { ...options, taskWorkers: 1 }));
    two.push(await runClusterCheck(plan, quiet, { ...options, taskWorkers: 2 }));
  }
  const embedded = [...one, ...two].reduce((a, b) => (b.embeddedSeconds < a.embeddedSeconds ? b : a));
  console.log(`${label}, each task worker 1 thread, ${rounds} round(s)`);
  console.log(
    `${'embedded engine (reference)'.padEnd(26)} ${embedded.embeddedSeconds.toFixed(1)} s, step(s) ${embedded.embeddedStepSeconds.toFixed(1)} s`,
  );
  describe('cluster, 1 task worker', one);
  describe('cluster, 2 task workers', two);
  const [a, b] = [fastest(one), fastest(two)];
  console.log(
    `speed-up of 2 workers over 1, fastest runs: ${(a.clusterSeconds / b.clusterSeconds).toFixed(2)}× the whole run, ${(a.clusterStepSeconds / b.clusterStepSeconds).toFixed(2)}× its step(s) (target ≥ 1.5×)`,
  );
  // The same machine's speed drifts by a quarter between runs here (CPU seconds too, not only waiting), so one
  // lucky run can decide a best-of ratio: the ratios of each round's adjacent runs say how much that is so.
  const perRound = one.map((o, r) => o.clusterStepSeconds / two[r].clusterStepSeconds);
  console.log(
    `speed-up of its step(s) per round: ${perRound.map((x) => `${x.toFixed(2)}×`).join(', ')}; median ${median(perRound).toFixed(2)}×`,
  );
  if (![...one, ...two].every((r) => r.same)) process.exitCode = 1;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href)
  await main(Number(process.argv[2] ?? 1), Number(process.argv[3] ?? 2));
