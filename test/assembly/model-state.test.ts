import { describe, expect, it } from 'vitest';
import { decodeState, encodeState } from '../../src/assembly/model-state.js';
import { InvalidFileError } from '../../src/errors.js';

describe('decodeState', () => {
  const state = encodeState(['w'], new Map([['w', { shape: [2], data: Float32Array.from([1.5, -2]) }]]));

  it('reads back what encodeState wrote', () => {
    expect(decodeState(state, 'state').get('w')?.data).toEqual(Float32Array.from([1.5, -2]));
  });

  it.each([
    ['empty', new Uint8Array(0)],
    ['shorter than the length prefix', state.subarray(0, 5)],
    ['cut inside the header', state.subarray(0, 20)],
    ['a length prefix of 2^64 − 1', Uint8Array.from([255, 255, 255, 255, 255, 255, 255, 255, 123, 125])],
  ])('refuses a state %s, naming it', (_what, bytes) => {
    expect(() => decodeState(bytes, 'run-7 state')).toThrow(InvalidFileError);
    expect(() => decodeState(bytes, 'run-7 state')).toThrow(/run-7 state/);
  });
});
