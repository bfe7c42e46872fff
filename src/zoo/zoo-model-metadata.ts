import type { ZooMetric } from './zoo-manifest.js';

/**
 * The facts `mal zoo train` writes into a model's safetensors `__metadata__` (strings only, as the format
 * requires), so a model file carries its own description when it leaves the zoo, and `mal zoo add` of such a file
 * into another zoo recovers them.
 */
export interface ZooModelFacts {
  readonly id?: string;
  readonly architecture?: string;
  readonly dataset?: string;
  readonly classes?: readonly number[];
  readonly seed?: number;
  readonly widths?: { readonly [space: string]: number };
  readonly metrics?: { readonly [source: string]: ZooMetric };
}

export function zooFactsToMetadata(facts: ZooModelFacts): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (facts.id !== undefined) metadata.zoo_id = facts.id;
  if (facts.architecture !== undefined) metadata.architecture = facts.architecture;
  if (facts.dataset !== undefined) metadata.dataset = facts.dataset;
  if (facts.classes !== undefined) metadata.classes = facts.classes.join(',');
  if (facts.seed !== undefined) metadata.seed = String(facts.seed);
  if (facts.widths !== undefined) metadata.widths = JSON.stringify(facts.widths);
  if (facts.metrics !== undefined) metadata.metrics = JSON.stringify(facts.metrics);
  return metadata;
}

function parseJsonObject(text: string | undefined): Record<string, unknown> | undefined {
  if (text === undefined) return undefined;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Recovers what it can from a model's metadata. Metadata comes from anywhere, so a value that does not parse is
 * ignored rather than fatal: it is a hint, and the zoo entry's own fields are checked when the manifest is written.
 */
export function zooFactsFromMetadata(metadata: Readonly<Record<string, string>>): ZooModelFacts {
  const facts: {
    -readonly [K in keyof ZooModelFacts]: ZooModelFacts[K];
  } = {};
  if (metadata.dataset !== undefined && metadata.dataset !== '') facts.dataset = metadata.dataset;
  if (metadata.classes !== undefined && /^\d+(,\d+)*$/.test(metadata.classes)) {
    facts.classes = metadata.classes.split(',').map(Number);
  }
  if (metadata.seed !== undefined && /^\d+$/.test(metadata.seed)) facts.seed = Number(metadata.seed);
  const metrics = parseJsonObject(metadata.metrics);
  if (metrics !== undefined) {
    const parsed: Record<string, ZooMetric> = {};
    for (const [source, value] of Object.entries(metrics)) {
      const metric = value as Partial<ZooMetric> | null;
      if (
        metric !== null &&
        typeof metric === 'object' &&
        typeof metric.loss === 'number' &&
        typeof metric.accuracy === 'number'
      ) {
        parsed[source] = {
          loss: metric.loss,
          accuracy: metric.accuracy,
          ...(typeof metric.examples === 'number' ? { examples: metric.examples } : {}),
        };
      }
    }
    facts.metrics = parsed;
  }
  return facts;
}
