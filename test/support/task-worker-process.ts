import { type ChildProcess, spawn } from 'node:child_process';
import { malArgv } from './mal-cli.js';

/** A `mal worker` process (started as test/support/mal-cli.ts says), its stderr collected. */
export interface TaskWorkerProcess {
  readonly child: ChildProcess;
  readonly log: () => string;
  /** Its exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** Ends it with `signal` unless it has ended already, and waits for the exit. */
  stop(): Promise<void>;
}

export function spawnTaskWorker(
  url: string,
  pool: string,
  extra: readonly string[] = [],
  signal: NodeJS.Signals = 'SIGTERM',
  /** Added to this process's environment. */
  env: NodeJS.ProcessEnv = {},
): TaskWorkerProcess {
  const child = spawn(
    process.execPath,
    [...malArgv, 'worker', '--pool', pool, '--backend', 'wasm', '--nats-url', url, ...extra],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } },
  );
  let log = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    log += chunk.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    log: () => log,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}
