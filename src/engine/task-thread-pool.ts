import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { MalError } from '../errors.js';
import { disableOnnxruntimeTelemetry } from '../linalg/onnxruntime-telemetry.js';
import type { TaskOutput, ThreadOutcome, ThreadTask } from './task-thread.js';

/** A Piscina pool of `threads` threads running the task module (task-thread.ts), from sources or compiled. */
export function createTaskThreadPool(threads: number): Piscina<ThreadTask, ThreadOutcome> {
  // Compiled code runs task-thread.js; sources (tests, tsx) run the .ts file through tsx.
  const fromSource = import.meta.url.endsWith('.ts');
  disableOnnxruntimeTelemetry();
  return new Piscina({
    filename: fileURLToPath(new URL(`./task-thread.${fromSource ? 'ts' : 'js'}`, import.meta.url)),
    minThreads: threads,
    maxThreads: threads,
    execArgv: fromSource ? ['--import', 'tsx'] : [],
  });
}

/** A task that failed in a thread, rethrown in the caller's thread with the thread's error name and message. */
export class ThreadTaskError extends MalError {
  override readonly name: string;
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

/** The task's output, or its error rethrown: a MalError from the thread stays a MalError here. */
export function outputOf<T extends TaskOutput>(outcome: ThreadOutcome): T {
  if (outcome.ok) return outcome.output as T;
  if (outcome.permanent) throw new ThreadTaskError(outcome.name, outcome.message);
  throw new Error(`${outcome.name}: ${outcome.message}`);
}
