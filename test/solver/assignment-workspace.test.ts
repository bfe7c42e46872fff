import { describe, expect, it } from 'vitest';
import { SeededRandom } from '../../src/random/seeded-random.js';
import {
  type LinearAssignmentImplementation,
  openAssignmentWorkspace,
  solveLinearAssignment,
} from '../../src/solver/linear-assignment.js';
import { NonFiniteCostError } from '../../src/solver/linear-assignment-errors.js';

function randomCosts(random: SeededRandom, length: number, levels: number): Float64Array {
  const cost = new Float64Array(length);
  for (let k = 0; k < length; k++) cost[k] = random.int(levels) - levels / 2;
  return cost;
}

describe('openAssignmentWorkspace', () => {
  for (const implementation of ['wasm', 'typescript'] as const satisfies LinearAssignmentImplementation[]) {
    it(`${implementation}: starts at zero, solves as solveLinearAssignment does and leaves the costs as written`, () => {
      const random = new SeededRandom(11);
      for (let t = 0; t < 60; t++) {
        const rows = 1 + random.int(40);
        const cols = 1 + random.int(40);
        const maximize = t % 2 === 0;
        const cost = randomCosts(random, rows * cols, [3, 1000][t % 2]);
        const workspace = openAssignmentWorkspace(rows, cols, { implementation });
        try {
          expect(workspace.cost.every((c) => c === 0)).toBe(true);
          workspace.cost.set(cost);
          const map = workspace.solve({ maximize });
          expect(Array.from(map)).toEqual(Array.from(solveLinearAssignment(cost, rows, cols, { maximize })));
          expect(Array.from(workspace.cost)).toEqual(Array.from(cost));
        } finally {
          workspace.close();
        }
      }
    });
  }

  it('keeps an open workspace intact while other problems are solved and other workspaces opened', () => {
    const random = new SeededRandom(12);
    const first = openAssignmentWorkspace(30, 30);
    const firstCost = randomCosts(random, 900, 1000);
    first.cost.set(firstCost);
    // A second workspace and plain solves of other (larger) problems in between: none may touch the first's memory.
    const second = openAssignmentWorkspace(50, 20);
    const secondCost = randomCosts(random, 1000, 1000);
    second.cost.set(secondCost);
    solveLinearAssignment(randomCosts(random, 200 * 200, 1000), 200, 200);
    expect(Array.from(first.cost)).toEqual(Array.from(firstCost));
    expect(Array.from(first.solve({ maximize: true }))).toEqual(
      Array.from(solveLinearAssignment(firstCost, 30, 30, { maximize: true })),
    );
    expect(Array.from(second.solve())).toEqual(Array.from(solveLinearAssignment(secondCost, 50, 20)));
    first.close();
    second.close();
  });

  it('names a non-finite cost written into the workspace', () => {
    const workspace = openAssignmentWorkspace(3, 3);
    try {
      workspace.cost.set([1, 2, 3, 4, Number.NaN, 6, 7, 8, 9]);
      expect(() => workspace.solve({ maximize: true })).toThrow(NonFiniteCostError);
      expect(() => workspace.solve({ maximize: true })).toThrow(/\[1, 1\]|row 1/);
    } finally {
      workspace.close();
    }
  });
});
