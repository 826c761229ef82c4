// JSON values as OVSDB sees them, and the JSON text codec used on the wire and in database files.
//
// Integers beyond Number.MAX_SAFE_INTEGER (up to int64) are carried as bigint so that 64-bit OVSDB integers
// survive a round trip; everything else is plain JSON.
import { ovsStringHash, shashOrder } from './ovs-order.ts';

export type JsonValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | JsonValue[]
  | { [key: string]: JsonValue };

export type JsonObject = { [key: string]: JsonValue };

export function isJsonObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** OVS refuses JSON nested deeper than this ("input exceeds maximum nesting depth 1000"). */
export const JSON_MAX_DEPTH = 1000;

/** A JSON syntax error; `message` reads like OVS's: "line L, column C, byte B: <what>". */
export class JsonParseError extends Error {
  override name = 'JsonParseError';
}

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const SAFE_MIN = -SAFE_MAX;

// ---------------------------------------------------------------------------------------------------------
// Parsing

/**
 * True when `text` may hold a number JSON.parse cannot represent as OVS does: a run of 16+ digits (an integer
 * that may exceed 2^53, or digits that decide exactness) or an exponent (integer-valued `1e2`, overflow,
 * underflow). False positives only cost speed.
 * The nesting limit (JSON_MAX_DEPTH) is enforced by the exact parser and by the stream splitter; the
 * JSON.parse path does not check it.
 */
export function mayNeedCarefulParse(text: string): boolean {
  // One scan that skips strings (the stream splitter's rule, on a string). A regex prefilter was tried: uuids
  // and MAC addresses in strings make it match almost every record, and it cost several times the scan.
  return unsafeNumberOutsideStrings(text);
}

/** A digit run of 16+ or a digit followed by 'e'/'E', outside strings (true also for an unterminated string). */
function unsafeNumberOutsideStrings(text: string): boolean {
  const n = text.length;
  let digitRun = 0;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 34) {
      let q = i + 1;
      for (;;) {
        q = text.indexOf('"', q);
        if (q < 0) return true; // malformed: the exact parser reports it
        let b = q;
        while (text.charCodeAt(b - 1) === 92) b--;
        if ((q - b) % 2 === 0) break;
        q++;
      }
      i = q + 1;
      digitRun = 0;
      continue;
    }
    i++;
    if (c >= 48 && c <= 57) {
      if (++digitRun >= 16) return true;
      continue;
    }
    if ((c === 101 || c === 69) && digitRun > 0) return true;
    digitRun = 0;
  }
  return false;
}

/**
 * Parse one JSON text. `hasLongNumbers` = false promises that the text holds no 16+ digit run and no exponent
 * outside strings (the stream splitter knows this), allowing JSON.parse alone. With the default (true) the
 * text is pre-scanned and only texts that may need it go through the exact parser.
 *
 * Numbers: a value that is exactly an integer and fits int64 becomes an integer (a number if safe, else a
 * bigint), even when written `3.0` or `1e2`; anything else is a double. Strings must not contain U+0000.
 */
export function parseJson(text: string, hasLongNumbers = true): JsonValue {
  if ((hasLongNumbers && mayNeedCarefulParse(text)) || hasCarefulEscape(text)) {
    return new CarefulParser(text).parseText();
  }
  try {
    return JSON.parse(text) as JsonValue;
  } catch {
    // Re-parse only to produce an OVS-style message (error path, speed is irrelevant).
    return new CarefulParser(text).parseText();
  }
}

/** Escapes JSON.parse accepts and the reference refuses: \u0000, and a high surrogate (it must start a pair). */
const CAREFUL_ESCAPE_RE = /\\u(?:0000|[dD][89abAB])/;

/** Whether a text holds an escape only the exact parser judges as the reference does (see CAREFUL_ESCAPE_RE). */
export function hasCarefulEscape(text: string): boolean {
  return text.includes('\\u') && CAREFUL_ESCAPE_RE.test(text);
}

