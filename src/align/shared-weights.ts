import { IncompatibleModelsError } from '../errors.js';
import type { ArchitectureSpec } from '../spec/architecture-spec.js';

/** A model as a pairing check sees it: its spec and, for messages, where it came from. */
export interface NamedSpec {
  readonly spec: ArchitectureSpec;
  /** The model's file or folder, when known; messages name it. */
  readonly path?: string;
}

type Pairing = readonly { readonly baseName: string; readonly targetName: string }[];

/**
 * Refuses a pairing that would align or merge (almost) nothing and still succeed, hiding that the two models do
 * not correspond:
 * - it pairs none of the target's weights (no tensor of rank 2 or more): different families, or other names;
 * - paired by name, more weights would pair if one side's names lost a prefix (`transformer.`) than pair as
 *   they are: one model saved under other names, where a shared `lm_head.weight` alone would otherwise pair.
 * The message names both models, the reason, and how to pair them by hand.
 */
export function assertPairingCoversWeights(
  pairs: Pairing,
  base: NamedSpec,
  target: NamedSpec,
  byName: boolean,
): void {
  const baseWeights = weightNames(base.spec, true);
  const targetWeights = weightNames(target.spec, false);
  const pairedWeights = pairs.filter((p) => targetWeights.has(p.targetName)).length;
  let reason: string | undefined;
  if (pairedWeights === 0) reason = noWeightsReason(pairs, base.spec, target.spec);
  else if (byName) {
    const paired = new Set(pairs.map((p) => p.baseName));
    const unpairedBase = [...baseWeights].filter((n) => !paired.has(n));
    const unpairedTarget = [...targetWeights].filter((n) => !baseWeights.has(n));
    const prefix =
      dominantPrefix(unpairedBase, unpairedTarget) ?? dominantPrefix(unpairedTarget, unpairedBase);
    if (prefix !== undefined && prefix.count > pairedWeights) {
      reason =
        `their tensor names differ by the prefix '${prefix.prefix}': ${prefix.count} weights would pair ` +
        `without it, ${pairedWeights} pair as the names are`;
    }
  }
  if (reason === undefined) return;
  throw new IncompatibleModelsError(
    `base ${describeModel(base)} and target ${describeModel(target)} ` +
      `${pairedWeights === 0 ? 'have no weights in common, so nothing' : 'pair almost none of their weights, so next to nothing'} ` +
      `would be aligned or merged: ${reason}; if they do correspond, give hand-written specs ` +
      '(--base-spec, --target-spec) that name their tensors alike',
  );
}

/** Names of a model's weight matrices and kernels (rank 2 or more); mergeable ones only, for the base. */
function weightNames(spec: ArchitectureSpec, mergeableOnly: boolean): Set<string> {
  return new Set(
    spec.tensors.filter((t) => t.axes.length >= 2 && (t.merge || !mergeableOnly)).map((t) => t.name),
  );
}

function describeModel(model: NamedSpec): string {
  return `${model.path === undefined ? 'model' : `'${model.path}'`} (${model.spec.family})`;
}

function noWeightsReason(pairs: Pairing, base: ArchitectureSpec, target: ArchitectureSpec): string {
  if (base.family !== target.family) {
    return `they are of different architecture families (${base.family} and ${target.family})`;
  }
  if (pairs.length > 0) {
    return `the tensors paired (${pairs.map((p) => `'${p.targetName}'`).join(', ')}) hold none of the target's weights`;
  }
  const baseName = base.tensors.find((t) => t.merge)?.name ?? '(none)';
  return `no tensor names in common (e.g. '${baseName}' in the base, '${target.tensors[0]?.name ?? '(none)'}' in the target)`;
}

/**
 * The prefix that turns the most names of `shorter` into names of `longer` (`transformer.h.0.attn.c_attn.weight`
 * is `h.0.attn.c_attn.weight` under `transformer.`), and how many it turns. Each longer name is cut at its dots,
 * so this is linear in the names, not quadratic.
 */
function dominantPrefix(
  longer: readonly string[],
  shorter: readonly string[],
): { readonly prefix: string; readonly count: number } | undefined {
  const wanted = new Set(shorter);
  const counts = new Map<string, number>();
  for (const name of longer) {
    for (let dot = name.indexOf('.'); dot !== -1; dot = name.indexOf('.', dot + 1)) {
      if (wanted.has(name.slice(dot + 1))) {
        const prefix = name.slice(0, dot + 1);
        counts.set(prefix, (counts.get(prefix) ?? 0) + 1);
        break;
      }
    }
  }
  let best: { prefix: string; count: number } | undefined;
  for (const [prefix, count] of counts)
    if (best === undefined || count > best.count) best = { prefix, count };
  return best;
}
