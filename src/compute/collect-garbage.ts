import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;

/**
 * A full garbage collection, now. Streamed alignment drops arrays of hundreds of megabytes at every step (a cost
 * matrix, the products added into it, the tensors read for it); V8 frees them only at its next major collection,
 * and until then they count in the process's memory on top of the next step's. Collecting between steps keeps the
 * peak at one step's working set, as the memory estimate assumes. `--expose-gc` is set at run time, so no flag
 * is needed on the command line; where that is refused, this does nothing.
 */
export function collectGarbage(): void {
  if (gc === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      gc = runInNewContext('gc') as () => void;
    } catch {
      gc = null;
    }
  }
  gc?.();
}
