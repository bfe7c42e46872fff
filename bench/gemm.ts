/**
 * Cost-matrix GEMM benchmark: `C = A·Bᵀ` (float32, A rows × depth, B cols × depth) on our engines against numpy
 * (Debian's python3-numpy on OpenBLAS) on the same shapes in the same run, interleaved repeat by repeat, medians.
 *
 *   npx tsx bench/gemm.ts [--sizes 1024,2048,4096] [--no-rectangular] [--repeats 5] [--no-unset-openblas]
 *                         [--no-variants] [--no-threshold] [--no-tfjs] [--settle-ms 300]
 *
 * Sections: (1) the OpenBLAS kernel numpy runs; (2) where the TypeScript f64 kernel stops beating onnxruntime's
 * per-call overhead (sets DEFAULT_SMALL_PRODUCT_MULTIPLY_ADDS); (3) onnxruntime variants: Gemm with transB vs
 * MatMul on a pre-transposed B, idle threads spinning or not, row blocks or one call; (4) the cost-matrix shapes against numpy, with the
 * tfjs engine on WebGPU (where an adapter starts) and on wasm (up to 2048³) as further columns.
 *
 * numpy is measured as the environment has it: OPENBLAS_CORETYPE may be set there (it pins OpenBLAS's kernel,
 * e.g. to Haswell on a CPU that has AVX-512), and is reported. Unless --no-unset-openblas, numpy is measured a
 * second time with every OPENBLAS_* variable removed, as a separate column.
 *
 * Between timed calls the benchmark pauses (--settle-ms): OpenBLAS's idle threads busy-wait for a while after
 * a call, and without a pause they would slow whichever engine runs next in the interleaved order.
 */
