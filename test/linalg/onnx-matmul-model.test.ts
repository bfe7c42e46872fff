import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  type MatmulModelKind,
  MODEL_INPUT_A,
  MODEL_INPUT_B,
  MODEL_OUTPUT,
  onnxMatmulModel,
} from '../../src/linalg/onnx-matmul-model.js';
import { encodeVarint, ProtobufMessage } from '../../src/linalg/protobuf-writer.js';

// As the engine does (src/linalg/onnxruntime-matmul-engine.ts): read at the first session, so in time here; without
// it the telemetry client leaves an empty mat-debug-<pid>.log in the temporary folder.
process.env.ORT_DISABLE_TELEMETRY ??= '1';

describe('protobuf writer', () => {
  it('encodes varints as protobuf does', () => {
    expect(Array.from(encodeVarint(0))).toEqual([0]);
    expect(Array.from(encodeVarint(1))).toEqual([1]);
    expect(Array.from(encodeVarint(300))).toEqual([0xac, 0x02]);
    expect(Array.from(encodeVarint(2n ** 63n))).toEqual([
      0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01,
    ]);
    expect(() => encodeVarint(-1)).toThrow(RangeError);
  });

  it('encodes tagged varint, string and nested message fields', () => {
    // The example of the protobuf encoding guide: field 1 = 150 is 08 96 01; field 2 = "testing" is 12 07 ….
    expect(Array.from(new ProtobufMessage().varint(1, 150).finish())).toEqual([0x08, 0x96, 0x01]);
    const text = new ProtobufMessage().string(2, 'testing').finish();
    expect(Array.from(text)).toEqual([0x12, 0x07, ...Buffer.from('testing')]);
    const nested = new ProtobufMessage().message(3, new ProtobufMessage().varint(1, 150)).finish();
    expect(Array.from(nested)).toEqual([0x1a, 0x03, 0x08, 0x96, 0x01]);
  });
});

describe('ONNX matmul models', () => {
  const a = Float32Array.from([1, 2, 3, 4, 5, 6]); // 2×3
  const b = Float32Array.from([1, 0, 0, 0, 1, 0, 0, 0, 1, 1, 1, 1]); // 4×3: rows of B are columns of Bᵀ
  const expected = [1, 2, 3, 6, 4, 5, 6, 15];

  it.each<[MatmulModelKind, Float32Array, number[]]>([
    ['gemm-transposed-b', b, [4, 3]],
    ['matmul', Float32Array.from([1, 0, 0, 1, 0, 1, 0, 1, 0, 0, 1, 1]), [3, 4]],
  ])('onnxruntime loads the %s model and runs it on any shape', async (kind, bData, bDims) => {
    const session = await ort.InferenceSession.create(onnxMatmulModel(kind));
    try {
      expect(session.inputNames).toEqual([MODEL_INPUT_A, MODEL_INPUT_B]);
      expect(session.outputNames).toEqual([MODEL_OUTPUT]);
      const out = await session.run({
        [MODEL_INPUT_A]: new ort.Tensor('float32', a, [2, 3]),
        [MODEL_INPUT_B]: new ort.Tensor('float32', bData, bDims),
      });
      expect(out[MODEL_OUTPUT].dims).toEqual([2, 4]);
      expect(Array.from(out[MODEL_OUTPUT].data as Float32Array)).toEqual(expected);
      // Symbolic dimensions: the same session takes another shape.
      const wide = await session.run({
        [MODEL_INPUT_A]: new ort.Tensor('float32', new Float32Array(5 * 7).fill(1), [5, 7]),
        [MODEL_INPUT_B]: new ort.Tensor(
          'float32',
          new Float32Array(7 * 2).fill(2),
          kind === 'matmul' ? [7, 2] : [2, 7],
        ),
      });
      expect(wide[MODEL_OUTPUT].dims).toEqual([5, 2]);
      expect(Array.from(wide[MODEL_OUTPUT].data as Float32Array)).toEqual(new Array(10).fill(14));
    } finally {
      await session.release();
    }
  });
});
