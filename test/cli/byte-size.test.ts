import { describe, expect, it } from 'vitest';
import { parseByteSize } from '../../src/cli/byte-size.js';
import { UsageError } from '../../src/errors.js';

describe('parseByteSize', () => {
  it('reads decimal units as powers of 1000 (as Hugging Face), binary ones as powers of 1024, any case', () => {
    expect(parseByteSize('5GB', '--x')).toBe(5_000_000_000);
    expect(parseByteSize('500MB', '--x')).toBe(500_000_000);
    expect(parseByteSize('40KB', '--x')).toBe(40_000);
    expect(parseByteSize('2GiB', '--x')).toBe(2_147_483_648);
    expect(parseByteSize('512MiB', '--x')).toBe(536_870_912);
    expect(parseByteSize('3KiB', '--x')).toBe(3072);
    expect(parseByteSize('1TB', '--x')).toBe(1_000_000_000_000);
    expect(parseByteSize('1TiB', '--x')).toBe(1_099_511_627_776);
    expect(parseByteSize('5gb', '--x')).toBe(5_000_000_000);
    expect(parseByteSize('2gib', '--x')).toBe(2_147_483_648);
    expect(parseByteSize('2GIB', '--x')).toBe(2_147_483_648);
    expect(parseByteSize('512mib', '--x')).toBe(536_870_912);
  });

  it('reads a bare number, or one with B, as bytes, and a fraction that comes to whole bytes', () => {
    expect(parseByteSize('1000000', '--x')).toBe(1_000_000);
    expect(parseByteSize('1', '--x')).toBe(1);
    expect(parseByteSize('64B', '--x')).toBe(64);
    expect(parseByteSize('1.5GB', '--x')).toBe(1_500_000_000);
    expect(parseByteSize('0.5KiB', '--x')).toBe(512);
    expect(parseByteSize('1.1GB', '--x')).toBe(1_100_000_000);
  });

  it('refuses anything else with a usage error naming the option and the value', () => {
    for (const bad of [
      '',
      'GB',
      '5 GB',
      '5XB',
      '5G',
      '-1GB',
      '0',
      '0MB',
      '0.5',
      '1.0001KB',
      '5GBs',
      'abc',
      '1e3',
      '99999999TB',
    ]) {
      let error: unknown;
      try {
        parseByteSize(bad, '--max-shard-size');
      } catch (e) {
        error = e;
      }
      expect(error, bad).toBeInstanceOf(UsageError);
      expect((error as UsageError).message).toContain('--max-shard-size');
      expect((error as UsageError).message).toContain(`'${bad}'`);
    }
  });
});
