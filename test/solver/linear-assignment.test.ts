import { describe, expect, it } from 'vitest';
import { MalError } from '../../src/errors.js';
import { SeededRandom } from '../../src/random/seeded-random.js';
import {
  assignmentCost,
  type CostArray,
  type LinearAssignmentImplementation,
  solveLinearAssignment,
} from '../../src/solver/linear-assignment.js';
import {
  CostMatrixShapeError,
  CostOverflowError,
  NonFiniteCostError,
} from '../../src/solver/linear-assignment-errors.js';
import { wasmSolverAvailable } from '../../src/solver/wasm-linear-assignment.js';
import { bruteForceMinimum, hungarianMinimum } from './assignment-references.js';

const IMPLEMENTATIONS: readonly LinearAssignmentImplementation[] = ['wasm', 'typescript'];

/** A valid assignment: columns in range and distinct, exactly min(rows, cols) rows assigned. */
function expectValidAssignment(assignment: Int32Array, rows: number, cols: number): void {
  expect(assignment.length).toBe(rows);
  const seen = new Set<number>();
  for (const j of assignment) {
    if (j === -1) continue;
    expect(j).toBeGreaterThanOrEqual(0);
    expect(j).toBeLessThan(cols);
    expect(seen.has(j)).toBe(false);
    seen.add(j);
  }
  expect(seen.size).toBe(Math.min(rows, cols));
}

function randomIntegerCosts(random: SeededRandom, length: number, levels: number, offset = 0): Float64Array {
  const cost = new Float64Array(length);
  for (let k = 0; k < length; k++) cost[k] = random.int(levels) + offset;
  return cost;
}

