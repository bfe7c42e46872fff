/**
 * maps.json across versions: version 2 holds nested spaces (a parent and one map per parent unit) and reads back
 * as written; a version 1 file, written before nested spaces, reads with its heads' inner entries in order.
 */
import { describe, expect, it } from 'vitest';
import { planAlignment } from '../../src/align/alignment-problem.js';
import { checkMapsFitPlan } from '../../src/align/check-maps.js';
import { parseMapsDocument, spaceMapsToDocument } from '../../src/align/maps-file.js';
import { makeGpt2 } from '../support/model-factory.js';
import { specOf, widthsOf } from '../support/transform-model.js';

// 3 heads of 4 dims: each block has the nested spaces h.{i}.attn.qk and h.{i}.attn.v, 4 units in each head.
const gpt2 = makeGpt2({
  vocab: 12,
  positions: 8,
  dModel: 12,
  nHead: 3,
  nLayer: 2,
  tiedLmHead: false,
  seed: 3,
});
const spec = specOf(gpt2.tensors, gpt2.config);
const widths = widthsOf(spec, gpt2.tensors);
const plan = planAlignment({ spec, widths }, { spec, widths });

/** A version 1 document as `mal align` wrote it before nested spaces: top-level spaces only, heads reversed. */
function version1(version: 1 | 2 | undefined) {
  const spaces: Record<string, unknown> = {};
  for (const s of plan.spaces) {
    if (s.parent !== undefined) continue;
    const map = Array.from({ length: s.baseWidth }, (_, i) =>
      s.baseSpace.endsWith('.attn') ? s.baseWidth - 1 - i : i,
    );
    spaces[s.baseSpace] = {
      targetSpace: s.targetSpace,
      kind: s.kind,
      baseWidth: s.baseWidth,
      targetWidth: s.targetWidth,
      map,
    };
  }
  return { ...(version === undefined ? {} : { version }), base: 'a', target: 'b', spaces };
}

describe('maps.json versions', () => {
  it('the spec has nested spaces for the test to be about', () => {
    expect(plan.spaces.filter((s) => s.parent !== undefined).map((s) => s.baseSpace)).toEqual([
      'transformer.h.0.attn.qk',
      'transformer.h.0.attn.v',
      'transformer.h.1.attn.qk',
      'transformer.h.1.attn.v',
    ]);
  });

  it.each([1, undefined] as const)(
    'version %s: nested spaces read as identity inside each head',
    (version) => {
      const maps = parseMapsDocument(version1(version), 'old/maps.json', plan);
      expect(Array.from(maps.get('transformer.h.0.attn')!.map)).toEqual([2, 1, 0]);
      for (const name of ['transformer.h.0.attn.qk', 'transformer.h.1.attn.v']) {
        const m = maps.get(name)!;
        expect(m.parent).toEqual({ space: name.replace(/\.(qk|v)$/, ''), baseWidth: 3 });
        expect(Array.from(m.map)).toEqual([0, 1, 2, 3, 0, 1, 2, 3, 0, 1, 2, 3]);
      }
      expect(() => checkMapsFitPlan(plan, maps, 'old/maps.json')).not.toThrow();
    },
  );

  it('version 2 lacking a nested space is refused, naming the space', () => {
    const maps = parseMapsDocument(version1(2), 'new/maps.json', plan);
    expect(maps.has('transformer.h.0.attn.qk')).toBe(false);
    expect(() => checkMapsFitPlan(plan, maps, 'new/maps.json')).toThrow(
      "new/maps.json has no map for base space 'transformer.h.0.attn.qk'",
    );
  });

  it('version 2 writes nested maps with their parent and reads them back as written', () => {
    const v1 = parseMapsDocument(version1(1), 'old/maps.json', plan);
    const shuffled = new Map(v1);
    const v = v1.get('transformer.h.1.attn.v')!;
    shuffled.set(v.baseSpace, { ...v, map: Int32Array.from([3, 2, 1, 0, 0, 1, 2, 3, 1, 0, 3, 2]) });
    const doc = { version: 2, spaces: spaceMapsToDocument(shuffled.values()) };
    const text = JSON.parse(JSON.stringify(doc));
    expect(text.spaces['transformer.h.1.attn.v'].parent).toEqual({
      space: 'transformer.h.1.attn',
      baseWidth: 3,
    });
    const back = parseMapsDocument(text, 'new/maps.json', plan);
    expect(Array.from(back.get('transformer.h.1.attn.v')!.map)).toEqual([3, 2, 1, 0, 0, 1, 2, 3, 1, 0, 3, 2]);
    expect(() => checkMapsFitPlan(plan, back, 'new/maps.json')).not.toThrow();
  });

  it('a nested map that repeats a unit inside one head is refused, naming the head', () => {
    const v1 = parseMapsDocument(version1(1), 'old/maps.json', plan);
    const doc = { version: 2, spaces: spaceMapsToDocument(v1.values()) };
    doc.spaces['transformer.h.0.attn.v'] = {
      ...doc.spaces['transformer.h.0.attn.v'],
      map: [0, 1, 2, 3, 0, 1, 2, 3, 0, 0, 2, 3],
    };
    expect(() => parseMapsDocument(doc, 'bad/maps.json', plan)).toThrow(
      /field 'spaces\.transformer\.h\.0\.attn\.v\.map' is not a generalized permutation: inside parent unit 2/,
    );
  });
});
