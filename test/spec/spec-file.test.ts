import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SpecError } from '../../src/errors.js';
import { deriveSpec } from '../../src/spec/derive-spec.js';
import { computeSpaceWidths } from '../../src/spec/space-widths.js';
import { loadSpecFile, parseSpecFile, serializeSpec } from '../../src/spec/spec-file.js';
import { BASIC_RESNET, GPT2_TENSORS, LLAMA_TENSORS, VGG_TENSORS } from './spec-fixtures.js';
import { shapesOf, tensorInfos } from './spec-test-helpers.js';

const YAML_SPEC = `# a hand-written spec
family: custom
spaces:
  - {name: input, kind: fixed, role: input}
  - {name: h1, kind: free}
  - {name: heads, kind: free, role: heads}
  - {name: output, kind: fixed}
tensors:
  fc1.weight: [h1, input]
  fc1.bias: [h1]
  conv.weight: [h1, input, null, null]
  attn.c_attn.weight: [h1, [heads*64, heads*64, heads*64]]
  attn.c_proj.weight: [heads*64, h1]
  bn.num_batches_tracked: {axes: [], merge: false}
  fc2.weight: [output, h1]
layers:
  - {name: fc1, kind: dense, tensors: [fc1.weight, fc1.bias], input: input, output: h1}
  - name: attn
    kind: attention
    tensors: [attn.c_attn.weight, attn.c_proj.weight]
    input: h1
    output: h1
  - {name: fc2, kind: dense, tensors: [fc2.weight]}
attributes: {activation: relu, n_head: 2}
`;

