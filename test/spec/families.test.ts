import { describe, expect, it } from 'vitest';
import { chooseTemplate, deriveSpec } from '../../src/spec/derive-spec.js';
import { deriveTransformerSpec } from '../../src/spec/derive-transformer-spec.js';
import { FAMILY_TEMPLATES } from '../../src/spec/families.js';
import { familyTemplateSchema, type TransformerTemplate } from '../../src/spec/family-template.js';
import { LLAMA_TENSORS } from './spec-fixtures.js';
import { axesOf, spaceSummary, tensorInfos } from './spec-test-helpers.js';

// Mistral 7B's config.json, shrunk to the LLaMA test model: same tensor names, model_type 'mistral'.
const MISTRAL_CONFIG = {
  architectures: ['MistralForCausalLM'],
  model_type: 'mistral',
  num_attention_heads: 8,
  num_key_value_heads: 2,
  hidden_act: 'silu',
  rms_norm_eps: 1e-5,
  rope_theta: 10000,
  sliding_window: 4096,
};

describe('family templates', () => {
  it('all parse, with unique names', () => {
    for (const template of FAMILY_TEMPLATES) familyTemplateSchema.parse(template);
    const names = FAMILY_TEMPLATES.map((template) => template.name);
    expect(new Set(names).size).toBe(names.length);
    expect(names).toEqual(['llama', 'mistral', 'gpt2', 'resnet', 'cnn', 'mlp']);
  });

  it('refuse a malformed axis, an unknown field and a missing one', () => {
    const llama = FAMILY_TEMPLATES.find((template) => template.name === 'llama') as TransformerTemplate;
    const badAxis = { ...llama, layers: [{ ...llama.layers[0], tensors: { weight: ['residual*'] } }] };
    expect(familyTemplateSchema.safeParse(badAxis).success).toBe(false);
    expect(familyTemplateSchema.safeParse({ ...llama, extra: 1 }).success).toBe(false);
    const { heads: _heads, ...headless } = llama;
    expect(familyTemplateSchema.safeParse(headless).success).toBe(false);
  });

  it('config.json chooses among templates of one spec family, else the first', () => {
    expect(chooseTemplate('llama').name).toBe('llama');
    expect(chooseTemplate('llama', { model_type: 'llama' }).name).toBe('llama');
    expect(chooseTemplate('llama', { model_type: 'mistral' }).name).toBe('mistral');
    expect(chooseTemplate('llama', { architectures: ['MistralForCausalLM'] }).name).toBe('mistral');
    expect(chooseTemplate('llama', { model_type: 'qwen2' }).name).toBe('llama');
    // A config naming a template of another family does not override the tensors' family.
    expect(chooseTemplate('gpt2', { model_type: 'mistral' }).name).toBe('gpt2');
  });
});

describe('Mistral, a data-only family', () => {
  it("derives LLaMA's spec from LLaMA's tensor names, plus its sliding window", () => {
    const mistral = deriveSpec(LLAMA_TENSORS, { config: MISTRAL_CONFIG });
    const { model_type: _type, architectures: _architectures, ...plain } = MISTRAL_CONFIG;
    const llama = deriveSpec(LLAMA_TENSORS, { config: plain });
    expect(mistral.family).toBe('llama');
    expect(mistral.spaces).toEqual(llama.spaces);
    expect(mistral.tensors).toEqual(llama.tensors);
    expect(mistral.layers).toEqual(llama.layers);
    expect(mistral.attributes).toEqual({ ...llama.attributes, sliding_window: 4096 });
    expect(llama.attributes).not.toHaveProperty('sliding_window');
    expect(axesOf(mistral, 'model.layers.0.self_attn.q_proj.weight')).toEqual([
      'model.layers.0.self_attn[model.layers.0.self_attn.query:4,8]',
      'residual',
    ]);
  });

  it('is chosen when the family is forced to llama, and names itself in errors', () => {
    expect(
      deriveSpec(LLAMA_TENSORS, { config: MISTRAL_CONFIG, family: 'llama' }).attributes.sliding_window,
    ).toBe(4096);
    expect(() => deriveSpec(LLAMA_TENSORS, { config: { model_type: 'mistral' } })).toThrow(
      /^a Mistral spec needs the number of attention heads \(num_attention_heads\)/,
    );
    const extra = [...LLAMA_TENSORS, ...tensorInfos([['model.layers.0.self_attn.gate.weight', [64]]])];
    expect(() => deriveSpec(extra, { config: MISTRAL_CONFIG })).toThrow(
      /cannot place tensor 'model\.layers\.0\.self_attn\.gate\.weight'.* in a Mistral layout/,
    );
  });
});

describe('a transformer family as one template', () => {
  // A GPT-NeoX-like toy: fused qkv in nn.Linear layout [out, in], no prefix variants beyond `gpt_neox.`.
  const NEOX = familyTemplateSchema.parse({
    kind: 'transformer',
    name: 'toy-neox',
    family: 'llama',
    label: 'toy NeoX',
    prefix: 'gpt_neox.',
    block: 'layers.{i}',
    heads: { count: ['num_attention_heads'] },
    spaces: {
      vocab: { kind: 'fixed', role: 'vocab' },
      residual: { kind: 'free', role: 'residual' },
      heads: { name: 'layers.{i}.attention', kind: 'free', role: 'heads' },
    },
    pre: [
      {
        module: 'embed_in',
        kind: 'embedding',
        input: 'vocab',
        output: 'residual',
        tensors: { weight: ['vocab', 'residual'] },
        missing: 'gpt_neox.embed_in.weight',
      },
    ],
    layers: [
      {
        module: 'layers.{i}.attention',
        kind: 'attention',
        input: 'residual',
        output: 'residual',
        tensors: {
          'query_key_value.weight': ['heads*head|heads*head|heads*head', 'residual'],
          'dense.weight': ['residual', 'heads*head'],
        },
      },
    ],
    post: [],
    attributes: { num_attention_heads: 'heads', layers: 'blocks' },
  }) as TransformerTemplate;

  it('derives its spaces, blocks in numeric order and the prefix', () => {
    const tensors = tensorInfos([
      ['gpt_neox.embed_in.weight', [10, 8]],
      ['gpt_neox.layers.10.attention.query_key_value.weight', [24, 8]],
      ['gpt_neox.layers.10.attention.dense.weight', [8, 8]],
      ['gpt_neox.layers.9.attention.query_key_value.weight', [24, 8]],
      ['gpt_neox.layers.9.attention.dense.weight', [8, 8]],
    ]);
    const spec = deriveTransformerSpec(NEOX, tensors, { num_attention_heads: 2 });
    expect(spaceSummary(spec)).toEqual([
      'vocab:fixed',
      'residual:free',
      'gpt_neox.layers.9.attention:free',
      'gpt_neox.layers.10.attention:free',
    ]);
    expect(axesOf(spec, 'gpt_neox.layers.10.attention.query_key_value.weight')).toEqual([
      'gpt_neox.layers.10.attention*4 | gpt_neox.layers.10.attention*4 | gpt_neox.layers.10.attention*4',
      'residual',
    ]);
    expect(spec.layers.map((layer) => layer.name)).toEqual([
      'gpt_neox.embed_in',
      'gpt_neox.layers.9.attention',
      'gpt_neox.layers.10.attention',
    ]);
    expect(spec.attributes).toEqual({ num_attention_heads: 2, layers: 2 });
  });
});
