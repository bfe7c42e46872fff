import type { RawTensor } from '../tensor/tensor.js';
import type { NamedTensor } from './named-tensor.js';
import type { TensorSource } from './tensor-source.js';

/** Reads in flight ahead of the consumer: 2–4 measured best on the development machines (docs/COMPUTE.md). */
export const DEFAULT_READ_CONCURRENCY = 3;

/**
 * Yields the named tensors of `source` (all of them by default) in the order given, keeping up to `concurrency`
 * reads in flight ahead of the consumer. Unknown names fail before any read starts.
 */
export async function* readAhead(
  source: TensorSource,
  names: readonly string[] = source.tensorNames(),
  concurrency: number = DEFAULT_READ_CONCURRENCY,
): AsyncGenerator<NamedTensor> {
  for (const name of names) source.info(name);
  const inFlight = Math.max(1, Math.floor(concurrency));
  const pending: Promise<RawTensor>[] = [];
  let next = 0;
  const launch = (): void => {
    const read = source.read(names[next++]);
    // Marks the rejection as handled in case the consumer stops early; awaiting it below still throws.
    read.catch(() => undefined);
    pending.push(read);
  };
  while (next < names.length && pending.length < inFlight) launch();
  for (const name of names) {
    const tensor = await pending.shift()!;
    if (next < names.length) launch();
    yield { name, tensor };
  }
}
