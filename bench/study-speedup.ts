/**
 * A study on the cluster (NATS + Temporal on this machine) with one task-worker process against two, each on a
 * fresh cluster (no stored result answers a task), each run's table checked against the embedded run's bytes.
 * The embedded run on one thread is the reference; the ratio is what a second worker buys on this machine (on 2
 * cores the Temporal worker and the servers share the same cores). Each worker count runs twice, alternated, and
 * the better run counts.
 *
 *   npx tsx bench/study-speedup.ts
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { startStudyCluster } from '../test/support/study-cluster.js';
import { writeTinyStudy } from '../test/workflows/study-cluster-fixture.js';

/** Enough work per cell (a 21-point λ curve on 4000 examples) that dispatch is not all a cell costs. */
const STUDY = { widths: [64], positions: ['first', 'last'], evalLimit: 4000, grid: '0:0.05:1' };

/** The compiled program, as `npm run bench` runs everything (`npm run build` first). */
const MAL = [join(import.meta.dirname, '..', 'bin', 'mal.js')];

interface ClusterRun {
  /** Submit to outputs written, as `mal study --cluster --wait` sees it. */
  readonly seconds: number;
  readonly cells: number;
  /** From the first cell's start to the last cell's end on the task workers (their logs). */
  readonly measuringSeconds: number;
}

async function ready(lines: string[], taskWorkers: number): Promise<void> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const workers = lines.filter((l) => /\] worker \S+: pool 'cpu'/.test(l)).length;
    const temporal = lines.some((l) => l.includes('temporal worker: polling'));
    if (workers >= taskWorkers && temporal) return;
    if (Date.now() > deadline) throw new Error(`the cluster did not start:\n${lines.join('\n')}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function clusterRun(study: string, out: string, taskWorkers: number): Promise<ClusterRun> {
  const lines: string[] = [];
  const cells: { end: number; ms: number }[] = [];
  const cluster = await startStudyCluster({
    malArgv: MAL,
    log: (line) => {
      lines.push(line);
      const done = / study-cell [0-9a-f]{12} done in (\d+) ms/.exec(line);
      if (done !== null) cells.push({ end: performance.now(), ms: Number(done[1]) });
    },
  });
  try {
    for (let i = 0; i < taskWorkers; i++) cluster.startTaskWorker(`worker-${i}`);
    cluster.startTemporalWorker();
    await ready(lines, taskWorkers);
    const t = performance.now();
    const run = await cluster.mal(['study', study, '--cluster', '--wait', '--json', '--out', out]);
    const seconds = (performance.now() - t) / 1000;
    if (run.code !== 0) throw new Error(`the cluster study failed:\n${run.stdout}\n${run.stderr}`);
    const first = Math.min(...cells.map((c) => c.end - c.ms));
    const last = Math.max(...cells.map((c) => c.end));
    return {
      seconds,
      cells: (JSON.parse(run.stdout.trim().split('\n').at(-1) ?? '') as { rows: number }).rows,
      measuringSeconds: (last - first) / 1000,
    };
  } finally {
    await cluster.stop();
  }
}

async function sameTable(a: string, b: string): Promise<boolean> {
  for (const file of ['study.arrow', 'study.csv']) {
    if (!(await readFile(join(a, file))).equals(await readFile(join(b, file)))) return false;
  }
  return true;
}

export async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'mal-bench-study-'));
  try {
    const study = await writeTinyStudy(dir, STUDY);
    const lines: string[] = [];
    const cluster = await startStudyCluster({ malArgv: MAL, log: (line) => lines.push(line) });
    let embeddedSeconds: number;
    try {
      // Trains the zoo (not timed), then the embedded reference on one thread.
      const warm = await cluster.mal(['study', study, '--out', join(dir, 'warm'), '--threads', '1']);
      if (warm.code !== 0) throw new Error(`the embedded study failed:\n${warm.stderr}`);
      const t = performance.now();
      const embedded = await cluster.mal(['study', study, '--out', join(dir, 'embedded'), '--threads', '1']);
      embeddedSeconds = (performance.now() - t) / 1000;
      if (embedded.code !== 0) throw new Error(`the embedded study failed:\n${embedded.stderr}`);
    } finally {
      await cluster.stop();
    }
    // Alternated (1, 2, 2, 1) and the better of each kept: other load on a shared machine drifts over minutes.
    const runs: ClusterRun[] = [];
    for (const [i, workers] of [1, 2, 2, 1].entries())
      runs.push(await clusterRun(study, join(dir, `run-${i}`), workers));
    const best = (a: ClusterRun, b: ClusterRun) => (a.measuringSeconds <= b.measuringSeconds ? a : b);
    const one = best(runs[0], runs[3]);
    const two = best(runs[1], runs[2]);
    const same1 =
      (await sameTable(join(dir, 'embedded'), join(dir, 'run-0'))) &&
      (await sameTable(join(dir, 'embedded'), join(dir, 'run-3')));
    const same2 =
      (await sameTable(join(dir, 'embedded'), join(dir, 'run-1'))) &&
      (await sameTable(join(dir, 'embedded'), join(dir, 'run-2')));
    console.log(
      `load average of this machine: ${loadavg()
        .map((l) => l.toFixed(1))
        .join(', ')} on ${availableParallelism()} cores`,
    );
    const rate = (r: ClusterRun) =>
      `${(r.cells / r.seconds).toFixed(2)} cells/s end to end, ${(r.cells / r.measuringSeconds).toFixed(2)} tasks/s measuring`;
    console.log(`study: ${one.cells} cells (MLP h64, a 21-point λ curve on 4000 examples each)`);
    console.log(
      `embedded, 1 thread (reference): ${embeddedSeconds.toFixed(1)} s, ${(one.cells / embeddedSeconds).toFixed(2)} cells/s`,
    );
    console.log(
      `cluster, 1 task worker:  ${one.seconds.toFixed(1)} s (measuring ${one.measuringSeconds.toFixed(1)} s), ${rate(one)} (${same1 ? 'same bytes' : 'DIFFERENT bytes'})`,
    );
    console.log(
      `cluster, 2 task workers: ${two.seconds.toFixed(1)} s (measuring ${two.measuringSeconds.toFixed(1)} s), ${rate(two)} (${same2 ? 'same bytes' : 'DIFFERENT bytes'})`,
    );
    console.log(
      `speed-up of 2 workers over 1, fastest runs: ${(one.seconds / two.seconds).toFixed(2)}× end to end, ${(one.measuringSeconds / two.measuringSeconds).toFixed(2)}× measuring (target ≥ 1.7×)`,
    );
    // The machine's speed drifts between runs here, so each round's adjacent pair says how much one run decides.
    const rounds = [
      [runs[0], runs[1]],
      [runs[3], runs[2]],
    ].map(
      ([a, b]) =>
        `${(a.seconds / b.seconds).toFixed(2)}× (${(a.measuringSeconds / b.measuringSeconds).toFixed(2)}× measuring)`,
    );
    console.log(`speed-up of 2 workers over 1 per round: ${rounds.join(', ')}`);
    console.log(`cluster (1 worker) against embedded: ${(embeddedSeconds / one.seconds).toFixed(2)}×`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) await main();
