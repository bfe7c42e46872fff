import { type AlignModelsOptions, alignModels, type StreamedAlignment } from '../align/align-models.js';
import type { CostProductRunner } from '../align/cost-product-runner.js';
import type { LoadedModel } from '../model/load-model.js';
import { estimateReporter, stepReporter } from './alignment-report.js';
import type { CommandIO } from './command.js';

/** A runner of the cost-matrix products opened for one alignment, with what to tell the user and how to close it. */
export interface OpenedCostProducts {
  readonly runner: CostProductRunner;
  /** Where the products run, for the one line the command prints. */
  readonly description: string;
  /** A warning to print after it (no worker serves the pool), when there is one. */
  readonly warning?: string;
  close(): Promise<void>;
}

/**
 * Where `mal align` and `mal merge` send the cost-matrix products of weight matching, given the two loaded models:
 * unset, in this process (InProcessCostProducts); the full program's `--nats` opens the task workers' runner
 * (workers/commands/nats-products.ts), which src/ cannot import.
 */
export type CostProductSource = (base: LoadedModel, target: LoadedModel) => Promise<OpenedCostProducts>;

/** Runs `align` with the products from `source` (or in this process), closing the runner whatever happens. */
export async function withCostProducts<T>(
  source: CostProductSource | undefined,
  base: LoadedModel,
  target: LoadedModel,
  report: { readonly err: (line: string) => void; readonly progress: (line: string) => void },
  align: (runner: CostProductRunner | undefined) => Promise<T>,
): Promise<T> {
  if (source === undefined) {
    report.progress('cost products: in this process');
    return align(undefined);
  }
  const opened = await source(base, target);
  try {
    report.err(`cost products: ${opened.description}`);
    if (opened.warning !== undefined) report.err(`warning: ${opened.warning}`);
    return await align(opened.runner);
  } finally {
    await opened.close();
  }
}

/**
 * `mal align`'s and `mal merge`'s weight matching: alignModels with the products from `source`, reporting the
 * memory estimate and each step unless `quiet` (`--json`).
 */
export function alignWithCostProducts(
  source: CostProductSource | undefined,
  base: LoadedModel,
  target: LoadedModel,
  io: CommandIO,
  options: AlignModelsOptions,
  quiet: boolean,
): Promise<StreamedAlignment> {
  return withCostProducts(source, base, target, io, (runner) =>
    alignModels(base, target, {
      ...options,
      ...(runner === undefined ? {} : { products: runner }),
      onStep: quiet ? undefined : stepReporter(io),
      onEstimate: quiet ? undefined : estimateReporter(io),
    }),
  );
}
