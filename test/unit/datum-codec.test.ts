// Datum JSON codec (RFC 7047 §5.1, reference §3.5.12): canonical output, every input error, constraint
// messages, int64 boundaries, and datum diff / apply-diff round trips.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalInteger, checkAtom, compareAtoms, type Atom } from '../../schema/atom.ts';
import {
  datumApplyDiff,
  datumDiff,
  datumEquals,
  datumFromJson,
  datumToJson,
  datumToString,
  type Datum,
} from '../../schema/datum.ts';
import { OvsdbError } from '../../schema/error.ts';
import { parseJson, stringify, type JsonValue } from '../../schema/json.ts';
import { parseColumnType } from '../../schema/schema.ts';
import { ok, opsDb, tx, u } from './engine-helpers.ts';

const T = (json: JsonValue) => parseColumnType(json);
const INT = T('integer');
const ISET = T({ key: 'integer', min: 0, max: 'unlimited' });
const I12 = T({ key: 'integer', min: 1, max: 2 });
const SSET = T({ key: 'string', min: 0, max: 'unlimited' });
const SMAP = T({ key: 'string', value: 'string', min: 0, max: 'unlimited' });
const UUID = T('uuid');

/** The error a parse throws, as its JSON object. */
function parseError(type: ReturnType<typeof T>, json: JsonValue, opts = {}): JsonValue {
  try {
    datumFromJson(type, json, opts);
  } catch (e) {
    if (e instanceof OvsdbError) return e.toJson();
    throw e;
  }
  throw new Error(`no error for ${stringify(json)}`);
}
const canon = (type: ReturnType<typeof T>, json: JsonValue) => datumToJson(type, datumFromJson(type, json));

describe('datum output', () => {
  it('one-element sets are bare atoms, others ["set", sorted]; maps always ["map", sorted]', () => {
    expect(canon(ISET, ['set', [3]])).toEqual(3);
    expect(canon(ISET, 3)).toEqual(3);
    expect(canon(ISET, ['set', []])).toEqual(['set', []]);
    expect(canon(ISET, ['set', [3, -1, 2]])).toEqual(['set', [-1, 2, 3]]);
    expect(canon(INT, ['set', [5]])).toEqual(5); // ["set", [...]] accepted for a scalar
    expect(canon(SMAP, ['map', []])).toEqual(['map', []]);
    expect(canon(SMAP, ['map', [['b', '1'], ['a', '2']]])).toEqual(['map', [['a', '2'], ['b', '1']]]);
    expect(canon(UUID, ['uuid', 'ABCDEF01-2345-6789-ABCD-EF0123456789'])).toEqual(['uuid', 'abcdef01-2345-6789-abcd-ef0123456789']);
  });
  it('sort order: numbers numerically, false < true, strings by UTF-8 bytes, uuids by hex', () => {
    expect(canon(T({ key: 'real', min: 0, max: 'unlimited' }), ['set', [2.5, -1, 10, 0.5]])).toEqual(['set', [-1, 0.5, 2.5, 10]]);
    expect(canon(T({ key: 'boolean', min: 0, max: 2 }), ['set', [true, false]])).toEqual(['set', [false, true]]);
    expect(canon(SSET, ['set', ['b', 'B', 'a', '', 'é', '\uffff', '\u{10000}']])).toEqual([
      'set',
      ['', 'B', 'a', 'b', 'é', '\uffff', '\u{10000}'],
    ]);
    const uuids = ['f0000000-0000-0000-0000-000000000000', u(2), '10000000-0000-0000-0000-000000000000', u(1)];
    expect(canon(T({ key: 'uuid', min: 0, max: 'unlimited' }), ['set', uuids.map((x) => ['uuid', x])])).toEqual([
      'set',
      [u(1), u(2), '10000000-0000-0000-0000-000000000000', 'f0000000-0000-0000-0000-000000000000'].map((x) => ['uuid', x]),
    ]);
    expect(['b', 'a', '\u{10000}', '\uffff'].sort(compareAtoms)).toEqual(['a', 'b', '\uffff', '\u{10000}']);
  });
  it('datumToString as OVS prints values in messages', () => {
    expect(datumToString(INT, datumFromJson(INT, 5))).toBe('5');
    expect(datumToString(ISET, datumFromJson(ISET, ['set', [1, 2]]))).toBe('[1, 2]');
    expect(datumToString(ISET, datumFromJson(ISET, 1))).toBe('[1]');
    expect(datumToString(SMAP, datumFromJson(SMAP, ['map', [['a', 'x y'], ['', 'b']]]))).toBe('{""=b, a="x y"}');
    expect(datumToString(T('string'), datumFromJson(T('string'), 'true'))).toBe('"true"');
    expect(datumToString(T('real'), datumFromJson(T('real'), 0.1))).toBe('0.1');
  });
});

