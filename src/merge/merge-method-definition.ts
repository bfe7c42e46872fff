import { z } from 'zod';
import { InvalidMergeOptionError } from './merge-options-error.js';

/** What a method's `mergeTensor` gets for one tensor: the two (aligned) tensors, λ, and the method's parameters. */
export interface MergeTensorContext<Params = Record<string, unknown>> {
  /** Names the tensor in error messages. */
  readonly tensorName: string;
  /** Position of the tensor among the base's tensors; DARE varies its seed by it so equal shapes drop differently. */
  readonly tensorIndex: number;
  /** The base tensor (λ = 0). */
  readonly base: Float32Array;
  /** The target tensor mapped into the base's frame (zero where no target unit lands), same length as `base`. */
  readonly mapped: Float32Array;
  /** 1 where a target unit landed; given when the method asked for it (`needsMatchedMask`). */
  readonly matched?: Uint8Array;
  /** The common ancestor's tensor, same length as `base`; always given to methods with `needsAncestor`. */
  readonly ancestor?: Float32Array;
  /** The method's weight of the target: 0 is (for most methods) the base, 1 the target's full contribution. */
  readonly lambda: number;
  /** Run-level seed (the CLI's `--seed`, a plan's `seed`) for methods that draw random numbers. */
  readonly seed: number;
  /** The method's parameters, parsed by its schema (defaults filled in). */
  readonly params: Params;
}

/** The description of one merge method; every method lives in its own file under `src/merge/methods/`. */
export interface MergeMethodDefinition<
  Name extends string = string,
  Shape extends z.ZodRawShape = z.ZodRawShape,
> {
  readonly name: Name;
  /** One line for help texts. */
  readonly summary: string;
  /** Reads task vectors against a common ancestor, which must then be given. */
  readonly needsAncestor: boolean;
  /** Works when base and target differ in width (zero-padded maps); otherwise every space must have equal widths. */
  readonly acrossWidths: boolean;
  /** The method's parameters: a strict zod object, every field with `.describe()` text and a default. */
  readonly parameters: z.ZodObject<Shape, z.core.$strict>;
  /** `{ method: name, ...parameters }`: this method's member of the registry's discriminated union. */
  readonly choice: z.ZodObject<{ method: z.ZodLiteral<Name> } & Shape, z.core.$strict>;
  /** Whether `mergeTensor` reads `ctx.matched` with these parameters (computing the mask costs memory). */
  needsMatchedMask(params: z.output<z.ZodObject<Shape>>): boolean;
  /** Merges one tensor; must not modify its inputs. */
  mergeTensor(ctx: MergeTensorContext<z.output<z.ZodObject<Shape>>>): Float32Array;
}

/**
 * Builds a method's definition from its parts, deriving its `choice` schema (and `needsMatchedMask`, false unless
 * given) so that a method file states only what is particular to it.
 */
export function defineMergeMethod<const Name extends string, Shape extends z.ZodRawShape>(spec: {
  readonly name: Name;
  readonly summary: string;
  readonly needsAncestor: boolean;
  readonly acrossWidths: boolean;
  readonly parameters: Shape;
  readonly needsMatchedMask?: (params: z.output<z.ZodObject<Shape>>) => boolean;
  readonly mergeTensor: (ctx: MergeTensorContext<z.output<z.ZodObject<Shape>>>) => Float32Array;
}): MergeMethodDefinition<Name, Shape> {
  const { needsMatchedMask, mergeTensor, parameters, ...rest } = spec;
  return {
    ...rest,
    parameters: z.strictObject(parameters),
    choice: z.strictObject({
      method: z.literal(spec.name).describe(spec.summary),
      ...parameters,
    }) as MergeMethodDefinition<Name, Shape>['choice'],
    needsMatchedMask: (params) => needsMatchedMask?.(params) ?? false,
    mergeTensor,
  };
}

/** The ancestor tensor of a method that needs one, or the error naming the method. */
export function requireAncestor(ctx: MergeTensorContext<unknown>, method: string): Float32Array {
  if (ctx.ancestor === undefined) {
    throw new InvalidMergeOptionError('ancestor', `is required by method '${method}'`, ctx.tensorName);
  }
  return ctx.ancestor;
}
