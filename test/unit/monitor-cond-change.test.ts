// monitor_cond_change: validation texts, condition swaps, and the insert/delete update they produce.
import { describe, expect, it } from 'vitest';
import { stringify, type JsonValue } from '../../schema/json.ts';
import { errorOf, Fixture, take, txnId, U1, U2 } from './monitor-util.ts';

function setup() {
  const f = new Fixture();
  f.insert('T', U1, { x: 1, name: 'a' });
  f.insert('T', U2, { x: 2, name: 'b', tags: 'q' });
  const m = f.monitor('a1', 2, { T: [{ columns: ['x'], where: [['x', '==', 1]] }] });
  return { f, m };
}

describe('monitor_cond_change errors', () => {
  const { m } = setup();
  const err = (req: JsonValue) => errorOf(() => m.changeConditions(req));

  it('requests must be an object (no syntax)', () => {
    expect(err([])).toEqual({ error: 'syntax error', details: 'monitor-cond-change-requests must be object' });
  });
  it('unknown and unmonitored tables', () => {
    expect(err({ Nope: [{ where: [] }] })).toEqual({ error: 'syntax error', details: 'no table named Nope' });
    expect(err({ C: [{ where: [] }] })).toEqual({ error: 'syntax error', details: 'no table named C in monitor session' });
  });
  it('the value must be an array', () => {
    expect(err({ T: { where: [] } })).toEqual({
      error: 'syntax error',
      details: 'table T no monitor-cond-change JSON array',
    });
  });
  it('elements must be objects with only columns and where', () => {
    expect(err({ T: [5] })).toEqual({ error: 'syntax error', details: 'Parsing table T failed: Object expected.' });
    expect(err({ T: [{ bogus: 1 }] })).toEqual({
      error: 'syntax error',
      details: "Parsing table T failed: Member 'bogus' is present but not allowed here.",
      syntax: '{"bogus":1}',
    });
    expect(err({ T: [{ where: [['x', '==', 1]], select: {} }] })).toEqual({
      error: 'syntax error',
      details: "Parsing table T failed: Member 'select' is present but not allowed here.",
      syntax: '{"select":{},"where":[["x","==",1]]}',
    });
    expect(err({ T: [{ columns: 5, where: 5 }] })).toEqual({
      error: 'syntax error',
      details: "Parsing table T failed: Type mismatch for member 'columns'.",
      syntax: '{"columns":5,"where":5}',
    });
    expect(err({ T: [{ where: 5, columns: [] }] })).toEqual({
      error: 'syntax error',
      details: "Parsing table T failed: Type mismatch for member 'where'.",
      syntax: '{"columns":[],"where":5}',
    });
  });
  it('changing columns is unsupported, even to the same list', () => {
    expect(err({ T: [{ columns: ['x'], where: [true] }] })).toEqual({
      error: 'syntax error',
      details: 'changing columns is unsupported',
      syntax: '{"columns":["x"],"where":[true]}',
    });
    expect(err({ T: [{ where: [['zz', '==', 1]], columns: [] }] })).toEqual({
      error: 'syntax error',
      details: 'changing columns is unsupported',
      syntax: '{"columns":[],"where":[["zz","==",1]]}',
    });
  });
  it('where clause errors', () => {
    expect(err({ T: [{ where: [['zz', '==', 1]] }] })).toEqual({
      error: 'unknown column',
      details: 'No column zz in table T.',
      syntax: '["zz","==",1]',
    });
    expect(err({ T: [{ where: [['x', '~', 1]] }] })).toEqual({
      error: 'unknown function',
      details: 'No function named ~.',
    });
  });
  it('table names first, then each entry in order', () => {
    const f = new Fixture();
    const d = f.monitor('d', 2, { C: {}, T: { columns: ['x'] } });
    expect(errorOf(() => d.changeConditions({ C: [{ where: [['zz', '==', 1]] }], T: 5 }))).toEqual({
      error: 'unknown column',
      details: 'No column zz in table C.',
      syntax: '["zz","==",1]',
    });
    // Table names are all checked first.
    expect(errorOf(() => d.changeConditions({ C: [{ where: [['zz', '==', 1]] }], Nope: 5 }))).toEqual({
      error: 'syntax error',
      details: 'no table named Nope',
    });
    const t = f.monitor('t', 2, { T: { columns: ['x'] } });
    expect(errorOf(() => t.changeConditions({ T: [{ where: [['zz', '==', 1]] }], C: [] }))).toEqual({
      error: 'syntax error',
      details: 'no table named C in monitor session',
    });
    expect(errorOf(() => t.changeConditions({ T: [5], Nope: [] }))).toEqual({
      error: 'syntax error',
      details: 'no table named Nope',
    });
  });
  it('nothing changes on error', () => {
    const { f, m } = setup();
    const key = m.spec.shapeKey;
    errorOf(() => m.changeConditions({ T: [{ where: [false] }], Nope: [] }));
    expect(m.spec.shapeKey).toBe(key);
    expect(f.set.shapes).toBe(1);
  });
});