/** parseJson's exact parser alone, for pieces of a text that as a whole needs it (schema/json-chunked.ts). */
export function parseJsonExact(text: string): JsonValue {
  return new CarefulParser(text).parseText();
}

// Exact recursive-descent parser. Used for texts with long digit runs, exponents or "\u0000", and to
// describe errors. Strings with escapes are decoded by JSON.parse on the literal, which is exact.
class CarefulParser {
  private i = 0;
  private depth = 0;
  /** Where the last number or keyword ended (see unexpected()). */
  private bareEnd = -1;
  constructor(private readonly s: string) {}

  parseText(): JsonValue {
    this.ws();
    if (this.i >= this.s.length) this.fail('empty input stream');
    const v = this.value();
    this.ws();
    if (this.i < this.s.length) this.unexpected('trailing garbage at end of input');
    return v;
  }

  private fail(what: string): never {
    let line = 0;
    let col = 0;
    for (let k = 0; k < this.i; k++) {
      if (k < this.s.length && this.s.charCodeAt(k) === 10) {
        line++;
        col = 0;
      } else col++;
    }
    throw new JsonParseError(`line ${line}, column ${col}, byte ${this.i}: ${what}`);
  }

  private ws(): void {
    const s = this.s;
    let i = this.i;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 32 || c === 10 || c === 13 || c === 9) i++;
      else break;
    }
    this.i = i;
  }

  private value(): JsonValue {
    const c = this.s.charCodeAt(this.i);
    switch (c) {
      case 123: // {
        return this.object();
      case 91: // [
        return this.array();
      case 34: // "
        return this.string();
      case 116: // t
        return this.keyword('true', true);
      case 102: // f
        return this.keyword('false', false);
      case 110: // n
        return this.keyword('null', null);
      default:
        if (c === 45 || (c >= 48 && c <= 57)) return this.number();
        return this.unexpected('syntax error expecting value');
    }
  }

  private enter(): void {
    if (++this.depth > JSON_MAX_DEPTH) this.fail(`input exceeds maximum nesting depth ${JSON_MAX_DEPTH}`);
  }

  private object(): JsonObject {
    this.enter();
    this.i++;
    const o: JsonObject = {};
    this.ws();
    if (this.s.charCodeAt(this.i) === 125) {
      this.i++;
      this.depth--;
      return o;
    }
    for (;;) {
      this.ws();
      if (this.s.charCodeAt(this.i) !== 34) this.unexpected('syntax error parsing object expecting string');
      const k = this.string();
      this.ws();
      if (this.s.charCodeAt(this.i) !== 58) this.unexpected('syntax error parsing object expecting \':\'');
      this.i++;
      this.ws();
      const v = this.value();
      // defineProperty keeps "__proto__" an ordinary member, as JSON.parse does.
      if (k === '__proto__') Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
      else o[k] = v;
      this.ws();
      const c = this.s.charCodeAt(this.i++);
      if (c === 44) continue;
      if (c === 125) break;
      this.i--;
      this.unexpected('syntax error expecting \'}\' or \',\'');
    }
    this.depth--;
    return o;
  }

  private array(): JsonValue[] {
    this.enter();
    this.i++;
    const a: JsonValue[] = [];
    this.ws();
    if (this.s.charCodeAt(this.i) === 93) {
      this.i++;
      this.depth--;
      return a;
    }
    for (;;) {
      this.ws();
      a.push(this.value());
      this.ws();
      const c = this.s.charCodeAt(this.i++);
      if (c === 44) continue;
      if (c === 93) break;
      this.i--;
      this.unexpected('syntax error expecting \']\' or \',\'');
    }
    this.depth--;
    return a;
  }

  private keyword<T extends JsonValue>(word: string, v: T): T {
    if (this.s.startsWith(word, this.i)) {
      const c = this.s.charCodeAt(this.i + word.length);
      // A keyword must be followed by a delimiter.
      if (!((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 48 && c <= 57) || c === 95)) {
        this.i += word.length;
        this.bareEnd = this.i;
        return v;
      }
    }
    let j = this.i;
    while (/[A-Za-z0-9_]/.test(this.s.charAt(j))) j++;
    // Reported where the keyword ends, as the reference's lexer completes it.
    const bad = this.s.slice(this.i, j);
    this.i = j;
    return this.fail(`invalid keyword '${bad}'`);
  }

  private string(): string {
    const s = this.s;
    const start = this.i;
    // As the reference's lexer: the string is read up to the unescaped quote (a backslash takes the next
    // character along; a raw control character is refused where it stands), then its escapes are decoded,
    // and an error there is reported at the closing quote.
    let i = start + 1;
    let escaped = false;
    for (;;) {
      const c = s.charCodeAt(i);
      if (c === 34) break;
      if (Number.isNaN(c)) {
        this.i = i;
        this.fail('unexpected end of input in quoted string');
      }
      if (c === 92) {
        escaped = true;
        if (Number.isNaN(s.charCodeAt(i + 1))) {
          this.i = i + 1;
          this.fail('unexpected end of input in quoted string');
        }
        i += 2;
        continue;
      }
      if (c < 32) {
        this.i = i;
        this.fail(`U+${c.toString(16).toUpperCase().padStart(4, '0')} must be escaped in quoted string`);
      }
      i++;
    }
    const quote = i;
    this.i = quote;
    if (escaped) this.checkEscapes(start + 1, quote);
    this.i = quote + 1;
    return escaped ? (JSON.parse(s.slice(start, quote + 1)) as string) : s.slice(start + 1, quote);
  }

  /** The escapes of s[from, to) as the reference decodes them; an error is reported at this.i (the quote). */
  private checkEscapes(from: number, to: number): void {
    const s = this.s;
    for (let i = from; i < to; i++) {
      if (s.charCodeAt(i) !== 92) continue;
      const e = s.charCodeAt(i + 1);
      if (e === 117) {
        const hex = s.slice(i + 2, Math.min(i + 6, to));
        if (!/^[0-9a-fA-F]{4}$/.test(hex)) this.fail(i + 6 > to ? 'quoted string ends within \\u escape' : 'malformed \\u escape');
        if (hex === '0000') this.fail('null bytes not supported in quoted strings');
        const unit = parseInt(hex, 16);
        if (unit >= 0xd800 && unit <= 0xdbff) {
          // A high surrogate must be followed by an escaped low one; a lone low one passes, as there.
          if (!/^\\u[dD][c-fC-F][0-9a-fA-F]{2}$/.test(s.slice(i + 6, Math.min(i + 12, to)))) this.fail('malformed escaped surrogate pair');
          i += 11;
        } else i += 5;
      } else if (e === 34 || e === 92 || e === 47 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116) {
        i++;
      } else {
        this.fail(`bad escape \\${s.charAt(i + 1)}`);
      }
    }
  }

  /**
   * Where the reference's lexer completes the token at `i` (and reports a syntax error about it): a
   * structural character where it stands, a string at its closing quote, a number or keyword at the
   * character after it.
   */
  private tokenEnd(i: number): number {
    const s = this.s;
    const c = s.charCodeAt(i);
    if (c === 34) {
      for (let k = i + 1; k < s.length; k++) {
        const d = s.charCodeAt(k);
        if (d === 92) k++;
        else if (d === 34) return k;
      }
      return s.length;
    }
    if (c === 45 || (c >= 48 && c <= 57)) {
      let k = i + 1;
      while (k < s.length && /[0-9.eE+-]/.test(s.charAt(k))) k++;
      return k;
    }
    if (/[A-Za-z]/.test(s.charAt(i))) {
      let k = i + 1;
      while (k < s.length && /[A-Za-z0-9_]/.test(s.charAt(k))) k++;
      return k;
    }
    return i;
  }

  /**
   * A syntax error about the token at this.i, where the reference reports it; at the end of the input,
   * "unexpected end of input" (one past the end after a number or keyword the end completed).
   */
  private unexpected(what: string): never {
    const s = this.s;
    if (this.i >= s.length) {
      this.i = this.bareEnd === s.length ? s.length + 1 : s.length;
      this.fail('unexpected end of input');
    }
    // The lexer's own error comes first: an unexpected word that is no keyword is an invalid keyword.
    const end = this.tokenEnd(this.i);
    const word = /[A-Za-z]/.test(s.charAt(this.i)) ? s.slice(this.i, end) : null;
    this.i = end;
    if (word !== null && word !== 'true' && word !== 'false' && word !== 'null') this.fail(`invalid keyword '${word}'`);
    return this.fail(what);
  }

  private number(): number | bigint {
    const s = this.s;
    const start = this.i;
    let i = start;
    let neg = false;
    if (s.charCodeAt(i) === 45) {
      neg = true;
      i++;
    }
    const intStart = i;
    while (isDigit(s.charCodeAt(i))) i++;
    const intDigits = s.slice(intStart, i);
    if (intDigits.length === 0) {
      this.i = i;
      this.fail('\'-\' must be followed by digit');
    }
    if (intDigits.length > 1 && intDigits.charCodeAt(0) === 48) {
      this.i = i;
      this.fail('leading zeros not allowed');
    }
    let fracDigits = '';
    if (s.charCodeAt(i) === 46) {
      const f = ++i;
      while (isDigit(s.charCodeAt(i))) i++;
      fracDigits = s.slice(f, i);
      if (fracDigits.length === 0) {
        this.i = i;
        this.fail('decimal point must be followed by digit');
      }
    }
    let exp = 0;
    let hasExp = false;
    const ec = s.charCodeAt(i);
    if (ec === 101 || ec === 69) {
      hasExp = true;
      i++;
      let eneg = false;
      const sc = s.charCodeAt(i);
      if (sc === 43 || sc === 45) {
        eneg = sc === 45;
        i++;
      }
      const e0 = i;
      while (isDigit(s.charCodeAt(i))) i++;
      if (i === e0) {
        this.i = i;
        this.fail('exponent must contain at least one digit');
      }
      // Clamp: anything this large over/underflows anyway.
      exp = Math.min(Number(s.slice(e0, i)), 100000) * (eneg ? -1 : 1);
    }
    const c = s.charCodeAt(i);
    if ((c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95) {
      this.i = i;
      this.fail('syntax error in number');
    }
    this.i = i;
    this.bareEnd = i;
    const literal = s.slice(start, i);

    if (!hasExp && fracDigits.length === 0 && intDigits.length < 16) return Number(literal) || 0;

    const asInt = exactInteger(neg, intDigits + fracDigits, exp - fracDigits.length);
    if (asInt !== undefined) return asInt;
    const d = Number(literal);
    if (!Number.isFinite(d)) this.fail('number outside valid range');
    // The reference refuses what strtod reports as a range error with a nonzero result: a subnormal
    // (below DBL_MIN). A value too small even for that comes back as 0 and is accepted as 0 (1e-400).
    if (d !== 0 && Math.abs(d) < 2.2250738585072014e-308) this.fail('number outside valid range');
    return d === 0 ? 0 : d;
  }
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

// If digits × 10^exp (with sign) is an integer within int64, that integer (a number when safe); else undefined.
function exactInteger(neg: boolean, digits: string, exp: number): number | bigint | undefined {
  let d = digits.replace(/^0+/, '');
  if (d.length === 0) return 0; // -0 and 0.000 are integer 0
  if (exp < 0) {
    const cut = d.length + exp;
    if (cut <= 0 || !/^0*$/.test(d.slice(cut))) return undefined;
    d = d.slice(0, cut);
    exp = 0;
  }
  if (d.length + exp > 19) return undefined;
  let v = BigInt(d) * 10n ** BigInt(exp);
  if (neg) v = -v;
  if (v > INT64_MAX || v < INT64_MIN) return undefined;
  return v >= SAFE_MIN && v <= SAFE_MAX ? Number(v) : v;
}

// ---------------------------------------------------------------------------------------------------------
// Compact serialization (hot path)

// JSON.stringify cannot print a bigint. BigInt.prototype.toJSON turns it into a sentinel string holding
// U+0000 (which no parsed string can contain), removed afterwards; the flag skips that pass when no bigint
// was seen. Side effect: JSON.stringify anywhere in the process prints bigints as these sentinels.
const SENTINEL = '\u0000n';
const SENTINEL_RE = /"\\u0000n(-?[0-9]+)"/g;
let sawBigint = false;
Object.defineProperty(BigInt.prototype, 'toJSON', {
  value: function toJSON(this: bigint): string {
    sawBigint = true;
    return SENTINEL + this.toString();
  },
  configurable: true,
  writable: true,
  enumerable: false,
});

// Characters JSON.stringify escapes in a string: '"', '\\', controls, and (well-formed stringify) surrogates.
const NEEDS_ESCAPE_RE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * A string as a JSON string literal, exactly as JSON.stringify writes it. Most strings need no escaping, and
 * a regex test plus concatenation is several times cheaper than a JSON.stringify call on a short string.
 */
export function quoteString(s: string): string {
  return NEEDS_ESCAPE_RE.test(s) ? JSON.stringify(s) : '"' + s + '"';
}

/** True if JSON.stringify(s) is not just s in quotes. */
export function needsEscape(s: string): boolean {
  return NEEDS_ESCAPE_RE.test(s);
}

/**
 * Compact JSON text. Strings are escaped exactly as OVS does (JSON.stringify already matches: short escapes
 * for \b \t \n \f \r, \u00xx lowercase for other controls, everything else raw). bigints print as bare
 * integers. Reals print as JavaScript's shortest round-trip form (OVS prints %.15g; peers parse both).
 */
export function stringify(v: JsonValue): string {
  sawBigint = false;
  const s = JSON.stringify(v);
  if (!sawBigint) return s;
  sawBigint = false;
  return s.replace(SENTINEL_RE, '$1');
}

// ---------------------------------------------------------------------------------------------------------
// Sorted serialization, numbers as OVS prints them (for the `syntax` member of OVSDB errors)

const TWO63 = 9223372036854775808;

/** Compact JSON with object keys in byte (code point) order and numbers printed as OVS prints them. */
export function stringifySorted(v: JsonValue): string {
  const out: string[] = [];
  writeOrdered(v, out, sortKeys);
  return out.join('');
}

/**
 * Compact JSON as OVS writes a parsed value back: object members in its hash order (members added in
 * their order here, see ovs-order.ts), numbers as OVS prints them.
 */
export function stringifyHashed(v: JsonValue): string {
  const out: string[] = [];
  writeOrdered(v, out, (keys) => shashOrder(keys, ovsStringHash));
  return out.join('');
}

function writeOrdered(v: JsonValue, out: string[], order: (keys: string[]) => string[]): void {
  switch (typeof v) {
    case 'string':
      out.push(JSON.stringify(v));
      return;
    case 'number':
      out.push(formatNumber(v));
      return;
    case 'bigint':
      out.push(v.toString());
      return;
    case 'boolean':
      out.push(v ? 'true' : 'false');
      return;
    default:
      break;
  }
  if (v === null) {
    out.push('null');
  } else if (Array.isArray(v)) {
    out.push('[');
    for (let k = 0; k < v.length; k++) {
      if (k > 0) out.push(',');
      writeOrdered(v[k]!, out, order);
    }
    out.push(']');
  } else {
    const keys = order(Object.keys(v));
    out.push('{');
    for (let k = 0; k < keys.length; k++) {
      if (k > 0) out.push(',');
      out.push(JSON.stringify(keys[k]), ':');
      writeOrdered(v[keys[k]!]!, out, order);
    }
    out.push('}');
  }
}

// UTF-16 order equals code point (= UTF-8 byte) order unless surrogates meet U+E000..U+FFFF.
function sortKeys(keys: string[]): string[] {
  keys.sort();
  return hasSurrogates(keys) ? sortByCodePoint(keys) : keys;
}

/** True if some key holds a surrogate (then code unit order may differ from code point order). */
export function hasSurrogates(keys: readonly string[]): boolean {
  return keys.some((k) => /[\ud800-\udfff]/.test(k));
}

/** Sorts in place by code point (UTF-8 byte) order, as stringifySorted orders keys with surrogates. */
export function sortByCodePoint(keys: string[]): string[] {
  keys.sort((a, b) => {
    const x = Array.from(a);
    const y = Array.from(b);
    for (let k = 0; k < Math.min(x.length, y.length); k++) {
      const d = x[k]!.codePointAt(0)! - y[k]!.codePointAt(0)!;
      if (d !== 0) return d;
    }
    return x.length - y.length;
  });
  return keys;
}

/** A JSON number as OVS prints it: integral |v| < 2^63 as an integer, anything else with %.15g. */
export function formatNumber(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < TWO63) {
    if (x === 0) return '0';
    return Math.abs(x) <= Number.MAX_SAFE_INTEGER ? String(x) : BigInt(x).toString();
  }
  return formatReal(x);
}

