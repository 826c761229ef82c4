// Every mutator on every type it applies to, and every mutation error (RFC 7047 §5.1, reference §3.5.4).
import { describe, expect, it } from 'vitest';
import type { JsonValue } from '../../schema/json.ts';
import { err, ok, opsDb, rows, tx, u, U } from './engine-helpers.ts';

const I64_MAX = 9223372036854775807n;
const I64_MIN = -9223372036854775808n;

/** Inserts one T row with `row`, mutates it, and returns [mutate result, the columns afterwards]. */
function mutate(row: Record<string, JsonValue>, mutations: JsonValue[], cols: string[]): [JsonValue, JsonValue] {
  const db = opsDb();
  ok(db, [{ op: 'insert', table: 'T', uuid: u(1), row }]);
  const r = tx(db, [{ op: 'mutate', table: 'T', where: [], mutations }]);
  return [r.length === 1 ? r[0] : r, rows(db, 'T', cols)[0]];
}
const okMut = (row: Record<string, JsonValue>, mutations: JsonValue[], cols: string[]) => {
  const [r, after] = mutate(row, mutations, cols);
  expect(r).toEqual({ count: 1 });
  return after;
};
const failMut = (row: Record<string, JsonValue>, mutations: JsonValue[]) => {
  const db = opsDb();
  ok(db, [{ op: 'insert', table: 'T', uuid: u(1), row }]);
  const before = rows(db, 'T');
  const r = tx(db, [{ op: 'mutate', table: 'T', where: [], mutations }]);
  expect(rows(db, 'T')).toEqual(before);
  expect(r).toHaveLength(1);
  return r[0];
};

