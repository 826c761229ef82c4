// Property test of the transaction engine: random transaction sequences (valid and invalid on purpose) on a
// fixed schema with strong/weak references, bounded sets, maps, a unique index and maxRows. After every
// transaction the database must satisfy the integrity invariants, and a failed transaction must leave it
// exactly as it was. Deterministic: fixed seed (fast-check prints seed and path on failure).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Datum } from '../../schema/datum.ts';
import type { JsonObject, JsonValue } from '../../schema/json.ts';
import { isStrongRef, isWeakRef } from '../../schema/types.ts';
import { createDatabase, transactJson, type Database } from '../../storage/index.ts';
import { rowToJson } from '../../storage/row.ts';

const SCHEMA: JsonObject = {
  name: 'Prop',
  tables: {
    Root: {
      isRoot: true,
      columns: {
        name: { type: 'string' },
        kids: { type: { key: { type: 'uuid', refTable: 'Kid' }, min: 0, max: 3 } },
        weak: { type: { key: { type: 'uuid', refTable: 'Kid', refType: 'weak' }, min: 0, max: 'unlimited' } },
        tags: { type: { key: { type: 'integer', minInteger: 0, maxInteger: 9 }, min: 0, max: 3 } },
        attrs: { type: { key: 'string', value: 'integer', min: 0, max: 2 } },
        byname: { type: { key: 'string', value: { type: 'uuid', refTable: 'Kid' }, min: 0, max: 'unlimited' } },
      },
      indexes: [['name']],
    },
    Kid: {
      columns: {
        n: { type: 'integer' },
        sib: { type: { key: { type: 'uuid', refTable: 'Kid', refType: 'weak' }, min: 0, max: 1 } },
        grand: { type: { key: { type: 'uuid', refTable: 'Grand' }, min: 0, max: 2 } },
        self: { type: { key: { type: 'uuid', refTable: 'Kid' }, min: 0, max: 1 } },
      },
    },
    Grand: { columns: { v: { type: 'integer' } } },
    Cap: { isRoot: true, maxRows: 2, columns: { c: { type: 'integer' } } },
    WHold: {
      isRoot: true,
      columns: { w: { type: { key: { type: 'uuid', refTable: 'Kid', refType: 'weak' }, min: 1, max: 2 } } },
    },
  },
};
const TABLES = ['Root', 'Kid', 'Grand', 'Cap', 'WHold'] as const;
type TableName = (typeof TABLES)[number];

// ---------------------------------------------------------------------------------------------------------
// Abstract operations, interpreted against the database state when the transaction runs.

type Ref =
  | { kind: 'existing'; i: number } // an existing row of the column's target table
  | { kind: 'named'; i: number } // uuid-name of the i-th insert of this transaction (may be later or absent)
  | { kind: 'bogus' };

type Op =
  | { op: 'insRoot'; name: string; kids: Ref[]; weak: Ref[]; tags: number[]; attrs: [string, number][]; byname: [string, Ref][] }
  | { op: 'insKid'; n: number; sib: Ref[]; grand: Ref[]; self: boolean }
  | { op: 'insGrand'; v: number }
  | { op: 'insCap' }
  | { op: 'insWHold'; w: Ref[] }
  | { op: 'dupUuid'; table: TableName; i: number }
  | { op: 'updRoot'; i: number; name?: string; kids?: Ref[] }
  | { op: 'mutKids'; i: number; how: 'insert' | 'delete'; refs: Ref[] }
  | { op: 'mutTags'; i: number; how: '+=' | 'insert' | 'delete'; n: number }
  | { op: 'mutAttrs'; i: number; how: 'insert' | 'delete'; key: string; n: number }
  | { op: 'mutGrand'; i: number; how: 'insert' | 'delete'; refs: Ref[] }
  | { op: 'del'; table: TableName; i: number }
  | { op: 'delWhere'; name: string }
  | { op: 'dupSet' }
  | { op: 'family'; name: string; kids: number; grand: boolean; weakToo: boolean }
  | { op: 'abort' };

