/**
 * Runs a command as a child process under GNU time and reports its wall time and peak resident set (the
 * kernel's ru_maxrss, which polling /proc can miss between samples). The child's stderr passes through so its
 * own progress shows; its stdout is returned.
 */
import { spawn, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MalError } from '../src/errors.js';

export const GNU_TIME = '/usr/bin/time';

export interface ChildPeak {
  readonly seconds: number;
  readonly peakBytes: number;
  readonly stdout: string;
}

/** The child exited non-zero or was killed. */
export class ChildFailedError extends MalError {
  override readonly name = 'ChildFailedError';
}

/**
 * Process groups of the children running now and the folders of their GNU time reports, so a bench interrupted
 * can end them (and their children) and leave nothing behind.
 */
const running = new Map<number, string>();

/** Sends SIGTERM to every measured child still running, GNU time and the command under it alike. */
export function endRunningChildren(): void {
  for (const [group, dir] of running) {
    try {
      process.kill(-group, 'SIGTERM');
    } catch {
      // Already gone.
    }
    rmSync(dir, { recursive: true, force: true });
  }
  running.clear();
}

export function gnuTimeAvailable(): boolean {
  return spawnSync(GNU_TIME, ['-f', '%M', 'true'], { stdio: 'ignore' }).status === 0;
}

export async function runMeasured(command: string, args: readonly string[], cwd: string): Promise<ChildPeak> {
  const dir = await mkdtemp(join(tmpdir(), 'mal-child-peak-'));
  const report = join(dir, 'time.txt');
  try {
    const start = process.hrtime.bigint();
    const child = spawn(GNU_TIME, ['-f', '%M', '-o', report, command, ...args], {
      cwd,
      stdio: ['ignore', 'pipe', 'inherit'],
      // A group of its own: GNU time does not pass a signal on, so an interrupted bench ends the whole group.
      detached: true,
    });
    if (child.pid !== undefined) running.set(child.pid, dir);
    let stdout = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      stdout += chunk;
    });
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c, s) => resolve([c, s]));
    }).finally(() => {
      if (child.pid !== undefined) running.delete(child.pid);
    });
    const seconds = Number(process.hrtime.bigint() - start) / 1e9;
    if (code !== 0) {
      throw new ChildFailedError(
        `${command} ${args.join(' ')} ${signal === null ? `exited with ${code}` : `was killed by ${signal}`}`,
      );
    }
    // GNU time writes the peak in KiB as the last line (a note about a signal may come before it).
    const lines = (await readFile(report, 'utf8')).trim().split('\n');
    const kib = Number(lines[lines.length - 1]);
    if (!Number.isFinite(kib)) throw new ChildFailedError(`${GNU_TIME} wrote no peak RSS to ${report}`);
    return { seconds, peakBytes: kib * 1024, stdout };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
