/**
 * Read throughput of SafetensorsReader against plain FileHandle.read of the same byte ranges, plus the rate of
 * F16/BF16 → F32 conversion. Run: npx tsx bench/safetensors-read.ts
 *
 * Both readers run in the same invocation, interleaved, on a warm page cache; medians of several runs.
 */
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SafetensorsReader } from '../src/io/safetensors-reader.js';
import { writeSafetensors } from '../src/io/safetensors-writer.js';
import { decodeBf16, decodeF16, encodeBf16, encodeF16 } from '../src/tensor/half-float.js';

const TENSORS = 64;
const ELEMENTS_PER_TENSOR = 4 * 1024 * 1024; // 16 MiB of f32 each, 1 GiB in all
const RUNS = 7;
const CONVERSION_ELEMENTS = 16 * 1024 * 1024;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function timed(run: () => Promise<number>): Promise<{ seconds: number; bytes: number }> {
  const start = process.hrtime.bigint();
  const bytes = await run();
  return { seconds: Number(process.hrtime.bigint() - start) / 1e9, bytes };
}

/** The baseline: one FileHandle.read per tensor, one at a time, each into a fresh buffer as the reader does. */
async function readPlain(path: string, ranges: ReadonlyArray<readonly [number, number]>): Promise<number> {
  const handle = await open(path, 'r');
  let total = 0;
  try {
    for (const [position, length] of ranges) {
      const buffer = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(buffer, done, length - done, position + done);
        if (bytesRead === 0) throw new Error('unexpected end of file');
        done += bytesRead;
      }
      total += buffer[length - 1] === 256 ? 0 : length; // touch the buffer so the read cannot be elided
    }
  } finally {
    await handle.close();
  }
  return total;
}

async function readWithReader(path: string): Promise<number> {
  const reader = await SafetensorsReader.open(path);
  let total = 0;
  try {
    for await (const { tensor } of reader.readMany())
      total += tensor.bytes[tensor.bytes.length - 1] === 256 ? 0 : tensor.bytes.length;
  } finally {
    await reader.close();
  }
  return total;
}

function conversionRate(
  decode: (src: Uint16Array, out: Float32Array) => Float32Array,
  words: Uint16Array,
): number {
  const out = new Float32Array(words.length);
  const rates: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const start = process.hrtime.bigint();
    decode(words, out);
    rates.push(words.length / (Number(process.hrtime.bigint() - start) / 1e9) / 1e6);
  }
  return median(rates);
}

export async function main(): Promise<void> {
  const folder = await mkdtemp(join(tmpdir(), 'mal-bench-'));
  const path = join(folder, 'bench.safetensors');
  try {
    const chunk = new Float32Array(ELEMENTS_PER_TENSOR);
    for (let i = 0; i < chunk.length; i++) chunk[i] = Math.sin(i) * 0.02;
    const chunkBytes = new Uint8Array(chunk.buffer);
    const entries = Array.from({ length: TENSORS }, (_, i) => ({
      name: `layers.${i}.weight`,
      dtype: 'F32' as const,
      shape: [2048, ELEMENTS_PER_TENSOR / 2048],
    }));
    await writeSafetensors(path, entries, () => chunkBytes);

    const probe = await SafetensorsReader.open(path);
    const ranges = probe.entries.map((e) => [probe.dataStart + e.begin, e.end - e.begin] as const);
    const fileBytes = probe.fileBytes;
    await probe.close();
    console.log(
      `file: ${(fileBytes / 2 ** 30).toFixed(2)} GiB, ${TENSORS} f32 tensors of ${ELEMENTS_PER_TENSOR * 4} bytes`,
    );

    await readPlain(path, ranges); // warm the page cache
    const plain: number[] = [];
    const reader: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      const a = await timed(() => readPlain(path, ranges));
      const b = await timed(() => readWithReader(path));
      if (a.bytes !== b.bytes) throw new Error(`byte counts differ: ${a.bytes} vs ${b.bytes}`);
      plain.push(a.bytes / a.seconds / 1e9);
      reader.push(b.bytes / b.seconds / 1e9);
    }
    const plainGBs = median(plain);
    const readerGBs = median(reader);
    console.log(
      `plain FileHandle.read, sequential: ${plainGBs.toFixed(2)} GB/s (runs: ${plain.map((x) => x.toFixed(2)).join(' ')})`,
    );
    console.log(
      `SafetensorsReader.readMany:        ${readerGBs.toFixed(2)} GB/s (runs: ${reader.map((x) => x.toFixed(2)).join(' ')})`,
    );
    console.log(`ratio reader / plain: ${(readerGBs / plainGBs).toFixed(2)} (target >= 0.80)`);

    const values = new Float32Array(CONVERSION_ELEMENTS);
    for (let i = 0; i < values.length; i++) values[i] = Math.sin(i) * 4;
    const f16 = encodeF16(values);
    const bf16 = encodeBf16(values);
    console.log(`F16 -> F32 (table):  ${conversionRate(decodeF16, f16).toFixed(0)} M elements/s`);
    console.log(`BF16 -> F32 (shift): ${conversionRate(decodeBf16, bf16).toFixed(0)} M elements/s`);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) await main();
