// Commit-time checks in the reference's order (§3.7) and the shape of the Commit change record.
import { versionUuid } from '../../storage/row.ts';
import { describe, expect, it } from 'vitest';
import type { JsonObject, JsonValue } from '../../schema/json.ts';
import { createDatabase, type Commit, type Database } from '../../storage/index.ts';
import { err, ok, opsDb, refsDb, rows, run, snapshot, tx, u, U } from './engine-helpers.ts';

const ins = (table: string, n: number, row: JsonObject, extra: JsonObject = {}): JsonObject => ({ op: 'insert', table, uuid: u(n), row, ...extra });
const del = (table: string, n: number) => ({ op: 'delete', table, where: [['_uuid', '==', U(n)]] });
const upd = (table: string, n: number, row: JsonObject): JsonObject => ({ op: 'update', table, where: [['_uuid', '==', U(n)]], row });

/** Runs ops and expects a commit-time failure; the database must be unchanged. */
function commitFails(db: Database, ops: JsonValue[]): JsonValue {
  const before = snapshot(db);
  const r = tx(db, ops);
  expect(r).toHaveLength(ops.length + 1);
  expect(r.slice(0, ops.length).every((x) => x !== null && typeof x === 'object' && !('error' in x))).toBe(true);
  expect(snapshot(db)).toEqual(before);
  return r[ops.length];
}

describe('strong referential integrity', () => {
  it('a reference to a nonexistent row fails', () => {
    const db = refsDb();
    expect(commitFails(db, [ins('Root', 1, { kids: U(9) })])).toEqual(
      err('referential integrity violation', `Table Root column kids row ${u(1)} references nonexistent row ${u(9)} in table Kid.`),
    );
    expect(commitFails(db, [ins('Root', 1, { kids: ['named-uuid', 'never'] })])).toMatchObject({ error: 'referential integrity violation' });
  });
  it('a reference to a row inserted in the same transaction (forward named-uuid) works', () => {
    const db = refsDb();
    const r = ok(db, [ins('Root', 1, { kids: ['named-uuid', 'k'] }), { op: 'insert', table: 'Kid', row: { name: 'k' }, 'uuid-name': 'k' }]);
    const kid = (r[1] as { uuid: JsonValue }).uuid;
    expect(rows(db, 'Root', ['kids'])).toEqual([{ kids: kid }]);
    expect(db.table('Kid').refs((kid as string[])[1])).toBe(1);
  });
  it('deleting a referenced row fails with the remaining count', () => {
    const db = refsDb();
    ok(db, [ins('Kid', 2, {}), ins('Root', 1, { kids: U(2) }), ins('Root', 3, { kids: U(2) })]);
    expect(commitFails(db, [del('Kid', 2)])).toEqual(
      err('referential integrity violation', `cannot delete Kid row ${u(2)} because of 2 remaining reference(s)`),
    );
    expect(commitFails(db, [del('Kid', 2), del('Root', 1)])).toEqual(
      err('referential integrity violation', `cannot delete Kid row ${u(2)} because of 1 remaining reference(s)`),
    );
    ok(db, [del('Kid', 2), del('Root', 1), del('Root', 3)]);
    expect(rows(db, 'Kid')).toEqual([]);
  });
});

