/**
 * `npm run e2e:cluster`: the whole distributed engine on this machine. Starts NATS (JetStream, own port and store),
 * a Temporal dev server, a Temporal worker that sends evaluations to NATS, and two task-worker processes; submits
 * the demo plan; waits; checks the model bytes against an embedded `mal assemble` of the same plan; stops
 * everything it started. Exits non-zero on any difference.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { sha256 } from '../src/store/content-store.js';
import { startNatsServer } from '../test/support/nats-server.js';
import { startTemporalServer } from '../test/support/temporal-server.js';

const root = join(import.meta.dirname, '..');
const bin = join(root, 'bin', 'mal.js');

function mal(
  command: readonly string[],
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [...command, ...args],
      { cwd: root, env: { ...process.env, ...env }, maxBuffer: 64 * 2 ** 20 },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1,
          stdout,
          stderr,
        }),
    );
  });
}

function start(
  command: readonly string[],
  args: string[],
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): ChildProcess {
  const child = spawn(process.execPath, [...command, ...args], {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString().split('\n')) if (line.trim() !== '') log(`[${args[0]}] ${line}`);
  });
  return child;
}

export interface ClusterOptions {
  /** Task-worker processes (default 2). */
  readonly taskWorkers?: number;
  /** Threads of each task worker (`mal worker --concurrency`; default: its cores). */
  readonly taskWorkerConcurrency?: number;
  /** Kill the first task worker with SIGKILL after it finished this many tasks (a fault test). */
  readonly killWorkerAfterTasks?: number;
  /** The pool consumer's ack wait: how soon a dead worker's task is delivered again. */
  readonly ackWaitMs?: number;
  /** The node arguments that start `mal` (default: bin/mal.js, the compiled program; tests run the sources). */
  readonly malArgv?: readonly string[];
}

export interface ClusterCheck {
  /** Task deliveries after the first (a killed worker's tasks). */
  readonly redeliveries: number;
  readonly killedWorker: boolean;
  readonly same: boolean;
  readonly embeddedSeconds: number;
  readonly clusterSeconds: number;
  /** The steps' own seconds as each engine's lineage records them (no start-up, loading or final report). */
  readonly embeddedStepSeconds: number;
  readonly clusterStepSeconds: number;
  readonly embeddedSha: string;
  readonly clusterSha: string;
  /**
   * CPU seconds (user + system) each process used during the cluster run, read from /proc (Linux; undefined
   * elsewhere): how the work was shared between the Temporal worker and the task workers.
   */
  readonly cpuSeconds?: { readonly temporalWorker: number; readonly taskWorkers: readonly number[] };
}