describe('solveLinearAssignment', () => {
  it('loads the WebAssembly kernel (so the wasm cases below do not silently run TypeScript)', () => {
    expect(wasmSolverAvailable()).toBe(true);
  });

  for (const implementation of IMPLEMENTATIONS) {
    describe(implementation, () => {
      it('matches brute force on every shape up to 7×7 with heavily tied small integer costs', () => {
        const random = new SeededRandom(1);
        for (let rows = 1; rows <= 7; rows++) {
          for (let cols = 1; cols <= 7; cols++) {
            const trials = rows * cols >= 36 ? 60 : 150;
            for (let t = 0; t < trials; t++) {
              // Costs in 0..3 for most trials (ties everywhere), a wider range for the rest.
              const levels = t % 4 === 3 ? 20 : 4;
              const cost = randomIntegerCosts(random, rows * cols, levels);
              const assignment = solveLinearAssignment(cost, rows, cols, { implementation });
              expectValidAssignment(assignment, rows, cols);
              expect(assignmentCost(cost, rows, cols, assignment)).toBe(bruteForceMinimum(cost, rows, cols));
            }
          }
        }
      });

      it('solves float32 costs exactly on the float32 values', () => {
        const random = new SeededRandom(2);
        for (let t = 0; t < 200; t++) {
          const rows = 1 + random.int(6);
          const cols = 1 + random.int(6);
          const cost = new Float32Array(rows * cols);
          for (let k = 0; k < cost.length; k++) cost[k] = random.int(8) * 0.25 - 1;
          const assignment = solveLinearAssignment(cost, rows, cols, { implementation });
          expectValidAssignment(assignment, rows, cols);
          expect(assignmentCost(cost, rows, cols, assignment)).toBe(bruteForceMinimum(cost, rows, cols));
        }
      });

      it('maximises when asked', () => {
        const random = new SeededRandom(3);
        for (let t = 0; t < 300; t++) {
          const rows = 1 + random.int(7);
          const cols = 1 + random.int(7);
          const cost = randomIntegerCosts(random, rows * cols, 10, -5);
          const negated = cost.map((x) => -x);
          const assignment = solveLinearAssignment(cost, rows, cols, { maximize: true, implementation });
          expectValidAssignment(assignment, rows, cols);
          // `0 -` rather than unary minus: a zero optimum must compare equal to +0.
          expect(assignmentCost(cost, rows, cols, assignment)).toBe(
            0 - bruteForceMinimum(negated, rows, cols),
          );
        }
        expect(
          Array.from(solveLinearAssignment(Float64Array.of(1, 5, 2, 3), 2, 2, { maximize: true })),
        ).toEqual([1, 0]);
      });

      it('matches the Hungarian method on medium random problems, square and rectangular', () => {
        const random = new SeededRandom(4);
        const shapes: [number, number][] = [
          [40, 40],
          [60, 60],
          [30, 75],
          [75, 30],
          [1, 50],
          [50, 1],
        ];
        for (const [rows, cols] of shapes) {
          for (const kind of ['uniform', 'integer', 'lowRank'] as const) {
            const cost = new Float64Array(rows * cols);
            if (kind === 'uniform') for (let k = 0; k < cost.length; k++) cost[k] = random.next();
            if (kind === 'integer') for (let k = 0; k < cost.length; k++) cost[k] = random.int(5);
            if (kind === 'lowRank') {
              const a = random.normalArray(rows * 3);
              const b = random.normalArray(cols * 3);
              for (let i = 0; i < rows; i++) {
                for (let j = 0; j < cols; j++) {
                  let s = 0;
                  for (let k = 0; k < 3; k++) s += a[i * 3 + k] * b[j * 3 + k];
                  cost[i * cols + j] = -s;
                }
              }
            }
            const assignment = solveLinearAssignment(cost, rows, cols, { implementation });
            expectValidAssignment(assignment, rows, cols);
            const expected = hungarianMinimum(cost, rows, cols);
            expect(assignmentCost(cost, rows, cols, assignment)).toBeCloseTo(expected, 9);
          }
        }
      });

      it('handles 1×1, empty, negative and large-magnitude costs', () => {
        expect(Array.from(solveLinearAssignment(Float64Array.of(-7), 1, 1, { implementation }))).toEqual([0]);
        expect(Array.from(solveLinearAssignment(new Float64Array(0), 0, 0, { implementation }))).toEqual([]);
        expect(Array.from(solveLinearAssignment(new Float64Array(0), 0, 4, { implementation }))).toEqual([]);
        expect(Array.from(solveLinearAssignment(new Float32Array(0), 3, 0, { implementation }))).toEqual([
          -1, -1, -1,
        ]);
        const negative = Float64Array.of(-1, -9, -3, -2, -8, -4, -7, -6, -5);
        expect(Array.from(solveLinearAssignment(negative, 3, 3, { implementation }))).toEqual([1, 2, 0]);
        const random = new SeededRandom(5);
        for (let t = 0; t < 100; t++) {
          const rows = 1 + random.int(6);
          const cols = 1 + random.int(6);
          // Integers near 1e12 apart by up to 1e6: every sum stays exact in f64.
          const cost = randomIntegerCosts(random, rows * cols, 1e6, 1e12);
          const assignment = solveLinearAssignment(cost, rows, cols, { implementation });
          expectValidAssignment(assignment, rows, cols);
          expect(assignmentCost(cost, rows, cols, assignment)).toBe(bruteForceMinimum(cost, rows, cols));
        }
        const huge = Float64Array.of(1e300, -1e300, -1e300, 1e300);
        expect(Array.from(solveLinearAssignment(huge, 2, 2, { implementation }))).toEqual([1, 0]);
      });

      it('gives the diagonal on a matrix of equal costs (documented tie rule)', () => {
        for (const [rows, cols] of [
          [1, 1],
          [4, 4],
          [3, 6],
          [6, 3],
          [9, 9],
        ] as const) {
          for (const cost of [new Float64Array(rows * cols).fill(2.5), new Float32Array(rows * cols)]) {
            const expected = Array.from({ length: rows }, (_, i) => (i < cols ? i : -1));
            expect(Array.from(solveLinearAssignment(cost, rows, cols, { implementation }))).toEqual(expected);
          }
        }
      });

      it('breaks ties toward the lowest index where costs leave a choice', () => {
        // Row 0 is indifferent between its two cheapest columns 1 and 3; row 1 wants column 0.
        const cost = Float64Array.of(5, 1, 5, 1, 0, 9, 9, 9);
        expect(Array.from(solveLinearAssignment(cost, 2, 4, { implementation }))).toEqual([1, 0]);
      });
    });
  }

  it('returns identical assignments from both kernels and on repeated calls, ties included', () => {
    const random = new SeededRandom(6);
    for (let t = 0; t < 150; t++) {
      const rows = 1 + random.int(90);
      const cols = 1 + random.int(90);
      const levels = [2, 3, 10, 1000][t % 4];
      const float32 = t % 3 === 0;
      const cost: CostArray = float32 ? new Float32Array(rows * cols) : new Float64Array(rows * cols);
      for (let k = 0; k < cost.length; k++) cost[k] = random.int(levels) - levels / 2;
      const maximize = t % 5 === 0;
      const wasm = solveLinearAssignment(cost, rows, cols, { maximize, implementation: 'wasm' });
      const typescript = solveLinearAssignment(cost, rows, cols, { maximize, implementation: 'typescript' });
      expect(Array.from(typescript)).toEqual(Array.from(wasm));
      const again = solveLinearAssignment(cost, rows, cols, { maximize });
      expect(Array.from(again)).toEqual(Array.from(wasm));
      // The same numbers in the other array type: same answer (both are solved on their f64 values).
      const otherType = float32 ? Float64Array.from(cost) : Float32Array.from(cost);
      expect(Array.from(solveLinearAssignment(otherType, rows, cols, { maximize }))).toEqual(
        Array.from(wasm),
      );
    }
  });

  it('agrees between kernels on a larger, harder problem', () => {
    const random = new SeededRandom(7);
    const n = 300;
    const a = random.normalArray(n * 4);
    const b = random.normalArray(n * 4);
    const cost = new Float32Array(n * n);
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let k = 0; k < 4; k++) s += a[i * 4 + k] * b[j * 4 + k];
        cost[i * n + j] = -s;
      }
    }
    const wasm = solveLinearAssignment(cost, n, n, { implementation: 'wasm' });
    const typescript = solveLinearAssignment(cost, n, n, { implementation: 'typescript' });
    expectValidAssignment(wasm, n, n);
    expect(Array.from(typescript)).toEqual(Array.from(wasm));
    expect(assignmentCost(cost, n, n, wasm)).toBeCloseTo(hungarianMinimum(cost, n, n), 6);
  });

  it('rejects NaN and infinite costs with the offending entry', () => {
    for (const implementation of IMPLEMENTATIONS) {
      for (const [rows, cols] of [
        [3, 3],
        [2, 4],
        [4, 2],
      ] as const) {
        for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
          const cost = new Float64Array(rows * cols).fill(1);
          cost[cols + 1] = bad;
          const attempt = () => solveLinearAssignment(cost, rows, cols, { implementation });
          expect(attempt).toThrow(NonFiniteCostError);
          expect(attempt).toThrow(MalError);
          expect(attempt).toThrow(/cost\[1, 1\] is (NaN|Infinity|-Infinity)/);
        }
      }
      expect(() => solveLinearAssignment(Float32Array.of(Number.NaN), 1, 1, { implementation })).toThrow(
        NonFiniteCostError,
      );
    }
  });

  it('rejects a cost buffer that does not match rows × cols', () => {
    expect(() => solveLinearAssignment(new Float64Array(5), 2, 3)).toThrow(CostMatrixShapeError);
    expect(() => solveLinearAssignment(new Float64Array(6), 2, 3.5)).toThrow(CostMatrixShapeError);
    expect(() => solveLinearAssignment(new Float64Array(0), -1, 0)).toThrow(CostMatrixShapeError);
    expect(() => assignmentCost(new Float64Array(4), 2, 2, Int32Array.of(0))).toThrow(CostMatrixShapeError);
  });

  it('reports overflow when finite costs near the f64 limit overflow the duals', () => {
    // Found by search: multiples of 0.85e308 whose dual updates overflow to infinity.
    const multiples = [1, -2, -2, 0, 2, 2, 2, 0, 2, 0, 0, 0, 1, -2, -2, -1, 1, -1, 2, -1];
    const cost = Float64Array.from(multiples, (m) => m * 0.85e308);
    for (const implementation of IMPLEMENTATIONS) {
      expect(() => solveLinearAssignment(cost, 5, 4, { implementation })).toThrow(CostOverflowError);
    }
  });
});