describe('parseSpecFile', () => {
  it('reads the YAML format: space names, null axes, parts with blocks, merge: false', () => {
    const spec = parseSpecFile(YAML_SPEC, 'spec.yaml');
    expect(spec.family).toBe('custom');
    expect(spec.spaces).toEqual([
      { name: 'input', kind: 'fixed', role: 'input' },
      { name: 'h1', kind: 'free' },
      { name: 'heads', kind: 'free', role: 'heads' },
      { name: 'output', kind: 'fixed' },
    ]);
    expect(spec.tensors.map((tensor) => tensor.name)).toEqual([
      'fc1.weight',
      'fc1.bias',
      'conv.weight',
      'attn.c_attn.weight',
      'attn.c_proj.weight',
      'bn.num_batches_tracked',
      'fc2.weight',
    ]);
    expect(spec.tensors[2].axes).toEqual([
      [{ space: 'h1', block: 1 }],
      [{ space: 'input', block: 1 }],
      null,
      null,
    ]);
    expect(spec.tensors[3].axes[1]).toEqual([
      { space: 'heads', block: 64 },
      { space: 'heads', block: 64 },
      { space: 'heads', block: 64 },
    ]);
    expect(spec.tensors[4].axes[0]).toEqual([{ space: 'heads', block: 64 }]);
    expect(spec.tensors[5]).toEqual({ name: 'bn.num_batches_tracked', axes: [], merge: false });
    expect(spec.layers[1]).toEqual({
      name: 'attn',
      kind: 'attention',
      tensors: ['attn.c_attn.weight', 'attn.c_proj.weight'],
      input: 'h1',
      output: 'h1',
    });
    expect(spec.layers[2]).toMatchObject({ input: null, output: null });
    expect(spec.attributes).toEqual({ activation: 'relu', n_head: 2 });
  });

  it('reads the same structure from JSON', () => {
    const json = `{
  "family": "mlp",
  "spaces": [{"name": "input", "kind": "fixed"}, {"name": "h", "kind": "free"}, {"name": "output", "kind": "fixed"}],
  "tensors": {"a.weight": ["h", "input"], "b.weight": ["output", ["h*2"]]},
  "layers": [{"name": "a", "kind": "dense", "tensors": ["a.weight"], "input": "input", "output": "h"}]
}`;
    const spec = parseSpecFile(json, 'model.spec.json');
    expect(spec.tensors[1].axes).toEqual([[{ space: 'output', block: 1 }], [{ space: 'h', block: 2 }]]);
    expect(spec.attributes).toEqual({});
  });

  const failures: [string, string, string][] = [
    [
      'an unknown space, with file, line and field path',
      YAML_SPEC.replace('fc1.weight: [h1, input]', 'fc1.weight: [h1, h9]'),
      "spec.yaml:9: tensors.fc1.weight[1]: unknown space 'h9'",
    ],
    [
      'an unknown space inside parts',
      YAML_SPEC.replace('[heads*64, heads*64, heads*64]', '[heads*64, head*64, heads*64]'),
      "spec.yaml:12: tensors.attn.c_attn.weight[1][1]: unknown space 'head'",
    ],
    [
      'an unknown top-level key',
      `${YAML_SPEC}extra: 1\n`,
      "spec.yaml:25: extra: unknown key 'extra' (expected one of family, spaces, tensors, layers, attributes)",
    ],
    [
      'an unknown key in a space',
      YAML_SPEC.replace('{name: h1, kind: free}', '{name: h1, kind: free, size: 3}'),
      "spec.yaml:5: spaces[1].size: unknown key 'size'",
    ],
    [
      'an unknown key in a tensor',
      YAML_SPEC.replace('{axes: [], merge: false}', '{axes: [], merged: false}'),
      "spec.yaml:14: tensors.bn.num_batches_tracked.merged: unknown key 'merged'",
    ],
    [
      'an unknown key in a layer',
      YAML_SPEC.replace('    output: h1\n', '    output: h1\n    outputs: h1\n'),
      "spec.yaml:23: layers[1].outputs: unknown key 'outputs'",
    ],
    [
      'a bad space kind',
      YAML_SPEC.replace('{name: h1, kind: free}', '{name: h1, kind: loose}'),
      "spec.yaml:5: spaces[1].kind: 'loose' is not a space kind (expected one of free, fixed)",
    ],
    [
      'a bad family',
      YAML_SPEC.replace('family: custom', 'family: bert'),
      "spec.yaml:2: family: 'bert' is not an architecture family",
    ],
    [
      'a zero block',
      YAML_SPEC.replace('[heads*64, h1]', '[heads*0, h1]'),
      "spec.yaml:13: tensors.attn.c_proj.weight[0]: block of 'heads*0' must be a positive integer",
    ],
    [
      'a layer listing an unknown tensor',
      YAML_SPEC.replace('tensors: [fc2.weight]', 'tensors: [fc3.weight]'),
      "spec.yaml:23: layers[2].tensors[0]: unknown tensor 'fc3.weight'",
    ],
    [
      'a tensor in two layers',
      YAML_SPEC.replace('tensors: [fc2.weight]', 'tensors: [fc1.bias]'),
      "spec.yaml:23: layers[2].tensors[0]: tensor 'fc1.bias' already belongs to layer 'fc1'",
    ],
    [
      'a layer reading an unknown space',
      YAML_SPEC.replace('    input: h1\n', '    input: h2\n'),
      "spec.yaml:21: layers[1].input: unknown space 'h2'",
    ],
    [
      'a duplicate space',
      YAML_SPEC.replace('{name: output, kind: fixed}', '{name: h1, kind: fixed}'),
      "spec.yaml:7: spaces[3].name: space 'h1' is declared twice",
    ],
    [
      'a duplicate tensor (duplicate YAML key)',
      YAML_SPEC.replace('fc2.weight: [output, h1]', 'fc1.bias: [h1]'),
      'spec.yaml:15: Map keys must be unique',
    ],
    [
      'a missing required key',
      YAML_SPEC.replace('{name: h1, kind: free}', '{name: h1}'),
      "spec.yaml:5: spaces[1]: missing required key 'kind'",
    ],
    [
      'a non-string attribute',
      YAML_SPEC.replace('n_head: 2', 'n_head: [2]'),
      'spec.yaml:24: attributes.n_head: expected a string or a number',
    ],
    [
      'an empty axis',
      YAML_SPEC.replace('fc1.bias: [h1]', 'fc1.bias: [[]]'),
      'spec.yaml:10: tensors.fc1.bias[0]: an axis needs at least one part',
    ],
    ['an empty file', '', 'spec.yaml: (top level): expected a mapping'],
  ];
  for (const [what, text, message] of failures) {
    it(`rejects ${what}`, () => {
      expect(() => parseSpecFile(text, 'spec.yaml')).toThrow(SpecError);
      expect(() => parseSpecFile(text, 'spec.yaml')).toThrow(message);
    });
  }

  it('gives JSON errors line numbers too, and refuses invalid JSON', () => {
    const json =
      '{\n  "spaces": [{"name": "h", "kind": "free"}],\n  "tensors": {\n    "w": ["h", "x"]\n  }\n}';
    expect(() => parseSpecFile(json, 'spec.json')).toThrow("spec.json:4: tensors.w[1]: unknown space 'x'");
    expect(() => parseSpecFile('{"spaces": [], }', 'spec.json')).toThrow(/^spec\.json: not valid JSON/);
  });
});

