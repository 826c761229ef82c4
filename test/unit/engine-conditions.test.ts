// Every condition function on every column type (RFC 7047 §5.1, reference §3.5.11), with exact errors.
import { beforeAll, describe, expect, it } from 'vitest';
import type { JsonValue } from '../../schema/json.ts';
import type { Database } from '../../storage/index.ts';
import { err, ok, opsDb, tx, u, U } from './engine-helpers.ts';

let db: Database;
beforeAll(() => {
  db = opsDb();
  const set = (...a: JsonValue[]) => ['set', a];
  const map = (...p: JsonValue[][]) => ['map', p];
  ok(db, [
    { op: 'insert', table: 'T', uuid: u(1), row: { i: 1, r: 1.5, b: false, s: 'a', u: U(100) } },
    {
      op: 'insert',
      table: 'T',
      uuid: u(2),
      row: {
        i: 2, r: 2.5, b: true, s: 'b', u: U(101), oi: 5, or: 0.5, ob: true, os: 'x', ou: U(100),
        iset: set(1, 2), rset: 1.5, sset: set('a', 'b'), bset: true, uset: U(100), i12: set(1, 2),
        smap: map(['a', 'x'], ['b', 'y']), imap: map([1, 1.5]), umap: map([U(100), true]), pct: 50,
      },
    },
    {
      op: 'insert',
      table: 'T',
      uuid: u(3),
      row: {
        i: 3, r: -1, b: false, s: 'c', u: U(0), oi: 7, or: 2, ob: false, os: 'y', ou: U(101),
        iset: set(2, 3), sset: 'b', bset: set(false, true), uset: set(U(100), U(101)),
        smap: map(['a', 'z']), imap: map([1, 2], [2, 3]), pct: 100,
      },
    },
  ]);
});

/** The `i` values (row numbers) of the rows a where clause list matches. */
function matching(where: JsonValue[]): number[] | JsonValue {
  const r = tx(db, [{ op: 'select', table: 'T', where, columns: ['i'], sort: ['i'] }])[0] as { rows?: { i: number }[] };
  return r.rows ? r.rows.map((x) => x.i) : r;
}

