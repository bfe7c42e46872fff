import { InvalidFileError } from '../errors.js';
import { readRegularFile } from '../io/read-regular-file.js';
import type { SpaceKind } from '../spec/architecture-spec.js';
import type { AlignmentPlan } from './alignment-problem.js';
import { checkSpaceMap, identitySpaceMap, type SpaceMap } from './space-map.js';
import type { WeightMatchingStep } from './weight-matching.js';

/**
 * What `mal align` writes to `maps.json`: every space's map plus how alignment got there. Version 2 added nested
 * spaces (`parent`, and a `map` of one permutation per parent unit); version 1 files read as they always did.
 */
export const MAPS_FORMAT_VERSION = 2;

export interface MapsDocument {
  readonly version: 1 | 2;
  readonly base: string;
  readonly target: string;
  readonly objective: number;
  readonly initialObjective: number;
  readonly sweeps: number;
  readonly converged: boolean;
  readonly options: Readonly<Record<string, string | number | boolean>>;
  readonly spaces: Readonly<Record<string, MapsDocumentSpace>>;
  readonly iterations: readonly WeightMatchingStep[];
}

export interface MapsDocumentSpace {
  readonly targetSpace: string;
  readonly kind: SpaceKind;
  readonly baseWidth: number;
  readonly targetWidth: number;
  /** A nested space (version 2): its base parent space and that space's base width. */
  readonly parent?: { readonly space: string; readonly baseWidth: number };
  /** Over base units: the target unit placed there, or -1; for a nested space, parent unit by parent unit. */
  readonly map: readonly number[];
}

export function spaceMapsToDocument(maps: Iterable<SpaceMap>): Record<string, MapsDocumentSpace> {
  const spaces: Record<string, MapsDocumentSpace> = {};
  for (const m of maps) {
    spaces[m.baseSpace] = {
      targetSpace: m.targetSpace,
      kind: m.kind,
      baseWidth: m.baseWidth,
      targetWidth: m.targetWidth,
      ...(m.parent === undefined ? {} : { parent: m.parent }),
      map: Array.from(m.map),
    };
  }
  return spaces;
}

/**
 * Reads the `spaces` of a maps.json and checks every map is a generalized permutation of its stated widths. With
 * `plan`, a version 1 file gets the nested spaces it could not hold (see parseMapsDocument).
 */
export async function readMapsFile(path: string, plan?: AlignmentPlan): Promise<Map<string, SpaceMap>> {
  let text: string;
  try {
    text = await readRegularFile(path, 'utf8');
  } catch (e) {
    if (e instanceof InvalidFileError) throw e;
    throw new InvalidFileError(path, `cannot read maps file: ${(e as Error).message}`);
  }
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new InvalidFileError(path, `not JSON: ${(e as Error).message}`);
  }
  return parseMapsDocument(doc, path, plan);
}

/**
 * The maps of a maps.json document. A version 1 file predates nested spaces: it was made when the entries inside
 * a unit (a head's dims, a kv group's query heads) kept their order, so with `plan` every nested space of the
 * plan whose parent the file maps, and which the file lacks, is read as identity inside each parent unit.
 */
export function parseMapsDocument(doc: unknown, file: string, plan?: AlignmentPlan): Map<string, SpaceMap> {
  if (!isRecord(doc)) throw new InvalidFileError(file, 'expected a JSON object');
  if (doc.version !== undefined && doc.version !== 1 && doc.version !== MAPS_FORMAT_VERSION) {
    throw new InvalidFileError(
      file,
      `field 'version' is ${JSON.stringify(doc.version)}; this mal reads maps files of version 1 and ${MAPS_FORMAT_VERSION}`,
    );
  }
  const spaces = doc.spaces;
  if (!isRecord(spaces)) throw new InvalidFileError(file, "field 'spaces' must be an object of space maps");
  const out = new Map<string, SpaceMap>();
  for (const [name, raw] of Object.entries(spaces)) {
    const field = `spaces.${name}`;
    if (!isRecord(raw)) throw new InvalidFileError(file, `field '${field}' must be an object`);
    const { targetSpace, kind, baseWidth, targetWidth, map, parent } = raw;
    if (typeof targetSpace !== 'string')
      throw new InvalidFileError(file, `field '${field}.targetSpace' must be a string`);
    if (kind !== 'free' && kind !== 'fixed')
      throw new InvalidFileError(file, `field '${field}.kind' must be 'free' or 'fixed'`);
    if (!isCount(baseWidth))
      throw new InvalidFileError(file, `field '${field}.baseWidth' must be a non-negative integer`);
    if (!isCount(targetWidth))
      throw new InvalidFileError(file, `field '${field}.targetWidth' must be a non-negative integer`);
    let nestedIn: { space: string; baseWidth: number } | undefined;
    if (parent !== undefined) {
      if (!isRecord(parent) || typeof parent.space !== 'string' || !isCount(parent.baseWidth)) {
        throw new InvalidFileError(
          file,
          `field '${field}.parent' must be {space: string, baseWidth: non-negative integer}`,
        );
      }
      nestedIn = { space: parent.space, baseWidth: parent.baseWidth };
    }
    const entries = (nestedIn?.baseWidth ?? 1) * baseWidth;
    if (!Array.isArray(map) || map.length !== entries || !map.every((v) => Number.isInteger(v))) {
      const per = nestedIn === undefined ? '' : ` (${baseWidth} per unit of parent '${nestedIn.space}')`;
      throw new InvalidFileError(file, `field '${field}.map' must be an array of ${entries} integers${per}`);
    }
    const typed = Int32Array.from(map as number[]);
    const fault = checkSpaceMap({ baseWidth, targetWidth, map: typed, parent: nestedIn });
    if (fault !== undefined)
      throw new InvalidFileError(file, `field '${field}.map' is not a generalized permutation: ${fault}`);
    const spaceMap: SpaceMap = { baseSpace: name, targetSpace, kind, baseWidth, targetWidth, map: typed };
    out.set(name, nestedIn === undefined ? spaceMap : { ...spaceMap, parent: nestedIn });
  }
  if ((doc.version ?? 1) === 1 && plan !== undefined) {
    for (const space of plan.spaces) {
      if (space.parent === undefined || out.has(space.baseSpace) || !out.has(space.parent.space)) continue;
      out.set(space.baseSpace, identitySpaceMap(space));
    }
  }
  return out;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0;
}
