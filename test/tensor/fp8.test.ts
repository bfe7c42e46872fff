import { describe, expect, it } from 'vitest';
import { DtypeNotConvertibleError } from '../../src/errors.js';
import { fromFloat32, toFloat32 } from '../../src/tensor/float-conversion.js';

/** Values from the format definitions: OCP FP8 (E4M3, E5M2), the FNUZ variants, OCP MX E8M0. */
const KNOWN: ReadonlyArray<[string, number, number]> = [
  ['F8_E4M3', 0x38, 1],
  ['F8_E4M3', 0xb8, -1],
  ['F8_E4M3', 0x7e, 448],
  ['F8_E4M3', 0x7f, Number.NaN],
  ['F8_E4M3', 0x08, 2 ** -6],
  ['F8_E4M3', 0x01, 2 ** -9],
  ['F8_E4M3', 0x80, -0],
  ['F8_E5M2', 0x3c, 1],
  ['F8_E5M2', 0x7b, 57344],
  ['F8_E5M2', 0x7c, Number.POSITIVE_INFINITY],
  ['F8_E5M2', 0xfc, Number.NEGATIVE_INFINITY],
  ['F8_E5M2', 0x7d, Number.NaN],
  ['F8_E5M2', 0x01, 2 ** -16],
  ['F8_E4M3FNUZ', 0x40, 1],
  ['F8_E4M3FNUZ', 0x7f, 240],
  ['F8_E4M3FNUZ', 0x80, Number.NaN],
  ['F8_E4M3FNUZ', 0x01, 2 ** -10],
  ['F8_E5M2FNUZ', 0x40, 1],
  ['F8_E5M2FNUZ', 0x7f, 57344],
  ['F8_E5M2FNUZ', 0x80, Number.NaN],
  ['F8_E5M2FNUZ', 0x01, 2 ** -17],
  ['F8_E8M0', 0x7f, 1],
  ['F8_E8M0', 0x00, 2 ** -127],
  ['F8_E8M0', 0xfe, 2 ** 127],
  ['F8_E8M0', 0xff, Number.NaN],
];

describe('FP8 to float32', () => {
  it.each(KNOWN)('%s bit pattern %i is %s', (dtype, bits, value) => {
    const out = toFloat32({ dtype: dtype as 'F8_E4M3', shape: [1], bytes: Uint8Array.of(bits) });
    expect(Object.is(out[0], value) || (Number.isNaN(value) && Number.isNaN(out[0]))).toBe(true);
  });

  it('refuses to write float32 results as FP8, naming file and tensor', () => {
    expect(() =>
      fromFloat32(Float32Array.of(1), 'F8_E4M3', [1], { file: 'out.safetensors', tensor: 'w' }),
    ).toThrow(DtypeNotConvertibleError);
    expect(() =>
      fromFloat32(Float32Array.of(1), 'F8_E4M3', [1], { file: 'out.safetensors', tensor: 'w' }),
    ).toThrow(/out\.safetensors: tensor 'w' would be written as F8_E4M3/);
  });
});

describe('dtypes without an exact float32 reading', () => {
  it.each([
    ['C64', 8],
    ['F4', 1],
    ['F6_E2M3', 3],
  ] as const)('%s is refused with a typed error naming file, tensor and dtype', (dtype, bytes) => {
    const t = { dtype, shape: [dtype === 'C64' ? 1 : dtype === 'F4' ? 2 : 4], bytes: new Uint8Array(bytes) };
    expect(() => toFloat32(t, { file: 'm.safetensors', tensor: 'x' })).toThrow(DtypeNotConvertibleError);
    expect(() => toFloat32(t, { file: 'm.safetensors', tensor: 'x' })).toThrow(
      new RegExp(`m\\.safetensors: tensor 'x' is ${dtype}, which has no exact float32 reading`),
    );
  });
});

describe('unsigned integers', () => {
  it('reads U16, U32 and U64 beyond the signed range', () => {
    expect(Array.from(toFloat32({ dtype: 'U16', shape: [1], bytes: Uint8Array.of(0xff, 0xff) }))).toEqual([
      65535,
    ]);
    expect(Array.from(toFloat32({ dtype: 'U32', shape: [1], bytes: Uint8Array.of(0, 0, 0, 0x80) }))).toEqual([
      2 ** 31,
    ]);
    expect(
      Array.from(toFloat32({ dtype: 'U64', shape: [1], bytes: Uint8Array.of(0, 0, 0, 0, 0, 0, 0, 0x80) })),
    ).toEqual([2 ** 63]);
  });

  it('writes them rounded half to even and clamped at 0 and the top', () => {
    expect(Array.from(fromFloat32(Float32Array.of(-3, 2.5, 70000), 'U16', [3]).bytes)).toEqual([
      0, 0, 2, 0, 0xff, 0xff,
    ]);
    expect(Array.from(fromFloat32(Float32Array.of(2 ** 33), 'U32', [1]).bytes)).toEqual([
      0xff, 0xff, 0xff, 0xff,
    ]);
    expect(Array.from(fromFloat32(Float32Array.of(2 ** 40 + 2 ** 33, -1), 'U64', [2]).bytes)).toEqual([
      0, 0, 0, 0, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    ]);
  });
});