import { type ChildProcessByStdio, spawn, spawnSync } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { createInterface, type Interface } from 'node:readline';
import type { Readable, Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import { initBackend } from '../src/compute/backend.js';
import { getMatmulEngine } from '../src/linalg/get-matmul-engine.js';
import type { MatmulTransposedEngine } from '../src/linalg/matmul-engine.js';
import { MODEL_INPUT_A, MODEL_INPUT_B, onnxMatmulModel } from '../src/linalg/onnx-matmul-model.js';
import { OnnxruntimeMatmulEngine } from '../src/linalg/onnxruntime-matmul-engine.js';
import { DEFAULT_SMALL_PRODUCT_MULTIPLY_ADDS } from '../src/linalg/size-switching-matmul-engine.js';
import { TfjsMatmulEngine } from '../src/linalg/tfjs-matmul-engine.js';
import { TypescriptMatmulEngine } from '../src/linalg/typescript-matmul-engine.js';
import { SeededRandom } from '../src/random/seeded-random.js';

const PYTHON = '/usr/bin/python3';
const DEFAULT_SIZES = [1024, 2048, 4096];
/** One transformer MLP layer's cost matrix: 4096 units, 14336 hidden units as depth. */
const RECTANGULAR = { rows: 4096, cols: 4096, depth: 14336 } as const;
let settleMs = 300;

async function settled<T>(measure: () => Promise<T>): Promise<T> {
  await sleep(settleMs);
  return measure();
}

/** The TypeScript kernel runs at a few GFLOP/s: measure it only where a repeat takes about a second. */
const TYPESCRIPT_MAX_MULTIPLY_ADDS = 1024 ** 3;

interface Shape {
  readonly rows: number;
  readonly cols: number;
  readonly depth: number;
}

/**
 * numpy in a long-lived python process: it keeps one pair of random operands per shape and answers
 * `time rows cols depth` with the seconds of one `a @ b.T`, so each repeat can be interleaved with ours.
 */
const NUMPY_SERVER = `
import ctypes, json, sys, time
import numpy as np

def blas_info():
    info = {'numpy': np.__version__}
    try:
        import threadpoolctl
        info['threadpoolctl'] = [
            {k: p.get(k) for k in ('internal_api', 'version', 'architecture', 'num_threads', 'filepath')}
            for p in threadpoolctl.threadpool_info()]
    except ImportError:
        np.ones((2, 2), np.float32) @ np.ones((2, 2), np.float32)
        libs = sorted({line.split()[-1] for line in open('/proc/self/maps') if 'openblas' in line and '.so' in line})
        for path in libs:
            try:
                lib = ctypes.CDLL(path)
                lib.openblas_get_corename.restype = ctypes.c_char_p
                lib.openblas_get_config.restype = ctypes.c_char_p
                info['openblas'] = {'library': path, 'corename': lib.openblas_get_corename().decode(),
                                    'config': lib.openblas_get_config().decode(),
                                    'threads': lib.openblas_get_num_threads()}
                break
            except (OSError, AttributeError):
                continue
    return info

operands = {}
for line in sys.stdin:
    words = line.split()
    if words[0] == 'info':
        print(json.dumps(blas_info()), flush=True)
    elif words[0] == 'time':
        rows, cols, depth = map(int, words[1:4])
        if (rows, cols, depth) not in operands:
            operands.clear()
            rng = np.random.default_rng(1)
            a = rng.standard_normal((rows, depth), dtype=np.float32)
            b = rng.standard_normal((cols, depth), dtype=np.float32)
            a @ b.T
            operands[(rows, cols, depth)] = (a, b)
        a, b = operands[(rows, cols, depth)]
        t = time.perf_counter()
        c = a @ b.T
        print(time.perf_counter() - t, flush=True)
        del c
`;

class NumpyServer {
  private readonly child: ChildProcessByStdio<Writable, Readable, null>;
  private readonly lines: AsyncIterator<string>;
  private readonly reader: Interface;

  constructor(env: NodeJS.ProcessEnv) {
    this.child = spawn(PYTHON, ['-c', NUMPY_SERVER], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    this.reader = createInterface({ input: this.child.stdout });
    this.lines = this.reader[Symbol.asyncIterator]();
  }

  async info(): Promise<unknown> {
    return JSON.parse(await this.ask('info'));
  }

  async seconds(shape: Shape): Promise<number> {
    return Number(await this.ask(`time ${shape.rows} ${shape.cols} ${shape.depth}`));
  }

  close(): void {
    this.child.stdin.end();
    this.reader.close();
  }

  private async ask(command: string): Promise<string> {
    this.child.stdin.write(`${command}\n`);
    const next = await this.lines.next();
    if (next.done) throw new Error('numpy server exited');
    return next.value;
  }
}

function numpyAvailable(): boolean {
  return spawnSync(PYTHON, ['-c', 'import numpy'], { stdio: 'ignore' }).status === 0;
}

function environmentWithoutOpenblas(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('OPENBLAS_')));
}

function openblasVariables(): string {
  const set = Object.entries(process.env).filter(([key]) => key.startsWith('OPENBLAS_'));
  return set.length === 0 ? '(none)' : set.map(([k, v]) => `${k}=${v}`).join(' ');
}

function randomOperands(shape: Shape, seed: number): { a: Float32Array; b: Float32Array } {
  const random = new SeededRandom(seed);
  const a = new Float32Array(shape.rows * shape.depth);
  const b = new Float32Array(shape.cols * shape.depth);
  for (let i = 0; i < a.length; i++) a[i] = random.next() * 2 - 1;
  for (let i = 0; i < b.length; i++) b[i] = random.next() * 2 - 1;
  return { a, b };
}