describe('serializeSpec', () => {
  const models = [
    [
      'MLP',
      deriveSpec(
        tensorInfos([
          ['fc1.weight', [4, 3]],
          ['fc1.bias', [4]],
          ['fc2.weight', [2, 4]],
        ]),
      ),
    ],
    ['VGG-style CNN', deriveSpec(VGG_TENSORS)],
    ['ResNet', deriveSpec(BASIC_RESNET)],
    ['GPT-2', deriveSpec(GPT2_TENSORS, { config: { n_head: 4 } })],
    ['LLaMA', deriveSpec(LLAMA_TENSORS, { config: { num_attention_heads: 8, num_key_value_heads: 2 } })],
  ] as const;
  for (const [family, spec] of models) {
    it(`round-trips a derived ${family} spec through parseSpecFile`, () => {
      const text = serializeSpec(spec);
      expect(JSON.parse(text)).toBeTypeOf('object');
      expect(parseSpecFile(text, 'derived.json')).toEqual(spec);
    });
  }

  it('writes one tensor per line, parts as space*block, buffers with merge: false', () => {
    const text = serializeSpec(deriveSpec(GPT2_TENSORS, { config: { n_head: 4 } }));
    expect(text).toContain(
      '"transformer.h.0.attn.c_attn.weight": ["residual",[{"space":"transformer.h.0.attn","inner":[{"space":"transformer.h.0.attn.qk","size":16}]},{"space":"transformer.h.0.attn","inner":[{"space":"transformer.h.0.attn.qk","size":16}]},{"space":"transformer.h.0.attn","inner":[{"space":"transformer.h.0.attn.v","size":16}]}]]',
    );
    expect(text).toContain('"transformer.h.0.attn.masked_bias": {"axes":[],"merge":false}');
  });

  it('loads a saved spec from disk and it still fits the model', async () => {
    const spec = deriveSpec(BASIC_RESNET);
    const folder = await mkdtemp(join(tmpdir(), 'mal-spec-'));
    try {
      const path = join(folder, 'resnet.spec.json');
      await writeFile(path, serializeSpec(spec));
      const loaded = await loadSpecFile(path);
      expect(loaded).toEqual(spec);
      expect(computeSpaceWidths(loaded, shapesOf(BASIC_RESNET)).get('residual.layer2.0')).toBe(32);
      const yamlPath = join(folder, 'spec.yml');
      await writeFile(yamlPath, YAML_SPEC);
      expect((await loadSpecFile(yamlPath)).layers).toHaveLength(3);
      await expect(loadSpecFile(join(folder, 'missing.yaml'))).rejects.toThrow(
        /missing\.yaml: cannot read spec file/,
      );
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
