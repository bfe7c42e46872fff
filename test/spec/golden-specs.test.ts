import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ArchitectureFamily, ArchitectureSpec } from '../../src/spec/architecture-spec.js';
import { deriveSpec } from '../../src/spec/derive-spec.js';

interface GoldenCase {
  readonly tensors: [string, number[]][];
  readonly config?: Record<string, unknown>;
  readonly family?: ArchitectureFamily;
  readonly spec?: ArchitectureSpec;
  readonly error?: string;
}

// Specs derived by the code before families became templates; see fixtures/README.md.
const cases = readFileSync(new URL('./fixtures/golden-specs.jsonl', import.meta.url), 'utf8')
  .split('\n')
  .filter(Boolean)
  .map((line) => JSON.parse(line) as GoldenCase);

function label(golden: GoldenCase, index: number): string {
  const outcome = golden.spec?.family ?? `error: ${golden.error?.slice(0, 60)}`;
  return `#${index} ${golden.tensors[0]?.[0] ?? '(no tensors)'} (${golden.tensors.length} tensors) → ${outcome}`;
}

describe('deriveSpec matches the golden specs of the code it replaced', () => {
  it('covers every family, with and without errors', () => {
    const families = new Set(cases.map((golden) => golden.spec?.family));
    expect([...families].sort()).toEqual(['cnn', 'gpt2', 'llama', 'mlp', 'resnet', undefined]);
    expect(cases.length).toBeGreaterThan(150);
  });

  it.each(cases.map((golden, index) => [label(golden, index), golden] as const))('%s', (_, golden) => {
    const tensors = golden.tensors.map(([name, shape]) => ({ name, dtype: 'F32' as const, shape }));
    let outcome: Pick<GoldenCase, 'spec' | 'error'>;
    try {
      const spec = deriveSpec(tensors, { config: golden.config, family: golden.family });
      outcome = { spec: JSON.parse(JSON.stringify(spec)) };
    } catch (error) {
      outcome = { error: (error as Error).message };
    }
    expect(outcome).toEqual({ spec: golden.spec, error: golden.error });
  });
});
