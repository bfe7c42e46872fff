/**
 * Files judged by the safetensors reference implementation (huggingface/safetensors, `SafeTensors::deserialize`
 * in safetensors/src/tensor.rs, which the Python `safe_open` also calls, with serde_json for the header). Each case
 * names where it comes from: a test of the reference (Rust or Python), or the validation rule it probes. The
 * verdicts come from reading that code, and were confirmed by running the reference's own tensor.rs, built with
 * serde and serde_json, on the bytes below; they are never our reader's output.
 */
export type Verdict = 'accept' | 'refuse';

export interface ConformanceCase {
  readonly name: string;
  readonly source: string;
  readonly verdict: Verdict;
  readonly bytes: Uint8Array;
  /** Where this reader knowingly differs from the reference, why. */
  readonly deviation?: string;
}

const TENSOR_RS = 'safetensors/src/tensor.rs';
const PY_TESTS = 'bindings/python/tests/test_simple.py';
const VALIDATE = `${TENSOR_RS} Metadata::validate`;
const READ_METADATA = `${TENSOR_RS} SafeTensors::read_metadata`;
const SERDE = `${TENSOR_RS} HashMetadata/TensorInfo (serde derive, serde_json)`;

function bytesOf(text: string | Uint8Array): Uint8Array {
  return typeof text === 'string' ? new TextEncoder().encode(text) : text;
}

