// Datums (RFC 7047 §5.1 <value>): every column value is a set or a map, kept sorted by key with distinct
// keys. A scalar column is a set of exactly one atom. Datums are immutable and may be shared between rows.
import {
  atomFromJson,
  atomToJson,
  atomToString,
  checkAtom,
  compareAtoms,
  defaultAtom,
  findAtom,
  type Atom,
  type NamedUuids,
} from './atom.ts';
import { OvsdbError, syntaxError } from './error.ts';
import { needsEscape, quoteString, type JsonValue } from './json.ts';
import { printedMax, type AtomicType, type BaseType, type ColumnType } from './types.ts';

export interface SetDatum {
  readonly keys: readonly Atom[];
  readonly values?: undefined;
}
export interface MapDatum {
  readonly keys: readonly Atom[];
  readonly values: readonly Atom[];
}
export type Datum = SetDatum | MapDatum;

// Every datum has the same hidden class ({keys, values}, values undefined for sets) and plain packed arrays,
// so datum code stays monomorphic; frozen objects or arrays would each add a map (and deopts). The shared
// empty datums are readonly by type, not frozen.
export const EMPTY_SET: SetDatum = { keys: [] as readonly Atom[], values: undefined };
export const EMPTY_MAP: MapDatum = { keys: [] as readonly Atom[], values: [] as readonly Atom[] };

export const setOf = (keys: readonly Atom[]): SetDatum => ({ keys, values: undefined });
export const mapOf = (keys: readonly Atom[], values: readonly Atom[]): MapDatum => ({ keys, values });
export const emptyDatum = (type: ColumnType): Datum => (type.value ? EMPTY_MAP : EMPTY_SET);

const defaults = new WeakMap<ColumnType, Datum>();

/** The type's default (RFC 7047 §5.2.1): empty when min is 0, else `min` default atoms. */
export function defaultDatum(type: ColumnType): Datum {
  let d = defaults.get(type);
  if (d === undefined) {
    if (type.min === 0) d = emptyDatum(type);
    else if (type.value) d = mapOf([defaultAtom(type.key.type)], [defaultAtom(type.value.type)]);
    else d = setOf([defaultAtom(type.key.type)]);
    defaults.set(type, d);
  }
  return d;
}

export function datumEquals(a: Datum, b: Datum): boolean {
  if (a === b) return true;
  const n = a.keys.length;
  if (n !== b.keys.length) return false;
  for (let i = 0; i < n; i++) if (a.keys[i] !== b.keys[i]) return false;
  if (a.values) {
    const bv = b.values!;
    for (let i = 0; i < n; i++) if (a.values[i] !== bv[i]) return false;
  }
  return true;
}

export const isDefault = (type: ColumnType, d: Datum): boolean => datumEquals(d, defaultDatum(type));

/** 3-way order on datums of one type: by size first, then element-wise (keys, then values). */
export function compareDatums(a: Datum, b: Datum): number {
  if (a === b) return 0;
  if (a.keys.length !== b.keys.length) return a.keys.length < b.keys.length ? -1 : 1;
  for (let i = 0; i < a.keys.length; i++) {
    const c = compareAtoms(a.keys[i], b.keys[i]);
    if (c !== 0) return c;
  }
  if (a.values) {
    for (let i = 0; i < a.values.length; i++) {
      const c = compareAtoms(a.values[i], b.values![i]);
      if (c !== 0) return c;
    }
  }
  return 0;
}

// ---------------------------------------------------------------------------------------------------------
// JSON → datum

function sizeError(type: ColumnType, n: number, json: JsonValue): OvsdbError {
  const what = type.value ? 'map' : 'set';
  const range =
    type.min === 1 && type.max === 1 ? 'exactly one member' : `${type.min} to ${printedMax(type.max)} members`;
  return syntaxError(`${what} must have ${range} but ${n} are present`, json);
}

