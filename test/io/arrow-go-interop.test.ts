import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readDatasetArrow } from '../../src/data/dataset-arrow-reader.js';
import { InvalidFileError } from '../../src/errors.js';
import { MAX_UNCOMPRESSED_BATCH_BYTES } from '../../src/io/arrow-ipc-check.js';
import { tensorFromArrowIPC, tensorToArrowIPC } from '../../src/io/arrow-tensor.js';
import { tensorContentAddress } from '../../src/io/tensor-content-address.js';
import type { DType } from '../../src/tensor/dtype.js';

/*
 * Arrow written and read by another implementation: Apache Arrow for Go (arrow-go v18.8.0), through the program
 * in go-arrow-fixtures/, built here with the machine's `go` (the first build downloads the module from the Go
 * module proxy into the module cache; see docs/testing.md). Without Go or the module the tests fail and say so;
 * MAL_SKIP_GO_ARROW=1 skips them.
 */
const run = promisify(execFile);
const PROGRAM_DIR = join(import.meta.dirname, 'go-arrow-fixtures');
const SKIP = process.env.MAL_SKIP_GO_ARROW === '1';
/** A cold build downloads arrow-go and its dependencies and compiles them: about two minutes on two cores. */
const BUILD_TIMEOUT_MS = 600_000;

let work: string;
let program: string;
let fixtures: string;

async function buildProgram(): Promise<void> {
  const env = { ...process.env, GOFLAGS: '-mod=readonly -buildvcs=false' };
  try {
    await run('go', ['version'], { env });
  } catch (error) {
    throw new Error(
      `the Go toolchain is needed to build test/io/go-arrow-fixtures (arrow-go writes the fixtures): 'go version' failed (${(error as Error).message}); install Go 1.25 or newer, or set MAL_SKIP_GO_ARROW=1 to skip these tests`,
    );
  }
  try {
    await run('go', ['build', '-o', program, '.'], { cwd: PROGRAM_DIR, env, timeout: BUILD_TIMEOUT_MS });
  } catch (error) {
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(
      `building test/io/go-arrow-fixtures failed; its first build needs github.com/apache/arrow-go/v18 v18.8.0 from the Go module proxy (or the module cache): ${stderr || (error as Error).message}; set MAL_SKIP_GO_ARROW=1 to skip these tests`,
    );
  }
}

async function goRead(file: string): Promise<GoReport> {
  const { stdout } = await run(program, ['read', file]);
  return JSON.parse(stdout) as GoReport;
}

interface GoReport {
  readonly name: string;
  readonly type: string;
  readonly metadata: Record<string, string>;
  readonly itemType?: string;
  readonly itemMetadata?: Record<string, string>;
  readonly rows: number;
  readonly values: Array<number | boolean>;
  readonly schemaMetadata: Record<string, string>;
}

async function readFixture(name: string): Promise<ReturnType<typeof tensorFromArrowIPC>> {
  const path = join(fixtures, name);
  return tensorFromArrowIPC(await readFile(path), path);
}

/** The offsets of every 8-aligned int64 equal to `value` (a compressed buffer's uncompressed-length prefix). */
function positionsOf(bytes: Uint8Array, value: bigint): number[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found: number[] = [];
  for (let at = 0; at + 8 <= bytes.length; at += 8) if (view.getBigInt64(at, true) === value) found.push(at);
  return found;
}

function withInt64(bytes: Uint8Array, at: number, value: bigint): Uint8Array {
  const out = Uint8Array.from(bytes);
  new DataView(out.buffer).setBigInt64(at, value, true);
  return out;
}

const f32Bytes = (values: number[]): Uint8Array => new Uint8Array(Float32Array.from(values).buffer);
/** What the Go program's ramp(n) holds: k/4 - 3 for k = 0..15, repeated. */
const ramp = (n: number): number[] => Array.from({ length: n }, (_, k) => (k % 16) / 4 - 3);

