/**
 * The demo assembly on the cluster engine (NATS + Temporal on this machine) with one task-worker process against
 * two, each run checked against the embedded engine's bytes. The ratio is what a second worker buys on this
 * machine; on 2 cores the Temporal worker and the servers share the same cores.
 *
 *   npx tsx bench/cluster-speedup.ts
 */
import { pathToFileURL } from 'node:url';
import { runClusterCheck } from '../scripts/e2e-cluster.js';

export async function main(): Promise<void> {
  const quiet = () => {};
  const one = await runClusterCheck(undefined, quiet, { taskWorkers: 1 });
  const two = await runClusterCheck(undefined, quiet, { taskWorkers: 2 });
  console.log(`embedded engine (reference):  ${one.embeddedSeconds.toFixed(1)} s`);
  console.log(
    `cluster, 1 task worker:       ${one.clusterSeconds.toFixed(1)} s (${one.same ? 'same bytes' : 'DIFFERENT bytes'})`,
  );
  console.log(
    `cluster, 2 task workers:      ${two.clusterSeconds.toFixed(1)} s (${two.same ? 'same bytes' : 'DIFFERENT bytes'})`,
  );
  console.log(`speed-up of 2 workers over 1: ${(one.clusterSeconds / two.clusterSeconds).toFixed(2)}×`);
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
