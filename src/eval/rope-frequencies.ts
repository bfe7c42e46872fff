/**
 * RoPE's rotation frequencies, and how a model config rescales them for a context longer than the one it was
 * trained on (Hugging Face's `rope_scaling`).
 */

/** The rescalings a forward pass implements; others (yarn, longrope) are refused by the settings. */
export type RopeScaling =
  | { readonly kind: 'default' }
  /** Every frequency divided by `factor` (position interpolation). */
  | { readonly kind: 'linear'; readonly factor: number }
  /**
   * LLaMA 3.1's: frequencies whose wavelength exceeds `originalContext / lowFreqFactor` are divided by `factor`,
   * those shorter than `originalContext / highFreqFactor` kept, and those between blended smoothly.
   */
  | {
      readonly kind: 'llama3';
      readonly factor: number;
      readonly lowFreqFactor: number;
      readonly highFreqFactor: number;
      readonly originalContext: number;
    };

/** The `headDim / 2` frequencies (radians per position) of a head's rotated pairs, entry i of the first half paired with entry i of the second. */
export function ropeInverseFrequencies(
  headDim: number,
  theta: number,
  scaling: RopeScaling = { kind: 'default' },
): Float64Array {
  const frequencies = new Float64Array(headDim / 2);
  for (let i = 0; i < frequencies.length; i++) {
    frequencies[i] = rescaled(theta ** ((-2 * i) / headDim), scaling);
  }
  return frequencies;
}

function rescaled(frequency: number, scaling: RopeScaling): number {
  switch (scaling.kind) {
    case 'default':
      return frequency;
    case 'linear':
      return frequency / scaling.factor;
    case 'llama3': {
      const { factor, lowFreqFactor, highFreqFactor, originalContext } = scaling;
      const wavelength = (2 * Math.PI) / frequency;
      if (wavelength < originalContext / highFreqFactor) return frequency;
      if (wavelength > originalContext / lowFreqFactor) return frequency / factor;
      const smooth = (originalContext / wavelength - lowFreqFactor) / (highFreqFactor - lowFreqFactor);
      return ((1 - smooth) * frequency) / factor + smooth * frequency;
    }
  }
}
