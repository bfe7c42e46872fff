/**
 * An alignment that comes back over NATS is a peer's word: its maps are checked as a maps file is before anything
 * uses them. The result here is made by the same task code a worker runs, then tampered with.
 */
import { describe, expect, it } from 'vitest';
import { spaceMapsToDocument } from '../../src/align/maps-file.js';
import {
  alignCandidate,
  candidateProblem,
  candidateTensorPairs,
} from '../../src/assembly/candidate-alignment.js';
import { DEFAULT_ALIGNMENT } from '../../src/assembly/plan-file.js';
import type { AlignOutput } from '../../src/engine/task-thread.js';
import { IncompatibleModelsError, InvalidFileError } from '../../src/errors.js';
import { alignedCandidateOf } from '../../workers/nats/task-dispatcher.js';
import { makeMlp } from '../support/model-factory.js';
import { modelInMemory } from '../support/model-in-memory.js';

describe('an alignment received from a worker', async () => {
  const base = modelInMemory(makeMlp({ widths: [8, 16, 4], naming: 'layers', seed: 1 }).tensors);
  const zoo = modelInMemory(makeMlp({ widths: [8, 12, 4], naming: 'layers', seed: 2 }).tensors);
  const candidate = { model: 'z', layers: ['layers.0', 'layers.1'], baseLayers: ['layers.0', 'layers.1'] };
  const reference = await alignCandidate(base, zoo, candidate, DEFAULT_ALIGNMENT, 0);
  const problem = candidateProblem(base, zoo, candidateTensorPairs(base, zoo, candidate));
  const honest: AlignOutput = {
    spaces: spaceMapsToDocument(reference.maps.values()),
    preScore: reference.preScore,
    mapHashes: reference.mapHashes,
  };
  const tampered = (space: string, change: Record<string, unknown>): AlignOutput => ({
    ...honest,
    spaces: { ...honest.spaces, [space]: { ...honest.spaces[space], ...change } },
  });

  it('is taken as the worker sent it when honest', () => {
    const aligned = alignedCandidateOf(honest, problem, 'task t');
    expect([...aligned.maps.keys()].sort()).toEqual([...reference.maps.keys()].sort());
    for (const [space, m] of reference.maps) expect(aligned.maps.get(space)?.map).toEqual(m.map);
  });

  it('is refused when a map sends two units to one place', () => {
    const map = [...honest.spaces['layers.0'].map];
    map[1] = map[0];
    expect(() => alignedCandidateOf(tampered('layers.0', { map }), problem, 'task t')).toThrow(
      InvalidFileError,
    );
    expect(() => alignedCandidateOf(tampered('layers.0', { map }), problem, 'task t')).toThrow(
      /task t: field 'spaces\.layers\.0\.map' is not a generalized permutation/,
    );
  });

  it("is refused when it pairs spaces other than the problem's", () => {
    const bad = tampered('layers.0', { targetSpace: 'layers.1' });
    expect(() => alignedCandidateOf(bad, problem, 'task t')).toThrow(IncompatibleModelsError);
    expect(() => alignedCandidateOf(bad, problem, 'task t')).toThrow(/were the maps made for other models/);
  });

  it('is refused when a space is missing or the document is not one', () => {
    const { 'layers.0': _dropped, ...rest } = honest.spaces;
    expect(() => alignedCandidateOf({ ...honest, spaces: rest }, problem, 'task t')).toThrow(
      /no map for base space 'layers\.0'/,
    );
    expect(() => alignedCandidateOf({ ...honest, spaces: [] as never }, problem, 'task t')).toThrow(
      InvalidFileError,
    );
  });
});