/** Sorts parallel key/value arrays by key and rejects duplicate keys. */
function sortAndCheck(keys: Atom[], values: Atom[] | undefined, kt: AtomicType): Datum {
  const n = keys.length;
  // Uuids are ASCII, where UTF-16 order (the native string order) is UTF-8 byte order.
  const ascii = kt === 'uuid';
  let sorted = true;
  for (let i = 1; i < n; i++) {
    if (ascii ? keys[i - 1] < keys[i] : compareAtoms(keys[i - 1], keys[i]) < 0) continue;
    sorted = false;
    break;
  }
  if (!sorted) {
    if (values === undefined) {
      if (ascii) keys.sort();
      else keys.sort(compareAtoms);
    } else {
      const ks = keys;
      const vs = values;
      const order = ks.map((_, i) => i).sort((i, j) => compareAtoms(ks[i], ks[j]));
      const k2 = order.map((i) => ks[i]);
      const v2 = order.map((i) => vs[i]);
      keys = k2;
      values = v2;
    }
    for (let i = 1; i < n; i++) {
      if (keys[i - 1] === keys[i]) // (atoms are canonical: equal order ⇔ identical value)
        throw new OvsdbError('ovsdb error', values ? 'map contains duplicate key' : 'set contains duplicate');
    }
    // (the map arrays are fresh from map(), exact-size; the set was sorted in place, see below)
    return values ? mapOf(keys, values) : setOf(keys.slice());
  }
  // Arrays grown by push keep spare capacity (17 slots for one element) and datums live as long as their
  // rows: keep exact-size copies.
  return values ? mapOf(keys.slice(), values.slice()) : setOf(keys.slice());
}

function parseBaseAtom(base: BaseType, json: JsonValue, symtab: NamedUuids | undefined, check: boolean): Atom {
  const atom = atomFromJson(base.type, json, symtab);
  if (check) checkAtom(base, atom);
  return atom;
}

export interface DatumParseOptions {
  symtab?: NamedUuids;
  /** Check enum/range/length constraints on each atom (true for values written to rows). */
  checkConstraints?: boolean;
  /** Skip the min/max size check (diffs in update2 and file records). */
  ignoreSize?: boolean;
}

/** Parses a <value> for `type`, with the reference's error texts. */
export function datumFromJson(type: ColumnType, json: JsonValue, opts: DatumParseOptions = {}): Datum {
  const check = opts.checkConstraints ?? true;
  const symtab = opts.symtab;
  if (type.value) {
    if (!Array.isArray(json) || json.length !== 2 || json[0] !== 'map' || !Array.isArray(json[1]))
      throw syntaxError('expected ["map", <array>]', json);
    const pairs = json[1];
    if (!opts.ignoreSize && (pairs.length < type.min || pairs.length > type.max))
      throw sizeError(type, pairs.length, json);
    if (pairs.length === 1) {
      // The common one-pair map, built with exact-size arrays directly.
      const p = pairs[0];
      if (!Array.isArray(p) || p.length !== 2) throw syntaxError('expected 2-element array', p);
      const k = parseBaseAtom(type.key, p[0], symtab, check);
      return mapOf([k], [parseBaseAtom(type.value, p[1], symtab, check)]);
    }
    const keys: Atom[] = [];
    const values: Atom[] = [];
    for (let i = 0; i < pairs.length; i++) {
      const p = pairs[i];
      if (!Array.isArray(p) || p.length !== 2) throw syntaxError('expected 2-element array', p);
      keys.push(parseBaseAtom(type.key, p[0], symtab, check));
      values.push(parseBaseAtom(type.value, p[1], symtab, check));
    }
    return sortAndCheck(keys, values, type.key.type);
  }
  if (Array.isArray(json) && json[0] === 'set') {
    if (json.length !== 2 || !Array.isArray(json[1])) throw syntaxError('expected ["set", <array>]', json);
    const elems = json[1];
    if (!opts.ignoreSize && (elems.length < type.min || elems.length > type.max))
      throw sizeError(type, elems.length, json);
    const keys: Atom[] = [];
    for (let i = 0; i < elems.length; i++) keys.push(parseBaseAtom(type.key, elems[i], symtab, check));
    return sortAndCheck(keys, undefined, type.key.type);
  }
  if (!opts.ignoreSize && type.min > 1) throw sizeError(type, 1, json);
  return setOf([parseBaseAtom(type.key, json, symtab, check)]);
}

// ---------------------------------------------------------------------------------------------------------
// datum → JSON

