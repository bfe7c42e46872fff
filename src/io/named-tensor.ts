import type { RawTensor } from '../tensor/tensor.js';

/** A tensor with its name, as readers yield them and writers take them. */
export interface NamedTensor {
  readonly name: string;
  readonly tensor: RawTensor;
}
