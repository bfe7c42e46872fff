/**
 * Compares module names the way people number layers: numeric components numerically, so `layers.10` comes
 * after `layers.9`, while the rest compares as text. Derivation orders layers by name because safetensors files
 * do not keep a network's module order.
 */
export function compareNatural(a: string, b: string): number {
  const chunksA = splitChunks(a);
  const chunksB = splitChunks(b);
  const common = Math.min(chunksA.length, chunksB.length);
  for (let i = 0; i < common; i++) {
    const chunkA = chunksA[i];
    const chunkB = chunksB[i];
    if (chunkA === chunkB) continue;
    const numericA = isDigits(chunkA);
    const numericB = isDigits(chunkB);
    if (numericA && numericB) {
      const difference = Number(chunkA) - Number(chunkB);
      // `01` and `1` are equal numbers; the text comparison below keeps the order total and deterministic.
      if (difference !== 0) return difference;
    }
    return chunkA < chunkB ? -1 : 1;
  }
  return chunksA.length - chunksB.length;
}

export function sortNatural(names: Iterable<string>): string[] {
  return [...names].sort(compareNatural);
}

function splitChunks(name: string): string[] {
  return name.match(/\d+|\D+/g) ?? [];
}

function isDigits(chunk: string): boolean {
  return chunk.charCodeAt(0) >= 48 && chunk.charCodeAt(0) <= 57;
}