/** A process's CPU time so far in seconds, from /proc/<pid>/stat (fields 14 and 15, in clock ticks). */
async function cpuSecondsOf(pid: number | undefined): Promise<number | undefined> {
  if (pid === undefined) return undefined;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // After the name: state is field 3, so utime (14) and stime (15) are at 11 and 12 here.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Runs the plan on the embedded engine and on the cluster; returns whether the model bytes are equal. */
export async function runClusterCheck(
  plan = join(root, 'examples', 'demo-plan.yaml'),
  log: (line: string) => void = (line) => console.error(line),
  options: ClusterOptions = {},
): Promise<ClusterCheck> {
  const taskWorkers = options.taskWorkers ?? 2;
  const command = options.malArgv ?? [bin];
  let redeliveries = 0;
  let killedWorker = false;
  const dir = await mkdtemp(join(tmpdir(), 'mal-e2e-cluster-'));
  const children: ChildProcess[] = [];
  const nats = await startNatsServer();
  const temporal = await startTemporalServer().catch(async (error) => {
    await nats.stop();
    throw error;
  });
  try {
    const env = {
      MAL_NATS_URL: nats.url,
      MAL_TEMPORAL_ADDRESS: temporal.address,
      MAL_TEMPORAL_NAMESPACE: temporal.namespace,
      MAL_TASK_QUEUE: 'mal-e2e',
      MAL_TASKS: 'nats',
      MAL_BACKEND: 'wasm',
    };
    log(`NATS ${nats.url}, Temporal ${temporal.address}`);
    const workerArgs = [
      'worker',
      '--pool',
      'cpu',
      ...(options.ackWaitMs === undefined ? [] : ['--ack-wait-ms', String(options.ackWaitMs)]),
      ...(options.taskWorkerConcurrency === undefined
        ? []
        : ['--concurrency', String(options.taskWorkerConcurrency)]),
    ];
    for (let i = 0; i < taskWorkers; i++) {
      let finished = 0;
      const child: ChildProcess = start(command, workerArgs, env, (line) => {
        log(line);
        if (/\(delivery [2-9]\d*\)/.test(line)) redeliveries++;
        if (i === 0 && / done in /.test(line) && ++finished === options.killWorkerAfterTasks) {
          killedWorker = child.kill('SIGKILL');
        }
      });
      children.push(child);
    }
    children.push(start(command, ['temporal-worker'], env, log));

    let t = performance.now();
    const embedded = await mal(command, [
      'assemble',
      plan,
      '--out',
      join(dir, 'embedded'),
      '--backend',
      'wasm',
    ]);
    if (embedded.code !== 0) throw new Error(`embedded run failed:\n${embedded.stderr}`);
    const embeddedSeconds = (performance.now() - t) / 1000;

    // Measured from here: the processes' start-up (the workflow bundle, backends) is not the run's work.
    const cpuBefore = await Promise.all(children.map((c) => cpuSecondsOf(c.pid)));
    t = performance.now();
    const cluster = await mal(
      command,
      ['submit', plan, '--out', join(dir, 'cluster'), '--backend', 'wasm', '--wait'],
      env,
    );
    if (cluster.code !== 0) throw new Error(`cluster run failed:\n${cluster.stdout}\n${cluster.stderr}`);
    const clusterSeconds = (performance.now() - t) / 1000;

    const cpu = (await Promise.all(children.map((c) => cpuSecondsOf(c.pid)))).map((after, i) => {
      const before = cpuBefore[i];
      return after === undefined || before === undefined ? undefined : after - before;
    });
    const stepSeconds = async (out: string): Promise<number> => {
      const lineage = JSON.parse(await readFile(join(dir, out, 'lineage.json'), 'utf8')) as {
        steps: { seconds: number }[];
      };
      return lineage.steps.reduce((sum, step) => sum + step.seconds, 0);
    };
    const a = await readFile(join(dir, 'embedded', 'model.safetensors'));
    const b = await readFile(join(dir, 'cluster', 'model.safetensors'));
    return {
      same: a.equals(b),
      redeliveries,
      killedWorker,
      embeddedSeconds,
      clusterSeconds,
      embeddedStepSeconds: await stepSeconds('embedded'),
      clusterStepSeconds: await stepSeconds('cluster'),
      embeddedSha: sha256(a),
      clusterSha: sha256(b),
      ...(cpu.every((c) => c !== undefined)
        ? { cpuSeconds: { temporalWorker: cpu[cpu.length - 1], taskWorkers: cpu.slice(0, -1) } }
        : {}),
    };
  } finally {
    for (const child of children) child.kill('SIGTERM');
    await Promise.all(
      children.map(
        (c) =>
          new Promise((resolve) =>
            c.exitCode !== null || c.signalCode !== null ? resolve(null) : c.once('exit', resolve),
          ),
      ),
    );
    await temporal.stop();
    await nats.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runClusterCheck(process.argv[2]);
  console.log(
    `embedded ${result.embeddedSeconds.toFixed(1)} s, cluster ${result.clusterSeconds.toFixed(1)} s: ${result.same ? 'same bytes' : 'DIFFERENT bytes'} (${result.embeddedSha.slice(0, 12)} vs ${result.clusterSha.slice(0, 12)})`,
  );
  process.exitCode = result.same ? 0 : 1;
}
