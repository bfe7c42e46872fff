import { ProtobufMessage } from './protobuf-writer.js';

/**
 * Bytes of a one-node ONNX model computing a matrix product with symbolic dimensions, so that one
 * InferenceSession serves every shape. Field numbers follow onnx.proto (ModelProto, GraphProto, NodeProto,
 * AttributeProto, ValueInfoProto, TypeProto, TensorShapeProto, OperatorSetIdProto).
 *
 * - `gemm-transposed-b`: `Y = Gemm(A, B, transB = 1)`, A is M×K, B is N×K (both operands as the caller holds them).
 * - `gemm-transposed-a`: `Y = Gemm(At, B, transA = 1)`, At is K×M, B is K×N: the product of two matrices that
 *   hold their units along the second axis, with no transposition by the caller.
 * - `matmul`: `Y = MatMul(A, Bt)`, A is M×K, Bt is K×N (the caller transposes B first).
 */
export type MatmulModelKind = 'gemm-transposed-b' | 'gemm-transposed-a' | 'matmul';

/** ONNX IR version 8 and opset 13 are old enough for any onnxruntime of the last years and have both ops. */
const IR_VERSION = 8;
const OPSET_VERSION = 13;
const ELEM_TYPE_FLOAT = 1;
const ATTRIBUTE_TYPE_INT = 2;

export const MODEL_INPUT_A = 'A';
export const MODEL_INPUT_B = 'B';
export const MODEL_OUTPUT = 'Y';

export function onnxMatmulModel(kind: MatmulModelKind): Uint8Array {
  const node = new ProtobufMessage()
    .string(1, MODEL_INPUT_A)
    .string(1, MODEL_INPUT_B)
    .string(2, MODEL_OUTPUT)
    .string(3, 'product')
    .string(4, kind === 'matmul' ? 'MatMul' : 'Gemm');
  if (kind !== 'matmul') {
    const flag = kind === 'gemm-transposed-b' ? 'transB' : 'transA';
    node.message(5, new ProtobufMessage().string(1, flag).varint(3, 1).varint(20, ATTRIBUTE_TYPE_INT));
  }
  const aShape = kind === 'gemm-transposed-a' ? ['K', 'M'] : ['M', 'K'];
  const bShape = kind === 'gemm-transposed-b' ? ['N', 'K'] : ['K', 'N'];
  const graph = new ProtobufMessage()
    .message(1, node)
    .string(2, `matmul_transposed_${kind.replaceAll('-', '_')}`)
    .message(11, floatValueInfo(MODEL_INPUT_A, aShape))
    .message(11, floatValueInfo(MODEL_INPUT_B, bShape))
    .message(12, floatValueInfo(MODEL_OUTPUT, ['M', 'N']));
  return new ProtobufMessage()
    .varint(1, IR_VERSION)
    .string(2, 'model-assembly')
    .message(7, graph)
    .message(8, new ProtobufMessage().string(1, '').varint(2, OPSET_VERSION))
    .finish();
}

/** A float32 tensor value whose dimensions are all symbolic (`dim_param`). */
function floatValueInfo(name: string, dims: readonly string[]): ProtobufMessage {
  const shape = new ProtobufMessage();
  for (const dim of dims) shape.message(1, new ProtobufMessage().string(2, dim));
  const tensorType = new ProtobufMessage().varint(1, ELEM_TYPE_FLOAT).message(2, shape);
  return new ProtobufMessage().string(1, name).message(2, new ProtobufMessage().message(1, tensorType));
}
