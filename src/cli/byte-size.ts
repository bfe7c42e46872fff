import { UsageError } from '../errors.js';

/**
 * Bytes per unit. The decimal units are powers of 1000, as in Hugging Face's `max_shard_size` ("5GB" is
 * 5·10⁹ bytes), the binary ones powers of 1024; a bare number is bytes.
 */
const UNIT_BYTES: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
};

const BYTE_SIZE = /^(\d+(?:\.\d+)?|\.\d+)([a-z]*)$/i;

/**
 * A size given on the command line (`5GB`, `500MB`, `2GiB`, `512MiB`, `1000000`), in bytes; the unit is
 * case-insensitive. It must come to a positive whole number of bytes. `option` names the value in the message
 * (`--max-shard-size`).
 */
export function parseByteSize(text: string, option: string): number {
  const match = BYTE_SIZE.exec(text);
  const unit = match === null ? undefined : UNIT_BYTES[match[2].toLowerCase()];
  const refuse = (why: string) =>
    new UsageError(
      `${option} must be a size such as 5GB, 500MB, 2GiB, 512MiB or a number of bytes (GB/MB/KB are powers of 1000, GiB/MiB/KiB of 1024); got '${text}': ${why}`,
    );
  if (match === null || unit === undefined) {
    throw refuse(match === null ? 'not a number with a unit' : `unknown unit '${match[2]}'`);
  }
  // Scaled by the unit before rounding, so "1.5GB" is exactly 1500000000 and "0.5B" is caught as a fraction.
  const bytes = Number(match[1]) * unit;
  const whole = Math.round(bytes);
  if (Math.abs(bytes - whole) > 1e-9 * Math.max(1, whole)) throw refuse('not a whole number of bytes');
  if (whole <= 0) throw refuse('it must be positive');
  if (!Number.isSafeInteger(whole)) throw refuse('too large');
  return whole;
}