const small = fc.integer({ min: 0, max: 7 });
const refArb: fc.Arbitrary<Ref> = fc.oneof(
  { weight: 8, arbitrary: fc.record({ kind: fc.constant('existing' as const), i: small }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('named' as const), i: fc.integer({ min: 0, max: 4 }) }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'bogus' as const }) },
);
const refs = (max: number) => fc.array(refArb, { maxLength: max });
const nameArb = fc.constantFrom('a', 'b', 'c', 'd');
const tableArb = fc.constantFrom(...TABLES);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ op: fc.constant('insRoot' as const), name: nameArb, kids: refs(3), weak: refs(3), tags: fc.uniqueArray(fc.integer({ min: 0, max: 10 }), { maxLength: 3 }), attrs: fc.uniqueArray(fc.tuple(fc.constantFrom('x', 'y', 'z'), small), { maxLength: 2, selector: (p) => p[0] }), byname: fc.uniqueArray(fc.tuple(fc.constantFrom('p', 'q'), refArb), { maxLength: 2, selector: (p) => p[0] }) }) },
  { weight: 5, arbitrary: fc.record({ op: fc.constant('insKid' as const), n: small, sib: refs(1), grand: refs(2), self: fc.boolean() }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('insGrand' as const), v: small }) },
  { weight: 3, arbitrary: fc.constant({ op: 'insCap' as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('insWHold' as const), w: refs(3) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('dupUuid' as const), table: tableArb, i: small }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('updRoot' as const), i: small, name: fc.option(nameArb, { nil: undefined }), kids: fc.option(refs(4), { nil: undefined }) }, { requiredKeys: ['op', 'i'] }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('mutKids' as const), i: small, how: fc.constantFrom('insert' as const, 'delete' as const), refs: refs(3) }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('mutTags' as const), i: small, how: fc.constantFrom('+=' as const, 'insert' as const, 'delete' as const), n: fc.integer({ min: -2, max: 10 }) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('mutAttrs' as const), i: small, how: fc.constantFrom('insert' as const, 'delete' as const), key: fc.constantFrom('x', 'y', 'z'), n: small }) },
  { weight: 2, arbitrary: fc.record({ op: fc.constant('mutGrand' as const), i: small, how: fc.constantFrom('insert' as const, 'delete' as const), refs: refs(1) }) },
  { weight: 3, arbitrary: fc.record({ op: fc.constant('del' as const), table: tableArb, i: small }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant('delWhere' as const), name: nameArb }) },
  { weight: 1, arbitrary: fc.constant({ op: 'abort' as const }) },
  { weight: 1, arbitrary: fc.constant({ op: 'dupSet' as const }) },
  { weight: 4, arbitrary: fc.record({ op: fc.constant('family' as const), name: nameArb, kids: fc.integer({ min: 1, max: 3 }), grand: fc.boolean(), weakToo: fc.boolean() }) },
);
const txnArb = fc.array(opArb, { minLength: 1, maxLength: 6 });
const scenarioArb = fc.array(txnArb, { minLength: 1, maxLength: 14 });

