/**
 * The fuzz driver: runs every target's cases in a child process (fuzz-child.ts) with a deadline per case. A case
 * whose answer does not come in time is a hang; one that ends the child (out of memory, a native abort) is a
 * crash, as is any throw that is not a MalError. Either way the child is replaced and the run goes on at the
 * next case, so one run counts every failure.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { TARGETS } from './fuzz-targets.js';

export interface FuzzJob {
  readonly target: string;
  readonly seed: number;
  readonly from: number;
  readonly to: number;
}

export type CaseReport =
  | { readonly index: number; readonly outcome: 'accepted' | 'clean' }
  | { readonly index: number; readonly outcome: 'crash'; readonly detail: string };

export interface TargetCounts {
  readonly target: string;
  cases: number;
  accepted: number;
  clean: number;
  crashes: number;
  hangs: number;
  /** The first few failures, each with the case index that replays it. */
  readonly failures: string[];
}

export interface FuzzOptions {
  readonly cases: number;
  readonly seed: number;
  /** How long one case may take before it counts as a hang. */
  readonly deadlineMs: number;
  /** Heap cap of the child, so that a runaway allocation ends it rather than the machine. */
  readonly heapMb?: number;
  readonly targets?: readonly string[];
}

const tsxLoader = pathToFileURL(
  join(dirname(createRequire(import.meta.url).resolve('tsx/package.json')), 'dist', 'loader.mjs'),
).href;

export async function runFuzz(options: FuzzOptions): Promise<TargetCounts[]> {
  const names = options.targets ?? TARGETS.map((t) => t.name);
  const results: TargetCounts[] = [];
  for (const target of names) {
    const counts: TargetCounts = {
      target,
      cases: 0,
      accepted: 0,
      clean: 0,
      crashes: 0,
      hangs: 0,
      failures: [],
    };
    let next = 0;
    while (next < options.cases) {
      next = await runChild({ target, seed: options.seed, from: next, to: options.cases }, options, counts);
    }
    results.push(counts);
  }
  return results;
}

/** Runs cases from job.from until the job ends or the child fails; returns the next case to run. */
function runChild(job: FuzzJob, options: FuzzOptions, counts: TargetCounts): Promise<number> {
  return new Promise((resolve) => {
    const child: ChildProcess = fork(join(import.meta.dirname, 'fuzz-child.ts'), {
      execArgv: ['--import', tsxLoader, `--max-old-space-size=${options.heapMb ?? 1024}`],
      serialization: 'advanced',
      stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    });
    let next = job.from;
    let ready = false;
    let settled = false;
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-2000);
    });
    const fail = (kind: 'crash' | 'hang', detail: string): void => {
      if (kind === 'crash') counts.crashes += 1;
      else counts.hangs += 1;
      counts.cases += 1;
      if (counts.failures.length < 10) counts.failures.push(`case ${next}: ${kind}: ${detail}`);
      finish(next + 1);
    };
    const finish = (at: number): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.kill('SIGKILL');
      resolve(at);
    };
    // Loading the sources and seeds is not a case: it gets a generous minute of its own.
    let timer = setTimeout(() => fail('hang', 'the child did not start'), 60_000);
    const arm = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => fail('hang', `no answer within ${options.deadlineMs} ms`), options.deadlineMs);
    };
    child.on('message', (message: CaseReport | { ready: true }) => {
      if ('ready' in message) {
        ready = true;
        arm();
        return;
      }
      counts.cases += 1;
      if (message.outcome === 'accepted') counts.accepted += 1;
      else if (message.outcome === 'clean') counts.clean += 1;
      else if (message.outcome === 'crash') {
        counts.crashes += 1;
        if (counts.failures.length < 10)
          counts.failures.push(`case ${message.index}: crash: ${message.detail}`);
      }
      next = message.index + 1;
      arm();
    });
    child.send(job);
    child.on('exit', (code, signal) => {
      if (settled) return;
      if (next >= job.to) finish(next);
      else if (!ready) fail('crash', `the child exited (${code ?? signal}) before its first case: ${stderr}`);
      else
        fail(
          'crash',
          `the child died (${code ?? signal}): ${stderr.trim().split('\n').slice(-3).join(' | ')}`,
        );
    });
  });
}
