import { collectGarbage } from '../compute/collect-garbage.js';
import { getMatmulEngine } from '../linalg/get-matmul-engine.js';
import type { MatmulTransposedEngine } from '../linalg/matmul-engine.js';
import { baseSliceBytes, type OccurrenceProductTask, occurrenceProduct } from './occurrence-product.js';
import type { PairedTensors } from './paired-tensors.js';

/**
 * Computes the products of occurrence tasks for the cost-matrix builder: in this process (the default), or on
 * other processes (the NATS task workers' runner in workers/nats). Every runner returns each task's product as
 * occurrenceProduct computes it, and the builder adds them up in task order, so the matrices, and the maps, are
 * the same wherever the products ran.
 */
export interface CostProductRunner {
  /** Each task's `rows × cols` product, in the order of `tasks`. */
  products(tasks: readonly OccurrenceProductTask[]): AsyncIterable<Float32Array | Float64Array>;
}

/** Products computed here, on the given engine (default: the fastest that loads), one task at a time. */
export class InProcessCostProducts implements CostProductRunner {
  constructor(
    private readonly tensors: PairedTensors,
    private readonly matmul?: MatmulTransposedEngine,
    /** Collect garbage after each product (see collectGarbage): for tensors streamed from the files. */
    private readonly collect = false,
  ) {}

  async *products(tasks: readonly OccurrenceProductTask[]): AsyncIterable<Float32Array | Float64Array> {
    const matmul = this.matmul ?? (await getMatmulEngine());
    for (const task of tasks) {
      const pair = { baseName: task.baseName, targetName: task.targetName };
      const bytes = baseSliceBytes(task, this.tensors.shapes(pair).base);
      yield await occurrenceProduct(
        task,
        { base: () => this.tensors.base(pair), target: () => this.tensors.target(pair) },
        matmul,
        (t, make) => this.tensors.derived(t.key, bytes, make),
      );
      // The caller has added the product in: it and the arrays made for it are garbage before the next is made.
      if (this.collect) collectGarbage();
    }
  }
}
