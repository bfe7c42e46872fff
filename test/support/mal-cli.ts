/** Runs the compiled `mal` program as a user would (tests run after `npm run build`). */
import { execFile } from 'node:child_process';
import { join } from 'node:path';

export const root = join(import.meta.dirname, '..', '..');
export const bin = join(root, 'bin', 'mal.js');

export interface MalRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function mal(...args: string[]): Promise<MalRun> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [bin, ...args],
      { cwd: root, maxBuffer: 64 * 2 ** 20 },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : 1,
          stdout,
          stderr,
        });
      },
    );
  });
}