describe('monitor_cond_change updates', () => {
  it('rows leaving are deleted, rows entering are inserted with their non-default columns', () => {
    const { f, m } = setup();
    expect(m.initial()).toEqual({ T: { [U1]: { initial: { x: 1 } } } });
    expect(m.changeConditions({ T: [{ where: [false] }] })).toEqual({ T: { [U1]: { delete: null } } });
    // An empty array changes nothing.
    expect(m.changeConditions({ T: [] })).toBeNull();
    // The last element wins.
    expect(m.changeConditions({ T: [{ where: [true] }, { where: [false] }] })).toBeNull();
    expect(m.changeConditions({ T: [{ where: [false] }, { where: [['x', '==', 2]] }] })).toEqual({
      T: { [U2]: { insert: { x: 2 } } },
    });
    expect(m.changeConditions({ T: [{ where: [['x', '==', 1]] }] })).toEqual({
      T: { [U1]: { insert: { x: 1 } }, [U2]: { delete: null } },
    });
    // The same condition again: nothing.
    expect(m.changeConditions({ T: [{ where: [['x', '==', 1]] }] })).toBeNull();
    expect(f.set.shapes).toBe(1);
  });

  it('a missing where means all rows (the reference crashes here)', () => {
    const { m } = setup();
    expect(m.changeConditions({ T: [{}] })).toEqual({ T: { [U2]: { insert: { x: 2 } } } });
  });

  it('the new conditions govern later commits; the monitor moves to its new shape', () => {
    const { f, m } = setup();
    const other = f.monitor('o', 2, { T: [{ columns: ['x'], where: [['x', '==', 2]] }] });
    expect(f.set.shapes).toBe(2);
    m.changeConditions({ T: [{ where: [['x', '==', 2]] }] });
    expect(f.set.shapes).toBe(1);
    f.update('T', U2, { x: 3 });
    expect(m.takeUpdate()).toBe(`{"id":null,"method":"update2","params":["a1",{"T":{"${U2}":{"delete":null}}}]}`);
    expect(other.takeUpdate()).toBe(`{"id":null,"method":"update2","params":["o",{"T":{"${U2}":{"delete":null}}}]}`);
  });

  it('message() uses the renamed id; v3 carries the given txn id', () => {
    const f = new Fixture();
    f.insert('T', U1, { x: 1 });
    const m = f.monitor('old', 3, { T: { columns: ['x'], where: [false] } });
    const body = m.changeConditions({ T: [{ where: [] }] });
    m.rename('new');
    expect(m.message(stringify(body!), f.history.latest)).toBe(
      `{"id":null,"method":"update3","params":["new","${txnId(1)}",{"T":{"${U1}":{"insert":{"x":1}}}}]}`,
    );
    expect(m.id).toBe('new');
  });

  it('insert/delete select flags govern condition-change updates too', () => {
    const f = new Fixture();
    f.insert('T', U1, { x: 1, name: 'a' });
    const d = f.monitor('d', 2, { T: { columns: ['x'], select: { insert: false, delete: false, initial: false } } });
    expect(d.changeConditions({ T: [{ where: [false] }] })).toBeNull();
    expect(d.changeConditions({ T: [{ where: [true] }] })).toBeNull();
    const e = f.monitor('e', 2, { T: [{ columns: ['x'], select: { insert: false } }, { columns: ['name'], select: { initial: false } }] });
    expect(e.changeConditions({ T: [{ where: [false] }] })).toEqual({ T: { [U1]: { delete: null } } });
    expect(e.changeConditions({ T: [{ where: [true] }] })).toEqual({ T: { [U1]: { insert: { name: 'a' } } } });
  });

  it('v1 monitors validate everything but the clauses, and change nothing', () => {
    const f = new Fixture();
    f.insert('T', U1, { x: 1 });
    const v1 = f.monitor('v1', 1, { T: [{ columns: ['x'] }] });
    expect(v1.changeConditions({ T: [{ where: [['zz', '==', 1]] }] })).toBeNull();
    expect(errorOf(() => v1.changeConditions({ C: [{ where: [] }] }))).toEqual({
      error: 'syntax error',
      details: 'no table named C in monitor session',
    });
    expect(errorOf(() => v1.changeConditions({ T: 5 }))).toEqual({
      error: 'syntax error',
      details: 'table T no monitor-cond-change JSON array',
    });
    expect(errorOf(() => v1.changeConditions({ T: [{ columns: [] }] }))).toEqual({
      error: 'syntax error',
      details: 'changing columns is unsupported',
      syntax: '{"columns":[]}',
    });
  });

  it('an unsent update computed under the old conditions is kept and sent first', () => {
    const { f, m } = setup();
    f.update('T', U1, { x: 5 });
    f.update('T', U1, { x: 1 });
    f.update('T', U1, { x: 6 }); // merged backlog: U1 left the condition
    const body = m.changeConditions({ T: [{ where: [['x', '==', 2]] }] });
    expect(body).toEqual({ T: { [U2]: { insert: { x: 2 } } } });
    expect(take(m)).toEqual([{ id: null, method: 'update2', params: ['a1', { T: { [U1]: { delete: null } } }] }]);
    f.update('T', U2, { x: 7 });
    expect(take(m)).toEqual([{ id: null, method: 'update2', params: ['a1', { T: { [U2]: { delete: null } } }] }]);
  });
});