describe('arithmetic mutators', () => {
  it('on integer scalars (C truncating division)', () => {
    expect(okMut({ i: 7 }, [['i', '+=', 3]], ['i'])).toEqual({ i: 10 });
    expect(okMut({ i: 7 }, [['i', '-=', 10]], ['i'])).toEqual({ i: -3 });
    expect(okMut({ i: 7 }, [['i', '*=', -3]], ['i'])).toEqual({ i: -21 });
    expect(okMut({ i: -7 }, [['i', '/=', 2]], ['i'])).toEqual({ i: -3 });
    expect(okMut({ i: -7 }, [['i', '%=', 2]], ['i'])).toEqual({ i: -1 });
    expect(okMut({ i: 7 }, [['i', '%=', -2]], ['i'])).toEqual({ i: 1 });
    expect(okMut({ i: 7 }, [['i', '+=', 1], ['i', '*=', 2], ['i', '-=', 1]], ['i'])).toEqual({ i: 15 });
  });
  it('on real scalars, integer arguments accepted', () => {
    expect(okMut({ r: 1.5 }, [['r', '+=', 1]], ['r'])).toEqual({ r: 2.5 });
    expect(okMut({ r: 1.5 }, [['r', '-=', 0.25]], ['r'])).toEqual({ r: 1.25 });
    expect(okMut({ r: 1.5 }, [['r', '*=', -2]], ['r'])).toEqual({ r: -3 });
    expect(okMut({ r: 1 }, [['r', '/=', 4]], ['r'])).toEqual({ r: 0.25 });
    // Printed as the reference prints it (0.1+0.2 then *3 shows as 0.9).
    expect(okMut({ r: 0.1 }, [['r', '+=', 0.2], ['r', '*=', 3]], ['r'])).toEqual({ r: 0.9 });
  });
  it('on optional and set columns each element is mutated; empty stays empty', () => {
    expect(okMut({}, [['oi', '+=', 1]], ['oi'])).toEqual({ oi: ['set', []] });
    expect(okMut({ oi: 4 }, [['oi', '*=', 3]], ['oi'])).toEqual({ oi: 12 });
    expect(okMut({ or: 4 }, [['or', '/=', 8]], ['or'])).toEqual({ or: 0.5 });
    expect(okMut({ iset: ['set', [1, 2, 5]] }, [['iset', '-=', 3]], ['iset'])).toEqual({ iset: ['set', [-2, -1, 2]] });
    expect(okMut({ iset: ['set', [1, 2, 5]] }, [['iset', '*=', -1]], ['iset'])).toEqual({ iset: ['set', [-5, -2, -1]] });
    expect(okMut({ iset: ['set', [4, 6]] }, [['iset', '%=', 4]], ['iset'])).toEqual({ iset: ['set', [0, 2]] });
    expect(okMut({ rset: ['set', [1.5, 2.5]] }, [['rset', '*=', 2]], ['rset'])).toEqual({ rset: ['set', [3, 5]] });
    expect(okMut({ pctset: ['set', [10, 20]] }, [['pctset', '+=', 80]], ['pctset'])).toEqual({ pctset: ['set', [90, 100]] });
  });
  it('lift constraints on the argument but check the result', () => {
    expect(okMut({ pct: 50 }, [['pct', '-=', -40]], ['pct'])).toEqual({ pct: 90 });
    // Each mutation's result is checked, not just the final value.
    expect(failMut({ pct: 50 }, [['pct', '-=', 500], ['pct', '+=', 500]])).toEqual(
      err('constraint violation', '-450 is not in the valid range 0 to 100 (inclusive)'),
    );
    expect(failMut({ pct: 50 }, [['pct', '+=', 500], ['pct', '-=', 500]])).toEqual(
      err('constraint violation', '550 is not in the valid range 0 to 100 (inclusive)'),
    );
    expect(failMut({ pctset: ['set', [10, 20]] }, [['pctset', '+=', 85]])).toEqual(
      err('constraint violation', '105 is not in the valid range 0 to 100 (inclusive)'),
    );
  });
  it('a set mutation that makes elements equal is refused', () => {
    expect(failMut({ iset: ['set', [1, 2]] }, [['iset', '*=', 0]])).toEqual(
      err('constraint violation', 'Result of "*=" operation contains duplicates.'),
    );
    expect(failMut({ iset: ['set', [1, 2]] }, [['iset', '/=', 3]])).toEqual(
      err('constraint violation', 'Result of "/=" operation contains duplicates.'),
    );
  });
  it('division by zero is a domain error', () => {
    expect(failMut({ i: 1 }, [['i', '/=', 0]])).toEqual(err('domain error', 'Division by zero.'));
    expect(failMut({ i: 1 }, [['i', '%=', 0]])).toEqual(err('domain error', 'Division by zero.'));
    expect(failMut({ r: 1 }, [['r', '/=', 0]])).toEqual(err('domain error', 'Division by zero.'));
    expect(failMut({ iset: ['set', [1]] }, [['iset', '/=', 0]])).toEqual(err('domain error', 'Division by zero.'));
  });
  it('int64 overflow is a range error (bigint arithmetic at the edges)', () => {
    const range = (m: string) => err('range error', `Result of "${m}" operation is out of range.`);
    expect(failMut({ i: I64_MAX }, [['i', '+=', 1]])).toEqual(range('+='));
    expect(failMut({ i: I64_MIN }, [['i', '-=', 1]])).toEqual(range('-='));
    expect(failMut({ i: I64_MIN }, [['i', '*=', 2]])).toEqual(range('*='));
    expect(failMut({ i: I64_MIN }, [['i', '/=', -1]])).toEqual(range('/='));
    expect(failMut({ i: I64_MIN }, [['i', '%=', -1]])).toEqual(range('%='));
    expect(failMut({ i: 4294967296 }, [['i', '*=', 4294967296]])).toEqual(range('*='));
    // -1 * INT64_MIN overflows (checked against ovsdb-server 3.1) ...
    expect(failMut({ i: -1 }, [['i', '*=', I64_MIN]])).toEqual(range('*='));
    // ... but the reference lets INT64_MIN * -1 wrap to INT64_MIN.
    expect(okMut({ i: I64_MIN }, [['i', '*=', -1]], ['i'])).toEqual({ i: I64_MIN });
    expect(okMut({ i: I64_MAX }, [['i', '-=', I64_MAX], ['i', '-=', 1]], ['i'])).toEqual({ i: -1 });
    expect(okMut({ i: I64_MIN }, [['i', '+=', I64_MAX]], ['i'])).toEqual({ i: -1 });
    expect(okMut({ i: 9007199254740991 }, [['i', '+=', 2]], ['i'])).toEqual({ i: 9007199254740993n });
    expect(okMut({ i: 9007199254740993n }, [['i', '-=', 2]], ['i'])).toEqual({ i: 9007199254740991 });
    expect(okMut({ i: 3037000499 }, [['i', '*=', 3037000499]], ['i'])).toEqual({ i: 9223372030926249001n });
  });
  it('real results that are not finite are a range error', () => {
    expect(failMut({ r: 1e308 }, [['r', '*=', 10]])).toEqual(err('range error', 'Result of "*=" operation is out of range.'));
    expect(failMut({ r: -1e308 }, [['r', '-=', 1e308]])).toEqual(err('range error', 'Result of "-=" operation is out of range.'));
  });
});