describe('garbage collection of non-root rows', () => {
  it('an orphan inserted in the transaction disappears; the insert still reports its uuid', () => {
    const db = refsDb();
    expect(tx(db, [ins('Kid', 2, { name: 'orphan' })])).toEqual([{ uuid: U(2) }]);
    expect(rows(db, 'Kid')).toEqual([]);
    expect(run(db, [ins('Kid', 2, {})])).toEqual({ kind: 'done', result: [{ uuid: U(2) }], commit: null, error: null });
  });
  it('dropping the last reference deletes the row and cascades', () => {
    const db = refsDb();
    ok(db, [ins('Grand', 3, { n: 1 }), ins('Kid', 2, { grand: U(3) }), ins('Root', 1, { kids: U(2) }), ins('Root', 4, {})]);
    expect(rows(db, 'Grand', ['n'])).toEqual([{ n: 1 }]);
    const out = run(db, [upd('Root', 1, { kids: ['set', []] })]);
    expect(out.kind).toBe('done');
    const commit = (out as { commit: Commit }).commit;
    expect([...commit.tables.keys()].sort()).toEqual(['Grand', 'Kid', 'Root']);
    expect(commit.tables.get('Kid')!.get(u(2))!.new).toBeNull();
    expect(commit.tables.get('Grand')!.get(u(3))!.new).toBeNull();
    db.apply(commit);
    expect(rows(db, 'Kid')).toEqual([]);
    expect(rows(db, 'Grand')).toEqual([]);
  });
  it('deleting the root deletes its children', () => {
    const db = refsDb();
    ok(db, [ins('Kid', 2, {}), ins('Kid', 3, {}), ins('Root', 1, { kids: ['set', [U(2), U(3)]] })]);
    expect(tx(db, [del('Root', 1)])).toEqual([{ count: 1 }]);
    expect(rows(db, 'Kid')).toEqual([]);
  });
  it('a row still referenced elsewhere survives', () => {
    const db = refsDb();
    ok(db, [ins('Kid', 2, {}), ins('Root', 1, { kids: U(2) }), ins('Root', 3, { kids: U(2) })]);
    ok(db, [del('Root', 1)]);
    expect(rows(db, 'Kid', ['_uuid'])).toEqual([{ _uuid: U(2) }]);
    expect(db.table('Kid').refs(u(2))).toBe(1);
  });
});

describe('maxRows', () => {
  it('counts rows after the transaction', () => {
    const db = refsDb();
    ok(db, [ins('Limited', 1, {}), ins('Limited', 2, {})]);
    expect(commitFails(db, [ins('Limited', 3, {})])).toEqual(
      err('constraint violation', 'transaction causes "Limited" table to contain 3 rows, greater than the schema-defined limit of 2 row(s)'),
    );
    ok(db, [del('Limited', 1), ins('Limited', 3, {})]);
    expect(rows(db, 'Limited', ['_uuid'])).toEqual([{ _uuid: U(2) }, { _uuid: U(3) }]);
  });
});

describe('weak references', () => {
  it('are removed when the target goes, in sets and map values; the referrer is changed in the commit', () => {
    const db = refsDb();
    ok(db, [
      ins('Kid', 2, {}),
      ins('Kid', 3, {}),
      ins('Root', 1, { kids: ['set', [U(2), U(3)]], weak: ['set', [U(2), U(3)]], wmap: ['map', [['a', U(2)], ['b', U(3)]]] }),
    ]);
    const out = run(db, [{ op: 'mutate', table: 'Root', where: [], mutations: [['kids', 'delete', U(2)]] }]);
    const commit = (out as { commit: Commit }).commit;
    const rootChange = commit.tables.get('Root')!.get(u(1))!;
    expect(rootChange.old).not.toBeNull();
    db.apply(commit);
    expect(rows(db, 'Root', ['kids', 'weak', 'wmap'])).toEqual([{ kids: U(3), weak: U(3), wmap: ['map', [['b', U(3)]]] }]);
  });
  it('a weak reference to a nonexistent row is dropped silently on insert', () => {
    const db = refsDb();
    ok(db, [ins('Root', 1, { weak: ['set', [U(9), ['named-uuid', 'nobody']]] })]);
    expect(rows(db, 'Root', ['weak'])).toEqual([{ weak: ['set', []] }]);
  });
  it('a weak reference held by the row that drops the last strong reference is removed too', () => {
    // The reference server leaves it dangling (BUG-3.1); §3.7 recommends the intended behavior.
    const db = refsDb();
    ok(db, [ins('Kid', 2, {}), ins('Root', 1, { kids: U(2), weak: U(2) })]);
    ok(db, [upd('Root', 1, { kids: ['set', []] })]);
    expect(rows(db, 'Root', ['weak'])).toEqual([{ weak: ['set', []] }]);
  });
  it('emptying a column whose min is 1 fails', () => {
    const db = refsDb();
    ok(db, [ins('Kid', 2, {}), ins('Root', 1, { kids: U(2) }), ins('Holder', 5, { w1: U(2) })]);
    expect(commitFails(db, [del('Root', 1)])).toEqual(
      err(
        'constraint violation',
        `Deletion of 1 weak reference(s) to deleted (or never-existing) rows from column "w1" in "Holder" row ${u(5)} caused this column to become empty, but constraints on this column disallow an empty column.`,
      ),
    );
    expect(commitFails(db, [ins('Holder', 6, { w1: U(9) })])).toEqual(
      err(
        'constraint violation',
        `Deletion of 1 weak reference(s) to deleted (or never-existing) rows from column "w1" in "Holder" row ${u(6)} (inserted within this transaction) caused this column to become empty, but constraints on this column disallow an empty column.`,
      ),
    );
    expect(commitFails(db, [ins('Holder', 6, {})])).toEqual(
      err(
        'constraint violation',
        `Weak reference column "w1" in "Holder" row ${u(6)} (inserted within this transaction) contained all-zeros UUID (probably as the default value for this column) but deleting this value caused a constraint volation because this column is not allowed to be empty.`,
      ),
    );
  });
});

