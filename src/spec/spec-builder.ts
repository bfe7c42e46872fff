import { SpecError } from '../errors.js';
import type { TensorInfo } from '../io/tensor-source.js';
import type {
  ArchitectureFamily,
  ArchitectureSpec,
  AxisSpec,
  LayerSpec,
  SpaceKind,
  SpaceSpec,
  TensorSpec,
} from './architecture-spec.js';
import type { AttributeTemplate } from './family-template.js';
import { configAttribute, type ModelConfig } from './model-config.js';
import { computeSpaceWidths } from './space-widths.js';

/** An axis that is one space, each unit spanning `block` entries. */
export function axisOf(space: string, block = 1): AxisSpec {
  return [{ space, block }];
}

/**
 * Collects the spaces, tensors and layers a deriver finds, then checks the result as a whole: every model tensor
 * placed exactly once, tensors in file order, and every axis the length its spaces imply.
 */
export class SpecBuilder {
  private readonly infos = new Map<string, TensorInfo>();
  private readonly spaces: SpaceSpec[] = [];
  private readonly placed = new Map<string, TensorSpec>();
  private readonly layers: LayerSpec[] = [];
  private readonly attributes: Record<string, string | number> = {};

  /** `label`: how messages name the family (`GPT-2`, `Mistral`). */
  constructor(
    private readonly template: { readonly family: ArchitectureFamily; readonly label: string },
    private readonly tensors: readonly TensorInfo[],
  ) {
    for (const tensor of tensors) {
      if (this.infos.has(tensor.name)) throw new SpecError(`the model lists tensor '${tensor.name}' twice`);
      this.infos.set(tensor.name, tensor);
    }
  }

  has(name: string): boolean {
    return this.infos.has(name);
  }

  info(name: string): TensorInfo {
    const info = this.infos.get(name);
    if (info !== undefined) return info;
    throw new SpecError(`a ${this.template.label} model needs tensor '${name}', which the model lacks`);
  }

  shape(name: string): readonly number[] {
    return this.info(name).shape;
  }

  /**
   * Declares a space (spaces are kept in declaration order, which is network order) and returns its name;
   * `parent` makes it a nested space of that one.
   */
  space(name: string, kind: SpaceKind, role: string, parent?: string): string {
    const existing = this.spaces.find((space) => space.name === name);
    if (existing !== undefined) {
      if (existing.kind !== kind)
        throw new SpecError(`space '${name}' is declared both ${existing.kind} and ${kind}`);
      return name;
    }
    this.spaces.push(parent === undefined ? { name, kind, role } : { name, kind, role, parent });
    return name;
  }

  tensor(name: string, axes: readonly AxisSpec[], merge = true): string {
    const info = this.info(name);
    if (this.placed.has(name))
      throw new SpecError(`tensor '${name}' was placed twice while deriving the spec`);
    if (info.shape.length !== axes.length)
      throw this.unplaced(info, `expected a tensor of rank ${axes.length}`);
    this.placed.set(name, { name, axes, merge });
    return name;
  }

  /** A buffer that is copied from the base and never merged: every axis outside any space. */
  buffer(name: string): string {
    const outside = this.shape(name).map(() => null);
    return this.tensor(name, outside, false);
  }

  layer(layer: LayerSpec): void {
    this.layers.push(layer);
  }

  /** A family template's attributes: counts the derivation found, or config fields with their defaults. */
  addAttributes(
    templates: Readonly<Record<string, AttributeTemplate>>,
    config: ModelConfig | undefined,
    counts: Readonly<Record<string, number>> = {},
  ): void {
    for (const [key, template] of Object.entries(templates)) {
      const value =
        typeof template === 'string'
          ? counts[template]
          : (configAttribute(config, template.config) ?? template.default);
      if (value !== undefined) this.attributes[key] = value;
    }
  }

  /** The error every deriver raises for a tensor its family's layout has no place for. */
  unplaced(tensor: TensorInfo, reason?: string): SpecError {
    return new SpecError(
      `cannot place tensor '${tensor.name}' (shape [${tensor.shape.join(', ')}]) in a ${this.template.label} layout` +
        `${reason === undefined ? '' : `: ${reason}`}; write a spec file for this model and pass it with --spec`,
    );
  }

  build(): ArchitectureSpec {
    for (const tensor of this.tensors) {
      if (!this.placed.has(tensor.name)) throw this.unplaced(tensor);
    }
    const spec: ArchitectureSpec = {
      family: this.template.family,
      spaces: [...this.spaces],
      tensors: this.tensors.map((tensor) => this.placed.get(tensor.name)!),
      layers: [...this.layers],
      attributes: { ...this.attributes },
    };
    computeSpaceWidths(spec, new Map(this.tensors.map((tensor) => [tensor.name, tensor.shape])));
    return spec;
  }
}
