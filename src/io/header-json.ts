/**
 * A JSON parser that accepts exactly what the safetensors reference reader (serde_json) accepts, and keeps what
 * JSON.parse loses: every key of an object in order (repeats included, since the reference refuses some repeats
 * and takes the last of others), and integers exactly (shapes and offsets are u64 there, beyond 2^53 here).
 *
 * serde_json's rules, where they differ from JSON.parse: no byte-order mark; nesting of arrays and objects at
 * most 127 deep; lone UTF-16 surrogates in `\u` escapes refused; a number with a fraction or an exponent, an
 * integer beyond u64 (or below i64) or -0 is a float, and a float that overflows is refused.
 */
export type JsonValue =
  | { readonly kind: 'object'; readonly entries: readonly (readonly [string, JsonValue])[] }
  | { readonly kind: 'array'; readonly items: readonly JsonValue[] }
  | { readonly kind: 'string'; readonly value: string }
  /** A non-negative integer that fits u64, exactly. */
  | { readonly kind: 'unsigned'; readonly value: bigint }
  /** A negative integer that fits i64. */
  | { readonly kind: 'negative'; readonly value: bigint }
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'boolean'; readonly value: boolean }
  | { readonly kind: 'null' };

/** serde_json's default recursion limit: a container opened at this depth is refused. */
export const MAX_JSON_DEPTH = 127;

const U64_MAX = (1n << 64n) - 1n;
const I64_MIN = -(1n << 63n);

export class HeaderJsonError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at character ${offset + 1}`);
  }
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;

class Parser {
  private i = 0;
  private depth = 0;

  constructor(private readonly text: string) {}

  document(): JsonValue {
    const value = this.value();
    this.whitespace();
    if (this.i < this.text.length) this.fail('trailing characters');
    return value;
  }

  private fail(message: string): never {
    throw new HeaderJsonError(message, this.i);
  }

  private whitespace(): void {
    const t = this.text;
    while (this.i < t.length) {
      const c = t.charCodeAt(this.i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.i++;
    }
  }

  private value(): JsonValue {
    this.whitespace();
    const c = this.text[this.i];
    switch (c) {
      case '{':
        return this.container(() => this.objectBody());
      case '[':
        return this.container(() => this.arrayBody());
      case '"':
        return { kind: 'string', value: this.string() };
      case 't':
        return this.literal('true', { kind: 'boolean', value: true });
      case 'f':
        return this.literal('false', { kind: 'boolean', value: false });
      case 'n':
        return this.literal('null', { kind: 'null' });
      case undefined:
        return this.fail('EOF while parsing a value');
      default:
        if (c === '-' || (c >= '0' && c <= '9')) return this.number();
        return this.fail('expected value');
    }
  }

  private container(body: () => JsonValue): JsonValue {
    if (++this.depth > MAX_JSON_DEPTH) this.fail(`nesting deeper than ${MAX_JSON_DEPTH}`);
    this.i++;
    const value = body();
    this.depth--;
    return value;
  }

  private objectBody(): JsonValue {
    const entries: [string, JsonValue][] = [];
    this.whitespace();
    if (this.text[this.i] === '}') {
      this.i++;
      return { kind: 'object', entries };
    }
    for (;;) {
      this.whitespace();
      if (this.text[this.i] !== '"') this.fail('key must be a string');
      const key = this.string();
      this.whitespace();
      if (this.text[this.i] !== ':') this.fail("expected ':'");
      this.i++;
      entries.push([key, this.value()]);
      this.whitespace();
      const c = this.text[this.i++];
      if (c === '}') return { kind: 'object', entries };
      if (c !== ',') this.fail("expected ',' or '}'");
      this.whitespace();
      if (this.text[this.i] === '}') this.fail('trailing comma');
    }
  }

  private arrayBody(): JsonValue {
    const items: JsonValue[] = [];
    this.whitespace();
    if (this.text[this.i] === ']') {
      this.i++;
      return { kind: 'array', items };
    }
    for (;;) {
      items.push(this.value());
      this.whitespace();
      const c = this.text[this.i++];
      if (c === ']') return { kind: 'array', items };
      if (c !== ',') this.fail("expected ',' or ']'");
      this.whitespace();
      if (this.text[this.i] === ']') this.fail('trailing comma');
    }
  }

  private literal(word: string, value: JsonValue): JsonValue {
    if (!this.text.startsWith(word, this.i)) this.fail('expected value');
    this.i += word.length;
    return value;
  }

  private number(): JsonValue {
    NUMBER.lastIndex = this.i;
    const match = NUMBER.exec(this.text);
    if (match === null) return this.fail('invalid number');
    const [literal, fraction, exponent] = match;
    const start = this.i;
    this.i += literal.length;
    // serde_json reads `01` as an invalid number, not as 0 followed by trailing characters.
    const next = this.text[this.i];
    if (next !== undefined && next >= '0' && next <= '9') this.fail('invalid number');
    if (fraction === undefined && exponent === undefined && literal !== '-0') {
      const integer = BigInt(literal);
      if (integer >= 0n && integer <= U64_MAX) return { kind: 'unsigned', value: integer };
      if (integer < 0n && integer >= I64_MIN) return { kind: 'negative', value: integer };
    }
    const value = Number(literal);
    if (!Number.isFinite(value)) throw new HeaderJsonError('number out of range', start);
    return { kind: 'float', value };
  }

  private string(): string {
    const t = this.text;
    let out = '';
    let run = ++this.i;
    for (;;) {
      if (this.i >= t.length) this.fail('EOF while parsing a string');
      const c = t.charCodeAt(this.i);
      if (c === 0x22) {
        out += t.slice(run, this.i++);
        return out;
      }
      if (c < 0x20) this.fail('control character (\\u0000-\\u001F) found while parsing a string');
      if (c !== 0x5c) {
        this.i++;
        continue;
      }
      out += t.slice(run, this.i);
      this.i++;
      out += this.escape();
      run = this.i;
    }
  }

  private escape(): string {
    const c = this.text[this.i++];
    switch (c) {
      case '"':
      case '\\':
      case '/':
        return c;
      case 'b':
        return '\b';
      case 'f':
        return '\f';
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case 'u': {
        const unit = this.hex4();
        if (unit >= 0xdc00 && unit <= 0xdfff) this.fail('lone trailing surrogate in hex escape');
        if (unit < 0xd800 || unit > 0xdbff) return String.fromCharCode(unit);
        if (this.text.slice(this.i, this.i + 2) !== '\\u') this.fail('lone leading surrogate in hex escape');
        this.i += 2;
        const low = this.hex4();
        if (low < 0xdc00 || low > 0xdfff) this.fail('lone leading surrogate in hex escape');
        return String.fromCharCode(unit, low);
      }
      default:
        return this.fail('invalid escape');
    }
  }

  private hex4(): number {
    const digits = this.text.slice(this.i, this.i + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) this.fail('invalid hex escape');
    this.i += 4;
    return Number.parseInt(digits, 16);
  }
}

/** Parses a whole JSON text by serde_json's rules; throws HeaderJsonError naming the first fault. */
export function parseHeaderJson(text: string): JsonValue {
  return new Parser(text).document();
}
