/**
 * The few protobuf wire-format encodings needed to emit a small ONNX model: varints, length-delimited fields
 * (strings, bytes, nested messages) and varint scalar fields. No reflection and no schema: callers name field
 * numbers themselves, which keeps the model builder free of a protobuf dependency.
 */

const WIRE_VARINT = 0;
const WIRE_LENGTH_DELIMITED = 2;

const utf8 = new TextEncoder();

/** A message under construction: a list of already-encoded fields, concatenated on `finish`. */
export class ProtobufMessage {
  private readonly chunks: Uint8Array[] = [];
  private length = 0;

  /** An integer field (int32, int64, enum, bool) encoded as a varint. Negative numbers are not needed here. */
  varint(field: number, value: number | bigint): this {
    this.push(encodeVarint(tag(field, WIRE_VARINT)));
    this.push(encodeVarint(value));
    return this;
  }

  string(field: number, value: string): this {
    return this.bytes(field, utf8.encode(value));
  }

  message(field: number, value: ProtobufMessage): this {
    return this.bytes(field, value.finish());
  }

  bytes(field: number, value: Uint8Array): this {
    this.push(encodeVarint(tag(field, WIRE_LENGTH_DELIMITED)));
    this.push(encodeVarint(value.length));
    this.push(value);
    return this;
  }

  finish(): Uint8Array {
    const out = new Uint8Array(this.length);
    let offset = 0;
    for (const chunk of this.chunks) {
      out.set(chunk, offset);
      offset += chunk.length;
    }
    return out;
  }

  private push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.length += chunk.length;
  }
}

function tag(field: number, wireType: number): number {
  if (!Number.isInteger(field) || field < 1) throw new RangeError(`protobuf: bad field number ${field}`);
  return field * 8 + wireType;
}

/** Base-128 varint of a non-negative integer; bigint keeps int64 values above 2^53 exact. */
export function encodeVarint(value: number | bigint): Uint8Array {
  let v = BigInt(value);
  if (v < 0n) throw new RangeError('protobuf: negative varints are not supported');
  const bytes: number[] = [];
  do {
    let byte = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) byte |= 0x80;
    bytes.push(byte);
  } while (v !== 0n);
  return Uint8Array.from(bytes);
}