describe('insert and delete mutators', () => {
  it('sets: union and difference', () => {
    expect(okMut({ iset: ['set', [1, 3]] }, [['iset', 'insert', ['set', [2, 3, 4]]]], ['iset'])).toEqual({ iset: ['set', [1, 2, 3, 4]] });
    expect(okMut({ sset: 'b' }, [['sset', 'insert', 'a']], ['sset'])).toEqual({ sset: ['set', ['a', 'b']] });
    expect(okMut({ sset: ['set', ['a', 'b', 'c']] }, [['sset', 'delete', ['set', ['a', 'c', 'z']]]], ['sset'])).toEqual({ sset: 'b' });
    expect(okMut({ bset: true }, [['bset', 'insert', false]], ['bset'])).toEqual({ bset: ['set', [false, true]] });
    expect(okMut({ rset: 1.5 }, [['rset', 'delete', 1.5]], ['rset'])).toEqual({ rset: ['set', []] });
    expect(okMut({}, [['uset', 'insert', ['set', [U(2), U(1)]]]], ['uset'])).toEqual({ uset: ['set', [U(1), U(2)]] });
    expect(okMut({}, [['oi', 'insert', 5]], ['oi'])).toEqual({ oi: 5 });
    expect(okMut({ oi: 5 }, [['oi', 'delete', 5]], ['oi'])).toEqual({ oi: ['set', []] });
    expect(okMut({ os: 'x' }, [['os', 'insert', 'x']], ['os'])).toEqual({ os: 'x' });
    // Deleting more elements than the column may hold is fine (argument max is unlimited).
    expect(okMut({ s3: 'a' }, [['s3', 'delete', ['set', ['a', 'b', 'c', 'd']]]], ['s3'])).toEqual({ s3: ['set', []] });
    // Sizes are checked after each mutation: insert-then-delete passes where delete-then-insert fails.
    expect(okMut({ i12: 1 }, [['i12', 'insert', 2], ['i12', 'delete', 1]], ['i12'])).toEqual({ i12: 2 });
    expect(failMut({ i12: 1 }, [['i12', 'delete', 1], ['i12', 'insert', 2]])).toEqual(
      err('constraint violation', 'Attempted to store 0 elements in set of 1 to 2 integers.'),
    );
  });
  it('maps: insert keeps existing values; delete by pair or by key', () => {
    const smap = ['map', [['a', 'x'], ['b', 'y']]];
    expect(okMut({ smap }, [['smap', 'insert', ['map', [['a', 'NEW'], ['c', 'z']]]]], ['smap'])).toEqual({
      smap: ['map', [['a', 'x'], ['b', 'y'], ['c', 'z']]],
    });
    expect(okMut({ smap }, [['smap', 'delete', ['map', [['a', 'x'], ['b', 'other']]]]], ['smap'])).toEqual({
      smap: ['map', [['b', 'y']]],
    });
    expect(okMut({ smap }, [['smap', 'delete', ['set', ['b', 'q']]]], ['smap'])).toEqual({ smap: ['map', [['a', 'x']]] });
    expect(okMut({ smap }, [['smap', 'delete', 'a']], ['smap'])).toEqual({ smap: ['map', [['b', 'y']]] });
    expect(okMut({ imap: ['map', [[1, 1.5]]] }, [['imap', 'insert', ['map', [[0, 2]]]]], ['imap'])).toEqual({
      imap: ['map', [[0, 2], [1, 1.5]]],
    });
    expect(okMut({}, [['umap', 'insert', ['map', [[U(3), false]]]]], ['umap'])).toEqual({ umap: ['map', [[U(3), false]]] });
    expect(okMut({ map12: ['map', [['k', 1]]] }, [['map12', 'insert', ['map', [['j', 2]]]], ['map12', 'delete', 'k']], ['map12'])).toEqual({
      map12: ['map', [['j', 2]]],
    });
  });
  it('size limits after the mutation', () => {
    expect(failMut({ i12: ['set', [1, 2]] }, [['i12', 'insert', 3]])).toEqual(
      err('constraint violation', 'Attempted to store 3 elements in set of 1 to 2 integers.'),
    );
    expect(failMut({ i12: ['set', [1, 2]] }, [['i12', 'delete', ['set', [0, 1, 2]]]])).toEqual(
      err('constraint violation', 'Attempted to store 0 elements in set of 1 to 2 integers.'),
    );
    expect(failMut({ oi: 1 }, [['oi', 'insert', 2]])).toEqual(
      err('constraint violation', 'Attempted to store 2 elements in set of up to 1 integers.'),
    );
    expect(failMut({ s3: ['set', ['a', 'b']] }, [['s3', 'insert', ['set', ['c', 'd']]]])).toEqual(
      err('constraint violation', 'Attempted to store 4 elements in set of up to 3 strings.'),
    );
    expect(failMut({ map12: ['map', [['k', 1]]] }, [['map12', 'delete', 'k']])).toEqual(
      err('constraint violation', 'Attempted to store 0 elements in map of 1 to 2 (string, integer) pairs.'),
    );
  });
  it('arguments are checked against constraints and sizes', () => {
    expect(failMut({}, [['pctset', 'insert', 500]])).toEqual(err('constraint violation', '500 is not in the valid range 0 to 100 (inclusive)'));
    expect(failMut({}, [['pctset', 'delete', 500]])).toEqual(err('constraint violation', '500 is not in the valid range 0 to 100 (inclusive)'));
    expect(failMut({}, [['s3', 'insert', ['set', ['a', 'b', 'c', 'd']]]])).toEqual(
      err('syntax error', 'set must have 0 to 3 members but 4 are present', '["set",["a","b","c","d"]]'),
    );
    expect(failMut({}, [['sset', 'insert', ['set', [1]]]])).toEqual(err('syntax error', 'expected string', '1'));
    expect(failMut({}, [['smap', 'insert', ['set', ['a']]]])).toEqual(err('syntax error', 'expected ["map", <array>]', '["set",["a"]]'));
    expect(failMut({}, [['smap', 'delete', ['set', [1]]]])).toEqual(err('syntax error', 'expected string', '1'));
    expect(failMut({}, [['sset', 'insert', ['set', ['a', 'a']]]])).toEqual(err('ovsdb error', 'set contains duplicate'));
  });
  // Fixed: for map `delete`, the reference parses a ["map", ...] argument that is not a valid map again as a set
  // of keys, and reports that error: syntax is the whole argument (verified against ovsdb-server 3.1).
  it('map delete with an invalid ["map", ...] argument reports the key-set parse error', () => {
    expect(failMut({}, [['smap', 'delete', ['map', [['a', 1]]]]])).toEqual(
      err('syntax error', 'expected string', '["map",[["a",1]]]'),
    );
  });
});

