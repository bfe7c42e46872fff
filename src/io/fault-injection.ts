import { appendFileSync } from 'node:fs';

/**
 * A testing aid for crash consistency (docs/testing.md): every write and rename point of the atomic-file layer and
 * of the output publishing calls `faultPoint`. With MAL_FAULT_AT=<n> the process kills itself with SIGKILL at the
 * n-th point (counting from 1), exactly as a power cut or `kill -9` would stop it there; with
 * MAL_FAULT_LOG=<file> each point appends a line "<n> <label>" to that file, so a test can first count the points
 * of a run and then kill it at each one. Without either variable a point costs one comparison.
 */
let reached = 0;

function killAt(): number | undefined {
  const value = process.env.MAL_FAULT_AT;
  if (value === undefined || value === '') return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : undefined;
}

export function faultPoint(label: string): void {
  const at = killAt();
  const log = process.env.MAL_FAULT_LOG;
  if (at === undefined && (log === undefined || log === '')) return;
  reached++;
  // Synchronous on purpose: the line must be on disk before a kill at this very point.
  if (log !== undefined && log !== '') appendFileSync(log, `${reached} ${label}\n`);
  if (at === reached) process.kill(process.pid, 'SIGKILL');
}
