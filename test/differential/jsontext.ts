// JSON text <-> JsonValue for the differential suite. JSON.parse would round 64-bit integers
// (INT64_MAX is a case), so integers outside the safe range become bigint, like the JsonValue contract.
import type { JsonValue } from '../../schema/json.ts';

export function parseJson(text: string): JsonValue {
  const p = new Parser(text);
  p.ws();
  const v = p.value();
  p.ws();
  if (p.pos !== text.length) p.fail('trailing characters');
  return v;
}

class Parser {
  pos = 0;
  constructor(readonly s: string) {}

  fail(why: string): never {
    throw new SyntaxError(`JSON ${why} at offset ${this.pos}: ${this.s.slice(this.pos, this.pos + 40)}`);
  }

  ws(): void {
    while (this.pos < this.s.length && ' \t\r\n'.includes(this.s[this.pos]!)) this.pos++;
  }

  value(): JsonValue {
    const c = this.s[this.pos];
    if (c === '{') return this.object();
    if (c === '[') return this.array();
    if (c === '"') return this.string();
    if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
    for (const [word, v] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.s.startsWith(word, this.pos)) {
        this.pos += word.length;
        return v;
      }
    }
    return this.fail('unexpected token');
  }

  object(): JsonValue {
    const out: { [k: string]: JsonValue } = {};
    this.pos++;
    this.ws();
    if (this.s[this.pos] === '}') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      if (this.s[this.pos] !== '"') this.fail('object key expected');
      const k = this.string();
      this.ws();
      if (this.s[this.pos] !== ':') this.fail("':' expected");
      this.pos++;
      this.ws();
      out[k] = this.value();
      this.ws();
      const c = this.s[this.pos++];
      if (c === '}') return out;
      if (c !== ',') this.fail("',' or '}' expected");
    }
  }

  array(): JsonValue {
    const out: JsonValue[] = [];
    this.pos++;
    this.ws();
    if (this.s[this.pos] === ']') {
      this.pos++;
      return out;
    }
    for (;;) {
      this.ws();
      out.push(this.value());
      this.ws();
      const c = this.s[this.pos++];
      if (c === ']') return out;
      if (c !== ',') this.fail("',' or ']' expected");
    }
  }

  string(): string {
    const m = /^"(?:[^"\\\u0000-\u001f]|\\(?:["\\/bfnrt]|u[0-9a-fA-F]{4}))*"/.exec(this.s.slice(this.pos));
    if (!m) return this.fail('bad string');
    this.pos += m[0].length;
    return JSON.parse(m[0]) as string;
  }

  number(): JsonValue {
    const m = /^-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?/.exec(this.s.slice(this.pos));
    if (!m) return this.fail('bad number');
    this.pos += m[0].length;
    if (m[1] === undefined && m[2] === undefined) {
      const n = Number(m[0]);
      return Number.isSafeInteger(n) ? n : BigInt(m[0]);
    }
    return Number(m[0]);
  }
}

/** Compact JSON text; bigint as plain digits; object keys in insertion order (or sorted if asked). */
export function stringifyJson(v: JsonValue, sortKeys = false): string {
  if (typeof v === 'bigint') return v.toString();
  // A real too large to be a safe integer keeps an exponent, so it parses back as a number, not a bigint.
  if (typeof v === 'number' && Number.isInteger(v) && !Number.isSafeInteger(v)) return v.toExponential();
  if (v === null || typeof v !== 'object') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map((x) => stringifyJson(x, sortKeys)).join(',')}]`;
  const keys = Object.keys(v);
  if (sortKeys) keys.sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${stringifyJson(v[k]!, sortKeys)}`).join(',')}}`;
}

/**
 * Splits a byte stream into complete top-level JSON texts (objects/arrays), the way a JSON-RPC peer
 * must: by tracking nesting depth outside strings. Feed chunks; get whole messages back.
 */
export class JsonStreamSplitter {
  private buf = '';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private scanned = 0;

  push(chunk: string): string[] {
    this.buf += chunk;
    const out: string[] = [];
    let start = 0;
    for (let i = this.scanned; i < this.buf.length; i++) {
      const c = this.buf[i];
      if (this.inString) {
        if (this.escaped) this.escaped = false;
        else if (c === '\\') this.escaped = true;
        else if (c === '"') this.inString = false;
      } else if (c === '"') this.inString = true;
      else if (c === '{' || c === '[') this.depth++;
      else if (c === '}' || c === ']') {
        if (--this.depth === 0) {
          out.push(this.buf.slice(start, i + 1).trim());
          start = i + 1;
        }
      }
    }
    this.buf = this.buf.slice(start);
    this.scanned = this.buf.length;
    return out;
  }
}