function gflops(shape: Shape, seconds: number): number {
  return (2 * shape.rows * shape.cols * shape.depth) / seconds / 1e9;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

async function secondsOf(run: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await run();
  return (performance.now() - t) / 1e3;
}

function shapeLabel(shape: Shape): string {
  return shape.rows === shape.cols && shape.cols === shape.depth
    ? `${shape.rows}³`
    : `${shape.rows}×${shape.cols}·${shape.depth}`;
}

function pad(text: string, width: number): string {
  return text.padStart(width);
}

/** Median seconds per call of each engine on one small shape, repeating until each has run ~40 ms. */
async function smallProductSeconds(engine: MatmulTransposedEngine, shape: Shape): Promise<number> {
  const { a, b } = randomOperands(shape, 7);
  await engine.run(a, b, shape.rows, shape.cols, shape.depth);
  const samples: number[] = [];
  let spent = 0;
  while (spent < 0.04 || samples.length < 20) {
    const s = await secondsOf(() => engine.run(a, b, shape.rows, shape.cols, shape.depth));
    samples.push(s);
    spent += s;
  }
  return median(samples);
}

async function thresholdSection(
  typescript: MatmulTransposedEngine,
  ort: MatmulTransposedEngine,
): Promise<void> {
  console.log('\n## Small products: TypeScript f64 kernel vs onnxruntime (µs per call, median)\n');
  console.log(
    `${pad('shape', 16)} ${pad('multiply-adds', 14)} ${pad('typescript', 11)} ${pad('onnxruntime', 12)}  faster`,
  );
  const shapes: Shape[] = [8, 16, 24, 32, 40, 48, 64, 96, 128].map((n) => ({ rows: n, cols: n, depth: n }));
  shapes.push(
    { rows: 16, cols: 16, depth: 256 },
    { rows: 64, cols: 64, depth: 16 },
    { rows: 32, cols: 32, depth: 288 },
  );
  for (const shape of shapes) {
    const ts = await smallProductSeconds(typescript, shape);
    const onnx = await smallProductSeconds(ort, shape);
    const work = shape.rows * shape.cols * shape.depth;
    console.log(
      `${pad(shapeLabel(shape), 16)} ${pad(String(work), 14)} ${pad((ts * 1e6).toFixed(1), 11)} ${pad((onnx * 1e6).toFixed(1), 12)}  ${ts <= onnx ? 'typescript' : 'onnxruntime'}`,
    );
  }
  console.log(
    `\nThreshold in use (size-switching engine): up to ${DEFAULT_SMALL_PRODUCT_MULTIPLY_ADDS} multiply-adds on TypeScript.`,
  );
}

/** onnxruntime MatMul on a B transposed in TypeScript first: the alternative to Gemm with transB. */
async function matmulPretransposedEngine(threads: number): Promise<MatmulTransposedEngine> {
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(onnxMatmulModel('matmul'), {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: '0' } } },
  });
  return {
    name: `onnxruntime MatMul, B pre-transposed (${threads} threads)`,
    async run(a, b, rows, cols, depth) {
      const bt = new Float32Array(depth * cols);
      const tile = 64;
      for (let j0 = 0; j0 < cols; j0 += tile) {
        for (let k0 = 0; k0 < depth; k0 += tile) {
          const j1 = Math.min(cols, j0 + tile);
          const k1 = Math.min(depth, k0 + tile);
          for (let j = j0; j < j1; j++) for (let k = k0; k < k1; k++) bt[k * cols + j] = b[j * depth + k];
        }
      }
      const out = await session.run({
        [MODEL_INPUT_A]: new ort.Tensor('float32', a, [rows, depth]),
        [MODEL_INPUT_B]: new ort.Tensor('float32', bt, [depth, cols]),
      });
      return out.Y.data as Float32Array;
    },
  };
}

