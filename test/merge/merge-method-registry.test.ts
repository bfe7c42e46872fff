import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { MergeMethodDefinition } from '../../src/merge/merge-method-definition.js';
import {
  DEFAULT_MERGE_METHOD_CHOICE,
  describeMergeMethods,
  MERGE_METHOD_DEFINITIONS,
  MERGE_METHOD_NAMES,
  mergeMethod,
  mergeMethodChoiceFromStrings,
  mergeMethodChoiceSchema,
  mergeMethodFieldSchema,
  mergeMethodParameterRows,
  mergeTensorWith,
  nearestName,
  parseMergeMethodChoice,
  UnknownMergeMethodError,
} from '../../src/merge/merge-method-registry.js';
import { InvalidMergeOptionError } from '../../src/merge/merge-options-error.js';

const methodsDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'src', 'merge', 'methods');

function isDefinition(value: unknown): value is MergeMethodDefinition {
  return typeof value === 'object' && value !== null && 'mergeTensor' in value && 'choice' in value;
}

describe('the merge-method registry', () => {
  it('lists every method, in the order of the command line', () => {
    expect([...MERGE_METHOD_NAMES]).toEqual([
      'mal',
      'slerp',
      'task-arithmetic',
      'ties',
      'dare-linear',
      'dare-ties',
    ]);
    for (const name of MERGE_METHOD_NAMES) {
      const definition = mergeMethod(name);
      expect(definition.name).toBe(name);
      expect(definition.summary.length).toBeGreaterThan(10);
      expect(definition.summary).not.toContain('\n');
    }
    expect(MERGE_METHOD_DEFINITIONS.map((d) => d.name)).toEqual([...MERGE_METHOD_NAMES]);
  });

  it('registers every method defined in src/merge/methods/', async () => {
    const defined: string[] = [];
    for (const file of readdirSync(methodsDir).filter((f) => f.endsWith('.ts'))) {
      const module = (await import(join(methodsDir, file))) as Record<string, unknown>;
      for (const value of Object.values(module)) if (isDefinition(value)) defined.push(value.name);
    }
    expect(defined.sort()).toEqual([...MERGE_METHOD_NAMES].sort());
    for (const name of defined) expect(MERGE_METHOD_DEFINITIONS).toContain(mergeMethod(name));
  });

  it('states which methods need an ancestor and which work across widths', () => {
    const needs = MERGE_METHOD_DEFINITIONS.filter((d) => d.needsAncestor).map((d) => d.name);
    expect(needs).toEqual(['task-arithmetic', 'ties', 'dare-linear', 'dare-ties']);
    expect(MERGE_METHOD_DEFINITIONS.filter((d) => d.acrossWidths).map((d) => d.name)).toEqual(['mal']);
  });

  it('fills in defaults', () => {
    expect(parseMergeMethodChoice({ method: 'mal' })).toEqual(DEFAULT_MERGE_METHOD_CHOICE);
    expect(parseMergeMethodChoice({ method: 'ties' })).toEqual({ method: 'ties', density: 0.5 });
    expect(parseMergeMethodChoice({ method: 'dare-linear' })).toEqual({
      method: 'dare-linear',
      dropProbability: 0.5,
    });
    expect(parseMergeMethodChoice({ method: 'slerp' })).toEqual({ method: 'slerp' });
    expect(mergeMethodChoiceSchema.parse({ method: 'ties', density: 0.3 })).toEqual({
      method: 'ties',
      density: 0.3,
    });
    expect(mergeMethodChoiceSchema.parse({ method: 'mal', unmatched: 'keep' })).toEqual({
      method: 'mal',
      unmatched: 'keep',
    });
  });

  it.each([
    [{ method: 'ties', density: 0 }, 'density', '(0, 1]'],
    [{ method: 'ties', density: 1.5 }, 'density', '(0, 1]'],
    [{ method: 'ties', density: 'half' }, 'density', 'number'],
    [{ method: 'dare-linear', dropProbability: 1 }, 'dropProbability', '[0, 1)'],
    [{ method: 'dare-ties', dropProbability: -0.1 }, 'dropProbability', '[0, 1)'],
    [{ method: 'mal', unmatched: 'drop' }, 'unmatched', 'zero or keep'],
  ])('rejects %j naming the parameter', (input, parameter, detail) => {
    const parse = () => parseMergeMethodChoice(input);
    expect(parse).toThrow(InvalidMergeOptionError);
    expect(parse).toThrow(`merge option '${parameter}' of method '${input.method}' must be`);
    expect(parse).toThrow(detail);
    const result = mergeMethodChoiceSchema.safeParse(input);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0].path).toEqual([parameter]);
    expect(result.error?.issues[0].message).toContain(detail);
  });

  it('refuses a parameter the method does not have, suggesting the nearest', () => {
    expect(() => parseMergeMethodChoice({ method: 'ties', desnity: 0.3 })).toThrow(
      "merge option 'desnity' is not a parameter of method 'ties'; did you mean 'density'?",
    );
    expect(() => parseMergeMethodChoice({ method: 'slerp', density: 0.3 })).toThrow('(its parameters: none)');
    expect(mergeMethodChoiceSchema.safeParse({ method: 'slerp', density: 0.3 }).success).toBe(false);
  });

  it('answers an unknown method with a suggestion and the known methods', () => {
    let error: unknown;
    try {
      mergeMethod('tie');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(UnknownMergeMethodError);
    const unknown = error as UnknownMergeMethodError;
    expect(unknown.method).toBe('tie');
    expect(unknown.suggestion).toBe('ties');
    expect(unknown.known).toEqual([...MERGE_METHOD_NAMES]);
    expect(unknown.message).toBe(
      "unknown merge method 'tie'; did you mean 'ties'? Known methods: mal, slerp, task-arithmetic, ties, dare-linear, dare-ties",
    );
    expect(() => parseMergeMethodChoice({ method: 'task_arithmetic' })).toThrow(
      "did you mean 'task-arithmetic'?",
    );
    expect(() => mergeMethod('xyzzy')).toThrow(/^unknown merge method 'xyzzy'; known methods: mal, /);
    const parsed = mergeMethodChoiceSchema.safeParse({ method: 'SLERP' });
    expect(parsed.error?.issues[0].message).toContain("did you mean 'slerp'?");
    expect(nearestName('dare', MERGE_METHOD_NAMES)).toBe('dare-linear');
  });

  it('gives help rows for every parameter: name, type, default, description', () => {
    expect(mergeMethodParameterRows('ties')).toEqual([
      {
        name: 'density',
        flag: 'density',
        type: 'number in (0, 1]',
        jsonType: 'number',
        default: '0.5',
        description: 'fraction of each task vector kept, by magnitude',
        bounds: { exclusiveMinimum: 0, maximum: 1 },
      },
    ]);
    expect(mergeMethodParameterRows('dare-ties')[0]).toMatchObject({
      name: 'dropProbability',
      flag: 'drop-probability',
      type: 'number in [0, 1)',
      default: '0.5',
    });
    expect(mergeMethodParameterRows('mal')[0]).toMatchObject({
      name: 'unmatched',
      type: 'zero|keep',
      default: 'zero',
    });
    expect(mergeMethodParameterRows('slerp')).toEqual([]);
    for (const name of MERGE_METHOD_NAMES) {
      for (const row of mergeMethodParameterRows(name)) {
        expect(row.description, `${name}.${row.name}`).not.toBe('');
        expect(row.default, `${name}.${row.name}`).not.toBe('');
      }
    }
    const help = describeMergeMethods();
    for (const name of MERGE_METHOD_NAMES) expect(help).toContain(mergeMethod(name).summary);
    expect(help).toContain('density (number in (0, 1], default 0.5): fraction of each task vector kept');
    expect(help).toContain('needs an ancestor');
  });

  it('reads a plan field given as a bare name or as a choice', () => {
    expect(mergeMethodFieldSchema.parse('ties')).toEqual({ method: 'ties', density: 0.5 });
    expect(mergeMethodFieldSchema.parse({ method: 'ties', density: 0.3 })).toEqual({
      method: 'ties',
      density: 0.3,
    });
    expect(mergeMethodFieldSchema.safeParse('tie').error?.issues[0].message).toContain(
      "did you mean 'ties'?",
    );
  });

  it('reads parameters given as command-line strings', () => {
    expect(mergeMethodChoiceFromStrings('dare-ties', { dropProbability: '0.3' })).toEqual({
      method: 'dare-ties',
      dropProbability: 0.3,
    });
    expect(mergeMethodChoiceFromStrings('mal', { unmatched: 'keep' })).toEqual({
      method: 'mal',
      unmatched: 'keep',
    });
    expect(() => mergeMethodChoiceFromStrings('ties', { density: 'lots' })).toThrow(
      `merge option 'density' of method 'ties' must be a number, got "lots"`,
    );
  });

  it('names the method that needs an ancestor when none is given', () => {
    const tensor = new Float32Array([1, 2]);
    for (const method of ['task-arithmetic', 'ties', 'dare-linear', 'dare-ties'] as const) {
      expect(() =>
        mergeTensorWith(parseMergeMethodChoice({ method }), {
          tensorName: 'w',
          tensorIndex: 0,
          base: tensor,
          mapped: tensor,
          lambda: 0.5,
          seed: 0,
        }),
      ).toThrow(`tensor 'w': merge option 'ancestor' is required by method '${method}'`);
    }
  });
});
