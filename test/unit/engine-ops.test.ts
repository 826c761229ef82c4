// Every transact operation (RFC 7047 §5.2, reference §3.5) with exact result JSON.
import { versionUuid } from '../../storage/row.ts';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../../schema/json.ts';
import { err, ok, opsDb, refsDb, rows, run, snapshot, tx, u, U } from './engine-helpers.ts';

const ins = (row: JsonObject, extra: JsonObject = {}): JsonObject => ({ op: 'insert', table: 'T', row, ...extra });

describe('insert', () => {
  it('returns the uuid; explicit "uuid" is used, lowercased', () => {
    const db = opsDb();
    expect(tx(db, [ins({ i: 1 }, { uuid: u(10).toUpperCase().replace('0A', '0A') })])).toEqual([{ uuid: U(10) }]);
    const up = 'AAAAAAAA-0000-0000-0000-00000000000B';
    expect(tx(db, [ins({ i: 2 }, { uuid: up })])).toEqual([{ uuid: ['uuid', up.toLowerCase()] }]);
    expect(rows(db, 'T', ['_uuid', 'i'])).toEqual([
      { _uuid: U(10), i: 1 },
      { _uuid: ['uuid', up.toLowerCase()], i: 2 },
    ]);
  });

  it('fills missing columns with type defaults (§3.9)', () => {
    const db = opsDb();
    ok(db, [ins({}, { uuid: u(1) })]);
    expect(rows(db, 'T')).toEqual([
      {
        _uuid: U(1),
        i: 0,
        r: 0,
        b: false,
        s: '',
        u: ['uuid', '00000000-0000-0000-0000-000000000000'],
        oi: ['set', []],
        or: ['set', []],
        ob: ['set', []],
        os: ['set', []],
        ou: ['set', []],
        iset: ['set', []],
        rset: ['set', []],
        bset: ['set', []],
        sset: ['set', []],
        uset: ['set', []],
        i12: 0,
        s3: ['set', []],
        smap: ['map', []],
        imap: ['map', []],
        umap: ['map', []],
        map12: ['map', [['', 0]]],
        pct: 0,
        pctset: ['set', []],
        fixed: '',
      },
    ]);
  });

  it('a default that violates an enum fails the insert', () => {
    const db = opsDb();
    expect(tx(db, [{ op: 'insert', table: 'E', row: {} }])).toEqual([
      err('constraint violation', '"" is not one of the allowed values ([blue, green, red])'),
    ]);
    expect(tx(db, [{ op: 'insert', table: 'E', row: { color: 'purple' } }])).toEqual([
      err('constraint violation', 'purple is not one of the allowed values ([blue, green, red])'),
    ]);
  });

  it('ignores _uuid and _version given in the row', () => {
    const db = opsDb();
    ok(db, [ins({ _uuid: U(99), _version: U(98), i: 5 }, { uuid: u(1) })]);
    const t = db.table('T');
    expect([...t.rows.keys()]).toEqual([u(1)]);
    expect(t.rows.get(u(1))!.version).not.toBe(u(98));
  });

  it('binds uuid-name, and forward references resolve', () => {
    const db = opsDb();
    const r = tx(db, [
      ins({ u: ['named-uuid', 'later'], i: 1 }, { 'uuid-name': 'first' }),
      ins({ u: ['named-uuid', 'first'], i: 2 }, { 'uuid-name': 'later' }),
    ]) as { uuid: [string, string] }[];
    const [first, later] = r.map((x) => x.uuid);
    const byI = Object.fromEntries(rows(db, 'T', ['_uuid', 'u', 'i']).map((x) => [x.i as number, x]));
    expect(byI[1]).toEqual({ _uuid: first, u: later, i: 1 });
    expect(byI[2]).toEqual({ _uuid: later, u: first, i: 2 });
  });

  it('uuid + uuid-name binds the name to the given uuid, but a forward reference made before keeps its random uuid', () => {
    // Checked against ovsdb-server 3.1: the earlier forward reference does not become 0007.
    const db = opsDb();
    const r = tx(db, [
      ins({ u: ['named-uuid', 'later'], i: 1 }),
      ins({ i: 2 }, { 'uuid-name': 'later', uuid: u(7) }),
      { op: 'select', table: 'T', where: [['_uuid', '==', ['named-uuid', 'later']]], columns: ['i'] },
    ]);
    expect(r.slice(1)).toEqual([{ uuid: U(7) }, { rows: [{ i: 2 }] }]);
    const fwd = rows(db, 'T', ['i', 'u']).find((x) => x.i === 1)!.u as string[];
    expect(fwd[1]).not.toBe(u(7));
  });

  it('an undefined named-uuid gets a fresh uuid (no error in a plain uuid column)', () => {
    const db = opsDb();
    ok(db, [ins({ u: ['named-uuid', 'nobody'] }, { uuid: u(1) })]);
    const v = rows(db, 'T', ['u'])[0].u as string[];
    expect(v[0]).toBe('uuid');
    expect(v[1]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('errors: bad uuid, duplicate uuid, duplicate uuid-name, unknown column', () => {
    const db = opsDb();
    expect(tx(db, [ins({}, { uuid: 'zzz' })])).toEqual([err('syntax error', 'bad uuid', '"zzz"')]);
    ok(db, [ins({}, { uuid: u(1) })]);
    const dup = 'This UUID would duplicate a UUID already present within the table or deleted within the same transaction.';
    expect(tx(db, [ins({}, { uuid: u(1) })])).toEqual([err('duplicate uuid', dup, `"${u(1)}"`)]);
    expect(tx(db, [ins({}, { uuid: u(2) }), ins({}, { uuid: u(2) })])).toEqual([
      { uuid: U(2) },
      err('duplicate uuid', dup, `"${u(2)}"`),
    ]);
    // Deleted earlier in the same transaction also counts.
    expect(
      tx(db, [{ op: 'delete', table: 'T', where: [['_uuid', '==', U(1)]] }, ins({}, { uuid: u(1) })]),
    ).toEqual([{ count: 1 }, err('duplicate uuid', dup, `"${u(1)}"`)]);
    expect(tx(db, [ins({}, { 'uuid-name': 'a' }), ins({}, { 'uuid-name': 'a' })])[1]).toEqual(
      err('duplicate uuid-name', 'This "uuid-name" appeared on an earlier "insert" operation.', '"a"'),
    );
    expect(tx(db, [ins({ nocol: 1 })])).toEqual([err('unknown column', 'No column nocol in table T.', '{"nocol":1}')]);
    expect(tx(db, [ins({}, { 'uuid-name': '1x' })])).toEqual([
      err(
        'syntax error',
        "Parsing ovsdb operation 1 of 1 failed: Type mismatch for member 'uuid-name'.",
        '{"op":"insert","row":{},"table":"T","uuid-name":"1x"}',
      ),
    ]);
    // Nothing of the failed transactions stayed.
    expect(rows(db, 'T', ['_uuid'])).toEqual([{ _uuid: U(1) }]);
  });
});

describe('operation parsing', () => {
  it('has the reference texts', () => {
    const db = opsDb();
    const p = 'Parsing ovsdb operation 1 of 1 failed: ';
    expect(tx(db, [5])).toEqual([err('syntax error', 'Parsing ovsdb operation 1 of 1 failed: Object expected.')]);
    expect(tx(db, [{ table: 'T' }])).toEqual([err('syntax error', p + "Required 'op' member is missing.", '{"table":"T"}')]);
    expect(tx(db, [{ op: 'frob' }])).toEqual([err('syntax error', p + 'No operation "frob"', '{"op":"frob"}')]);
    expect(tx(db, [{ op: 'select', table: 'T' }])).toEqual([
      err('syntax error', p + "Required 'where' member is missing.", '{"op":"select","table":"T"}'),
    ]);
    expect(tx(db, [{ op: 'select', table: 'Nope', where: [] }])).toEqual([
      err('syntax error', p + 'No table named Nope.', '{"op":"select","table":"Nope","where":[]}'),
    ]);
    expect(tx(db, [{ op: 'select', table: 'T', where: [], extra: 1 }])).toEqual([
      err('syntax error', p + "Member 'extra' is present but not allowed here.", '{"extra":1,"op":"select","table":"T","where":[]}'),
    ]);
    const r = tx(db, [{ op: 'comment', comment: 'x' }, { op: 'select', table: 'T', where: [], x1: 1, x2: 2 }]);
    expect(r).toEqual([
      {},
      err(
        'syntax error',
        'Parsing ovsdb operation 2 of 2 failed: Member \'x1\' and 1 other member are present but not allowed here.',
        '{"op":"select","table":"T","where":[],"x1":1,"x2":2}',
      ),
    ]);
    expect(tx(db, [{ op: 'commit' }, { op: 'comment', comment: '' }])).toEqual([
      err('syntax error', "Parsing ovsdb operation 1 of 2 failed: Required 'durable' member is missing.", '{"op":"commit"}'),
      null,
    ]);
    expect(tx(db, [])).toEqual([]);
  });
});

describe('select', () => {
  function seeded() {
    const db = opsDb();
    ok(db, [ins({ i: 7, s: 'a' }, { uuid: u(1) }), ins({ i: 7, s: 'b' }, { uuid: u(2) }), ins({ i: 3, s: 'c' }, { uuid: u(3) })]);
    return db;
  }
  it('without columns returns every column including _uuid and _version', () => {
    const db = seeded();
    const r = tx(db, [{ op: 'select', table: 'T', where: [['_uuid', '==', U(3)]] }]) as { rows: Record<string, unknown>[] }[];
    expect(r[0].rows).toHaveLength(1);
    const row = r[0].rows[0];
    expect(Object.keys(row).sort()).toEqual(['_uuid', '_version', ...Object.keys(rows(db, 'T')[0]).filter((k) => k !== '_uuid')].sort());
    expect(row._uuid).toEqual(U(3));
    expect(row._version).toEqual(['uuid', versionUuid(db.table('T').rows.get(u(3))!.version)]);
  });
  it('sorts, projects and removes duplicate projections without _uuid', () => {
    const db = seeded();
    expect(tx(db, [{ op: 'select', table: 'T', where: [], columns: ['i'], sort: ['i'] }])).toEqual([{ rows: [{ i: 3 }, { i: 7 }] }]);
    expect(tx(db, [{ op: 'select', table: 'T', where: [], columns: ['s', 'i'], sort: ['i', 's'] }])).toEqual([
      { rows: [{ i: 3, s: 'c' }, { i: 7, s: 'a' }, { i: 7, s: 'b' }] },
    ]);
    expect(tx(db, [{ op: 'select', table: 'T', where: [['i', '==', 7]], columns: ['_uuid', 'i'], sort: ['_uuid'] }])).toEqual([
      { rows: [{ _uuid: U(1), i: 7 }, { _uuid: U(2), i: 7 }] },
    ]);
    expect(tx(db, [{ op: 'select', table: 'T', where: [], columns: [] }])).toEqual([{ rows: [{}] }]);
    expect(tx(db, [{ op: 'select', table: 'T', where: [false], columns: [] }])).toEqual([{ rows: [] }]);
  });
  it('column list errors', () => {
    const db = seeded();
    expect(tx(db, [{ op: 'select', table: 'T', where: [], columns: ['i', 'i'] }])).toEqual([
      err('syntax error', 'array of distinct column names expected', '["i","i"]'),
    ]);
    expect(tx(db, [{ op: 'select', table: 'T', where: [], columns: ['y'] }])).toEqual([
      err('syntax error', 'y is not a valid column name', '["y"]'),
    ]);
  });
  it('sees the transaction\'s own earlier changes', () => {
    const db = seeded();
    expect(
      tx(db, [
        { op: 'delete', table: 'T', where: [['s', '==', 'a']] },
        ins({ i: 9 }, { uuid: u(4) }),
        { op: 'update', table: 'T', where: [['s', '==', 'b']], row: { i: 8 } },
        { op: 'select', table: 'T', where: [], columns: ['_uuid', 'i'], sort: ['i'] },
        { op: 'abort' },
      ]),
    ).toEqual([
      { count: 1 },
      { uuid: U(4) },
      { count: 1 },
      { rows: [{ _uuid: U(3), i: 3 }, { _uuid: U(2), i: 8 }, { _uuid: U(4), i: 9 }] },
      err('aborted', 'aborted by request'),
    ]);
  });
});

describe('update', () => {
  it('counts matched rows, including unchanged ones', () => {
    const db = opsDb();
    ok(db, [ins({ i: 1 }, { uuid: u(1) }), ins({ i: 2 }, { uuid: u(2) })]);
    expect(tx(db, [{ op: 'update', table: 'T', where: [], row: { i: 2 } }])).toEqual([{ count: 2 }]);
    expect(rows(db, 'T', ['i'])).toEqual([{ i: 2 }, { i: 2 }]);
    expect(tx(db, [{ op: 'update', table: 'T', where: [], row: {} }])).toEqual([{ count: 2 }]);
    expect(tx(db, [{ op: 'update', table: 'T', where: [['i', '==', 5]], row: { s: 'x' } }])).toEqual([{ count: 0 }]);
  });
  it('_version as the reference (upstream 1815): each inserted row its own, kept at commit; an update keeps the old one until the commit gives a new one', () => {
    const db = opsDb();
    const sel = (where: JsonObject[]) => ({ op: 'select', table: 'T', where, columns: ['_version'] });
    const out = tx(db, [
      ins({ i: 1 }, { 'uuid-name': 'a' }),
      ins({ i: 2 }, { 'uuid-name': 'b' }),
      sel([['_uuid', '==', ['named-uuid', 'a']]] as unknown as JsonObject[]),
      sel([['_uuid', '==', ['named-uuid', 'b']]] as unknown as JsonObject[]),
    ]) as { rows?: { _version: [string, string] }[] }[];
    const va = out[2].rows![0]._version[1];
    const vb = out[3].rows![0]._version[1];
    expect(va).not.toBe(vb);
    expect([va, vb]).not.toContain('00000000-0000-0000-0000-000000000000');
    const after = () =>
      rows(db, 'T', ['i', '_version'])
        .sort((x, y) => (x.i as number) - (y.i as number))
        .map((r) => (r._version as [string, string])[1]);
    expect(after()).toEqual([va, vb]);
    const upd = tx(db, [{ op: 'update', table: 'T', where: [['i', '==', 1]], row: { s: 'x' } }, sel([['i', '==', 1]] as unknown as JsonObject[])]) as { rows?: { _version: [string, string] }[] }[];
    expect(upd[1].rows![0]._version[1]).toBe(va);
    const [va2, vb2] = after();
    expect(va2).not.toBe(va);
    expect(vb2).toBe(vb);
  });

  it('keeps _version of rows whose data did not change', () => {
    const db = opsDb();
    ok(db, [ins({ i: 1 }, { uuid: u(1) })]);
    const v0 = db.table('T').rows.get(u(1))!.version;
    ok(db, [{ op: 'update', table: 'T', where: [], row: { i: 1 } }]);
    expect(db.table('T').rows.get(u(1))!.version).toBe(v0);
    ok(db, [{ op: 'update', table: 'T', where: [], row: { i: 2 } }]);
    expect(db.table('T').rows.get(u(1))!.version).not.toBe(v0);
  });
  it('rejects immutable columns, _uuid and _version', () => {
    const db = opsDb();
    const op = { op: 'update', table: 'T', where: [], row: { fixed: 'x' } };
    expect(tx(db, [op])).toEqual([
      err('constraint violation', 'Cannot update immutable column fixed in table T.', '{"op":"update","row":{"fixed":"x"},"table":"T","where":[]}'),
    ]);
    expect(tx(db, [{ op: 'update', table: 'T', where: [], row: { _uuid: U(1) } }])[0]).toMatchObject(
      err('constraint violation', 'Cannot update immutable column _uuid in table T.'),
    );
    expect(tx(db, [{ op: 'update', table: 'T', where: [], row: { _version: U(1) } }])[0]).toMatchObject(
      err('constraint violation', 'Cannot update immutable column _version in table T.'),
    );
  });
  it('checks values against constraints while parsing', () => {
    const db = opsDb();
    ok(db, [ins({}, { uuid: u(1) })]);
    expect(tx(db, [{ op: 'update', table: 'T', where: [], row: { pct: 500 } }])).toEqual([
      err('constraint violation', '500 is not in the valid range 0 to 100 (inclusive)'),
    ]);
  });
});

describe('delete', () => {
  it('counts and removes matching rows', () => {
    const db = opsDb();
    ok(db, [ins({ i: 1 }, { uuid: u(1) }), ins({ i: 2 }, { uuid: u(2) }), ins({ i: 2 }, { uuid: u(3) })]);
    expect(tx(db, [{ op: 'delete', table: 'T', where: [['i', '==', 2]] }])).toEqual([{ count: 2 }]);
    expect(rows(db, 'T', ['_uuid'])).toEqual([{ _uuid: U(1) }]);
    expect(tx(db, [{ op: 'delete', table: 'T', where: [['i', '==', 2]] }])).toEqual([{ count: 0 }]);
    // A row inserted earlier in the same transaction can be deleted; nothing is left to commit.
    expect(tx(db, [ins({}, { uuid: u(9) }), { op: 'delete', table: 'T', where: [['_uuid', '==', U(9)]] }])).toEqual([
      { uuid: U(9) },
      { count: 1 },
    ]);
    expect(rows(db, 'T', ['_uuid'])).toEqual([{ _uuid: U(1) }]);
  });
});

describe('wait', () => {
  const w = (until: string, rowsJ: JsonObject[], extra: JsonObject = {}): JsonObject => ({
    op: 'wait',
    table: 'T',
    where: [['i', '==', 1]],
    columns: ['s'],
    until,
    rows: rowsJ,
    ...extra,
  });
  function seeded() {
    const db = opsDb();
    ok(db, [ins({ i: 1, s: 'a' }, { uuid: u(1) }), ins({ i: 1, s: 'a' }, { uuid: u(2) }), ins({ i: 2, s: 'b' }, { uuid: u(3) })]);
    return db;
  }
  it('compares the set of distinct projections', () => {
    const db = seeded();
    expect(tx(db, [w('==', [{ s: 'a' }])])).toEqual([{}]);
    expect(tx(db, [w('==', [{ s: 'a' }, { s: 'a' }])])).toEqual([{}]); // duplicates in rows are ignored
    expect(tx(db, [w('!=', [{ s: 'b' }])])).toEqual([{}]);
    expect(tx(db, [w('!=', [])])).toEqual([{}]);
    expect(tx(db, [{ op: 'wait', table: 'T', where: [['i', '==', 9]], until: '==', rows: [] }])).toEqual([{}]);
    // Without columns every column counts, _uuid included.
    expect(tx(db, [{ op: 'wait', table: 'T', where: [['_uuid', '==', U(3)]], until: '==', rows: [{ i: 2, s: 'b' }], timeout: 0 }])).toEqual([
      err('timed out', '"where" clause test failed'),
    ]);
  });
  it('timeout 0 fails at once; the ovs-vsctl prologue succeeds on an empty table', () => {
    const db = seeded();
    expect(tx(db, [w('==', [{ s: 'b' }], { timeout: 0 }), { op: 'comment', comment: 'x' }])).toEqual([
      err('timed out', '"where" clause test failed'),
      null,
    ]);
    expect(tx(opsDb(), [{ op: 'wait', table: 'T', where: [], rows: [], until: '==', timeout: 0 }])).toEqual([{}]);
  });
  it('blocks with the timeout, and times out by elapsed time', () => {
    const db = seeded();
    expect(run(db, [w('==', [{ s: 'b' }], { timeout: 500 })])).toEqual({ kind: 'blocked', timeoutMs: 500 });
    expect(run(db, [w('==', [{ s: 'b' }])])).toEqual({ kind: 'blocked', timeoutMs: null });
    expect(run(db, [w('==', [{ s: 'b' }], { timeout: 500 })], { elapsedMs: 499 })).toEqual({ kind: 'blocked', timeoutMs: 500 });
    expect(run(db, [w('==', [{ s: 'b' }], { timeout: 500 })], { elapsedMs: 503 })).toEqual({
      kind: 'done',
      result: [err('timed out', '"wait" timed out after 503 ms')],
      commit: null,
      error: expect.objectContaining({ tag: 'timed out', details: '"wait" timed out after 503 ms' }),
    });
    // With no timeout, elapsed time never fails it.
    expect(run(db, [w('==', [{ s: 'b' }])], { elapsedMs: 1e9 })).toEqual({ kind: 'blocked', timeoutMs: null });
  });
  it('a blocked transaction holds no state and succeeds once a later commit satisfies it', () => {
    const db = seeded();
    const ops = [ins({ i: 5 }, { uuid: u(8) }), w('==', [{ s: 'z' }], { timeout: 1000 })];
    const before = snapshot(db);
    expect(run(db, ops, { elapsedMs: 10 }).kind).toBe('blocked');
    expect(snapshot(db)).toEqual(before);
    ok(db, [{ op: 'update', table: 'T', where: [['i', '==', 1]], row: { s: 'z' } }]);
    const out = run(db, ops, { elapsedMs: 20 });
    expect(out.kind).toBe('done');
    if (out.kind === 'done') {
      expect(out.result).toEqual([{ uuid: U(8) }, {}]);
      db.apply(out.commit!);
    }
    expect(rows(db, 'T', ['_uuid'])).toContainEqual({ _uuid: U(8) });
  });
  it('errors', () => {
    const db = seeded();
    expect(tx(db, [w('<', [])])).toEqual([err('syntax error', '"until" must be "==" or "!="', '"<"')]);
    expect(tx(db, [w('==', [], { timeout: -1 })])).toEqual([err('syntax error', 'timeout must be nonnegative', '-1')]);
    expect(tx(db, [w('==', [{ nope: 1 }])])).toEqual([err('unknown column', 'No column nope in table T.', '{"nope":1}')]);
  });
});

describe('commit, abort, comment, assert', () => {
  it('commit returns {} and sets durable', () => {
    const db = opsDb();
    expect(tx(db, [{ op: 'commit', durable: false }])).toEqual([{}]);
    const out = run(db, [ins({}, { uuid: u(1) }), { op: 'commit', durable: true }]);
    expect(out.kind === 'done' && out.commit?.durable).toBe(true);
    const out2 = run(db, [ins({}, { uuid: u(1) }), { op: 'commit', durable: false }]);
    expect(out2.kind === 'done' && out2.commit?.durable).toBe(false);
    expect(tx(db, [{ op: 'commit', durable: 1 }])[0]).toMatchObject(
      err('syntax error', "Parsing ovsdb operation 1 of 1 failed: Type mismatch for member 'durable'."),
    );
  });
  it('abort fails the transaction and nothing changes', () => {
    const db = opsDb();
    expect(tx(db, [ins({}, { uuid: u(1) }), { op: 'abort' }, { op: 'comment', comment: 'x' }])).toEqual([
      { uuid: U(1) },
      err('aborted', 'aborted by request'),
      null,
    ]);
    expect(rows(db, 'T')).toEqual([]);
  });
  it('comment returns {}', () => {
    expect(tx(opsDb(), [{ op: 'comment', comment: 'hello' }])).toEqual([{}]);
    expect(tx(opsDb(), [{ op: 'comment' }])[0]).toMatchObject(
      err('syntax error', "Parsing ovsdb operation 1 of 1 failed: Required 'comment' member is missing."),
    );
  });
  it('assert consults ctx.ownsLock', () => {
    const db = opsDb();
    expect(tx(db, [{ op: 'assert', lock: 'L1' }])).toEqual([err('not owner', 'Asserted lock L1 not held.')]);
    const ownsLock = (name: string) => name === 'L1';
    expect(tx(db, [{ op: 'assert', lock: 'L1' }], { ownsLock })).toEqual([{}]);
    expect(tx(db, [{ op: 'assert', lock: 'L2' }, { op: 'abort' }], { ownsLock })).toEqual([
      err('not owner', 'Asserted lock L2 not held.'),
      null,
    ]);
    expect(tx(db, [{ op: 'assert', lock: 'bad name' }])[0]).toMatchObject(
      err('syntax error', "Parsing ovsdb operation 1 of 1 failed: Type mismatch for member 'lock'."),
    );
  });
});

describe('read-only and reserved contexts', () => {
  const writes = [
    ins({}),
    { op: 'update', table: 'T', where: [], row: {} },
    { op: 'mutate', table: 'T', where: [], mutations: [] },
    { op: 'delete', table: 'T', where: [] },
    { op: 'commit', durable: false },
  ];
  it('read-only: every write op type fails, even matching nothing; reads work', () => {
    const db = opsDb();
    for (const op of writes) {
      expect(tx(db, [op], { readOnly: true })).toEqual([
        err('not allowed', `${op.op} operation not allowed when database server is in read only mode`),
      ]);
    }
    expect(
      tx(db, [{ op: 'select', table: 'T', where: [] }, { op: 'comment', comment: 'c' }, { op: 'delete', table: 'T', where: [] }], {
        readOnly: true,
      }),
    ).toEqual([{ rows: [] }, {}, err('not allowed', 'delete operation not allowed when database server is in read only mode')]);
    expect(tx(db, [{ op: 'wait', table: 'T', where: [], rows: [], until: '==' }, { op: 'abort' }], { readOnly: true })).toEqual([
      {},
      err('aborted', 'aborted by request'),
    ]);
  });
  it('reserved database: every write op type fails', () => {
    const db = opsDb();
    for (const op of writes) {
      expect(tx(db, [op], { reserved: true })).toEqual([
        err('not allowed', `${op.op} operation not allowed on table in reserved database Ops`),
      ]);
    }
    expect(tx(db, [{ op: 'select', table: 'T', where: [] }], { reserved: true })).toEqual([{ rows: [] }]);
  });
  it('reserved database: parse errors take precedence over "not allowed"', () => {
    const db = opsDb();
    expect(tx(db, [ins({ zz: 1 })], { reserved: true })).toEqual([err('unknown column', 'No column zz in table T.', '{"zz":1}')]);
    expect(tx(db, [{ op: 'delete', table: 'T', where: [['nn', '==', 1]] }], { reserved: true })).toEqual([
      err('unknown column', 'No column nn in table T.', '["nn","==",1]'),
    ]);
    expect(tx(db, [{ op: 'mutate', table: 'T', where: [], mutations: [['i', '^=', 1]] }], { reserved: true })).toEqual([
      err('unknown mutator', 'No mutator named ^=.'),
    ]);
    expect(tx(db, [{ op: 'commit' }], { reserved: true })).toEqual([
      err('syntax error', "Parsing ovsdb operation 1 of 1 failed: Required 'durable' member is missing.", '{"op":"commit"}'),
    ]);
  });
  // Fixed: the real server (as a backup) parses the whole operation before the read-only check, so a parse
  // error wins over "not allowed" (verified against ovsdb-server 3.1 with --sync-from). Ours checks first.
  it('read-only: parse errors take precedence over "not allowed"', () => {
    const db = opsDb();
    expect(tx(db, [ins({ zz: 1 })], { readOnly: true })).toEqual([err('unknown column', 'No column zz in table T.', '{"zz":1}')]);
  });
  it('read-only: an update whose where does not parse reports the parse error', () => {
    expect(tx(opsDb(), [{ op: 'update', table: 'T', where: [['i', '<', 'x']], row: {} }], { readOnly: true })).toEqual([
      err('syntax error', 'expected integer', '"x"'),
    ]);
  });
  it('read-only: commit without durable reports the missing member', () => {
    expect(tx(opsDb(), [{ op: 'commit' }], { readOnly: true })).toEqual([
      err('syntax error', "Parsing ovsdb operation 1 of 1 failed: Required 'durable' member is missing.", '{"op":"commit"}'),
    ]);
  });
});

describe('result array shape', () => {
  it('commit-time failure adds one trailing element', () => {
    const db = refsDb();
    const r = tx(db, [{ op: 'insert', table: 'Root', row: { kids: U(5) }, uuid: u(1) }]);
    expect(r).toEqual([
      { uuid: U(1) },
      err('referential integrity violation', `Table Root column kids row ${u(1)} references nonexistent row ${u(5)} in table Kid.`),
    ]);
  });
});