/**
 * C's printf("%.15g") of a double, except that negative zero prints as "0" (as OVS prints reals).
 * Ties at the 15th digit round half to even like glibc (JavaScript's toExponential rounds them away from 0).
 */
export function formatReal(x: number): string {
  if (x === 0) return '0';
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  const sign = x < 0 ? '-' : '';
  const a = Math.abs(x);
  let [digits, exp] = splitExponential(a.toExponential(14));
  const wide = a.toExponential(15);
  if (wide.charCodeAt(16) === 53 /* '5' */ && isExactDecimal(a, wide)) {
    // A true tie: glibc keeps the even 15th digit.
    const [d16, e16] = splitExponential(wide);
    const truncated = d16.slice(0, 15);
    if ((truncated.charCodeAt(14) - 48) % 2 === 0) {
      digits = truncated;
      exp = e16;
    }
  }
  if (exp < -4 || exp >= 15) {
    const m = stripZeros(digits.slice(0, 1) + '.' + digits.slice(1));
    const e = Math.abs(exp);
    return `${sign}${m}e${exp < 0 ? '-' : '+'}${e < 10 ? '0' : ''}${e}`;
  }
  if (exp >= 0) return sign + stripZeros(digits.slice(0, exp + 1) + '.' + digits.slice(exp + 1));
  return sign + stripZeros('0.' + '0'.repeat(-exp - 1) + digits);
}