const uuidOf = (n: number) => `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
const BOGUS = uuidOf(0xfffffff);

/** Turns one abstract transaction into RFC 7047 operations against the current state. */
function toJson(db: Database, txn: Op[], next: () => number): JsonValue[] {
  const uuids = (t: TableName) => [...db.table(t).rows.keys()].sort();
  const pick = (t: TableName, i: number): string => {
    const all = uuids(t);
    return all.length === 0 ? BOGUS : all[i % all.length];
  };
  // An 'existing' ref into an empty table is dropped (null), so that dangling refs come from bogus/named ones.
  const ref = (r: Ref, table: TableName = 'Kid'): JsonValue =>
    r.kind === 'existing'
      ? db.table(table).rows.size === 0
        ? null
        : ['uuid', pick(table, r.i)]
      : r.kind === 'named'
        ? ['named-uuid', `n${r.i}`]
        : ['uuid', BOGUS];
  // Distinct elements (two refs may resolve to one uuid); duplicates come from the dedicated dupSet op.
  const set = (rs: JsonValue[]): JsonValue => ['set', [...new Map(rs.filter((r) => r !== null).map((r) => [JSON.stringify(r), r])).values()]];
  const byUuid = (t: TableName, i: number): JsonValue => [['_uuid', '==', ['uuid', pick(t, i)]]];
  let inserts = 0;
  const insert = (table: TableName, row: JsonObject): JsonObject => ({
    op: 'insert',
    table,
    row,
    uuid: uuidOf(next()),
    'uuid-name': `n${inserts++}`,
  });
  return txn.flatMap((o): JsonValue[] => {
    if (o.op !== 'family') return [one(o)];
    // A root with fresh children (and a grandchild) linked by uuid-names: grows valid structure.
    const out: JsonObject[] = [];
    const g = `g${next()}`;
    if (o.grand) out.push({ op: 'insert', table: 'Grand', row: { v: 1 }, uuid: uuidOf(next()), 'uuid-name': g });
    const kids: JsonValue[] = [];
    for (let k = 0; k < o.kids; k++) {
      const name = `k${next()}`;
      kids.push(['named-uuid', name]);
      out.push({ op: 'insert', table: 'Kid', row: { n: k, grand: o.grand ? ['named-uuid', g] : ['set', []] }, uuid: uuidOf(next()), 'uuid-name': name });
    }
    out.push({ op: 'insert', table: 'Root', row: { name: o.name, kids: ['set', kids], weak: o.weakToo ? ['set', kids] : ['set', []] }, uuid: uuidOf(next()) });
    return out;
  });
  function one(o: Exclude<Op, { op: 'family' }>): JsonValue {
    switch (o.op) {
      case 'insRoot': {
        return insert('Root', {
          name: o.name,
          kids: set(o.kids.map((r) => ref(r))),
          weak: set(o.weak.map((r) => ref(r))),
          tags: set(o.tags),
          attrs: ['map', o.attrs],
          byname: ['map', o.byname.map(([k, r]): JsonValue => [k, ref(r)]).filter((p) => (p as JsonValue[])[1] !== null)],
        });
      }
      case 'insKid': {
        const row: JsonObject = { n: o.n, sib: set(o.sib.map((r) => ref(r))), grand: set(o.grand.map((r) => ref(r, 'Grand'))) };
        if (o.self) row.self = ['named-uuid', `n${inserts}`];
        return insert('Kid', row);
      }
      case 'insGrand':
        return insert('Grand', { v: o.v });
      case 'insCap':
        return insert('Cap', {});
      case 'insWHold':
        return insert('WHold', { w: set(o.w.map((r) => ref(r))) });
      case 'dupUuid':
        return { op: 'insert', table: o.table, row: {}, uuid: pick(o.table, o.i) };
      case 'updRoot': {
        const row: JsonObject = {};
        if (o.name !== undefined) row.name = o.name;
        if (o.kids !== undefined) row.kids = set(o.kids.map((r) => ref(r)));
        return { op: 'update', table: 'Root', where: byUuid('Root', o.i), row };
      }
      case 'mutKids':
        return { op: 'mutate', table: 'Root', where: byUuid('Root', o.i), mutations: [['kids', o.how, set(o.refs.map((r) => ref(r)))]] };
      case 'mutTags':
        return { op: 'mutate', table: 'Root', where: byUuid('Root', o.i), mutations: [['tags', o.how, o.n]] };
      case 'mutAttrs':
        return {
          op: 'mutate',
          table: 'Root',
          where: byUuid('Root', o.i),
          mutations: [['attrs', o.how, o.how === 'insert' ? ['map', [[o.key, o.n]]] : o.key]],
        };
      case 'mutGrand':
        return { op: 'mutate', table: 'Kid', where: byUuid('Kid', o.i), mutations: [['grand', o.how, set(o.refs.map((r) => ref(r, 'Grand')))]] };
      case 'del':
        return { op: 'delete', table: o.table, where: byUuid(o.table, o.i) };
      case 'delWhere':
        return { op: 'delete', table: 'Root', where: [['name', '==', o.name]] };
      case 'abort':
        return { op: 'abort' };
      case 'dupSet':
        return { op: 'insert', table: 'Root', row: { tags: ['set', [1, 1]] } };
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Invariants

/** Everything observable, including the engine's derived structures. */
function snapshot(db: Database): JsonValue {
  const out: JsonObject = {};
  for (const [name, t] of db.tables) {
    const cols = [...t.schema.columnsByName.values()];
    out[name] = {
      rows: [...t.rows.values()].map((r) => rowToJson(r, cols)),
      refs: [...t.refCount.entries()].sort().map(([k, v]) => [k, v]),
      indexes: t.indexes.map((m) => [...m.entries()].sort().map(([k, r]) => [k, r.uuid, r.version])),
      weak: [...t.weakReferrers.entries()].sort().map(([k, m]) => [k, [...m.entries()].sort().map(([s, e]) => [s, e.table, e.n])]),
    };
  }
  return out;
}

function checkInvariants(db: Database): void {
  const strongIn = new Map<string, number>(); // "table:uuid" → references from other rows
  for (const [tname, t] of db.tables) {
    for (const row of t.rows.values()) {
      for (const c of t.schema.columns) {
        const d: Datum = row.data[c.index];
        const ty = c.type;
        // Sizes within bounds, keys sorted and distinct.
        expect(d.keys.length, `${tname}.${c.name} size`).toBeGreaterThanOrEqual(ty.min);
        expect(d.keys.length, `${tname}.${c.name} size`).toBeLessThanOrEqual(ty.max);
        for (const [base, atoms] of [
          [ty.key, d.keys],
          [ty.value, d.values ?? []],
        ] as const) {
          if (base === undefined || base.refTable === undefined) continue;
          for (const a of atoms) {
            const exists = db.table(base.refTable).rows.has(a as string);
            if (isStrongRef(base)) {
              // A row's own uuid is exempt, in any column: the reference neither counts nor checks
              // self-references, even into another table (verified against ovsdb-server 3.1).
              if (a !== row.uuid) expect(exists, `dangling strong ref ${tname}.${c.name} → ${String(a)}`).toBe(true);
              if (a !== row.uuid) strongIn.set(`${base.refTable}:${String(a)}`, (strongIn.get(`${base.refTable}:${String(a)}`) ?? 0) + 1);
            } else if (isWeakRef(base)) {
              expect(exists, `dangling weak ref ${tname}.${c.name} → ${String(a)}`).toBe(true);
            }
          }
        }
      }
    }
    // maxRows
    expect(t.rows.size).toBeLessThanOrEqual(t.schema.maxRows);
    // Unique indexes, recomputed from the rows; and the engine's index maps agree.
    t.schema.indexes.forEach((cols, i) => {
      const seen = new Set<string>();
      for (const row of t.rows.values()) {
        const k = JSON.stringify(cols.map((c) => rowToJson(row, [c])[c.name]));
        expect(seen.has(k), `duplicate index value ${k} in ${tname}`).toBe(false);
        seen.add(k);
      }
      expect(t.indexes[i].size).toBe(t.rows.size);
      for (const row of t.indexes[i].values()) expect(t.rows.get(row.uuid)).toBe(row);
    });
  }
  for (const [tname, t] of db.tables) {
    for (const uuid of t.rows.keys()) {
      const n = strongIn.get(`${tname}:${uuid}`) ?? 0;
      // Non-root rows are referenced; the engine's reference counts are exact.
      if (!t.schema.isRoot) expect(n, `unreferenced non-root ${tname} row ${uuid}`).toBeGreaterThan(0);
      expect(t.refs(uuid), `refcount of ${tname} ${uuid}`).toBe(n);
    }
  }
}

const isError = (x: JsonValue) => x !== null && typeof x === 'object' && !Array.isArray(x) && 'error' in x;

describe('engine properties', () => {
  it('random transaction sequences keep integrity; failed transactions change nothing', () => {
    const stats = { ok: 0, failed: 0, errors: new Map<string, number>() };
    fc.assert(
      fc.property(scenarioArb, (scenario) => {
        const db = createDatabase(SCHEMA);
        let n = 1;
        const next = () => n++;
        for (const txn of scenario) {
          const ops = toJson(db, txn, next);
          const before = snapshot(db);
          const result = transactJson(db, ops);
          expect(result.length === ops.length || result.length === ops.length + 1).toBe(true);
          const failAt = result.findIndex(isError);
          if (failAt >= 0) {
            stats.failed++;
            const tag = (result[failAt] as { error: string }).error;
            stats.errors.set(tag, (stats.errors.get(tag) ?? 0) + 1);
            expect(result.slice(failAt + 1).every((x) => x === null)).toBe(true);
            expect(snapshot(db)).toEqual(before);
          } else {
            stats.ok++;
            expect(result.length).toBe(ops.length);
          }
          checkInvariants(db);
        }
      }),
      { seed: 20240601, numRuns: 300, verbose: 1 },
    );
    if (process.env.PROP_STATS) console.log('ok', stats.ok, 'failed', stats.failed, [...stats.errors]); // generator tuning aid
    // The generator must exercise both outcomes and the main error classes.
    expect(stats.ok).toBeGreaterThan(100);
    expect(stats.failed).toBeGreaterThan(100);
    for (const tag of ['referential integrity violation', 'constraint violation', 'duplicate uuid', 'aborted', 'ovsdb error'])
      expect([...stats.errors.keys()]).toContain(tag);
  });
});
