import { SpecError } from '../errors.js';
import type { TensorInfo } from '../io/tensor-source.js';
import type { ArchitectureSpec, AxisPart, AxisSpec, InnerLevel } from './architecture-spec.js';
import { type LayerTemplate, namePattern, type TransformerTemplate } from './family-template.js';
import { configPositiveInteger, type ModelConfig } from './model-config.js';
import { compareNatural } from './natural-sort.js';
import { SpecBuilder } from './spec-builder.js';

/**
 * The spec of a transformer whose layout a template gives (GPT-2, LLaMA, ...). Code finds what the template
 * cannot: the head counts (config.json), the head width (config, or the embedding width over the heads), the
 * blocks present (from the names), which optional tensors the model has, and which prefix its names carry.
 */
export function deriveTransformerSpec(
  template: TransformerTemplate,
  tensors: readonly TensorInfo[],
  config?: ModelConfig,
): ArchitectureSpec {
  const builder = new SpecBuilder(template, tensors);
  const { count, kv, dim } = template.heads;
  const heads = configPositiveInteger(config, count);
  if (heads === undefined) {
    throw new SpecError(
      `a ${template.label} spec needs the number of attention heads (${count[0]}), which the model config does ` +
        "not give: put the model's config.json beside it, or pass a spec file with --spec",
    );
  }
  const kvHeads = (kv === undefined ? undefined : configPositiveInteger(config, kv)) ?? heads;
  if (heads % kvHeads !== 0) {
    throw new SpecError(
      `model config gives ${heads} attention heads and ${kvHeads} key/value heads; the first must be a multiple of the second`,
    );
  }

  // Names outside blocks: with the model's prefix (when any name has it) or without.
  const prefix = tensors.some((tensor) => tensor.name.startsWith(template.prefix)) ? template.prefix : '';
  const moduleOf = (layer: LayerTemplate): string | undefined =>
    [`${prefix}${layer.module}`, layer.module].find((module) => builder.has(`${module}.${params(layer)[0]}`));
  const embedding = moduleOf(template.pre[0]);
  if (embedding === undefined)
    throw new SpecError(`a ${template.label} model needs tensor ${template.pre[0].missing}`);
  const embeddingTensor = `${embedding}.${params(template.pre[0])[0]}`;
  const width = builder.shape(embeddingTensor)[1];
  let headDim = dim === undefined ? undefined : configPositiveInteger(config, dim);
  if (headDim === undefined) {
    if (width % heads !== 0) {
      const fix =
        dim === undefined
          ? ` (${count[0]}) do not divide evenly`
          : ` do not divide evenly; give ${dim[0]} in the config`;
      throw new SpecError(
        `tensor '${embeddingTensor}' axis 1 has length ${width}, which ${heads} heads${fix}`,
      );
    }
    headDim = width / heads;
  }
  const groupHeads = heads / kvHeads;
  const blockSizes: Record<string, number> = { head: headDim, group: groupHeads * headDim, groupHeads };
  const sizeOf = (size: string): number => blockSizes[size] ?? Number(size);

  /** Adds a layer whose module and spaces `resolve` names (a block's, or the model's). */
  const addLayer = (layer: LayerTemplate, module: string, resolve: (name: string) => string): void => {
    const space = (key: string): string => {
      const found = template.spaces[key];
      if (found === undefined)
        throw new SpecError(`family template '${template.name}' has no space '${key}'`);
      const name = found.name ?? key;
      const parent = found.parent === undefined ? undefined : space(found.parent);
      return builder.space(name.includes('{i}') ? resolve(name) : name, found.kind, found.role, parent);
    };
    const partOf = (part: string): AxisPart => {
      const nested = /^(\w+)\[(.*)\]$/.exec(part);
      if (nested === null) {
        const [key, block = '1'] = part.split('*');
        return { space: space(key), block: sizeOf(block) };
      }
      const inner = nested[2].split(',').map((level): InnerLevel => {
        const [first, second] = level.split(':');
        return second === undefined ? { size: sizeOf(first) } : { space: space(first), size: sizeOf(second) };
      });
      const block = inner.reduce((n, level) => n * level.size, 1);
      return { space: space(nested[1]), block, inner };
    };
    const axisOf = (axis: string | null): AxisSpec => (axis === null ? null : axis.split('|').map(partOf));
    const placed: string[] = [];
    for (const [param, axes] of Object.entries(layer.tensors)) {
      const name = `${module}.${param.replace(/\?$/, '')}`;
      if (param.endsWith('?') && !builder.has(name)) continue;
      placed.push(axes === 'buffer' ? builder.buffer(name) : builder.tensor(name, axes.map(axisOf)));
    }
    // A layer of optional tensors still needs one: the error names the first.
    if (placed.length === 0) builder.info(`${module}.${params(layer)[0]}`);
    const [input, output] = [space(layer.input), space(layer.output)];
    builder.layer({ name: module, kind: layer.kind, tensors: placed, input, output });
  };
  const addOutside = (layer: LayerTemplate): void => {
    const module = moduleOf(layer);
    if (module !== undefined) addLayer(layer, module, (name) => name);
    else if (!layer.optional) throw new SpecError(`a ${template.label} model needs tensor ${layer.missing}`);
  };

  template.pre.forEach(addOutside);
  // Blocks are numbered modules `h.{i}`, each with or without the prefix, in numeric order.
  const blockPattern = new RegExp(`^(${namePattern(template.prefix)})?(${namePattern(template.block)})\\.`);
  const blocks = new Map<string, (name: string) => string>();
  for (const tensor of tensors) {
    const match = blockPattern.exec(tensor.name);
    if (match === null) continue;
    const [, blockPrefix = '', block, index] = match;
    blocks.set(`${blockPrefix}${block}`, (name) => `${blockPrefix}${name.replaceAll('{i}', index)}`);
  }
  for (const key of [...blocks.keys()].sort(compareNatural)) {
    const resolve = blocks.get(key)!;
    for (const layer of template.layers) addLayer(layer, resolve(layer.module), resolve);
  }
  template.post.forEach(addOutside);

  builder.addAttributes(template.attributes, config, { heads, kvHeads, headDim, blocks: blocks.size });
  return builder.build();
}

/** The tensor parameters of a layer template, without the `?` of optional ones. */
function params(layer: LayerTemplate): string[] {
  return Object.keys(layer.tensors).map((param) => param.replace(/\?$/, ''));
}