describe.skipIf(SKIP)('Arrow IPC from and to Apache Arrow for Go', () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), 'mal-go-arrow-'));
    program = join(work, 'go-arrow-fixtures');
    fixtures = join(work, 'fixtures');
    await buildProgram();
    await run(program, ['write', fixtures]);
  }, BUILD_TIMEOUT_MS + 60_000);

  afterAll(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('reads arrow.fixed_shape_tensor columns of float32, halffloat, bool, int64 and mal.bfloat16', async () => {
    expect(await readFixture('tensor-f32.arrows')).toEqual({
      name: 'layers.0.weight',
      tensor: { dtype: 'F32', shape: [2, 3], bytes: f32Bytes([-3, -2.75, -2.5, -2.25, -2, -1.75]) },
    });
    // 1, -2, 0.5 and 65504 in IEEE half precision: 0x3c00, 0xc000, 0x3800, 0x7bff.
    const half = await readFixture('tensor-f16.arrows');
    expect(half.tensor.dtype).toBe('F16');
    expect(half.tensor.shape).toEqual([2, 2]);
    expect(Array.from(half.tensor.bytes)).toEqual([0x00, 0x3c, 0x00, 0xc0, 0x00, 0x38, 0xff, 0x7b]);
    expect(await readFixture('tensor-bool.arrows')).toEqual({
      name: 'mask',
      tensor: { dtype: 'BOOL', shape: [5], bytes: Uint8Array.of(1, 0, 1, 1, 0) },
    });
    const steps = await readFixture('tensor-i64.arrows');
    expect(steps.tensor.dtype).toBe('I64');
    expect(Array.from(new BigInt64Array(steps.tensor.bytes.slice().buffer))).toEqual([-1n, 0n, 2n ** 40n]);
    const brain = await readFixture('tensor-bf16.arrows');
    expect(brain.tensor).toEqual({ dtype: 'BF16', shape: [2], bytes: Uint8Array.of(0x80, 0x3f, 0x00, 0xc0) });
  });

  it('reads LZ4_FRAME and ZSTD compressed files', async () => {
    for (const file of ['tensor-lz4.arrow', 'tensor-zstd.arrow']) {
      const bytes = await readFile(join(fixtures, file));
      // Compressed: smaller than the 16 KiB of values it holds.
      expect(bytes.length, file).toBeLessThan(4096);
      const { name, tensor } = tensorFromArrowIPC(bytes, file);
      expect(name).toBe('big');
      expect(tensor).toEqual({ dtype: 'F32', shape: [64, 64], bytes: f32Bytes(ramp(64 * 64)) });
    }
  });

  it('refuses compressed buffers whose declared length is short of the rows, not what the frame holds, or too large', async () => {
    const file = 'tensor-lz4.arrow';
    const bytes = new Uint8Array(await readFile(join(fixtures, file)));
    // The values buffer's prefix: 64 × 64 float32 values, 16384 bytes uncompressed.
    const [prefix, ...others] = positionsOf(bytes, 16384n);
    expect(others).toEqual([]);
    const errorOf = (patched: Uint8Array): string => {
      try {
        tensorFromArrowIPC(patched, file);
      } catch (error) {
        expect(error).toBeInstanceOf(InvalidFileError);
        return (error as Error).message;
      }
      return 'accepted';
    };
    expect(errorOf(withInt64(bytes, prefix, 16380n))).toMatch(
      /^tensor-lz4\.arrow: corrupt Arrow IPC data: record batch 0: column 'item' claims 4096 values but its values buffer holds 16380 bytes once decompressed \(LZ4_FRAME\) of the 16384 they need/,
    );
    expect(errorOf(withInt64(bytes, prefix, 16392n))).toMatch(
      /^tensor-lz4\.arrow: corrupt compressed Arrow IPC data: LZ4_FRAME buffer declares 16392 bytes uncompressed but holds 16384/,
    );
    expect(errorOf(withInt64(bytes, prefix, BigInt(MAX_UNCOMPRESSED_BATCH_BYTES) + 1n))).toMatch(
      /record batch 0 declares more than 4294967296 bytes once decompressed/,
    );
    const zstd = new Uint8Array(await readFile(join(fixtures, 'tensor-zstd.arrow')));
    const [zstdPrefix] = positionsOf(zstd, 16384n);
    expect(errorOf(withInt64(zstd, zstdPrefix, 16392n))).toMatch(
      /corrupt compressed Arrow IPC data: ZSTD buffer declares 16392 bytes uncompressed but holds 16384/,
    );
    expect(errorOf(withInt64(zstd, zstdPrefix, 16000n))).toMatch(
      /holds 16000 bytes once decompressed \(ZSTD\) of the 16384/,
    );
  });

  it('refuses big-endian data in a compressed body, naming the file', async () => {
    const file = join(fixtures, 'tensor-big-endian-lz4.arrows');
    expect(() => tensorFromArrowIPC(new Uint8Array(readFileSync(file)), file)).toThrow(
      `${file}: big-endian data in a compressed body; mal converts uncompressed big-endian data only`,
    );
  });

  it('reads a flat tensor split over three record batches, and a compressed data set in three', async () => {
    expect(await readFixture('tensor-flat-batches.arrows')).toEqual({
      name: 'split',
      tensor: { dtype: 'F32', shape: [2, 3], bytes: f32Bytes([-3, -2.75, -2.5, -2.25, -2, -1.75]) },
    });
    const data = await readDatasetArrow(join(fixtures, 'dataset-batches-zstd.arrow'), 'go');
    expect(data.count).toBe(5);
    expect(Array.from(data.labels)).toEqual([0, 1, 2, 0, 1]);
    expect(data.classes).toBe(3);
    expect(data.imageShape).toEqual([1, 2, 2]);
    expect(Array.from(data.values)).toEqual([
      0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33, 40, 41, 42, 43,
    ]);
  });

  it('converts big-endian files: a tensor and a data set', async () => {
    expect(await readFixture('tensor-big-endian.arrows')).toEqual({
      name: 'be',
      tensor: { dtype: 'F32', shape: [3], bytes: f32Bytes([1.5, -2, 1e-3]) },
    });
    const data = await readDatasetArrow(join(fixtures, 'dataset-big-endian.arrow'), 'go');
    expect(Array.from(data.labels)).toEqual([0, 1]);
    expect(Array.from(data.values)).toEqual([0.25, -1, 3, 0.5]);
  });

  it("gives Go's tensors the content address of the same tensor written here", async () => {
    const address = tensorContentAddress('F32', [2, 3], f32Bytes([-3, -2.75, -2.5, -2.25, -2, -1.75]));
    for (const file of ['tensor-f32.arrows', 'tensor-flat-batches.arrows']) {
      const { tensor } = await readFixture(file);
      expect(tensorContentAddress(tensor.dtype, tensor.shape, tensor.bytes), file).toBe(address);
    }
    const ours = tensorFromArrowIPC(
      tensorToArrowIPC('w', {
        dtype: 'F32',
        shape: [2, 3],
        bytes: f32Bytes([-3, -2.75, -2.5, -2.25, -2, -1.75]),
      }),
    ).tensor;
    expect(tensorContentAddress(ours.dtype, ours.shape, ours.bytes)).toBe(address);
  });

  it('Go reads the tensor messages written here as fixed_shape_tensor columns with their values', async () => {
    const cases: Array<{
      dtype: DType;
      shape: number[];
      bytes: Uint8Array;
      item: string;
      values: unknown[];
    }> = [
      {
        dtype: 'F32',
        shape: [2, 2],
        bytes: f32Bytes([1, -2, 0.5, 4]),
        item: 'float32',
        values: [1, -2, 0.5, 4],
      },
      {
        dtype: 'F16',
        shape: [3],
        bytes: Uint8Array.of(0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b),
        item: 'float16',
        values: [1, -2, 65504],
      },
      {
        dtype: 'BOOL',
        shape: [4],
        bytes: Uint8Array.of(0, 1, 1, 0),
        item: 'bool',
        values: [false, true, true, false],
      },
      {
        dtype: 'BF16',
        shape: [1, 2],
        bytes: Uint8Array.of(0x80, 0x3f, 0x00, 0xc0),
        item: 'uint16',
        values: [0x3f80, 0xc000],
      },
      { dtype: 'F8_E4M3', shape: [2], bytes: Uint8Array.of(0x38, 0xc0), item: 'uint8', values: [0x38, 0xc0] },
      { dtype: 'I8', shape: [], bytes: Uint8Array.of(0xfe), item: 'int8', values: [-2] },
    ];
    for (const c of cases) {
      const file = join(work, `${c.dtype}.arrows`);
      await writeFile(file, tensorToArrowIPC(`t.${c.dtype}`, c));
      const report = await goRead(file);
      expect(report.name, c.dtype).toBe(`t.${c.dtype}`);
      expect(report.metadata, c.dtype).toEqual({
        'ARROW:extension:name': 'arrow.fixed_shape_tensor',
        'ARROW:extension:metadata': JSON.stringify({ shape: c.shape }),
      });
      expect(report.schemaMetadata, c.dtype).toEqual({ 'mal.tensor.dtype': c.dtype });
      expect(report.itemType, c.dtype).toBe(c.item);
      expect(report.rows, c.dtype).toBe(1);
      expect(report.values, c.dtype).toEqual(c.values);
    }
    const bf16 = await goRead(join(work, 'BF16.arrows'));
    expect(bf16.itemMetadata?.['ARROW:extension:name']).toBe('mal.bfloat16');
    const fp8 = await goRead(join(work, 'F8_E4M3.arrows'));
    expect(fp8.itemMetadata?.['ARROW:extension:name']).toBe('mal.float8_e4m3fn');
  });
});
