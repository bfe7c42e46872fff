import type { WordRange } from './arrow-ipc-check.js';

/**
 * A little-endian copy of big-endian Arrow IPC bytes. apache-arrow's JS reader ignores the schema's endianness
 * field and would read every number byte-reversed, so the words checkArrowIPC found (values and offsets; not
 * validity bitmaps, booleans or fixed-size binary, which are bytes) are reversed in a copy. The metadata stays
 * as it is: FlatBuffers are little-endian whatever the data's endianness.
 */
export function bigEndianToLittleEndian(bytes: Uint8Array, words: readonly WordRange[]): Uint8Array {
  const out = Uint8Array.from(bytes);
  // A file's footer may list one record batch twice; reversing its words twice would undo the conversion.
  const done = new Set<number>();
  for (const range of words) {
    if (done.has(range.start)) continue;
    done.add(range.start);
    reverseWords(out, range);
  }
  return out;
}

function reverseWords(out: Uint8Array, { start, length, word }: WordRange): void {
  for (let at = start; at < start + length; at += word) {
    for (let low = at, high = at + word - 1; low < high; low += 1, high -= 1) {
      const byte = out[low];
      out[low] = out[high];
      out[high] = byte;
    }
  }
}
