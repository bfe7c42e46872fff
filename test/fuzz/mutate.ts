/**
 * A seeded byte mutator: case `index` of a target is the same bytes on every run with the same seed, so a crash
 * or hang found by the long run is replayed from its (target, seed, index) alone.
 */

/** mulberry32: small, fast, good enough to pick positions and values. */
export function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A seed for case `index` of `target` under the run's seed. */
export function caseSeed(runSeed: number, target: string, index: number): number {
  let h = (runSeed ^ 0x9e3779b9) >>> 0;
  for (const c of `${target}#${index}`) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

const INTERESTING_8 = [0x00, 0x01, 0x7f, 0x80, 0xff, 0x20, 0x22, 0x5b, 0x7b, 0x2c, 0x3a];
const INTERESTING_32 = [0, 1, -1, 0x7fffffff, -0x80000000, 0xffff, 8, 16, 255, 0x10000];
/** Text fragments that steer YAML and JSON parsers into their corners. */
const TOKENS = [
  '&a ',
  '*a',
  '<<: *a',
  '[',
  ']',
  '{',
  '}',
  '"',
  "'",
  '\\u0000',
  '\n  ',
  ': ',
  '- ',
  '? ',
  '!!binary ',
  '!!js/function ',
  '1e999',
  '-1',
  '1e9',
  'null',
  '__proto__',
  '"__proto__": ',
  '~',
  '#',
  '---\n',
  '%YAML 1.1\n',
  '\t',
];

export interface MutateOptions {
  /** Where most mutations land: metadata regions of big files (the rest hit anywhere). */
  readonly hot?: (length: number) => readonly [number, number][];
  /** Whether to splice text tokens in (YAML, JSON). */
  readonly text?: boolean;
}

export function mutate(seed: Uint8Array, rng: () => number, options: MutateOptions = {}): Uint8Array {
  let bytes: Uint8Array = Uint8Array.from(seed);
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rng() * list.length)];
  const position = (): number => {
    const hot = options.hot?.(bytes.length) ?? [];
    if (hot.length > 0 && rng() < 0.85) {
      const [start, end] = pick(hot);
      const from = Math.max(0, Math.min(start, bytes.length));
      const to = Math.max(from, Math.min(end, bytes.length));
      return from + Math.floor(rng() * Math.max(1, to - from));
    }
    return Math.floor(rng() * Math.max(1, bytes.length));
  };
  const count = 1 + Math.floor(rng() * (rng() < 0.5 ? 2 : 6));
  for (let m = 0; m < count; m += 1) {
    const at = position();
    const kind = Math.floor(rng() * (options.text === true ? 9 : 7));
    if (bytes.length === 0 && kind < 6) continue;
    switch (kind) {
      case 0:
        bytes[at] ^= 1 << Math.floor(rng() * 8);
        break;
      case 1:
        bytes[at] = pick(INTERESTING_8);
        break;
      case 2: {
        const view = new DataView(bytes.buffer);
        if (at + 4 <= bytes.length) view.setInt32(at - (at % 4), pick(INTERESTING_32), true);
        break;
      }
      case 3: {
        const view = new DataView(bytes.buffer);
        const aligned = at - (at % 8);
        if (aligned + 8 <= bytes.length) {
          view.setBigInt64(
            aligned,
            BigInt(pick(INTERESTING_32)) * BigInt(pick([1, 2, 0x10000, 2 ** 31])),
            true,
          );
        }
        break;
      }
      case 4:
        bytes = bytes.slice(0, at);
        break;
      case 5: {
        const length = Math.floor(rng() * 64);
        bytes = Uint8Array.from([...bytes.subarray(0, at), ...bytes.subarray(at + length)]);
        break;
      }
      case 6: {
        const from = position();
        const chunk = bytes.slice(from, from + Math.floor(rng() * 128));
        const times = rng() < 0.1 ? 50 : 1;
        const parts = [bytes.subarray(0, at), ...Array<Uint8Array>(times).fill(chunk), bytes.subarray(at)];
        bytes = concat(parts);
        break;
      }
      default: {
        const token = new TextEncoder().encode(pick(TOKENS).repeat(rng() < 0.1 ? 200 : 1));
        bytes = concat([bytes.subarray(0, at), token, bytes.subarray(at)]);
        break;
      }
    }
  }
  return bytes;
}

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
