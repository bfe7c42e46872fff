/**
 * Crash-consistency testing: with MAL_FAULT_AT=<n>, the process kills itself (SIGKILL, no cleanup, as a power
 * cut or the OOM killer would) at the n-th write or rename point it passes. A test runs a command once per n and
 * then again without the variable, and checks the rerun ends in the same state as an uninterrupted run.
 *
 * The OUTPUTS work adds the same hook to src/io/atomic-file.ts; the zoo's write path counts its own points here
 * (zoo add stages and publishes its files itself) until the two are unified.
 */
let passed = 0;

export function faultPoint(): void {
  const at = process.env.MAL_FAULT_AT;
  if (at === undefined || at === '') return;
  passed += 1;
  if (passed === Number(at)) process.kill(process.pid, 'SIGKILL');
}
