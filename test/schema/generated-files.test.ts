import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parsePlanFile } from '../../src/assembly/plan-file.js';
import { mergeSettingsShape, planJsonSchema } from '../../src/assembly/plan-schema.js';
import { EXAMPLE_PLAN, generatedSchemaFiles } from '../../src/schema/schema-files.js';
import { strictObject } from '../../src/schema/schema-kit.js';
import { specJsonSchema } from '../../src/spec/spec-schema.js';
import { parseStudyFile } from '../../src/study/study-file.js';

const ROOT = join(import.meta.dirname, '..', '..');

describe('files generated from the schemas', () => {
  it.each([...generatedSchemaFiles()])(
    '%s is current (else run `npx tsx scripts/generate-schemas.ts`)',
    async (path, content) => {
      expect(await readFile(join(ROOT, path), 'utf8')).toBe(content);
    },
  );

  it('documents every field of the plan in docs/plan-format.md', () => {
    const markdown = generatedSchemaFiles().get('docs/plan-format.md') ?? '';
    const names = new Set<string>();
    const visit = (node: unknown): void => {
      if (Array.isArray(node)) {
        for (const item of node) visit(item);
      } else if (typeof node === 'object' && node !== null) {
        for (const [key, value] of Object.entries(node)) {
          if (key === 'properties') for (const name of Object.keys(value as object)) names.add(name);
          visit(value);
        }
      }
    };
    visit(planJsonSchema());
    expect(names.size).toBeGreaterThan(30);
    for (const name of names) expect(markdown).toContain(`- \`${name}\` (`);
  });

  it('describes every field in the JSON Schemas', () => {
    type Field = { description?: string; $ref?: string };
    const undescribed: string[] = [];
    const check = (schema: { $defs?: Record<string, Field> }, name: string): void => {
      const visit = (node: unknown, path: string): void => {
        if (Array.isArray(node)) {
          for (const [index, item] of node.entries()) visit(item, `${path}[${index}]`);
        } else if (typeof node === 'object' && node !== null) {
          for (const [key, value] of Object.entries(node)) {
            if (key === 'properties') {
              for (const [field, { description, $ref }] of Object.entries(value as Record<string, Field>)) {
                const referred =
                  $ref === undefined ? undefined : schema.$defs?.[$ref.replace('#/$defs/', '')];
                if ((description ?? referred?.description) === undefined)
                  undescribed.push(`${path}.${field}`);
              }
            }
            visit(value, `${path}.${key}`);
          }
        }
      };
      visit(schema, name);
    };
    check(planJsonSchema(), 'plan');
    check(specJsonSchema(), 'spec');
    expect(undescribed).toEqual([]);
  });
});

describe('example plans', () => {
  it('the example in docs/plan-format.md parses', () => {
    const plan = parsePlanFile(EXAMPLE_PLAN, join(ROOT, 'examples', 'full-plan.yaml'));
    expect(plan.objective.tasks).toHaveLength(2);
    expect(plan.zoo.exclude).toEqual(['mlp-h64x64-s1-fmnist']);
  });

  it('every examples/*.yaml plan or study parses and points editors at its schema', async () => {
    const files = (await readdir(join(ROOT, 'examples'))).filter((name) => /\.ya?ml$/.test(name));
    expect(files.length).toBeGreaterThan(0);
    for (const name of files) {
      const text = await readFile(join(ROOT, 'examples', name), 'utf8');
      const path = join(ROOT, 'examples', name);
      // Study files are named study*.yaml; every other example is a plan.
      if (name.startsWith('study')) {
        expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../docs/schema/study.schema.json');
        expect(() => parseStudyFile(text, path)).not.toThrow();
      } else {
        expect(text.split('\n')[0]).toBe('# yaml-language-server: $schema=../docs/schema/plan.schema.json');
        expect(() => parsePlanFile(text, path)).not.toThrow();
      }
    }
  });
});

describe('the merge section leaves room for merge methods', () => {
  it('takes a method field by spreading its shape, and stays strict', () => {
    const withMethod = strictObject({
      ...mergeSettingsShape,
      method: z.enum(['mal', 'ties']).default('mal'),
    });
    expect(withMethod.parse({ lambdaMin: 0.2 })).toMatchObject({
      method: 'mal',
      lambdaMin: 0.2,
      epsilon: 0.01,
    });
    const refused = withMethod.safeParse({ methd: 'ties' });
    expect(refused.error?.issues[0].message).toBe(
      "unknown key 'methd' (expected one of unmatched, grid, epsilon, lambdaMin, lambdaChoice, donors, donorWeights, perLayerLambda, repair, regmean, method)",
    );
  });
});
