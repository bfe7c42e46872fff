import { type Codec, CompressionType, compressionRegistry } from 'apache-arrow';
import { Decompress as ZstdStream } from 'fzstd';
import { compress as lz4Compress, decompressFrame as lz4DecompressFrame } from 'lz4js';

/**
 * Codecs for Arrow IPC bodies compressed per buffer (Arrow's BodyCompression: LZ4_FRAME or ZSTD), registered with
 * apache-arrow's compressionRegistry, which its reader looks up for every compressed record batch.
 *
 * - LZ4_FRAME: lz4js (pure JavaScript), decoding and encoding.
 * - ZSTD: fzstd (pure JavaScript), which decompresses only: mal reads zstd-compressed Arrow, it does not write it.
 *
 * Each buffer of a compressed body starts with its uncompressed length (int64, little-endian), which
 * checkArrowIPC has already checked against the column and against MAX_UNCOMPRESSED_BATCH_BYTES. The codecs
 * decompress into exactly that many bytes and fail when the data holds more or fewer, so a lying frame can
 * neither make them allocate more nor leave a column shorter than its row count.
 */
export class ArrowCodecError extends Error {
  override readonly name = 'ArrowCodecError';
}

/**
 * The uncompressed length apache-arrow read for the buffer it hands the codec: it passes the bytes after the
 * 8-byte prefix as a view into the body (ipc/reader's _decompressBuffers), so the prefix is right before them.
 */
function declaredLength(data: Uint8Array, codec: string): number {
  if (data.byteOffset < 8)
    throw new ArrowCodecError(`${codec}: the buffer's length prefix is not in front of it`);
  const length = Number(new DataView(data.buffer, data.byteOffset - 8, 8).getBigInt64(0, true));
  if (!(length >= 0)) throw new ArrowCodecError(`${codec}: the buffer declares ${length} bytes`);
  return length;
}

function mismatch(codec: string, declared: number, got: string): ArrowCodecError {
  return new ArrowCodecError(`${codec} buffer declares ${declared} bytes uncompressed but holds ${got}`);
}

const LZ4_MAGIC = 0x184d2204;
const LZ4_VERSION = 0x40;
const LZ4_BLOCK_CHECKSUM = 0x10;
const LZ4_CONTENT_SIZE = 0x08;
const LZ4_CONTENT_CHECKSUM = 0x04;
const LZ4_DICTIONARY_ID = 0x01;
const LZ4_UNCOMPRESSED_BLOCK = 0x80000000;

/**
 * Walks an LZ4 frame's header and block sizes (LZ4 Frame Format 1.6) and throws unless every block lies inside
 * `data`. lz4js trusts them: a block size patched to 2^31 makes it loop over bytes that are not there for
 * seconds. Dictionary ids, which lz4js cannot use, are refused.
 */
function checkLz4Frame(data: Uint8Array): void {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const fail = (what: string): never => {
    throw new ArrowCodecError(`LZ4_FRAME: ${what}`);
  };
  if (data.length < 7 || view.getUint32(0, true) !== LZ4_MAGIC) fail('no LZ4 frame magic');
  const flags = data[4];
  if ((flags & 0xc0) !== LZ4_VERSION) fail(`frame version bits ${flags >> 6}, expected 1`);
  if (flags & LZ4_DICTIONARY_ID) fail('the frame needs a dictionary');
  let at = 6 + (flags & LZ4_CONTENT_SIZE ? 8 : 0) + 1;
  const blockChecksum = flags & LZ4_BLOCK_CHECKSUM ? 4 : 0;
  for (;;) {
    if (at + 4 > data.length) fail('the frame ends inside a block header');
    const size = view.getUint32(at, true) & ~LZ4_UNCOMPRESSED_BLOCK;
    at += 4;
    if (size === 0) break;
    at += size + blockChecksum;
    if (at > data.length) fail(`a block of ${size} bytes reaches beyond the frame's ${data.length} bytes`);
  }
  if (at + (flags & LZ4_CONTENT_CHECKSUM ? 4 : 0) > data.length) fail('the frame ends inside its checksum');
}

export const lz4FrameCodec: Required<Codec> = {
  encode: (data) => lz4Compress(data),
  decode(data) {
    const declared = declaredLength(data, 'LZ4_FRAME');
    checkLz4Frame(data);
    const out = new Uint8Array(declared);
    let written: number;
    try {
      // Writes past the end of `out` are dropped, but counted in the length it returns.
      written = lz4DecompressFrame(data, out);
    } catch (error) {
      throw new ArrowCodecError(`LZ4_FRAME: ${(error as Error).message}`);
    }
    if (written !== declared) throw mismatch('LZ4_FRAME', declared, `${written}`);
    return out;
  },
};

