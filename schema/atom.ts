// Atoms (RFC 7047 §5.1 <atom>). The schema gives every atom its type, so atoms are bare JS values:
//   integer → number when |v| ≤ 2^53−1, else bigint (always this canonical choice, so === is value equality);
//   real → number (rounded to 15 significant digits, which is all ovsdb-server ever prints);
//   boolean → boolean; string → string; uuid → lowercase 36-character string.
import { randomUUID } from 'node:crypto';
import { constraintViolation, syntaxError } from './error.ts';
import { formatReal, type JsonValue } from './json.ts';
import type { AtomicType, BaseType } from './types.ts';

export type Atom = number | bigint | boolean | string;

export const ZERO_UUID = '00000000-0000-0000-0000-000000000000';
export const INT64_MIN = -(2n ** 63n);
export const INT64_MAX = 2n ** 63n - 1n;

const ID_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

let uuidSource: ((generate: () => string) => string) | null = null;

/** A fresh random uuid for the server to assign (rows, _Server, txn ids); recorded or replayed with --record/--replay. */
export function newUuid(): string {
  return uuidSource === null ? randomUUID() : uuidSource(randomUUID);
}

/** Routes newUuid() through `source`, which may call `generate` (server/replay.ts). */
export function setUuidSource(source: ((generate: () => string) => string) | null): void {
  uuidSource = source;
}

/** 8-4-4-4-12 hex digits (either case). A char-code scan: a regex costs several times more per uuid. */
export function isUuid(s: string): boolean {
  if (s.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = s.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 45) return false;
    } else if (!((c >= 48 && c <= 57) || ((c | 32) >= 97 && (c | 32) <= 102))) {
      return false;
    }
  }
  return true;
}
export const isId = (s: string): boolean => ID_RE.test(s);

/** Canonical integer: number in the safe range, bigint beyond it. Returns undefined outside int64. */
export function canonicalInteger(v: number | bigint): number | bigint | undefined {
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) return undefined;
    if (Number.isSafeInteger(v)) return v === 0 ? 0 : v; // folds -0
    // A double of -2^63 or beyond can only come from a literal outside int64 (the exact parser gives bigint).
    if (v <= -9223372036854775808 || v >= 9223372036854775808) return undefined;
    return BigInt(v);
  }
  if (v < INT64_MIN || v > INT64_MAX) return undefined;
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v;
}

/** Reals keep 15 significant digits: what %.15g shows is what the value is. */
export function canonicalReal(x: number): number {
  if (x === 0) return 0;
  return Number(x.toPrecision(15));
}

export function defaultAtom(type: AtomicType): Atom {
  switch (type) {
    case 'integer':
    case 'real':
      return 0;
    case 'boolean':
      return false;
    case 'string':
      return '';
    case 'uuid':
      return ZERO_UUID;
  }
}

/** Byte-wise UTF-8 order (strcmp on the UTF-8 encoding), which differs from UTF-16 order only above U+D7FF. */
export function compareStrings(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x !== y) {
      if (x >= 0xd800 && y >= 0xd800) {
        // Surrogates encode code points above U+FFFF, which sort after U+E000..U+FFFF in UTF-8.
        x = x < 0xe000 ? x + 0x2000 : x - 0x800;
        y = y < 0xe000 ? y + 0x2000 : y - 0x800;
      }
      return x - y;
    }
  }
  return a.length - b.length;
}

/** Total order on atoms of one type: numbers numerically, false < true, strings and uuids by UTF-8 bytes. */
export function compareAtoms(a: Atom, b: Atom): number {
  if (typeof a === 'string') return compareStrings(a, b as string);
  if (a === b) return 0;
  return a < b ? -1 : 1;
}

/** Symbol table of a transaction: named-uuid → uuid, created on first mention (forward references). */
export interface NamedUuids {
  resolve(name: string): string;
}

/** Parses one atom of `base`'s type from JSON. Constraints are not checked here (see checkAtom). */
export function atomFromJson(type: AtomicType, json: JsonValue, symtab?: NamedUuids): Atom {
  switch (type) {
    case 'integer': {
      if (typeof json === 'number' || typeof json === 'bigint') {
        const v = canonicalInteger(json);
        if (v !== undefined) return v;
      }
      throw syntaxError('expected integer', typeof json === 'bigint' ? Number(json) : json);
    }
    case 'real':
      if (typeof json === 'number') return canonicalReal(json);
      if (typeof json === 'bigint') return canonicalReal(Number(json));
      throw syntaxError('expected real', json);
    case 'boolean':
      if (typeof json === 'boolean') return json;
      throw syntaxError('expected boolean', json);
    case 'string':
      if (typeof json === 'string') return json;
      throw syntaxError('expected string', json);
    case 'uuid':
      if (Array.isArray(json) && json.length === 2 && typeof json[1] === 'string') {
        const s = json[1];
        if (json[0] === 'uuid') {
          if (!isUuid(s)) throw syntaxError(`"${s}" is not a valid UUID`, json);
          return s.toLowerCase();
        }
        if (json[0] === 'named-uuid' && symtab) {
          if (!isId(s)) throw syntaxError('named-uuid string is not a valid <id>', json);
          return symtab.resolve(s);
        }
      }
      throw syntaxError('expected ["uuid", <string>]', json);
  }
}

