import { type Table, tableFromIPC } from 'apache-arrow';
import { InvalidFileError } from '../errors.js';
import { bigEndianToLittleEndian } from './arrow-big-endian.js';
import { ArrowCodecError, registerArrowCodecs } from './arrow-compression.js';
import { type ArrowIPCCheckOptions, checkArrowIPC } from './arrow-ipc-check.js';

/**
 * Decodes Arrow IPC bytes (file or stream format, any number of record batches) from a file or the bus: checked
 * first (arrow-ipc-check.ts), big-endian data converted to little-endian, compressed bodies decompressed by the
 * registered codecs. Errors are InvalidFileErrors naming `source`.
 */
export function readArrowIPC(bytes: Uint8Array, source: string, options: ArrowIPCCheckOptions): Table {
  const framing = checkArrowIPC(bytes, source, options);
  const input = framing.bigEndian ? bigEndianToLittleEndian(bytes, framing.words) : bytes;
  if (framing.compressed) registerArrowCodecs();
  try {
    return tableFromIPC(input);
  } catch (error) {
    if (error instanceof ArrowCodecError) {
      throw new InvalidFileError(source, `corrupt compressed Arrow IPC data: ${error.message}`);
    }
    throw new InvalidFileError(source, `${options.notArrow} (${(error as Error).message})`);
  }
}