const ZSTD_MAGIC = 0xfd2fb528;
const ZSTD_SKIPPABLE_MASK = 0xfffffff0;
const ZSTD_SKIPPABLE_MAGIC = 0x184d2a50;
const ZSTD_MAX_BLOCK = 128 * 1024;

/**
 * Walks the frames of a ZSTD buffer (RFC 8878: frame headers, block headers, checksums) and returns it with every
 * window descriptor lowered to the smallest power of two that holds max(declared, 128 KiB). fzstd allocates the
 * window a frame header names, up to 2 GB, before it reads a block: a 17-byte frame could thus claim 2 GB for
 * 8 bytes of content. Back-references never reach further than the output, which may not exceed `declared`, so
 * the lowered window decodes the same. A single-segment frame's content size is its window: more than
 * `declared` is refused. The caller's bytes are not changed (a copy is patched when needed).
 */
function boundZstdWindows(data: Uint8Array, declared: number): Uint8Array {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const fail = (what: string): never => {
    throw new ArrowCodecError(`ZSTD: ${what}`);
  };
  const window = Math.max(declared, ZSTD_MAX_BLOCK);
  const exponent = Math.max(0, Math.ceil(Math.log2(window)) - 10);
  let patched: Uint8Array | undefined;
  let at = 0;
  while (at < data.length) {
    if (at + 4 > data.length) fail('the buffer ends inside a frame magic number');
    const magic = view.getUint32(at, true);
    if ((magic & ZSTD_SKIPPABLE_MASK) >>> 0 === ZSTD_SKIPPABLE_MAGIC) {
      if (at + 8 > data.length) fail('the buffer ends inside a skippable frame header');
      at += 8 + view.getUint32(at + 4, true);
      continue;
    }
    if (magic !== ZSTD_MAGIC) fail(`no frame magic number at byte ${at}`);
    if (at + 5 > data.length) fail('the buffer ends inside a frame header');
    const descriptor = data[at + 4];
    const singleSegment = (descriptor >> 5) & 1;
    const checksum = (descriptor >> 2) & 1;
    const dictionaryBytes = [0, 1, 2, 4][descriptor & 3];
    const sizeFlag = descriptor >> 6;
    const sizeBytes = sizeFlag === 0 ? singleSegment : 1 << sizeFlag;
    const windowAt = at + 5;
    const sizeAt = windowAt + (singleSegment ? 0 : 1) + dictionaryBytes;
    at = sizeAt + sizeBytes;
    if (at > data.length) fail('the buffer ends inside a frame header');
    if (sizeBytes > 0) {
      let size = 0;
      for (let k = sizeBytes - 1; k >= 0; k--) size = size * 256 + data[sizeAt + k];
      if (sizeBytes === 2) size += 256;
      if (size > declared)
        fail(`a frame holds ${size} bytes but the buffer declares ${declared} uncompressed`);
    }
    if (!singleSegment && data[windowAt] >> 3 > exponent) {
      patched ??= data.slice();
      patched[windowAt] = exponent << 3;
    }
    for (let last = 0; !last; ) {
      if (at + 3 > data.length) fail('the buffer ends inside a block header');
      const header = data[at] | (data[at + 1] << 8) | (data[at + 2] << 16);
      last = header & 1;
      const type = (header >> 1) & 3;
      const size = header >>> 3;
      if (type === 3) fail('a block of the reserved type');
      at += 3 + (type === 1 ? 1 : size);
      if (at > data.length) fail(`a block of ${size} bytes reaches beyond the buffer's ${data.length} bytes`);
    }
    at += checksum * 4;
    if (at > data.length) fail('the buffer ends inside a frame checksum');
  }
  return patched ?? data;
}

export const zstdCodec: Codec = {
  decode(data) {
    const declared = declaredLength(data, 'ZSTD');
    const frames = boundZstdWindows(data, declared);
    const out = new Uint8Array(declared);
    let written = 0;
    // The streaming decoder hands over one block at a time, so a frame that expands beyond the declared length
    // is stopped at the first block past it rather than allocated whole.
    const stream = new ZstdStream((chunk) => {
      if (written + chunk.length > declared) throw mismatch('ZSTD', declared, 'more');
      out.set(chunk, written);
      written += chunk.length;
    });
    try {
      stream.push(frames, true);
    } catch (error) {
      if (error instanceof ArrowCodecError) throw error;
      throw new ArrowCodecError(`ZSTD: ${(error as Error).message}`);
    }
    if (written !== declared) throw mismatch('ZSTD', declared, `${written}`);
    return out;
  },
};

let registered = false;

/** Registers the codecs with apache-arrow (once; later calls do nothing). */
export function registerArrowCodecs(): void {
  if (registered) return;
  compressionRegistry.set(CompressionType.LZ4_FRAME, lz4FrameCodec);
  compressionRegistry.set(CompressionType.ZSTD, zstdCodec);
  registered = true;
}