export function atomToJson(type: AtomicType, atom: Atom): JsonValue {
  return type === 'uuid' ? ['uuid', atom as string] : atom;
}

/** Does a bare string need quotes when OVS prints it in a message? */
function needsQuotes(s: string): boolean {
  if (s === '' || s === 'true' || s === 'false') return true;
  const c = s.charCodeAt(0);
  const alphaOrUnderscore = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
  if (!alphaOrUnderscore) return true;
  return !/^[A-Za-z0-9_.\-]*$/.test(s);
}

/** An atom as OVS writes it in error details: reals as %.15g, strings quoted only when needed. */
export function atomToString(type: AtomicType, atom: Atom): string {
  switch (type) {
    case 'real':
      return formatReal(atom as number);
    case 'string':
      return needsQuotes(atom as string) ? JSON.stringify(atom) : (atom as string);
    default:
      return String(atom);
  }
}

/** String.prototype.isWellFormed (ES2024, in Node 20; newer than the configured TypeScript lib). */
interface WellFormed {
  isWellFormed(): boolean;
}

/** Code points in a string; lone surrogates (from \ud800-style escapes) make it invalid UTF-8. */
function utf8Length(s: string): number | undefined {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = s.charCodeAt(i + 1);
      if (c > 0xdbff || !(d >= 0xdc00 && d <= 0xdfff)) return undefined;
      i++;
    }
    n++;
  }
  return n;
}

export function findAtom(sorted: readonly Atom[], atom: Atom): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const c = compareAtoms(sorted[mid], atom);
    if (c === 0) return mid;
    if (c < 0) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Checks an atom against its base type's constraints (enum, ranges, lengths). Throws `constraint violation`. */
export function checkAtom(base: BaseType, atom: Atom): void {
  if (base.enum !== undefined) {
    if (findAtom(base.enum, atom) < 0) {
      const list = base.enum.map((a) => atomToString(base.type, a)).join(', ');
      throw constraintViolation(`${atomToString(base.type, atom)} is not one of the allowed values ([${list}])`);
    }
    return;
  }
  switch (base.type) {
    case 'integer':
    case 'real': {
      const lo = base.type === 'integer' ? base.minInteger : base.minReal;
      const hi = base.type === 'integer' ? base.maxInteger : base.maxReal;
      if (lo === undefined && hi === undefined) return;
      const v = atom as number | bigint;
      const show = (x: number | bigint) => (base.type === 'real' ? formatReal(Number(x)) : String(x));
      if (lo !== undefined && hi !== undefined) {
        if (v < lo || v > hi)
          throw constraintViolation(`${show(v)} is not in the valid range ${show(lo)} to ${show(hi)} (inclusive)`);
      } else if (lo !== undefined && v < lo) {
        throw constraintViolation(`${show(v)} is less than minimum allowed value ${show(lo)}`);
      } else if (hi !== undefined && v > hi) {
        throw constraintViolation(`${show(v)} is greater than maximum allowed value ${show(hi)}`);
      }
      return;
    }
    case 'string': {
      const s = atom as string;
      if (base.minLength === undefined && base.maxLength === undefined) {
        // Only validity to check: the native test for lone surrogates instead of a loop over every character.
        if (!(s as unknown as WellFormed).isWellFormed())
          throw constraintViolation(`not a valid UTF-8 string: ${JSON.stringify(s)}`);
        return;
      }
      const n = utf8Length(s);
      if (n === undefined) throw constraintViolation(`not a valid UTF-8 string: ${JSON.stringify(s)}`);
      if (base.minLength !== undefined && n < base.minLength)
        throw constraintViolation(`${JSON.stringify(s)} length ${n} is less than minimum allowed length ${base.minLength}`);
      if (base.maxLength !== undefined && n > base.maxLength)
        throw constraintViolation(
          `${JSON.stringify(s)} length ${n} is greater than maximum allowed length ${base.maxLength}`,
        );
      return;
    }
    default:
      return;
  }
}