/** RFC 7047 output form: one-element sets as the bare atom, maps always as ["map", ...]. */
export function datumToJson(type: ColumnType, d: Datum): JsonValue {
  const kt = type.key.type;
  if (type.value) {
    const vt = type.value.type;
    const pairs: JsonValue[] = new Array(d.keys.length);
    for (let i = 0; i < d.keys.length; i++) pairs[i] = [atomToJson(kt, d.keys[i]), atomToJson(vt, d.values![i])];
    return ['map', pairs];
  }
  if (d.keys.length === 1) return atomToJson(kt, d.keys[0]);
  const elems: JsonValue[] = new Array(d.keys.length);
  for (let i = 0; i < d.keys.length; i++) elems[i] = atomToJson(kt, d.keys[i]);
  return ['set', elems];
}

/** One atom as compact JSON text (what stringify(atomToJson(type, atom)) prints). */
export function atomToText(type: AtomicType, atom: Atom): string {
  switch (typeof atom) {
    case 'string':
      // A uuid is lowercase hex and dashes: nothing to escape.
      return type === 'uuid' ? '["uuid","' + atom + '"]' : quoteString(atom);
    case 'boolean':
      return atom ? 'true' : 'false';
    default:
      return String(atom); // integers, bigints, and reals (finite, so String and JSON.stringify agree)
  }
}

/**
 * datumToJson as compact JSON text, without building the JSON value (hot path: file records, monitor
 * updates, dumps). Equal to stringify(datumToJson(type, d)).
 */
export function datumToText(type: ColumnType, d: Datum): string {
  if (type.value === undefined && d.keys.length === 1) return atomToText(type.key.type, d.keys[0]);
  const out: string[] = [];
  writeDatum(out, type, d);
  return out.join('');
}

/**
 * Appends the pieces of datumToText(type, d) to `out`. Big texts (dumps) are built as one array of pieces
 * joined once: concatenating them would make a tree of cons strings per row for the GC to copy.
 */
export function writeDatum(out: string[], type: ColumnType, d: Datum): void {
  const kt = type.key.type;
  const keys = d.keys;
  const n = keys.length;
  if (type.value) {
    if (n === 0) {
      out.push('["map",[]]');
      return;
    }
    const vt = type.value.type;
    const values = d.values!;
    out.push('["map",[[');
    for (let i = 0; i < n; i++) {
      if (i > 0) out.push('],[');
      writeAtom(out, kt, keys[i]);
      out.push(',');
      writeAtom(out, vt, values[i]);
    }
    out.push(']]]');
    return;
  }
  if (n === 1) {
    writeAtom(out, kt, keys[0]);
    return;
  }
  if (n === 0) {
    out.push('["set",[]]');
    return;
  }
  out.push('["set",[');
  for (let i = 0; i < n; i++) {
    if (i > 0) out.push(',');
    writeAtom(out, kt, keys[i]);
  }
  out.push(']]');
}

/** Appends the pieces of atomToText(type, atom) to `out`. */
export function writeAtom(out: string[], type: AtomicType, atom: Atom): void {
  if (typeof atom === 'string') {
    if (type === 'uuid') out.push('["uuid","', atom, '"]');
    else if (needsEscape(atom)) out.push(JSON.stringify(atom));
    else out.push('"', atom, '"');
  } else {
    out.push(typeof atom === 'boolean' ? (atom ? 'true' : 'false') : String(atom));
  }
}

/** As OVS prints a datum in messages: `a`, `[a, b]`, `{k=v, k2=v2}`. */
export function datumToString(type: ColumnType, d: Datum): string {
  const kt = type.key.type;
  if (type.value) {
    const vt = type.value.type;
    const parts = d.keys.map((k, i) => `${atomToString(kt, k)}=${atomToString(vt, d.values![i])}`);
    return `{${parts.join(', ')}}`;
  }
  const parts = d.keys.map((k) => atomToString(kt, k));
  if (type.min === 1 && type.max === 1 && parts.length === 1) return parts[0];
  return `[${parts.join(', ')}]`;
}

// ---------------------------------------------------------------------------------------------------------
// Set algebra on sorted datums (mutations, conditions, diffs).

