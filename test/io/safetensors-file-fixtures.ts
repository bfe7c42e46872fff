import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Bytes of a safetensors file assembled by hand: an explicit length prefix (the header's byte length unless
 * `declaredLength` overrides it), the header text as given, then the data. Independent of the writer under test.
 */
export function handMadeSafetensors(
  headerText: string,
  data: Uint8Array,
  declaredLength?: number,
): Uint8Array {
  const header = new TextEncoder().encode(headerText);
  const out = new Uint8Array(8 + header.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(declaredLength ?? header.length), true);
  out.set(header, 8);
  out.set(data, 8 + header.length);
  return out;
}

export interface ScratchFolder {
  readonly path: string;
  file(name: string): string;
  write(name: string, bytes: Uint8Array | string): Promise<string>;
  remove(): Promise<void>;
}

export async function scratchFolder(): Promise<ScratchFolder> {
  const path = await mkdtemp(join(tmpdir(), 'mal-io-test-'));
  return {
    path,
    file: (name) => join(path, name),
    async write(name, bytes) {
      const file = join(path, name);
      await writeFile(file, bytes);
      return file;
    },
    remove: () => rm(path, { recursive: true, force: true }),
  };
}
