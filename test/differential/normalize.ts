// Turns the result arrays of one case into a form that does not depend on random UUIDs or hash order,
// so the real server's answer and ours can be compared with deep equality. Rules (also in README.md):
//  1. A UUID written literally in the case's operations, and the all-zeros UUID, are deterministic and
//     stay as they are.
//  2. A UUID returned by an `insert` (transaction T, operation I) becomes "@T.I".
//  3. Unordered things are put in a canonical order, keyed by their JSON text in which known UUIDs are
//     already renamed and unknown ones are masked as "@?": select rows (without "sort": all rows; with
//     "sort": only runs of rows that tie on the sort columns), elements of UUID sets, pairs of maps with
//     UUID keys.
//  4. Every other UUID becomes "@u1", "@u2", ... in order of first appearance in a walk of the results
//     (arrays in order, object members by sorted key).
//  5. Renaming applies inside every string (details, syntax, ["uuid", ...] atoms), case-insensitively.
//  6. bigints in the safe-integer range become numbers (engines may choose either representation).
import type { JsonValue } from '../../schema/json.ts';
import { stringifyJson } from './jsontext.ts';

const UUID_RE = /[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}/g;

const ZERO_UUID = '00000000-0000-0000-0000-000000000000';

type Obj = { [k: string]: JsonValue };
const isObj = (v: JsonValue | undefined): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Every UUID text occurring in any string of v, lowercased. */
export function collectUuids(v: JsonValue, into = new Set<string>()): Set<string> {
  if (typeof v === 'string') for (const m of v.matchAll(UUID_RE)) into.add(m[0].toLowerCase());
  else if (Array.isArray(v)) for (const x of v) collectUuids(x, into);
  else if (isObj(v)) for (const k of Object.keys(v)) collectUuids(v[k]!, into);
  return into;
}

function mapStrings(v: JsonValue, f: (s: string) => string): JsonValue {
  if (typeof v === 'string') return f(v);
  if (typeof v === 'bigint') return Number.isSafeInteger(Number(v)) && BigInt(Number(v)) === v ? Number(v) : v;
  if (Array.isArray(v)) return v.map((x) => mapStrings(x, f));
  if (isObj(v)) {
    const out: Obj = {};
    for (const k of Object.keys(v).sort()) out[k] = mapStrings(v[k]!, f);
    return out;
  }
  return v;
}

const isUuidAtom = (v: JsonValue | undefined): boolean =>
  Array.isArray(v) && v.length === 2 && v[0] === 'uuid' && typeof v[1] === 'string';

/** Sorts UUID sets and UUID-keyed maps, deepest first, by masked key. */
function canonicalizeSets(v: JsonValue, key: (x: JsonValue) => string): JsonValue {
  if (Array.isArray(v)) {
    const inner = v.map((x) => canonicalizeSets(x, key));
    if (inner.length === 2 && inner[0] === 'set' && Array.isArray(inner[1]) && inner[1].some(isUuidAtom)) {
      return ['set', sortBy(inner[1], key)];
    }
    if (inner.length === 2 && inner[0] === 'map' && Array.isArray(inner[1])) {
      const pairs = inner[1];
      if (pairs.some((p) => Array.isArray(p) && isUuidAtom(p[0]))) {
        return ['map', sortBy(pairs, (p) => (Array.isArray(p) ? key(p[0]!) : key(p)))];
      }
    }
    return inner;
  }
  if (isObj(v)) {
    const out: Obj = {};
    for (const k of Object.keys(v)) out[k] = canonicalizeSets(v[k]!, key);
    return out;
  }
  return v;
}

function sortBy<T>(xs: T[], key: (x: T) => string): T[] {
  return xs
    .map((x) => ({ x, k: key(x) }))
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .map((e) => e.x);
}