describe('mutation errors', () => {
  const cases: [JsonValue, JsonValue][] = [
    [['i', '+='], err('syntax error', 'Parse error in mutation.', '["i","+="]')],
    [['i', 1, 1], err('syntax error', 'Parse error in mutation.', '["i",1,1]')],
    ['x', err('syntax error', 'Parse error in mutation.', '"x"')],
    [['zz', '+=', 1], err('unknown column', 'No column zz in table T.', '["zz","+=",1]')],
    [['zz', '^=', 1], err('unknown column', 'No column zz in table T.', '["zz","^=",1]')],
    [['fixed', 'insert', 'x'], err('constraint violation', 'Cannot mutate immutable column fixed in table T.', '["fixed","insert","x"]')],
    [['fixed', '^=', 1], err('constraint violation', 'Cannot mutate immutable column fixed in table T.', '["fixed","^=",1]')],
    [['_uuid', '+=', 1], err('constraint violation', 'Cannot mutate immutable column _uuid in table T.', '["_uuid","+=",1]')],
    [['i', '^=', 1], err('unknown mutator', 'No mutator named ^=.')],
    [['s', '+=', 'x'], err('syntax error', 'Type mismatch: "+=" operator may not be applied to column s of type string.', '["s","+=","x"]')],
    [['b', '-=', true], err('syntax error', 'Type mismatch: "-=" operator may not be applied to column b of type boolean.', '["b","-=",true]')],
    [['u', '*=', U(1)], err('syntax error', `Type mismatch: "*=" operator may not be applied to column u of type uuid.`, `["u","*=",["uuid","${u(1)}"]]`)],
    [['r', '%=', 2], err('syntax error', 'Type mismatch: "%=" operator may not be applied to column r of type real.', '["r","%=",2]')],
    [['or', '%=', 2.0], err('syntax error', 'Type mismatch: "%=" operator may not be applied to column or of type set of up to 1 reals.', '["or","%=",2]')],
    [['sset', '+=', 'x'], err('syntax error', 'Type mismatch: "+=" operator may not be applied to column sset of type set of strings.', '["sset","+=","x"]')],
    [['smap', '/=', 1], err('syntax error', 'Type mismatch: "/=" operator may not be applied to column smap of type map of (string, string) pairs.', '["smap","/=",1]')],
    [['imap', '+=', 1], err('syntax error', 'Type mismatch: "+=" operator may not be applied to column imap of type map of (integer, real) pairs.', '["imap","+=",1]')],
    [['i', 'insert', 1], err('syntax error', 'Type mismatch: "insert" operator may not be applied to column i of type integer.', '["i","insert",1]')],
    [['s', 'delete', 'x'], err('syntax error', 'Type mismatch: "delete" operator may not be applied to column s of type string.', '["s","delete","x"]')],
    [['i', '+=', 1.5], err('syntax error', 'expected integer', '1.5')],
    [['r', '+=', 'x'], err('syntax error', 'expected real', '"x"')],
    [['i', '+=', ['set', [1, 2]]], err('syntax error', 'set must have exactly one member but 2 are present', '["set",[1,2]]')],
    [['iset', '+=', ['set', []]], err('syntax error', 'set must have exactly one member but 0 are present', '["set",[]]')],
  ];
  it.each(cases.map(([m, e]) => [JSON.stringify(m), m, e]))('%s', (_n, m, e) => {
    expect(failMut({}, [m])).toEqual(e);
  });
  it('mutations must be an array; an empty list counts the matched rows', () => {
    const db = opsDb();
    ok(db, [{ op: 'insert', table: 'T', row: {} }, { op: 'insert', table: 'T', row: {} }]);
    expect(tx(db, [{ op: 'mutate', table: 'T', where: [], mutations: [] }])).toEqual([{ count: 2 }]);
    expect(tx(db, [{ op: 'mutate', table: 'T', where: [['i', '==', 1]], mutations: [['i', '+=', 1]] }])).toEqual([{ count: 0 }]);
    expect(tx(db, [{ op: 'mutate', table: 'T', where: [], mutations: 5 }])).toEqual([
      err('syntax error', "Parsing ovsdb operation 1 of 1 failed: Type mismatch for member 'mutations'.", '{"mutations":5,"op":"mutate","table":"T","where":[]}'),
    ]);
  });
  it('a parse error is reported even when no row matches; a value error only when a row matches', () => {
    const db = opsDb();
    expect(tx(db, [{ op: 'mutate', table: 'T', where: [], mutations: [['i', '^=', 1]] }])).toEqual([err('unknown mutator', 'No mutator named ^=.')]);
    expect(tx(db, [{ op: 'mutate', table: 'T', where: [], mutations: [['i', '/=', 0]] }])).toEqual([{ count: 0 }]);
  });
});
