import { describe, expect, it } from 'vitest';
import { TARGETS } from './fuzz-targets.js';
import { runFuzz } from './run-fuzz.js';

/*
 * A few seconds of the fuzz suite on a fixed seed: every parser of untrusted bytes answers each mutated input
 * with a value or a MalError, never another throw, a dead process or silence. The long run: `npm run fuzz`.
 */
describe('fuzzing the parsers of untrusted bytes (seed 1)', () => {
  it('no crashes and no hangs', async () => {
    const results = await runFuzz({ cases: 40, seed: 1, deadlineMs: 20_000 });
    expect(results.map((r) => r.target)).toEqual(TARGETS.map((t) => t.name));
    for (const result of results) {
      expect(result.cases).toBe(40);
      expect({ target: result.target, failures: result.failures }).toEqual({
        target: result.target,
        failures: [],
      });
    }
  }, 180_000);
});