describe('datum input errors', () => {
  const cases: [string, ReturnType<typeof T>, JsonValue, JsonValue][] = [
    ['duplicate set element', SSET, ['set', ['a', 'a']], { error: 'ovsdb error', details: 'set contains duplicate' }],
    ['duplicate map key', SMAP, ['map', [['a', 'x'], ['a', 'y']]], { error: 'ovsdb error', details: 'map contains duplicate key' }],
    ['set too large', I12, ['set', [1, 2, 3]], { error: 'syntax error', details: 'set must have 1 to 2 members but 3 are present', syntax: '["set",[1,2,3]]' }],
    ['set too small', I12, ['set', []], { error: 'syntax error', details: 'set must have 1 to 2 members but 0 are present', syntax: '["set",[]]' }],
    ['scalar given empty set', INT, ['set', []], { error: 'syntax error', details: 'set must have exactly one member but 0 are present', syntax: '["set",[]]' }],
    [
      'map of 1..2 given 3 pairs',
      T({ key: 'string', value: 'integer', min: 1, max: 2 }),
      ['map', [['a', 1], ['b', 2], ['c', 3]]],
      { error: 'syntax error', details: 'map must have 1 to 2 members but 3 are present', syntax: '["map",[["a",1],["b",2],["c",3]]]' },
    ],
    ['map given a set', SMAP, ['set', []], { error: 'syntax error', details: 'expected ["map", <array>]', syntax: '["set",[]]' }],
    ['map given an object', SMAP, { a: 'b' }, { error: 'syntax error', details: 'expected ["map", <array>]', syntax: '{"a":"b"}' }],
    ['bad map pair', SMAP, ['map', [['a']]], { error: 'syntax error', details: 'expected 2-element array', syntax: '["a"]' }],
    ['bad uuid', UUID, ['uuid', 'bad'], { error: 'syntax error', details: '"bad" is not a valid UUID', syntax: '["uuid","bad"]' }],
    ['uuid as a string', UUID, u(1), { error: 'syntax error', details: 'expected ["uuid", <string>]', syntax: `"${u(1)}"` }],
    ['named-uuid outside a transaction', UUID, ['named-uuid', 'x'], { error: 'syntax error', details: 'expected ["uuid", <string>]', syntax: '["named-uuid","x"]' }],
    ['integer given a real', INT, 1.5, { error: 'syntax error', details: 'expected integer', syntax: '1.5' }],
    ['integer given a string', INT, '1', { error: 'syntax error', details: 'expected integer', syntax: '"1"' }],
    ['real given a boolean', T('real'), true, { error: 'syntax error', details: 'expected real', syntax: 'true' }],
    ['boolean given 0', T('boolean'), 0, { error: 'syntax error', details: 'expected boolean', syntax: '0' }],
    ['string given null', T('string'), null, { error: 'syntax error', details: 'expected string', syntax: 'null' }],
    ['set element of wrong type', ISET, ['set', [1, 'x']], { error: 'syntax error', details: 'expected integer', syntax: '"x"' }],
    ['malformed set', ISET, ['set', 5], { error: 'syntax error', details: 'expected ["set", <array>]', syntax: '["set",5]' }],
  ];
  it.each(cases)('%s', (_n, type, json, expected) => {
    expect(parseError(type, json)).toEqual(expected);
  });
  it('named-uuid must be an <id> (inside a transaction)', () => {
    const db = opsDb();
    expect(tx(db, [{ op: 'insert', table: 'T', row: { u: ['named-uuid', '1x'] } }])).toEqual([
      { error: 'syntax error', details: 'named-uuid string is not a valid <id>', syntax: '["named-uuid","1x"]' },
    ]);
  });
});