async function variantsSection(sizes: readonly number[], repeats: number): Promise<void> {
  const threads = availableParallelism();
  console.log(`\n## onnxruntime variants, ${threads} threads (GFLOP/s, median of ${repeats})\n`);
  const variants: MatmulTransposedEngine[] = [
    await OnnxruntimeMatmulEngine.create({ threads }),
    await OnnxruntimeMatmulEngine.create({ threads, allowSpinning: true }),
    await matmulPretransposedEngine(threads),
    // The engine's earlier default: the whole product in one call instead of 2 Mi-element row blocks.
    await OnnxruntimeMatmulEngine.create({ threads, maxRowBlockElements: 1 << 26 }),
  ];
  const names = [
    'Gemm transB (engine)',
    'Gemm transB, spinning',
    'MatMul, B pre-transposed',
    'Gemm transB, 64 Mi per call',
  ];
  console.log(`${pad('shape', 8)} ${names.map((n) => pad(n, 26)).join(' ')}`);
  for (const n of sizes) {
    const shape = { rows: n, cols: n, depth: n };
    const { a, b } = randomOperands(shape, 3);
    const samples = variants.map(() => [] as number[]);
    for (const v of variants) await v.run(a, b, n, n, n);
    for (let r = 0; r < repeats; r++) {
      for (const [i, v] of variants.entries()) {
        samples[i].push(await settled(() => secondsOf(() => v.run(a, b, n, n, n))));
      }
    }
    console.log(
      `${pad(shapeLabel(shape), 8)} ${samples.map((s) => pad(gflops(shape, median(s)).toFixed(0), 26)).join(' ')}`,
    );
  }
}

interface Column {
  readonly label: string;
  readonly applies: (shape: Shape) => boolean;
  readonly seconds: (shape: Shape, a: Float32Array, b: Float32Array) => Promise<number>;
}

/**
 * The tfjs engine on the backends that start here, each limited to the shapes it finishes in about a second:
 * WebGPU where an adapter exists, wasm (~20 GFLOP/s on the 2-core machine) up to 2048³. The plain-JavaScript cpu
 * backend (under 1 GFLOP/s) is left out: the test suite checks its results, and its speed matters to no one.
 */
async function tfjsEngines(): Promise<
  { label: string; engine: MatmulTransposedEngine; maxMultiplyAdds: number }[]
> {
  const engines: { label: string; engine: MatmulTransposedEngine; maxMultiplyAdds: number }[] = [];
  try {
    engines.push({
      label: 'tfjs-webgpu',
      engine: await getMatmulEngine('webgpu'),
      maxMultiplyAdds: Infinity,
    });
  } catch (error) {
    console.log(`(tfjs-webgpu left out: ${String(error).split('\n')[0]})`);
  }
  try {
    await initBackend('wasm');
    engines.push({
      label: 'tfjs-wasm',
      engine: await TfjsMatmulEngine.create('wasm'),
      maxMultiplyAdds: 2048 ** 3,
    });
  } catch (error) {
    console.log(`(tfjs-wasm left out: ${String(error).split('\n')[0]})`);
  }
  return engines;
}