describe('unique indexes', () => {
  const seeded = () => {
    const db = refsDb();
    ok(db, [ins('Idx', 1, { k: 'x', k2: 1, v: 1 }), ins('Idx', 2, { k: 'y', k2: 5, v: 5 })]);
    return db;
  };
  const INSERTED = 'was inserted by this transaction.';
  const UNCHANGED = 'existed in the database before this transaction and was not modified by the transaction.';
  const OTHER_COLS = "existed in the database before this transaction, which modified some of the row's columns but not any columns in this index.";
  /** The reference orders the two rows unpredictably (it varies between runs of ovsdb-server), so accept both. */
  function indexError(r: JsonValue, values: string, cols: string, a: [number, string], b: [number, string]) {
    const msg = (x: [number, string], y: [number, string]) =>
      `Transaction causes multiple rows in "Idx" table to have identical values (${values}) for index on ${cols}.  First row, with UUID ${u(x[0])}, ${x[1]}  Second row, with UUID ${u(y[0])}, ${y[1]}`;
    expect(r).toMatchObject({ error: 'constraint violation' });
    expect([msg(a, b), msg(b, a)]).toContain((r as { details: string }).details);
  }
  it('an insert colliding with an existing row', () => {
    const db = seeded();
    indexError(commitFails(db, [ins('Idx', 3, { k: 'x', k2: 2, v: 0 })]), 'x', 'column "k"', [1, UNCHANGED], [3, INSERTED]);
  });
  it('two inserts colliding', () => {
    const db = seeded();
    indexError(commitFails(db, [ins('Idx', 3, { k: 'z', k2: 2 }), ins('Idx', 4, { k: 'z', k2: 3 })]), 'z', 'column "k"', [3, INSERTED], [4, INSERTED]);
  });
  it('a two-column index', () => {
    const db = seeded();
    indexError(commitFails(db, [ins('Idx', 3, { k: 'q', k2: 1, v: 1 })]), '1 and 1', 'columns "k2" and "v"', [1, UNCHANGED], [3, INSERTED]);
  });
  it('updates report the old index values, or that only other columns changed', () => {
    const db = seeded();
    indexError(
      commitFails(db, [upd('Idx', 2, { k2: 1, v: 1 })]),
      '1 and 1',
      'columns "k2" and "v"',
      [1, UNCHANGED],
      [2, 'had the following index values before the transaction: 5 and 5.'],
    );
    indexError(
      commitFails(db, [upd('Idx', 2, { k: 'w' }), upd('Idx', 1, { k: 'w', k2: 7 })]),
      'w',
      'column "k"',
      [2, 'had the following index values before the transaction: y.'],
      [1, 'had the following index values before the transaction: x.'],
    );
    indexError(commitFails(db, [upd('Idx', 2, { v: 9 }), ins('Idx', 3, { k: 'y' })]), 'y', 'column "k"', [2, OTHER_COLS], [3, INSERTED]);
  });
  it('swapping keys, or deleting and re-inserting a key, in one transaction is fine', () => {
    const db = seeded();
    ok(db, [upd('Idx', 1, { k: 'y' }), upd('Idx', 2, { k: 'x' })]);
    expect(rows(db, 'Idx', ['_uuid', 'k'])).toEqual([{ _uuid: U(1), k: 'y' }, { _uuid: U(2), k: 'x' }]);
    ok(db, [del('Idx', 1), ins('Idx', 3, { k: 'y', k2: 1, v: 1 })]);
    expect(rows(db, 'Idx', ['_uuid', 'k'])).toEqual([{ _uuid: U(2), k: 'x' }, { _uuid: U(3), k: 'y' }]);
    // The index follows the change: the freed key is usable again, the taken one is not.
    ok(db, [ins('Idx', 4, { k: 'z', k2: 9, v: 9 })]);
    expect(commitFails(db, [ins('Idx', 5, { k: 'z', k2: 8 })])).toMatchObject({ error: 'constraint violation' });
  });
});