describe('constraint messages', () => {
  const check = (base: JsonValue, json: JsonValue) => parseError(T({ key: base, min: 0, max: 'unlimited' }), json);
  const cv = (details: string) => ({ error: 'constraint violation', details });
  it('integer and real ranges', () => {
    expect(check({ type: 'integer', minInteger: 0, maxInteger: 100 }, 500)).toEqual(cv('500 is not in the valid range 0 to 100 (inclusive)'));
    expect(check({ type: 'integer', minInteger: 10 }, 3)).toEqual(cv('3 is less than minimum allowed value 10'));
    expect(check({ type: 'integer', maxInteger: 5 }, 6)).toEqual(cv('6 is greater than maximum allowed value 5'));
    expect(check({ type: 'real', minReal: 0.5, maxReal: 1.5 }, 2)).toEqual(cv('2 is not in the valid range 0.5 to 1.5 (inclusive)'));
    expect(check({ type: 'real', minReal: -1.25 }, -2)).toEqual(cv('-2 is less than minimum allowed value -1.25'));
    expect(check({ type: 'real', maxReal: 0.1 }, 1 / 3)).toEqual(cv('0.333333333333333 is greater than maximum allowed value 0.1'));
    expect(check({ type: 'integer', maxInteger: 9007199254740993n }, 9007199254740994n)).toEqual(
      cv('9007199254740994 is greater than maximum allowed value 9007199254740993'),
    );
  });
  it('string lengths count UTF-8 characters', () => {
    expect(check({ type: 'string', minLength: 2, maxLength: 5 }, 'a')).toEqual(cv('"a" length 1 is less than minimum allowed length 2'));
    expect(check({ type: 'string', maxLength: 3 }, 'abcd')).toEqual(cv('"abcd" length 4 is greater than maximum allowed length 3'));
    expect(canon(T({ key: { type: 'string', maxLength: 3 } }), 'é€😀')).toEqual('é€😀');
    expect(check({ type: 'string', maxLength: 2 }, 'é€😀')).toEqual(cv('"é€😀" length 3 is greater than maximum allowed length 2'));
  });
  it('invalid UTF-8 (lone surrogates)', () => {
    expect(check('string', '\ud800x')).toMatchObject({ error: 'constraint violation', details: expect.stringMatching(/^not a valid UTF-8 string: /) });
  });
  it('enums quote only strings that need it', () => {
    const e = { type: 'string', enum: ['set', ['blue', 'green', 'c d', '']] };
    expect(check(e, 'purple')).toEqual(cv('purple is not one of the allowed values (["", blue, "c d", green])'));
    expect(check(e, 'x y')).toEqual(cv('"x y" is not one of the allowed values (["", blue, "c d", green])'));
    expect(check({ type: 'integer', enum: ['set', [10, 0, 5]] }, 7)).toEqual(cv('7 is not one of the allowed values ([0, 5, 10])'));
    expect(check({ type: 'string', enum: 'only' }, 'other')).toEqual(cv('other is not one of the allowed values ([only])'));
  });
  it('constraints can be skipped (condition relaxations use the flag)', () => {
    const t = T({ key: { type: 'integer', maxInteger: 5 } });
    expect(datumToJson(t, datumFromJson(t, 9, { checkConstraints: false }))).toBe(9);
    expect(() => checkAtom(t.key, 9)).toThrow(OvsdbError);
  });
});

describe('int64 integers (bigint beyond 2^53)', () => {
  it('canonical form: number when safe, bigint otherwise, undefined outside int64', () => {
    expect(canonicalInteger(9007199254740991)).toBe(9007199254740991);
    expect(canonicalInteger(9007199254740992)).toBe(9007199254740992n);
    expect(canonicalInteger(9007199254740993n)).toBe(9007199254740993n);
    expect(canonicalInteger(42n)).toBe(42);
    expect(canonicalInteger(-0)).toBe(0);
    expect(canonicalInteger(9223372036854775807n)).toBe(9223372036854775807n);
    expect(canonicalInteger(-9223372036854775808n)).toBe(-9223372036854775808n);
    expect(canonicalInteger(9223372036854775808n)).toBeUndefined();
    expect(canonicalInteger(-9223372036854775809n)).toBeUndefined();
    expect(canonicalInteger(2 ** 63)).toBeUndefined();
    expect(canonicalInteger(1.5)).toBeUndefined();
  });
  it('the int64 extremes round-trip through a transaction exactly', () => {
    const db = opsDb();
    const texts = ['9223372036854775807', '-9223372036854775808', '9007199254740993', '-9007199254740993', '9007199254740991'];
    for (const [n, text] of texts.entries()) {
      ok(db, [{ op: 'insert', table: 'T', uuid: u(n + 1), row: { i: parseJson(text), iset: parseJson(`["set",[${text},0]]`) } }]);
    }
    const r = tx(db, [{ op: 'select', table: 'T', where: [], columns: ['i', 'iset'], sort: ['i'] }]);
    expect(stringify(r)).toBe(
      '[{"rows":[' +
        '{"i":-9223372036854775808,"iset":["set",[-9223372036854775808,0]]},' +
        '{"i":-9007199254740993,"iset":["set",[-9007199254740993,0]]},' +
        '{"i":9007199254740991,"iset":["set",[0,9007199254740991]]},' +
        '{"i":9007199254740993,"iset":["set",[0,9007199254740993]]},' +
        '{"i":9223372036854775807,"iset":["set",[0,9223372036854775807]]}]}]',
    );
    expect(tx(db, [{ op: 'select', table: 'T', where: [['i', '>', 9007199254740992n]], columns: ['i'], sort: ['i'] }])).toEqual([
      { rows: [{ i: 9007199254740993n }, { i: 9223372036854775807n }] },
    ]);
  });
  it('integers beyond int64 are rejected', () => {
    // As the wire delivers them (a literal outside int64 is a double), with the reference's texts.
    const wire = (text: string) => parseError(INT, parseJson(text));
    expect(wire('9223372036854775808')).toEqual({ error: 'syntax error', details: 'expected integer', syntax: '9.22337203685478e+18' });
    expect(wire('-9223372036854775809')).toEqual({ error: 'syntax error', details: 'expected integer', syntax: '-9.22337203685478e+18' });
    expect(wire('1e19')).toEqual({ error: 'syntax error', details: 'expected integer', syntax: '1e+19' });
    expect(canonicalInteger(9223372036854775808n)).toBeUndefined();
  });
  it('reals accept integers and keep 15 significant digits', () => {
    const R = T('real');
    expect(canon(R, 3)).toBe(3);
    expect(canon(R, 9007199254740993n)).toBe(9007199254740990);
    expect(canon(R, 0.1 + 0.2)).toBe(0.3);
  });
});