/** Length prefix (the header's own length unless `declared` says otherwise), header, data. */
export function file(
  header: string | Uint8Array,
  data: Uint8Array | number = 0,
  declared?: bigint,
): Uint8Array {
  const h = bytesOf(header);
  const d = typeof data === 'number' ? new Uint8Array(data) : data;
  const out = new Uint8Array(8 + h.length + d.length);
  new DataView(out.buffer).setBigUint64(0, declared ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(d, 8 + h.length);
  return out;
}

function tensor(dtype: string, shape: string, offsets: string, extra = ''): string {
  return `{"dtype":${JSON.stringify(dtype)},"shape":${shape},"data_offsets":${offsets}${extra}}`;
}

/** One F32 tensor `t` of shape [1] at [0, 4], with `extra` fields in its entry. */
function oneF32(extra = ''): Uint8Array {
  return file(`{"t":${tensor('F32', '[1]', '[0,4]', extra)}}`, 4);
}

const I32_2X2 = '{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}';

const nested = (depth: number) => `${'['.repeat(depth)}${']'.repeat(depth)}`;

export const CONFORMANCE_CASES: readonly ConformanceCase[] = [
  // The reference's own tests.
  {
    name: 'deserialization',
    source: `${TENSOR_RS} test_deserialization`,
    verdict: 'accept',
    bytes: file(I32_2X2, 16),
  },
  {
    name: 'empty shapes allowed',
    source: `${TENSOR_RS} test_empty_shapes_allowed`,
    verdict: 'accept',
    bytes: file('{"test":{"dtype":"I32","shape":[],"data_offsets":[0,4]}}', 4),
  },
  {
    name: 'zero-sized tensor',
    source: `${TENSOR_RS} test_zero_sized_tensor`,
    verdict: 'accept',
    bytes: file('{"test":{"dtype":"I32","shape":[2,0],"data_offsets":[0, 0]}}'),
  },
  {
    name: 'json attack: ten tensors on one range',
    source: `${TENSOR_RS} test_json_attack`,
    verdict: 'refuse',
    bytes: file(
      `{${Array.from({ length: 10 }, (_, i) => `"weight_${i}":${tensor('F32', '[2,2]', '[0,16]')}`).join(',')}}`,
      16,
    ),
  },
  {
    name: 'polyglot file: bytes after the last tensor',
    source: `${TENSOR_RS} test_metadata_incomplete_buffer`,
    verdict: 'refuse',
    bytes: file(
      I32_2X2,
      new Uint8Array([...new Uint8Array(16), ...bytesOf('extra_bogus_data_for_polyglot_file')]),
    ),
  },
  {
    name: 'missing data: 2 bytes short',
    source: `${TENSOR_RS} test_metadata_incomplete_buffer`,
    verdict: 'refuse',
    bytes: file(I32_2X2, 14),
  },
  {
    name: 'header too large',
    source: `${TENSOR_RS} test_header_too_large`,
    verdict: 'refuse',
    bytes: file(I32_2X2, 16, 0xffffff000000003cn),
  },
  {
    name: 'header too small (empty file)',
    source: `${TENSOR_RS} test_header_too_small`,
    verdict: 'refuse',
    bytes: new Uint8Array(0),
  },
  {
    name: 'invalid header length',
    source: `${TENSOR_RS} test_invalid_header_length`,
    verdict: 'refuse',
    bytes: file('', 0, 60n),
  },
  {
    name: 'header not UTF-8',
    source: `${TENSOR_RS} test_invalid_header_non_utf8`,
    verdict: 'refuse',
    bytes: file(Uint8Array.of(0xff)),
  },
  {
    name: 'header not JSON',
    source: `${TENSOR_RS} test_invalid_header_not_json`,
    verdict: 'refuse',
    bytes: file('{'),
  },
  {
    name: 'trailing whitespace after the header',
    source: `${TENSOR_RS} test_whitespace_padded_header`,
    verdict: 'accept',
    bytes: file('{}\r \t\n'),
  },
  {
    name: 'leading whitespace before the header',
    source: `${TENSOR_RS} test_whitespace_leading_padded_header`,
    verdict: 'accept',
    bytes: file('\t\n{}\r '),
  },
  {
    name: 'shape does not match the byte range',
    source: `${TENSOR_RS} test_invalid_info`,
    verdict: 'refuse',
    bytes: file('{"test":{"dtype":"I32","shape":[2,2],"data_offsets":[0, 4]}}', 4),
  },
  {
    name: 'shape overflows usize',
    source: `${TENSOR_RS} test_validation_overflow`,
    verdict: 'refuse',
    bytes: file('{"test":{"dtype":"I32","shape":[2,18446744073709551614],"data_offsets":[0,16]}}', 16),
  },
  {
    name: 'element count times bits overflows',
    source: `${TENSOR_RS} test_validation_overflow`,
    verdict: 'refuse',
    bytes: file('{"test":{"dtype":"I32","shape":[2,9223372036854775807],"data_offsets":[0,16]}}', 16),
  },
  {
    name: 'serialized F32 tensor',
    source: `${TENSOR_RS} test_serialization (expected bytes)`,
    verdict: 'accept',
    bytes: file('{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}', 24),
  },
  {
    name: 'F4: two elements in one byte',
    source: `${TENSOR_RS} test_serialization_fp4 (expected bytes)`,
    verdict: 'accept',
    bytes: file('{"attn.0":{"dtype":"F4","shape":[1,2],"data_offsets":[0,1]}}    ', 1),
  },
  {
    name: 'F4: three elements do not fill whole bytes',
    source: `${TENSOR_RS} test_serialization_fp4_misaligned (MisalignedSlice)`,
    verdict: 'refuse',
    bytes: file(`{"t":${tensor('F4', '[1,3]', '[0,2]')}}`, 2),
  },
  {
    name: 'empty header with metadata',
    source: `${TENSOR_RS} test_empty (expected bytes)`,
    verdict: 'accept',
    bytes: file('{"__metadata__":{"framework":"pt"}}     '),
  },
  {
    name: 'python: metadata then tensor, padded',
    source: `${PY_TESTS} test_deserialization_metadata`,
    verdict: 'accept',
    bytes: file(
      '{"__metadata__":{"framework":"pt"},"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]}}       ',
      16,
    ),
  },
  {
    name: 'python: I32 then F16 (the writer’s alignment order)',
    source: `${PY_TESTS} test_serialization_forces_alignment`,
    verdict: 'accept',
    bytes: file(
      '{"test1":{"dtype":"I32","shape":[2,2],"data_offsets":[0,16]},"test2":{"dtype":"F16","shape":[2,2],"data_offsets":[16,24]}}      ',
      24,
    ),
  },

  // Metadata::validate: offsets tile the data section exactly; sizes from shape and bits.
  {
    name: 'gap between tensors',
    source: `${VALIDATE} (InvalidOffset)`,
    verdict: 'refuse',
    bytes: file(`{"a":${tensor('F32', '[1]', '[0,4]')},"b":${tensor('F32', '[1]', '[8,12]')}}`, 12),
  },
  {
    name: 'first tensor not at offset 0',
    source: `${VALIDATE} (InvalidOffset)`,
    verdict: 'refuse',
    bytes: file(`{"a":${tensor('F32', '[1]', '[4,8]')}}`, 8),
  },
  {
    name: 'overlapping tensors',
    source: `${VALIDATE} (InvalidOffset)`,
    verdict: 'refuse',
    bytes: file(`{"a":${tensor('F32', '[2]', '[0,8]')},"b":${tensor('F32', '[2]', '[4,12]')}}`, 12),
  },
  {
    name: 'offsets end before they begin',
    source: `${VALIDATE} (InvalidOffset)`,
    verdict: 'refuse',
    bytes: file(`{"a":${tensor('U8', '[0]', '[4,0]')}}`, 4),
  },
  {
    name: 'header order differs from data order',
    source: `${TENSOR_RS} TryFrom<HashMetadata> (sorted by data_offsets)`,
    verdict: 'accept',
    bytes: file(`{"b":${tensor('I8', '[3]', '[16,19]')},"a":${tensor('F32', '[2,2]', '[0,16]')}}`, 19),
  },
  {
    name: 'zero-byte tensor between two others',
    source: VALIDATE,
    verdict: 'accept',
    bytes: file(
      `{"a":${tensor('U8', '[1]', '[0,1]')},"e":${tensor('F32', '[0]', '[1,1]')},"b":${tensor('U8', '[1]', '[1,2]')}}`,
      2,
    ),
  },
  {
    name: 'F6: four elements in three bytes',
    source: `${VALIDATE} (bitsize 6)`,
    verdict: 'accept',
    bytes: file(`{"t":${tensor('F6_E2M3', '[4]', '[0,3]')}}`, 3),
  },
  {
    name: 'F6: three elements do not fill whole bytes',
    source: `${VALIDATE} (MisalignedSlice)`,
    verdict: 'refuse',
    bytes: file(`{"t":${tensor('F6_E3M2', '[3]', '[0,3]')}}`, 3),
  },
  {
    name: 'a u64-max dimension in a zero-element tensor',
    source: `${VALIDATE} (checked_mul)`,
    verdict: 'accept',
    bytes: file(`{"t":${tensor('F32', '[18446744073709551615,0]', '[0,0]')}}`),
    deviation: 'a dimension beyond 2^53 cannot be held in a JavaScript number, so it is refused by name',
  },
  {
    name: 'an intermediate product overflows before a zero dimension',
    source: `${VALIDATE} (ValidationOverflow)`,
    verdict: 'refuse',
    bytes: file(`{"t":${tensor('F32', '[4294967296,4294967296,0]', '[0,0]')}}`),
  },

  // Every dtype of the reference's enum is read.
  ...(
    [
      ['BOOL', 1],
      ['U8', 1],
      ['I8', 1],
      ['F8_E5M2', 1],
      ['F8_E4M3', 1],
      ['F8_E8M0', 1],
      ['F8_E4M3FNUZ', 1],
      ['F8_E5M2FNUZ', 1],
      ['I16', 2],
      ['U16', 2],
      ['F16', 2],
      ['BF16', 2],
      ['I32', 4],
      ['U32', 4],
      ['F32', 4],
      ['C64', 8],
      ['F64', 8],
      ['I64', 8],
      ['U64', 8],
    ] as const
  ).map(
    ([dtype, bytes]): ConformanceCase => ({
      name: `dtype ${dtype}`,
      source: `${TENSOR_RS} enum Dtype, Dtype::bitsize`,
      verdict: 'accept',
      bytes: file(`{"t":${tensor(dtype, '[2]', `[0,${2 * bytes}]`)}}`, 2 * bytes),
    }),
  ),
  {
    name: 'dtype in lower case',
    source: `${SERDE} (unknown variant)`,
    verdict: 'refuse',
    bytes: file(`{"t":${tensor('f32', '[1]', '[0,4]')}}`, 4),
  },
  {
    name: 'dtype F8 (no such variant)',
    source: `${SERDE} (unknown variant)`,
    verdict: 'refuse',
    bytes: file(`{"t":${tensor('F8', '[1]', '[0,1]')}}`, 1),
  },

  // __metadata__: Option<HashMap<String, String>>.
  {
    name: '__metadata__ null',
    source: `${SERDE} (Option: null is None)`,
    verdict: 'accept',
    bytes: file(`{"__metadata__":null,"t":${tensor('F32', '[1]', '[0,4]')}}`, 4),
  },
  {
    name: '__metadata__ with a number value',
    source: `${SERDE} (HashMap<String, String>)`,
    verdict: 'refuse',
    bytes: file(`{"__metadata__":{"epochs":10},"t":${tensor('F32', '[1]', '[0,4]')}}`, 4),
  },
  {
    name: '__metadata__ an array',
    source: `${SERDE} (HashMap<String, String>)`,
    verdict: 'refuse',
    bytes: file('{"__metadata__":["a"]}'),
  },
  {
    name: '__metadata__ twice',
    source: `${SERDE} (duplicate field)`,
    verdict: 'refuse',
    bytes: file(`{"__metadata__":{},"__metadata__":{},"t":${tensor('F32', '[1]', '[0,4]')}}`, 4),
  },
  {
    name: 'a metadata key twice (the last value is kept)',
    source: `${SERDE} (HashMap insert)`,
    verdict: 'accept',
    bytes: file(`{"__metadata__":{"a":"1","a":"2"},"t":${tensor('F32', '[1]', '[0,4]')}}`, 4),
  },

  // Tensor entries: TensorInfo through serde's Content (the flattened map).
  {
    name: 'a tensor named twice, identically',
    source: `${SERDE} (HashMap insert: last wins)`,
    verdict: 'accept',
    bytes: file(`{"t":${tensor('F32', '[1]', '[0,4]')},"t":${tensor('F32', '[1]', '[0,4]')}}`, 4),
  },
  {
    name: 'a tensor named twice, the first entry then being a gap',
    source: `${SERDE} (last wins) then ${VALIDATE}`,
    verdict: 'refuse',
    bytes: file(`{"t":${tensor('U8', '[1]', '[0,1]')},"t":${tensor('U8', '[1]', '[1,2]')}}`, 2),
  },
  {
    name: 'a field twice in an entry',
    source: `${SERDE} (duplicate field)`,
    verdict: 'refuse',
    bytes: file('{"t":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', 4),
  },
  {
    name: 'a missing field',
    source: `${SERDE} (missing field)`,
    verdict: 'refuse',
    bytes: file('{"t":{"dtype":"F32","data_offsets":[0,4]}}', 4),
  },
  {
    name: 'unknown fields are ignored',
    source: `${SERDE} (no deny_unknown_fields)`,
    verdict: 'accept',
    bytes: oneF32(',"x":[true,false,null,{"a":{}},1.5e-3,-7]'),
  },
  {
    name: 'an entry given as a 3-array',
    source: `${SERDE} (struct from a sequence)`,
    verdict: 'accept',
    bytes: file('{"t":["F32",[1],[0,4]]}', 4),
  },
  {
    name: 'an entry given as a 4-array',
    source: `${SERDE} (invalid length)`,
    verdict: 'refuse',
    bytes: file('{"t":["F32",[1],[0,4],1]}', 4),
  },
  {
    name: 'dtype spelled {"F32": null}',
    source: `${SERDE} (unit variant from a map)`,
    verdict: 'accept',
    bytes: file(`{"t":${tensor('F32', '[1]', '[0,4]').replace('"F32"', '{"F32":null}')}}`, 4),
  },
  {
    name: 'dtype spelled {"F32": {}}',
    source: `${SERDE} (unit variant from a map)`,
    verdict: 'refuse',
    bytes: file(`{"t":${tensor('F32', '[1]', '[0,4]').replace('"F32"', '{"F32":{}}')}}`, 4),
  },
  {
    name: 'shape null',
    source: `${SERDE} (Vec<usize>)`,
    verdict: 'refuse',
    bytes: file(`{"t":${tensor('F32', 'null', '[0,4]')}}`, 4),
  },
  {
    name: 'three data_offsets',
    source: `${SERDE} ((usize, usize))`,
    verdict: 'refuse',
    bytes: file(`{"t":${tensor('U8', '[4]', '[0,4,8]')}}`, 8),
  },
  {
    name: 'the header a JSON array',
    source: `${SERDE} (struct HashMetadata)`,
    verdict: 'refuse',
    bytes: file('[]'),
  },

  // serde_json's numbers.
  {
    name: 'an offset written 4.0',
    source: `${SERDE} (float for usize)`,
    verdict: 'refuse',
    bytes: file(`{"t":${tensor('F32', '[1]', '[0,4.0]')}}`, 4),
  },
  {
    name: 'an offset written 4e0',
    source: `${SERDE} (float for usize)`,
    verdict: 'refuse',
    bytes: file(`{"t":${tensor('F32', '[1]', '[0,4e0]')}}`, 4),
  },
  {
    name: 'an offset written -0',
    source: `${SERDE} (serde_json reads -0 as a float)`,
    verdict: 'refuse',
    bytes: file(`{"t":${tensor('F32', '[1]', '[-0,4]')}}`, 4),
  },
  {
    name: 'a dimension of 2^64',
    source: `${SERDE} (beyond u64: a float)`,
    verdict: 'refuse',
    bytes: file(`{"t":${tensor('F32', '[18446744073709551616,0]', '[0,0]')}}`),
  },
  {
    name: 'a dimension with a leading zero',
    source: `${SERDE} (invalid number)`,
    verdict: 'refuse',
    bytes: file(`{"t":${tensor('F32', '[01]', '[0,4]')}}`, 4),
  },
  {
    name: 'a dimension with a plus sign',
    source: `${SERDE} (expected value)`,
    verdict: 'refuse',
    bytes: file(`{"t":${tensor('F32', '[+1]', '[0,4]')}}`, 4),
  },
  {
    name: 'an ignored field of 1e400',
    source: `${SERDE} (number out of range)`,
    verdict: 'refuse',
    bytes: oneF32(',"x":1e400'),
  },
  {
    name: 'an ignored integer beyond u64',
    source: `${SERDE} (read as a float)`,
    verdict: 'accept',
    bytes: oneF32(',"x":123456789012345678901234567890'),
  },
  {
    name: 'an ignored -0',
    source: `${SERDE} (a float, ignored)`,
    verdict: 'accept',
    bytes: oneF32(',"x":-0'),
  },

  // serde_json's strings and syntax.
  {
    name: 'a byte-order mark before the header',
    source: `${READ_METADATA} (serde_json::from_str: expected value)`,
    verdict: 'refuse',
    bytes: file(new Uint8Array([0xef, 0xbb, 0xbf, ...bytesOf(`{"t":${tensor('F32', '[1]', '[0,4]')}}`)]), 4),
  },
  {
    name: 'a lone leading surrogate in a name',
    source: `${SERDE} (lone surrogate)`,
    verdict: 'refuse',
    bytes: file(`{"\\ud800":${tensor('F32', '[1]', '[0,4]')}}`, 4),
  },
  {
    name: 'a lone trailing surrogate in metadata',
    source: `${SERDE} (lone surrogate)`,
    verdict: 'refuse',
    bytes: file(`{"__metadata__":{"a":"\\udc00"},"t":${tensor('F32', '[1]', '[0,4]')}}`, 4),
  },
  {
    name: 'a lone surrogate in an ignored field',
    source: `${SERDE} (Content parses every string)`,
    verdict: 'refuse',
    bytes: oneF32(',"x":"\\ud800"'),
  },
  {
    name: 'a surrogate pair in a name',
    source: SERDE,
    verdict: 'accept',
    bytes: file(`{"\\ud83d\\ude00":${tensor('F32', '[1]', '[0,4]')}}`, 4),
  },
  {
    name: 'an escaped NUL in a name',
    source: SERDE,
    verdict: 'accept',
    bytes: file(`{"\\u0000":${tensor('F32', '[1]', '[0,4]')}}`, 4),
  },
  {
    name: 'a raw control character in a name',
    source: `${SERDE} (control character)`,
    verdict: 'refuse',
    bytes: file(`{"t\u0001":${tensor('F32', '[1]', '[0,4]')}}`, 4),
  },
  {
    name: 'a raw DEL in a name',
    source: SERDE,
    verdict: 'accept',
    bytes: file(`{"t\u007f":${tensor('F32', '[1]', '[0,4]')}}`, 4),
  },
  {
    name: 'an invalid escape',
    source: `${SERDE} (invalid escape)`,
    verdict: 'refuse',
    bytes: file(`{"t\\x":${tensor('F32', '[1]', '[0,4]')}}`, 4),
  },
  {
    name: 'a trailing comma',
    source: `${SERDE} (trailing comma)`,
    verdict: 'refuse',
    bytes: file(`{"t":${tensor('F32', '[1]', '[0,4]')},}`, 4),
  },
  {
    name: 'a NUL after the header',
    source: `${SERDE} (trailing characters)`,
    verdict: 'refuse',
    bytes: file(`{"t":${tensor('F32', '[1]', '[0,4]')}}\u0000`, 4),
  },
  {
    name: 'a form feed after the header',
    source: `${SERDE} (not JSON whitespace)`,
    verdict: 'refuse',
    bytes: file(`{"t":${tensor('F32', '[1]', '[0,4]')}}\f`, 4),
  },
  { name: 'an empty header', source: `${SERDE} (EOF while parsing)`, verdict: 'refuse', bytes: file('') },
  {
    name: 'nesting 127 deep',
    source: `${SERDE} (serde_json recursion limit 128)`,
    verdict: 'accept',
    bytes: oneF32(`,"x":${nested(125)}`),
  },
  {
    name: 'nesting 128 deep',
    source: `${SERDE} (recursion limit exceeded)`,
    verdict: 'refuse',
    bytes: oneF32(`,"x":${nested(126)}`),
  },
];
