import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { firstInvalidUtf8Offset } from '../../src/data/utf8-offset.js';

describe('firstInvalidUtf8Offset', () => {
  it('finds the first bad byte: a lone continuation, a truncated tail, overlong forms, surrogates', () => {
    expect(firstInvalidUtf8Offset(Buffer.from('Grüße 😀', 'utf8'))).toBe(-1);
    expect(firstInvalidUtf8Offset(new Uint8Array([0x61, 0x80]))).toBe(1);
    expect(firstInvalidUtf8Offset(new Uint8Array([0x61, 0x62, 0xe2, 0x82]))).toBe(2);
    expect(firstInvalidUtf8Offset(new Uint8Array([0xc0, 0xaf]))).toBe(0);
    expect(firstInvalidUtf8Offset(new Uint8Array([0x61, 0xe0, 0x80, 0xaf]))).toBe(1);
    expect(firstInvalidUtf8Offset(new Uint8Array([0xed, 0xa0, 0x80]))).toBe(0);
    expect(firstInvalidUtf8Offset(new Uint8Array([0xf4, 0x90, 0x80, 0x80]))).toBe(0);
  });

  it('agrees with a fatal TextDecoder on whether random bytes are UTF-8', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 12 }), (bytes) => {
        let valid = true;
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(bytes);
        } catch {
          valid = false;
        }
        expect(firstInvalidUtf8Offset(bytes) === -1).toBe(valid);
      }),
      { numRuns: 2000 },
    );
  });
});