/** Union; for maps, keys already in `a` keep a's value. */
export function datumUnion(a: Datum, b: Datum): Datum {
  if (b.keys.length === 0) return a;
  if (a.keys.length === 0) return b;
  const keys: Atom[] = [];
  const values: Atom[] | undefined = a.values ? [] : undefined;
  let i = 0;
  let j = 0;
  while (i < a.keys.length || j < b.keys.length) {
    const c = i >= a.keys.length ? 1 : j >= b.keys.length ? -1 : compareAtoms(a.keys[i], b.keys[j]);
    if (c <= 0) {
      keys.push(a.keys[i]);
      values?.push(a.values![i]);
      i++;
      if (c === 0) j++;
    } else {
      keys.push(b.keys[j]);
      values?.push(b.values![j]);
      j++;
    }
  }
  return values ? mapOf(keys, values) : setOf(keys);
}

/** Removes from `a` the keys in `b` (b a set of keys), or for map b the pairs whose key and value match. */
export function datumSubtract(a: Datum, b: Datum, byKeyOnly: boolean): Datum {
  if (b.keys.length === 0 || a.keys.length === 0) return a;
  const keys: Atom[] = [];
  const values: Atom[] | undefined = a.values ? [] : undefined;
  let j = 0;
  for (let i = 0; i < a.keys.length; i++) {
    const k = a.keys[i];
    while (j < b.keys.length && compareAtoms(b.keys[j], k) < 0) j++;
    const hit = j < b.keys.length && b.keys[j] === k && (byKeyOnly || !a.values || a.values[i] === b.values![j]);
    if (!hit) {
      keys.push(k);
      values?.push(a.values![i]);
    }
  }
  if (keys.length === a.keys.length) return a;
  return values ? mapOf(keys, values) : setOf(keys);
}

/** True if every element of `b` is in `a` (for maps: every pair). */
export function datumIncludes(a: Datum, b: Datum): boolean {
  for (let j = 0; j < b.keys.length; j++) {
    const i = findAtom(a.keys, b.keys[j]);
    if (i < 0) return false;
    if (a.values && a.values[i] !== b.values![j]) return false;
  }
  return true;
}

/** True if no element of `b` is in `a` (for maps: no pair). */
export function datumExcludes(a: Datum, b: Datum): boolean {
  for (let j = 0; j < b.keys.length; j++) {
    const i = findAtom(a.keys, b.keys[j]);
    if (i >= 0 && (!a.values || a.values[i] === b.values![j])) return false;
  }
  return true;
}

/**
 * The update2 / file-record diff from `old` to `next` (ovsdb-server(7)): for max-1 columns the new value;
 * for sets the symmetric difference; for maps the pairs removed, added, or changed (with the new value).
 */
export function datumDiff(type: ColumnType, old: Datum, next: Datum): Datum {
  if (type.max === 1 && !type.value) return next;
  const keys: Atom[] = [];
  const values: Atom[] | undefined = type.value ? [] : undefined;
  let i = 0;
  let j = 0;
  while (i < old.keys.length || j < next.keys.length) {
    const c = i >= old.keys.length ? 1 : j >= next.keys.length ? -1 : compareAtoms(old.keys[i], next.keys[j]);
    if (c < 0) {
      keys.push(old.keys[i]);
      values?.push(old.values![i]);
      i++;
    } else if (c > 0) {
      keys.push(next.keys[j]);
      values?.push(next.values![j]);
      j++;
    } else {
      if (values && old.values![i] !== next.values![j]) {
        keys.push(next.keys[j]);
        values.push(next.values![j]);
      }
      i++;
      j++;
    }
  }
  return values ? mapOf(keys, values) : setOf(keys);
}

/**
 * Applies a diff made by datumDiff. The diff is its own inverse: combining the old value with it by the
 * same rule (set elements toggle; a map pair with an equal value goes, else the diff's value wins) yields
 * the new value. The caller checks the result's size against the type.
 */
export const datumApplyDiff = datumDiff;

export function sizeOk(type: ColumnType, d: Datum): boolean {
  return d.keys.length >= type.min && d.keys.length <= type.max;
}