async function comparisonSection(
  shapes: readonly Shape[],
  repeats: number,
  numpy: NumpyServer,
  numpyUnset: NumpyServer | null,
  withTfjs: boolean,
): Promise<void> {
  const threads = availableParallelism();
  const ort = await OnnxruntimeMatmulEngine.create({ threads });
  const ortOne = await OnnxruntimeMatmulEngine.create({ threads: 1 });
  const typescript = new TypescriptMatmulEngine();
  const engineColumn = (
    label: string,
    engine: MatmulTransposedEngine,
    applies = (_: Shape) => true,
  ): Column => ({
    label,
    applies,
    seconds: (s, a, b) => secondsOf(() => engine.run(a, b, s.rows, s.cols, s.depth)),
  });
  const columns: Column[] = [
    engineColumn(`ort ${threads}t`, ort),
    engineColumn('ort 1t', ortOne),
    engineColumn('typescript', typescript, (s) => s.rows * s.cols * s.depth <= TYPESCRIPT_MAX_MULTIPLY_ADDS),
    { label: 'numpy (env)', applies: () => true, seconds: (s) => numpy.seconds(s) },
  ];
  if (numpyUnset)
    columns.push({ label: 'numpy (unset)', applies: () => true, seconds: (s) => numpyUnset.seconds(s) });
  const numpyColumns = columns.slice(3);
  if (withTfjs) {
    for (const { label, engine, maxMultiplyAdds } of await tfjsEngines()) {
      columns.push(engineColumn(label, engine, (s) => s.rows * s.cols * s.depth <= maxMultiplyAdds));
    }
  }

  console.log(`\n## Cost-matrix shapes (GFLOP/s, median of ${repeats}, interleaved)\n`);
  const ratioLabels = [
    `ort ${threads}t / numpy (env)`,
    ...(numpyUnset ? [`ort ${threads}t / numpy (unset)`] : []),
  ];
  console.log(
    `${pad('shape', 20)} ${columns.map((c) => pad(c.label, 13)).join(' ')} ${ratioLabels.map((l) => pad(l, 24)).join(' ')}`,
  );
  for (const shape of shapes) {
    const { a, b } = randomOperands(shape, 11);
    const active = columns.filter((c) => c.applies(shape));
    for (const c of active) await c.seconds(shape, a, b);
    const samples = new Map<Column, number[]>(active.map((c) => [c, []]));
    const ownRepeats = (c: Column) => (c.label === 'typescript' ? Math.min(repeats, 3) : repeats);
    for (let r = 0; r < repeats; r++) {
      for (const c of active) {
        if (r < ownRepeats(c)) samples.get(c)?.push(await settled(() => c.seconds(shape, a, b)));
      }
    }
    const rate = (c: Column) => {
      const s = samples.get(c);
      return s ? gflops(shape, median(s)) : Number.NaN;
    };
    const cells = columns.map((c) => pad(samples.has(c) ? rate(c).toFixed(1) : '-', 13));
    const ours = rate(columns[0]);
    const ratios = numpyColumns.map((c) => pad((ours / rate(c)).toFixed(2), 24));
    console.log(`${pad(shapeLabel(shape), 20)} ${cells.join(' ')} ${ratios.join(' ')}`);
  }
  await ort.dispose();
  await ortOne.dispose();
}

export async function main(args: string[] = process.argv.slice(2)): Promise<void> {
  const option = (name: string) => {
    const i = args.indexOf(name);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const sizes = (option('--sizes') ?? DEFAULT_SIZES.join(',')).split(',').map(Number);
  const repeats = Number(option('--repeats') ?? 5);
  settleMs = Number(option('--settle-ms') ?? settleMs);
  const shapes: Shape[] = sizes.map((n) => ({ rows: n, cols: n, depth: n }));
  if (!args.includes('--no-rectangular')) shapes.push(RECTANGULAR);

  console.log(
    `cores: ${availableParallelism()}; OpenBLAS variables in the environment: ${openblasVariables()}`,
  );
  if (!args.includes('--no-threshold')) {
    const ort = await OnnxruntimeMatmulEngine.create();
    await thresholdSection(new TypescriptMatmulEngine(), ort);
    await ort.dispose();
  }
  if (!args.includes('--no-variants')) await variantsSection(sizes, repeats);

  if (!numpyAvailable()) {
    console.log(
      `\nnumpy is not importable by ${PYTHON}: install it with \`sudo apt-get install python3-numpy\``,
    );
    console.log('(Debian links it to OpenBLAS through libopenblas0). Skipping the comparison with numpy.');
    return;
  }
  const numpy = new NumpyServer(process.env);
  const numpyUnset = args.includes('--no-unset-openblas')
    ? null
    : new NumpyServer(environmentWithoutOpenblas());
  try {
    console.log('\n## numpy BLAS\n');
    console.log(`as the environment has it: ${JSON.stringify(await numpy.info())}`);
    if (numpyUnset) console.log(`with OPENBLAS_* unset:     ${JSON.stringify(await numpyUnset.info())}`);
    await comparisonSection(shapes, repeats, numpy, numpyUnset, !args.includes('--no-tfjs'));
  } finally {
    numpy.close();
    numpyUnset?.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