type Case = [JsonValue, number[]];
const cases: Record<string, Case[]> = {
  integer: [
    [['i', '==', 2], [2]], [['i', '!=', 2], [1, 3]], [['i', '<', 2], [1]], [['i', '<=', 2], [1, 2]],
    [['i', '>', 2], [3]], [['i', '>=', 2], [2, 3]], [['i', 'includes', 2], [2]], [['i', 'excludes', 2], [1, 3]],
    [['i', '==', ['set', [2]]], [2]],
  ],
  real: [
    [['r', '==', 2.5], [2]], [['r', '!=', 1.5], [2, 3]], [['r', '<', 1.5], [3]], [['r', '<=', 1.5], [1, 3]],
    [['r', '>', 1.5], [2]], [['r', '>=', 1.5], [1, 2]], [['r', 'includes', 1.5], [1]], [['r', 'excludes', 1.5], [2, 3]],
    [['r', '<', 2], [1, 3]], // an integer argument for a real column
  ],
  boolean: [
    [['b', '==', true], [2]], [['b', '!=', true], [1, 3]], [['b', 'includes', false], [1, 3]], [['b', 'excludes', false], [2]],
  ],
  string: [
    [['s', '==', 'b'], [2]], [['s', '!=', 'b'], [1, 3]], [['s', 'includes', 'a'], [1]], [['s', 'excludes', 'a'], [2, 3]],
  ],
  uuid: [
    [['u', '==', U(100)], [1]], [['u', '!=', U(100)], [2, 3]], [['u', 'includes', U(101)], [2]], [['u', 'excludes', U(0)], [1, 2]],
  ],
  'optional integer (empty compares false with < etc.)': [
    [['oi', '==', ['set', []]], [1]], [['oi', '==', 5], [2]], [['oi', '!=', 5], [1, 3]], [['oi', '<', 6], [2]],
    [['oi', '<=', 7], [2, 3]], [['oi', '>', 0], [2, 3]], [['oi', '>=', 7], [3]], [['oi', 'includes', ['set', []]], [1, 2, 3]],
    [['oi', 'includes', 5], [2]], [['oi', 'excludes', 5], [1, 3]], [['oi', 'excludes', ['set', []]], [1, 2, 3]],
    [['oi', '<', ['set', [6]]], [2]],
  ],
  'optional real': [[['or', '<', 1], [2]], [['or', '>', 0], [2, 3]], [['or', '==', ['set', []]], [1]], [['or', '>=', 0.5], [2, 3]]],
  'optional boolean': [
    [['ob', '==', true], [2]], [['ob', '==', false], [3]], [['ob', '==', ['set', []]], [1]],
    [['ob', 'includes', true], [2]], [['ob', 'excludes', true], [1, 3]],
  ],
  'optional string': [
    [['os', '!=', 'x'], [1, 3]], [['os', 'includes', 'x'], [2]], [['os', 'excludes', 'x'], [1, 3]], [['os', '==', ['set', []]], [1]],
  ],
  'optional uuid': [[['ou', '==', U(100)], [2]], [['ou', 'includes', ['set', []]], [1, 2, 3]], [['ou', 'excludes', U(101)], [1, 2]]],
  'set of integers': [
    [['iset', '==', ['set', [1, 2]]], [2]], [['iset', '==', ['set', [2, 1]]], [2]], [['iset', '!=', ['set', [1, 2]]], [1, 3]],
    [['iset', 'includes', 2], [2, 3]], [['iset', 'includes', ['set', [1, 2]]], [2]], [['iset', 'includes', ['set', []]], [1, 2, 3]],
    [['iset', 'excludes', 1], [1, 3]], [['iset', 'excludes', ['set', [1, 3]]], [1]], [['iset', 'excludes', ['set', []]], [1, 2, 3]],
    [['iset', '==', ['set', []]], [1]],
  ],
  'set of reals': [[['rset', 'includes', 1.5], [2]], [['rset', '==', ['set', []]], [1, 3]], [['rset', 'excludes', 1.5], [1, 3]]],
  'set of strings': [
    [['sset', 'includes', 'b'], [2, 3]], [['sset', 'excludes', ['set', ['a', 'c']]], [1, 3]], [['sset', '==', 'b'], [3]],
    [['sset', '!=', 'b'], [1, 2]],
  ],
  'set of booleans': [
    [['bset', 'includes', true], [2, 3]], [['bset', 'excludes', true], [1]], [['bset', '==', ['set', [true, false]]], [3]],
  ],
  'set of uuids': [[['uset', 'includes', U(100)], [2, 3]], [['uset', 'excludes', U(101)], [1, 2]], [['uset', '==', U(100)], [2]]],
  'set of 1 to 2 integers': [
    [['i12', 'includes', ['set', []]], [1, 2, 3]], [['i12', 'excludes', ['set', [1, 2, 3]]], [1, 3]], [['i12', '==', 0], [1, 3]],
    [['i12', 'includes', 1], [2]],
  ],
  'map of strings (pairs must match)': [
    [['smap', '==', ['map', [['a', 'z']]]], [3]], [['smap', '!=', ['map', []]], [2, 3]], [['smap', '==', ['map', []]], [1]],
    [['smap', 'includes', ['map', [['a', 'x']]]], [2]], [['smap', 'includes', ['map', [['a', 'z']]]], [3]],
    [['smap', 'includes', ['map', []]], [1, 2, 3]], [['smap', 'excludes', ['map', [['a', 'x']]]], [1, 3]],
    [['smap', 'excludes', ['map', [['a', 'q']]]], [1, 2, 3]], [['smap', 'includes', ['map', [['b', 'y'], ['a', 'x']]]], [2]],
  ],
  'map of integer to real': [
    [['imap', 'includes', ['map', [[1, 1.5]]]], [2]], [['imap', 'excludes', ['map', [[1, 2]]]], [1, 2]],
    [['imap', '==', ['map', [[2, 3], [1, 2]]]], [3]],
  ],
  'map of uuid to boolean': [[['umap', 'includes', ['map', [[U(100), true]]]], [2]], [['umap', 'excludes', ['map', [[U(100), true]]]], [1, 3]]],
  'constrained integer': [[['pct', '<', 100], [1, 2]], [['pct', '==', 100], [3]]],
  '_uuid and _version': [
    [['_uuid', '==', U(1)], [1]], [['_uuid', '!=', U(1)], [2, 3]], [['_uuid', 'includes', U(3)], [3]],
    [['_version', '!=', U(0)], [1, 2, 3]],
  ],
};

describe('condition functions', () => {
  for (const [type, list] of Object.entries(cases)) {
    it(type, () => {
      for (const [clause, expected] of list) expect([clause, matching([clause])]).toEqual([clause, expected]);
    });
  }
});

describe('where clauses', () => {
  it('are ANDed; an empty where matches all', () => {
    expect(matching([])).toEqual([1, 2, 3]);
    expect(matching([['i', '>', 1], ['i', '<', 3]])).toEqual([2]);
    expect(matching([['i', '>', 1], ['s', '==', 'a']])).toEqual([]);
  });
  it('accept boolean clauses', () => {
    expect(matching([true])).toEqual([1, 2, 3]);
    expect(matching([false])).toEqual([]);
    expect(matching([true, ['i', '==', 2]])).toEqual([2]);
    expect(matching([['i', '==', 2], false])).toEqual([]);
  });
  it('the _uuid fast path still applies the other clauses', () => {
    expect(matching([['_uuid', '==', U(1)], ['i', '==', 2]])).toEqual([]);
    expect(matching([['_uuid', '==', U(2)], ['i', '==', 2]])).toEqual([2]);
    expect(matching([['_uuid', '==', U(77)]])).toEqual([]);
  });
  it('an undefined named-uuid matches nothing', () => {
    expect(matching([['_uuid', '==', ['named-uuid', 'nobody']]])).toEqual([]);
  });
});

