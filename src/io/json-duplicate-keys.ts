/**
 * JSON.parse keeps the last of repeated keys silently, so a safetensors header naming a tensor twice would load
 * whichever came last (even with another dtype). This finds the first repeated key of any object in a text that
 * JSON.parse has already accepted; one pass, no recursion, so it is bounded by the text's length.
 */
export interface DuplicateKey {
  /** Keys of the objects leading to the one holding the repeat; empty for the top-level object. */
  readonly path: readonly string[];
  readonly key: string;
}

export function findDuplicateKey(text: string): DuplicateKey | undefined {
  // One frame per open object or array: the keys seen so far (objects only) and the key it sits under.
  const frames: { keys: Set<string> | undefined; under: string }[] = [];
  let expectKey = false;
  let pendingKey = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c === '"') {
      const end = stringEnd(text, i);
      const frame = frames[frames.length - 1];
      if (expectKey && frame?.keys !== undefined) {
        const key = JSON.parse(text.slice(i, end)) as string;
        if (frame.keys.has(key)) return { path: frames.slice(1).map((f) => f.under), key };
        frame.keys.add(key);
        pendingKey = key;
        expectKey = false;
      }
      i = end;
      continue;
    }
    if (c === '{' || c === '[') {
      frames.push({ keys: c === '{' ? new Set() : undefined, under: pendingKey });
      expectKey = c === '{';
    } else if (c === '}' || c === ']') {
      frames.pop();
      expectKey = false;
    } else if (c === ',') {
      expectKey = frames[frames.length - 1]?.keys !== undefined;
    }
    i += 1;
  }
  return undefined;
}

/** The index just past the string literal starting at `start` (an opening quote). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
  return i + 1;
}