// "d.ddddde+X" → ["dddddd", X]
function splitExponential(s: string): [string, number] {
  const e = s.indexOf('e');
  return [s.slice(0, 1) + s.slice(2, e), Number(s.slice(e + 1))];
}

function stripZeros(s: string): string {
  if (!s.includes('.')) return s;
  let end = s.length;
  while (s.charCodeAt(end - 1) === 48) end--;
  if (s.charCodeAt(end - 1) === 46) end--;
  return s.slice(0, end);
}

// Whether the positive double `a` equals the decimal `dec` ("d.ddd…e±X") exactly.
function isExactDecimal(a: number, dec: string): boolean {
  const [digits, exp] = splitExponential(dec);
  const p10 = exp - (digits.length - 1);
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, a);
  const hi = view.getUint32(0);
  const lo = view.getUint32(4);
  const bexp = (hi >>> 20) & 0x7ff;
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo);
  let p2: number;
  if (bexp === 0) p2 = -1074;
  else {
    mant |= 1n << 52n;
    p2 = bexp - 1075;
  }
  let left = mant;
  let right = BigInt(digits);
  if (p2 >= 0) left <<= BigInt(p2);
  else right <<= BigInt(-p2);
  if (p10 >= 0) right *= 10n ** BigInt(p10);
  else left *= 10n ** BigInt(-p10);
  return left === right;
}