// ---------------------------------------------------------------------------------------------------------
// diff / apply-diff (update2 and file records)

const atomArb = fc.integer({ min: -5, max: 5 });
const setArb = fc.uniqueArray(atomArb, { maxLength: 8 }).map((a): Datum => ({ keys: a.slice().sort(compareAtoms) }));
const mapArb = fc
  .uniqueArray(fc.tuple(atomArb, fc.constantFrom('a', 'b', 'c')), { maxLength: 8, selector: (p) => p[0] })
  .map((pairs): Datum => {
    const s = pairs.slice().sort((x, y) => x[0] - y[0]);
    return { keys: s.map((p) => p[0]), values: s.map((p) => p[1] as Atom) };
  });
const SETT = T({ key: 'integer', min: 0, max: 'unlimited' });
const MAPT = T({ key: 'integer', value: 'string', min: 0, max: 'unlimited' });
const OPT = T({ key: 'integer', min: 0, max: 1 });

describe('datum diff and apply-diff', () => {
  it('examples', () => {
    const s = (...k: number[]): Datum => ({ keys: k });
    expect(datumDiff(SETT, s(1, 2, 3), s(2, 3, 4))).toEqual(s(1, 4));
    expect(datumApplyDiff(SETT, s(1, 2, 3), s(1, 4))).toEqual(s(2, 3, 4));
    const m = (...p: [number, string][]): Datum => ({ keys: p.map((x) => x[0]), values: p.map((x) => x[1]) });
    expect(datumDiff(MAPT, m([1, 'a'], [2, 'b']), m([2, 'c'], [3, 'd']))).toEqual(m([1, 'a'], [2, 'c'], [3, 'd']));
    expect(datumApplyDiff(MAPT, m([1, 'a'], [2, 'b']), m([1, 'a'], [2, 'c'], [3, 'd']))).toEqual(m([2, 'c'], [3, 'd']));
    // Scalars and optional scalars: the diff is the new value.
    expect(datumDiff(INT, s(1), s(2))).toEqual(s(2));
    expect(datumDiff(OPT, s(1), s())).toEqual(s());
  });
  it('apply(old, diff(old, new)) == new for sets', () => {
    fc.assert(
      fc.property(setArb, setArb, (a, b) => datumEquals(datumApplyDiff(SETT, a, datumDiff(SETT, a, b)), b)),
      { seed: 7, numRuns: 500 },
    );
  });
  it('apply(old, diff(old, new)) == new for maps', () => {
    fc.assert(
      fc.property(mapArb, mapArb, (a, b) => {
        const got = datumApplyDiff(MAPT, a, datumDiff(MAPT, a, b));
        return datumEquals(got, b) && got.values !== undefined;
      }),
      { seed: 7, numRuns: 500 },
    );
  });
  it('the diff of equal values is empty (for sets and maps), and round-trips through JSON', () => {
    fc.assert(
      fc.property(setArb, mapArb, (s, m) => {
        const ds = datumDiff(SETT, s, s);
        const dm = datumDiff(MAPT, m, m);
        const back = datumFromJson(MAPT, datumToJson(MAPT, m));
        return ds.keys.length === 0 && dm.keys.length === 0 && datumEquals(back, m);
      }),
      { seed: 7, numRuns: 300 },
    );
  });
});
