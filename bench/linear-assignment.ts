/**
 * Linear assignment benchmark: our solver (WebAssembly and TypeScript kernels, float64 and float32 costs) against
 * scipy's linear_sum_assignment on the same matrices. Both sides time only the solve call (median of repeats)
 * and must reach the same optimal total.
 *
 *   npx tsx bench/linear-assignment.ts [--sizes 512,1024] [--types uniform,wm-d16] [--no-typescript]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { SeededRandom } from '../src/random/seeded-random.js';
import {
  assignmentCost,
  type CostArray,
  type LinearAssignmentImplementation,
  solveLinearAssignment,
} from '../src/solver/linear-assignment.js';
import { wasmSolverAvailable } from '../src/solver/wasm-linear-assignment.js';

const PYTHON = '/usr/bin/python3';
const DEFAULT_SIZES = [512, 1024, 2048, 4096];

/** How a benchmark cost matrix is made. */
interface CostType {
  readonly name: string;
  readonly description: string;
  make(n: number, random: SeededRandom): Float64Array;
}

const COST_TYPES: readonly CostType[] = [
  {
    name: 'uniform',
    description: 'i.i.d. uniform [0, 1) costs',
    make: (n, random) => {
      const c = new Float64Array(n * n);
      for (let k = 0; k < c.length; k++) c[k] = random.next();
      return c;
    },
  },
  {
    name: 'wm-d64',
    description:
      'C = -X·Yᵀ, X n×64 gaussian, Y = X with rows permuted + 0.5·gaussian noise (typical re-basin)',
    make: (n, random) => weightMatchingCost(n, 64, 0.5, random),
  },
  {
    name: 'wm-d64-noisy',
    description: 'as wm-d64 with 2·gaussian noise: the permutation is barely visible',
    make: (n, random) => weightMatchingCost(n, 64, 2, random),
  },
  {
    name: 'wm-d16',
    description: 'C = -X·Yᵀ, X n×16, 1·noise: low rank, many near-ties (the hardest case found)',
    make: (n, random) => weightMatchingCost(n, 16, 1, random),
  },
];

function weightMatchingCost(n: number, depth: number, noise: number, random: SeededRandom): Float64Array {
  const x = random.normalArray(n * depth);
  const permutation = random.permutation(n);
  const y = new Float32Array(n * depth);
  for (let i = 0; i < n; i++) {
    const from = permutation[i] * depth;
    for (let k = 0; k < depth; k++) y[i * depth + k] = x[from + k] + noise * random.normal();
  }
  const c = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const a = i * depth;
    for (let j = 0; j < n; j++) {
      const b = j * depth;
      let s = 0;
      for (let k = 0; k < depth; k++) s += x[a + k] * y[b + k];
      c[i * n + j] = -s;
    }
  }
  return c;
}