/** Canonical row order for a select result; `sort` columns (if any) keep their order, ties are ordered. */
function canonicalizeRows(rows: JsonValue[], sortCols: string[] | null, key: (x: JsonValue) => string): JsonValue[] {
  if (!sortCols) return sortBy(rows, key);
  if (sortCols.length === 0) return sortBy(rows, key);
  const tieKey = (r: JsonValue) => (isObj(r) ? key(sortCols.map((c) => r[c] ?? null)) : key(r));
  const out: JsonValue[] = [];
  for (let i = 0; i < rows.length; ) {
    let j = i + 1;
    while (j < rows.length && tieKey(rows[j]!) === tieKey(rows[i]!)) j++;
    out.push(...sortBy(rows.slice(i, j), key));
    i = j;
  }
  return out;
}

/**
 * Normalizes every transaction's result array of one case. `transactions` are the operations as sent
 * (before "@T.I" substitution, so literal UUIDs are the case author's), `results` what came back.
 */
export function normalizeCase(transactions: JsonValue[][], results: JsonValue[][]): JsonValue[][] {
  const literal = collectUuids(transactions);
  const names = new Map<string, string>();
  for (const u of literal) names.set(u, u);
  names.set(ZERO_UUID, ZERO_UUID);
  transactions.forEach((ops, t) =>
    ops.forEach((op, i) => {
      const r = results[t]?.[i];
      if (isObj(op) && op.op === 'insert' && isObj(r) && isUuidAtom(r.uuid)) {
        const u = ((r.uuid as JsonValue[])[1] as string).toLowerCase();
        if (!names.has(u)) names.set(u, `@${t}.${i}`);
      }
    }),
  );

  const masked = (s: string) => s.replace(UUID_RE, (m) => names.get(m.toLowerCase()) ?? '@?');
  const key = (x: JsonValue) => stringifyJson(mapStrings(x, masked), true);

  // Canonical order (rule 3).
  const ordered = results.map((res, t) =>
    res.map((r, i) => {
      let out = canonicalizeSets(r, key);
      const op = transactions[t]?.[i];
      if (isObj(op) && op.op === 'select' && isObj(out) && Array.isArray(out.rows)) {
        const sortCols = Array.isArray(op.sort) ? op.sort.filter((c): c is string => typeof c === 'string') : null;
        out = { ...out, rows: canonicalizeRows(out.rows, sortCols, key) };
      }
      return out;
    }),
  );

  // First-appearance names (rule 4), then rename everything (rule 5).
  let next = 1;
  const visit = (v: JsonValue): void => {
    if (typeof v === 'string') {
      for (const m of v.matchAll(UUID_RE)) {
        const u = m[0].toLowerCase();
        if (!names.has(u)) names.set(u, `@u${next++}`);
      }
    } else if (Array.isArray(v)) v.forEach(visit);
    else if (isObj(v)) for (const k of Object.keys(v).sort()) visit(v[k]!);
  };
  ordered.forEach((res) => res.forEach(visit));
  const rename = (s: string) => s.replace(UUID_RE, (m) => names.get(m.toLowerCase())!);
  return ordered.map((res) => res.map((r) => mapStrings(r, rename)));
}

/** Replaces ["uuid","@T.I"] (and a bare "@T.I" string inside such atoms) by the UUID insert T.I returned. */
export function substituteRefs(ops: JsonValue[], earlier: JsonValue[][]): JsonValue[] {
  const resolve = (ref: string): string => {
    const m = /^@(\d+)\.(\d+)$/.exec(ref);
    if (!m) return ref;
    const r = earlier[Number(m[1])]?.[Number(m[2])];
    if (isObj(r) && isUuidAtom(r.uuid)) return (r.uuid as JsonValue[])[1] as string;
    throw new Error(`case refers to ${ref}, which is not the result of an earlier successful insert`);
  };
  const walk = (v: JsonValue): JsonValue => {
    if (Array.isArray(v)) {
      if (v.length === 2 && v[0] === 'uuid' && typeof v[1] === 'string') return ['uuid', resolve(v[1])];
      return v.map(walk);
    }
    if (isObj(v)) {
      const out: Obj = {};
      for (const k of Object.keys(v)) out[k] = k === 'uuid' && typeof v[k] === 'string' ? resolve(v[k]) : walk(v[k]!);
      return out;
    }
    return v;
  };
  return ops.map(walk);
}