describe('condition errors', () => {
  const cases: [JsonValue, JsonValue][] = [
    [['x', '<'], err('syntax error', 'Parse error in condition.', '["x","<"]')],
    [['i', '<', 1, 2], err('syntax error', 'Parse error in condition.', '["i","<",1,2]')],
    [5, err('syntax error', 'Parse error in condition.', '5')],
    [['i', '~', 1], err('unknown function', 'No function named ~.')],
    [['zz', '==', 1], err('unknown column', 'No column zz in table T.', '["zz","==",1]')],
    [['zz', '~', 1], err('unknown column', 'No column zz in table T.', '["zz","~",1]')],
    [['s', '<', 'a'], err('syntax error', 'Type mismatch: "<" operator may not be applied to column s of type string.', '["s","<","a"]')],
    [['b', '>=', true], err('syntax error', 'Type mismatch: ">=" operator may not be applied to column b of type boolean.', '["b",">=",true]')],
    [['u', '>', U(1)], err('syntax error', `Type mismatch: ">" operator may not be applied to column u of type uuid.`, `["u",">",["uuid","${u(1)}"]]`)],
    [['os', '<', 'x'], err('syntax error', 'Type mismatch: "<" operator may not be applied to column os of type set of up to 1 strings.', '["os","<","x"]')],
    [['iset', '<=', 1], err('syntax error', 'Type mismatch: "<=" operator may not be applied to column iset of type set of integers.', '["iset","<=",1]')],
    [['i12', '<', 1], err('syntax error', 'Type mismatch: "<" operator may not be applied to column i12 of type set of 1 to 2 integers.', '["i12","<",1]')],
    [['smap', '<', ['map', []]], err('syntax error', 'Type mismatch: "<" operator may not be applied to column smap of type map of (string, string) pairs.', '["smap","<",["map",[]]]')],
    [['i', '==', 'a'], err('syntax error', 'expected integer', '"a"')],
    [['r', '==', 'a'], err('syntax error', 'expected real', '"a"')],
    [['b', '==', 1], err('syntax error', 'expected boolean', '1')],
    [['s', '==', 1], err('syntax error', 'expected string', '1')],
    [['u', '==', 'x'], err('syntax error', 'expected ["uuid", <string>]', '"x"')],
    [['i', '==', ['set', [1, 2]]], err('syntax error', 'set must have exactly one member but 2 are present', '["set",[1,2]]')],
    [['oi', '<', ['set', []]], err('syntax error', 'set must have exactly one member but 0 are present', '["set",[]]')],
    [['i12', '==', ['set', []]], err('syntax error', 'set must have 1 to 2 members but 0 are present', '["set",[]]')],
    [['i12', 'includes', ['set', [1, 2, 3]]], err('syntax error', 'set must have 0 to 2 members but 3 are present', '["set",[1,2,3]]')],
    [['smap', 'excludes', ['set', ['a']]], err('syntax error', 'expected ["map", <array>]', '["set",["a"]]')],
    [['iset', 'includes', ['set', [1, 1]]], err('ovsdb error', 'set contains duplicate')],
    // Arguments are checked against the column's constraints (verified against ovsdb-server 3.1).
    [['pct', '==', 500], err('constraint violation', '500 is not in the valid range 0 to 100 (inclusive)')],
    [['pct', '<', 500], err('constraint violation', '500 is not in the valid range 0 to 100 (inclusive)')],
    [['pctset', 'excludes', 500], err('constraint violation', '500 is not in the valid range 0 to 100 (inclusive)')],
  ];
  it.each(cases.map(([c, e]) => [JSON.stringify(c), c, e]))('%s', (_name, clause, expected) => {
    expect(tx(db, [{ op: 'select', table: 'T', where: [clause], columns: ['i'] }])).toEqual([expected]);
  });
  it('a where that is not an array', () => {
    expect(tx(db, [{ op: 'select', table: 'T', where: 5 }])).toEqual([
      err('syntax error', "Parsing ovsdb operation 1 of 1 failed: Type mismatch for member 'where'.", '{"op":"select","table":"T","where":5}'),
    ]);
  });
  it('enum arguments are checked too', () => {
    expect(tx(db, [{ op: 'select', table: 'E', where: [['color', '!=', 'purple']] }])).toEqual([
      err('constraint violation', 'purple is not one of the allowed values ([blue, green, red])'),
    ]);
  });
});