/** A timed run: median milliseconds and the optimal total it reached. */
interface Timing {
  readonly ms: number;
  readonly total: number;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function repeatsFor(n: number, implementation: LinearAssignmentImplementation): number {
  if (implementation === 'typescript') return n >= 2048 ? 1 : 3;
  return n >= 4096 ? 3 : 5;
}

/** Whether to run once untimed first: the wasm memory grows to the new size, V8 optimises the TS kernel. */
function warmsUp(n: number, implementation: LinearAssignmentImplementation): boolean {
  return implementation !== 'typescript' || n < 2048;
}

function timeOurs(cost: CostArray, n: number, implementation: LinearAssignmentImplementation): Timing {
  let assignment: Int32Array = new Int32Array(0);
  if (warmsUp(n, implementation)) assignment = solveLinearAssignment(cost, n, n, { implementation });
  const times: number[] = [];
  for (let r = 0; r < repeatsFor(n, implementation); r++) {
    const start = performance.now();
    assignment = solveLinearAssignment(cost, n, n, { implementation });
    times.push(performance.now() - start);
  }
  return { ms: median(times), total: assignmentCost(cost, n, n, assignment) };
}

const SCIPY_SCRIPT = `
import json, sys, time
import numpy as np
from scipy.optimize import linear_sum_assignment
path, n, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
c = np.fromfile(path, dtype=np.float64).reshape(n, n)
if n < 2048:
    linear_sum_assignment(c)
times = []
for _ in range(repeats):
    t = time.perf_counter()
    r, k = linear_sum_assignment(c)
    times.append((time.perf_counter() - t) * 1000)
print(json.dumps({"ms": float(np.median(times)), "total": float(c[r, k].sum())}))
`;

function scipyAvailable(): boolean {
  const probe = spawnSync(PYTHON, ['-c', 'import scipy.optimize, numpy'], { encoding: 'utf8' });
  return probe.status === 0;
}

function timeScipy(cost: Float64Array, n: number, dir: string): Timing {
  const file = join(dir, 'cost.f64');
  writeFileSync(file, new Uint8Array(cost.buffer, cost.byteOffset, cost.byteLength));
  const repeats = n >= 4096 ? 3 : 5;
  const run = spawnSync(PYTHON, ['-c', SCIPY_SCRIPT, file, String(n), String(repeats)], {
    encoding: 'utf8',
    maxBuffer: 1 << 20,
  });
  if (run.status !== 0) throw new Error(`scipy run failed: ${run.stderr}`);
  const parsed = JSON.parse(run.stdout) as Timing;
  return parsed;
}

interface Variant {
  readonly label: string;
  readonly implementation: LinearAssignmentImplementation;
  readonly float32: boolean;
}

function parseList(args: string[], flag: string): string[] | null {
  const at = args.indexOf(flag);
  return at >= 0 && at + 1 < args.length ? args[at + 1].split(',') : null;
}

function pad(text: string, width: number): string {
  return text.padStart(width);
}

export async function main(args: string[] = process.argv.slice(2)): Promise<void> {
  const sizes = (parseList(args, '--sizes') ?? DEFAULT_SIZES.map(String)).map(Number);
  const typeNames = parseList(args, '--types');
  const types = COST_TYPES.filter((t) => typeNames === null || typeNames.includes(t.name));
  const variants: Variant[] = [
    { label: 'wasm f64', implementation: 'wasm', float32: false },
    { label: 'wasm f32', implementation: 'wasm', float32: true },
  ];
  if (!args.includes('--no-typescript')) {
    variants.push(
      { label: 'ts f64', implementation: 'typescript', float32: false },
      { label: 'ts f32', implementation: 'typescript', float32: true },
    );
  }
  if (!wasmSolverAvailable()) {
    console.log('WebAssembly kernel unavailable (run `npm run build:wasm`): the wasm rows use TypeScript.');
  }
  const withScipy = scipyAvailable();
  if (!withScipy) {
    console.log(
      `scipy not importable by ${PYTHON}: install it with \`apt-get install python3-scipy\`; ` +
        'skipping the scipy comparison.',
    );
  }
  for (const t of types) console.log(`${t.name}: ${t.description}`);
  const header = ['type', 'n', 'scipy ms', ...variants.flatMap((v) => [`${v.label} ms`, '×scipy'])];
  const widths = header.map((h) => Math.max(h.length, 8));
  console.log(header.map((h, k) => pad(h, widths[k])).join(' '));
  const dir = mkdtempSync(join(tmpdir(), 'lap-bench-'));
  const mismatches: string[] = [];
  try {
    for (const type of types) {
      for (const n of sizes) {
        const random = new SeededRandom(n * 7919 + type.name.length);
        const cost64 = type.make(n, random);
        const cost32 = Float32Array.from(cost64);
        const scipy = withScipy ? timeScipy(cost64, n, dir) : null;
        const cells = [type.name, String(n), scipy === null ? '-' : scipy.ms.toFixed(1)];
        for (const variant of variants) {
          const timing = timeOurs(variant.float32 ? cost32 : cost64, n, variant.implementation);
          cells.push(timing.ms.toFixed(1), scipy === null ? '-' : (timing.ms / scipy.ms).toFixed(2));
          if (!variant.float32 && scipy !== null) {
            const tolerance = 1e-9 * Math.max(1, Math.abs(scipy.total));
            if (Math.abs(timing.total - scipy.total) > tolerance) {
              mismatches.push(
                `${type.name} n=${n} ${variant.label}: total ${timing.total} vs scipy ${scipy.total}`,
              );
            }
          }
        }
        console.log(cells.map((c, k) => pad(c, widths[k])).join(' '));
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  if (withScipy) {
    console.log(
      mismatches.length === 0
        ? 'All float64 totals equal scipy optimal totals (float32 runs solve the rounded matrix).'
        : `TOTAL MISMATCHES:\n${mismatches.join('\n')}`,
    );
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  await main();
}