describe('check order', () => {
  it('referential integrity is reported before maxRows and indexes', () => {
    const db = refsDb();
    ok(db, [ins('Limited', 1, {}), ins('Limited', 2, {}), ins('Idx', 3, { k: 'x' })]);
    expect(commitFails(db, [ins('Limited', 4, {}), ins('Idx', 5, { k: 'x' }), ins('Root', 6, { kids: U(9) })])).toMatchObject({
      error: 'referential integrity violation',
    });
    expect(commitFails(db, [ins('Limited', 4, {}), ins('Idx', 5, { k: 'x' })])).toMatchObject({
      details: 'transaction causes "Limited" table to contain 3 rows, greater than the schema-defined limit of 2 row(s)',
    });
  });
  it('garbage collection runs before maxRows (a collected orphan does not count)', () => {
    const db = createDatabase({
      name: 'G',
      tables: {
        R: { isRoot: true, columns: { n: { type: { key: { type: 'uuid', refTable: 'N' }, min: 0, max: 'unlimited' } } } },
        N: { maxRows: 1, columns: { a: { type: 'integer' } } },
      },
    });
    ok(db, [ins('N', 2, {}), ins('R', 1, { n: U(2) })]);
    expect(tx(db, [ins('N', 3, { a: 1 })])).toEqual([{ uuid: U(3) }]);
    expect(tx(db, [ins('N', 3, { a: 1 }), { op: 'mutate', table: 'R', where: [], mutations: [['n', 'insert', U(3)]] }])).toEqual([
      { uuid: U(3) },
      { count: 1 },
      err('constraint violation', 'transaction causes "N" table to contain 2 rows, greater than the schema-defined limit of 1 row(s)'),
    ]);
  });
});

