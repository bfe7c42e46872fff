import { InvalidFileError } from '../errors.js';

/**
 * Strict reader for the IDX format of (Fashion-)MNIST: a 4-byte magic number (two zero bytes, a type code, the
 * number of dimensions), one big-endian uint32 per dimension, then the elements row-major. Only unsigned-byte
 * files (type code 0x08) are accepted: images with 3 dimensions (0x00000803), labels with 1 (0x00000801). The
 * data must fill the file exactly, so a truncated download or a file with trailing bytes is caught here.
 */
export const IDX_IMAGES_MAGIC = 0x00000803;
export const IDX_LABELS_MAGIC = 0x00000801;

export interface IdxImages {
  readonly count: number;
  readonly rows: number;
  readonly columns: number;
  /** `count × rows × columns` bytes, row-major; a view into the parsed buffer. */
  readonly pixels: Uint8Array;
}

function hex(value: number): string {
  return `0x${value.toString(16).padStart(8, '0')}`;
}

/** Checks the magic number and returns the dimensions and the byte offset where the elements start. */
function readHeader(
  bytes: Uint8Array,
  file: string,
  magic: number,
  what: string,
): { dims: number[]; start: number } {
  const dimensionCount = magic & 0xff;
  const start = 4 + 4 * dimensionCount;
  const truncated = () =>
    new InvalidFileError(
      file,
      `truncated IDX header: ${bytes.length} bytes, an IDX ${what} header needs ${start}`,
    );
  // The magic number is checked before the header length, so a file of another kind is reported as such.
  if (bytes.length < 4) throw truncated();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const found = view.getUint32(0, false);
  if (found !== magic) {
    const gzipHint = bytes[0] === 0x1f && bytes[1] === 0x8b ? ' (the file is gzip-compressed)' : '';
    throw new InvalidFileError(
      file,
      `not an IDX ${what} file: magic number ${hex(found)}, expected ${hex(magic)}${gzipHint}`,
    );
  }
  if (bytes.length < start) throw truncated();
  const dims: number[] = [];
  for (let axis = 0; axis < dimensionCount; axis += 1) dims.push(view.getUint32(4 + 4 * axis, false));
  return { dims, start };
}

function checkLength(bytes: Uint8Array, file: string, start: number, expected: number, what: string): void {
  const held = bytes.length - start;
  if (held < expected) {
    throw new InvalidFileError(
      file,
      `truncated: the header promises ${what} (${expected} bytes of data), the file holds ${held}`,
    );
  }
  if (held > expected) {
    throw new InvalidFileError(
      file,
      `${held - expected} unexpected bytes after the ${what} the header promises (${expected} bytes of data)`,
    );
  }
}

/** Parses an IDX image file (magic 0x00000803). `file` names it in errors. */
export function parseIdxImages(bytes: Uint8Array, file: string): IdxImages {
  const { dims, start } = readHeader(bytes, file, IDX_IMAGES_MAGIC, 'image');
  const [count, rows, columns] = dims;
  if (rows === 0 || columns === 0) {
    throw new InvalidFileError(file, `image size ${rows}×${columns} is empty`);
  }
  const expected = count * rows * columns;
  if (!Number.isSafeInteger(expected)) {
    throw new InvalidFileError(file, `header dimensions ${count}×${rows}×${columns} are too large`);
  }
  checkLength(bytes, file, start, expected, `${count} images of ${rows}×${columns}`);
  return { count, rows, columns, pixels: bytes.subarray(start, start + expected) };
}

/** Parses an IDX label file (magic 0x00000801); returns one byte per label, a view into `bytes`. */
export function parseIdxLabels(bytes: Uint8Array, file: string): Uint8Array {
  const { dims, start } = readHeader(bytes, file, IDX_LABELS_MAGIC, 'label');
  const [count] = dims;
  checkLength(bytes, file, start, count, `${count} labels`);
  return bytes.subarray(start, start + count);
}
