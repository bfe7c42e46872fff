/**
 * A whole study cluster on this machine, for the study's cluster tests and bench: NATS (own port and store), a
 * Temporal dev server, `mal temporal-worker` and `mal worker` processes started as test/support/mal-cli.ts says (or a given
 * `mal` command), each of which can be killed and started again. Every process's stderr lines go to `log`,
 * prefixed with its name.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { malArgv } from './mal-cli.js';
import { startNatsServer, type TestNatsServer } from './nats-server.js';
import { startTemporalServer, type TemporalTestServer } from './temporal-server.js';

const root = join(import.meta.dirname, '..', '..');

export interface StudyClusterOptions {
  /** The node arguments that start `mal` (default: mal-cli.ts's malArgv). */
  readonly malArgv?: readonly string[];
  /** Extra `mal worker` arguments (e.g. `--ack-wait-ms 2000`). */
  readonly workerArgs?: readonly string[];
  readonly log?: (line: string) => void;
}

export interface ClusterProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
  /** Ends it with the signal (SIGTERM by default) unless it has ended, and waits for the exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export interface StudyCluster {
  readonly nats: TestNatsServer;
  readonly temporal: TemporalTestServer;
  /** The environment every `mal` of this cluster runs with. */
  readonly env: NodeJS.ProcessEnv;
  startTaskWorker(name: string, concurrency?: number): ClusterProcess;
  startTemporalWorker(name?: string): ClusterProcess;
  /** Runs `mal <args…>` against this cluster to its end. */
  mal(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }>;
  /** Stops every process it started (SIGTERM) and both servers. */
  stop(): Promise<void>;
}

export async function startStudyCluster(options: StudyClusterOptions = {}): Promise<StudyCluster> {
  const command = options.malArgv ?? malArgv;
  const log = options.log ?? (() => {});
  const nats = await startNatsServer();
  const temporal = await startTemporalServer().catch(async (error) => {
    await nats.stop();
    throw error;
  });
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    MAL_NATS_URL: nats.url,
    MAL_TEMPORAL_ADDRESS: temporal.address,
    MAL_TEMPORAL_NAMESPACE: temporal.namespace,
    MAL_TASK_QUEUE: 'mal-study-test',
    MAL_TASKS: 'nats',
    MAL_BACKEND: 'wasm',
  };
  const processes: ClusterProcess[] = [];
  const start = (name: string, args: readonly string[]): ClusterProcess => {
    const child = spawn(process.execPath, [...command, ...args], {
      cwd: root,
      env,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let partial = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      const lines = (partial + chunk.toString()).split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim() !== '') log(`[${name}] ${line}`);
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const handle: ClusterProcess = {
      name,
      child,
      exited,
      async stop(signal = 'SIGTERM') {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        await exited;
      },
    };
    processes.push(handle);
    return handle;
  };
  return {
    nats,
    temporal,
    env,
    startTaskWorker: (name, concurrency = 1) =>
      start(name, [
        'worker',
        '--pool',
        'cpu',
        '--backend',
        'wasm',
        '--concurrency',
        String(concurrency),
        ...(options.workerArgs ?? []),
      ]),
    startTemporalWorker: (name = 'temporal-worker') => start(name, ['temporal-worker']),
    mal: (args) =>
      new Promise((resolve) => {
        execFile(
          process.execPath,
          [...command, ...args],
          { cwd: root, env, maxBuffer: 64 * 2 ** 20 },
          (error, stdout, stderr) =>
            resolve({
              code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1,
              stdout,
              stderr,
            }),
        );
      }),
    async stop() {
      await Promise.all(processes.map((p) => p.stop()));
      await temporal.stop();
      await nats.stop();
    },
  };
}