describe('the Commit record', () => {
  function commitOf(db: Database, ops: JsonValue[]): Commit | null {
    const out = run(db, ops);
    if (out.kind !== 'done') throw new Error('blocked');
    return out.commit;
  }
  it('has per-table row changes with old/new rows', () => {
    const db = opsDb();
    ok(db, [ins('T', 1, { i: 1 }), ins('T', 2, { i: 2 }), ins('T', 3, { i: 3 })]);
    const old1 = db.table('T').rows.get(u(1))!;
    const old2 = db.table('T').rows.get(u(2))!;
    const c = commitOf(db, [upd('T', 1, { i: 10 }), del('T', 2), ins('T', 4, { i: 4 }), upd('T', 3, { i: 3 })])!;
    expect([...c.tables.keys()]).toEqual(['T']);
    const t = c.tables.get('T')!;
    expect([...t.keys()].sort()).toEqual([u(1), u(2), u(4)]); // row 3 did not change
    const ch1 = t.get(u(1))!;
    expect(ch1.uuid).toBe(u(1));
    expect(ch1.table.name).toBe('T');
    expect(ch1.old).toBe(old1);
    expect(ch1.new!.uuid).toBe(u(1));
    expect(ch1.new!.version).not.toBe(old1.version);
    expect(ch1.new!.data[0]).toEqual({ keys: [10] });
    expect(t.get(u(2))).toMatchObject({ uuid: u(2), old: old2, new: null });
    const ch4 = t.get(u(4))!;
    expect(ch4.old).toBeNull();
    expect(versionUuid(ch4.new!.version)).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(c.comment).toBe('');
    expect(c.durable).toBe(false);
    db.apply(c);
    expect(db.table('T').rows.get(u(1))).toBe(ch1.new);
  });
  it('is null when nothing changed, even with a comment', () => {
    const db = opsDb();
    ok(db, [ins('T', 1, { i: 1 })]);
    expect(commitOf(db, [upd('T', 1, { i: 1 })])).toBeNull();
    expect(commitOf(db, [{ op: 'comment', comment: 'x' }, { op: 'select', table: 'T', where: [] }])).toBeNull();
    expect(commitOf(db, [ins('T', 2, {}), del('T', 2)])).toBeNull();
    expect(commitOf(db, [upd('T', 1, { i: 5 }), upd('T', 1, { i: 1 })])).toBeNull();
  });
  it('joins comments with "\\n" only after non-empty text', () => {
    const db = opsDb();
    const withComments = (...cs: string[]) =>
      commitOf(db, [ins('T', 9, {}), ...cs.map((comment) => ({ op: 'comment', comment }))])!.comment;
    expect(withComments()).toBe('');
    expect(withComments('a')).toBe('a');
    expect(withComments('', 'a')).toBe('a');
    expect(withComments('a', '')).toBe('a\n');
    expect(withComments('a', 'b', 'c')).toBe('a\nb\nc');
    expect(withComments('', '', 'a', '', 'b')).toBe('a\n\nb');
  });
  it('carries the durable flag of any commit op', () => {
    const db = opsDb();
    const durable = (...ds: boolean[]) => commitOf(db, [ins('T', 9, {}), ...ds.map((d) => ({ op: 'commit', durable: d }))])!.durable;
    expect(durable()).toBe(false);
    expect(durable(false)).toBe(false);
    expect(durable(true)).toBe(true);
    expect(durable(true, false)).toBe(true);
    expect(durable(false, true)).toBe(true);
  });
  it('is handed to onCommit listeners once per apply', () => {
    const db = opsDb();
    const seen: Commit[] = [];
    const off = db.onCommit((c) => seen.push(c));
    ok(db, [ins('T', 1, {})]);
    ok(db, [upd('T', 1, {})]); // no change: no commit
    ok(db, [del('T', 1), { op: 'comment', comment: 'bye' }]);
    off();
    ok(db, [ins('T', 2, {})]);
    expect(seen.map((c) => [[...c.tables.get('T')!.keys()], c.comment])).toEqual([
      [[u(1)], ''],
      [[u(1)], 'bye'],
    ]);
  });
  it('a failed transaction produces no commit', () => {
    const db = opsDb();
    expect(run(db, [ins('T', 1, {}), { op: 'abort' }])).toEqual({
      kind: 'done',
      result: [{ uuid: U(1) }, err('aborted', 'aborted by request')],
      commit: null,
      error: expect.objectContaining({ tag: 'aborted', details: 'aborted by request' }),
    });
  });
});
