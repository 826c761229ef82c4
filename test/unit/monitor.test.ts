// Monitor replies and update notifications, v1/v2/v3, with the exact JSON the reference (OVS 3.1) sends.
import { describe, expect, it } from 'vitest';
import { parseJson, type JsonValue } from '../../schema/json.ts';
import { Fixture, take, txnId, U1, U2 } from './monitor-util.ts';

describe('initial contents', () => {
  it('v1 includes default values; v2 omits them; _version without a column list', () => {
    const f = new Fixture();
    f.insert('T', U1, { x: 1, name: 'a', tags: ['set', ['t1', 't2']] });
    const ver = f.version('T', U1);
    expect(f.monitor('m1', 1, { T: {} }).initial()).toEqual({
      T: {
        [U1]: {
          new: {
            _version: ['uuid', ver],
            x: 1,
            name: 'a',
            tags: ['set', ['t1', 't2']],
            opt: ['set', []],
            m: ['map', []],
            b: false,
          },
        },
      },
    });
    expect(f.monitor('m2', 2, { T: {} }).initial()).toEqual({
      T: { [U1]: { initial: { _version: ['uuid', ver], x: 1, name: 'a', tags: ['set', ['t1', 't2']] } } },
    });
    expect(f.monitor('m3', 3, { T: {} }).initial()).toEqual({
      T: { [U1]: { initial: { _version: ['uuid', ver], x: 1, name: 'a', tags: ['set', ['t1', 't2']] } } },
    });
  });

  it('columns [] still reports rows; _uuid may be listed', () => {
    const f = new Fixture();
    f.insert('T', U1, { x: 1 });
    const ver = f.version('T', U1);
    expect(f.monitor('a', 1, { T: { columns: [] }, C: [] }).initial()).toEqual({ T: { [U1]: { new: {} } } });
    expect(f.monitor('b', 2, { T: { columns: [] } }).initial()).toEqual({ T: { [U1]: { initial: {} } } });
    expect(f.monitor('c', 1, { T: { columns: ['_uuid', '_version', 'x'] } }).initial()).toEqual({
      T: { [U1]: { new: { _uuid: ['uuid', U1], _version: ['uuid', ver], x: 1 } } },
    });
  });

  it('select initial false, empty tables, and {} give nothing', () => {
    const f = new Fixture();
    f.insert('T', U1, { x: 1 });
    expect(f.monitor('a', 1, { T: { select: { initial: false } } }).initial()).toEqual({});
    expect(f.monitor('b', 2, { C: {} }).initial()).toEqual({});
    expect(f.monitor('c', 2, {}).initial()).toEqual({});
  });

  it('v2 conditions OR their clauses; [true] is all, [false] none', () => {
    const f = new Fixture();
    f.insert('T', U1, { x: 1, name: 'a' });
    f.insert('T', U2, { x: 2, name: 'b' });
    const init = (where: unknown) =>
      f.monitor(Math.random(), 2, { T: { columns: ['name'], where } } as never).initial();
    expect(init([['x', '==', 1], ['name', '==', 'b']])).toEqual({
      T: { [U1]: { initial: { name: 'a' } }, [U2]: { initial: { name: 'b' } } },
    });
    expect(init([['x', '==', 1], ['name', '==', 'zz']])).toEqual({ T: { [U1]: { initial: { name: 'a' } } } });
    expect(init([true])).toEqual({ T: { [U1]: { initial: { name: 'a' } }, [U2]: { initial: { name: 'b' } } } });
    expect(init([false])).toEqual({});
    expect(init([])).toEqual({ T: { [U1]: { initial: { name: 'a' } }, [U2]: { initial: { name: 'b' } } } });
  });

  it("a table's condition is its first request's where", () => {
    const f = new Fixture();
    f.insert('T', U1, { x: 1, name: 'a' });
    const init = (req: unknown) => f.monitor(Math.random(), 2, { T: req } as never).initial();
    expect(init([{ columns: ['x'], where: [['x', '==', 5]] }, { columns: ['name'], where: [['x', '==', 1]] }])).toEqual(
      {},
    );
    expect(init([{ columns: ['x'] }, { columns: ['name'], where: [['x', '==', 5]] }])).toEqual({
      T: { [U1]: { initial: { x: 1, name: 'a' } } },
    });
    expect(init([{ columns: ['x'], where: [['x', '==', 5]] }, { columns: ['name'] }])).toEqual({});
  });
});

describe('update notifications', () => {
  it('v1 insert / modify / delete with all columns', () => {
    const f = new Fixture();
    const m = f.monitor('full1', 1, { T: {} });
    f.insert('T', U1, { m: ['map', [['a', '1'], ['b', '2']]], opt: 3, tags: ['set', ['t1', 't2']] });
    const v1 = f.version('T', U1);
    expect(take(m)).toEqual([
      {
        id: null,
        method: 'update',
        params: [
          'full1',
          {
            T: {
              [U1]: {
                new: {
                  _version: ['uuid', v1],
                  x: 0,
                  name: '',
                  tags: ['set', ['t1', 't2']],
                  opt: 3,
                  m: ['map', [['a', '1'], ['b', '2']]],
                  b: false,
                },
              },
            },
          },
        ],
      },
    ]);
    f.update('T', U1, { m: ['map', [['b', '3'], ['c', '4']]], opt: ['set', []], tags: ['set', ['t2', 't3']], b: true, x: 7 });
    const v2 = f.version('T', U1);
    expect(take(m)).toEqual([
      {
        id: null,
        method: 'update',
        params: [
          'full1',
          {
            T: {
              [U1]: {
                new: {
                  _version: ['uuid', v2],
                  x: 7,
                  name: '',
                  tags: ['set', ['t2', 't3']],
                  opt: ['set', []],
                  m: ['map', [['b', '3'], ['c', '4']]],
                  b: true,
                },
                old: {
                  _version: ['uuid', v1],
                  x: 0,
                  tags: ['set', ['t1', 't2']],
                  opt: 3,
                  m: ['map', [['a', '1'], ['b', '2']]],
                  b: false,
                },
              },
            },
          },
        ],
      },
    ]);
    f.delete('T', U1);
    expect(take(m)).toEqual([
      {
        id: null,
        method: 'update',
        params: [
          'full1',
          {
            T: {
              [U1]: {
                old: {
                  _version: ['uuid', v2],
                  x: 7,
                  name: '',
                  tags: ['set', ['t2', 't3']],
                  opt: ['set', []],
                  m: ['map', [['b', '3'], ['c', '4']]],
                  b: true,
                },
              },
            },
          },
        ],
      },
    ]);
    expect(take(m)).toEqual([]);
  });

  it('v2 and v3 insert / modify (diffs) / delete; v3 carries the txn id', () => {
    const f = new Fixture();
    const m2 = f.monitor('full2', 2, { T: {} });
    const m3 = f.monitor('full3', 3, { T: {} });
    f.insert('T', U1, { m: ['map', [['a', '1'], ['b', '2']]], opt: 3, tags: ['set', ['t1', 't2']] });
    const v1 = f.version('T', U1);
    const insert = {
      T: {
        [U1]: {
          insert: { _version: ['uuid', v1], tags: ['set', ['t1', 't2']], opt: 3, m: ['map', [['a', '1'], ['b', '2']]] },
        },
      },
    };
    expect(take(m2)).toEqual([{ id: null, method: 'update2', params: ['full2', insert] }]);
    expect(take(m3)).toEqual([{ id: null, method: 'update3', params: ['full3', txnId(1), insert] }]);

    f.update('T', U1, { m: ['map', [['b', '3'], ['c', '4']]], opt: ['set', []], tags: ['set', ['t2', 't3']], b: true, x: 7 });
    const v2 = f.version('T', U1);
    const modify = {
      T: {
        [U1]: {
          modify: {
            _version: ['uuid', v2],
            x: 7,
            tags: ['set', ['t1', 't3']],
            opt: ['set', []],
            m: ['map', [['a', '1'], ['b', '3'], ['c', '4']]],
            b: true,
          },
        },
      },
    };
    expect(take(m2)).toEqual([{ id: null, method: 'update2', params: ['full2', modify] }]);
    expect(take(m3)).toEqual([{ id: null, method: 'update3', params: ['full3', txnId(2), modify] }]);

    f.delete('T', U1);
    const del = { T: { [U1]: { delete: null } } };
    expect(take(m2)).toEqual([{ id: null, method: 'update2', params: ['full2', del] }]);
    expect(take(m3)).toEqual([{ id: null, method: 'update3', params: ['full3', txnId(3), del] }]);
  });

  it('the notification text is compact and shaped as the reference sends it', () => {
    const f = new Fixture();
    const m = f.monitor(['m', 1], 3, { C: { columns: ['v'] } });
    f.insert('C', U1, { v: 5 });
    expect(m.takeUpdate()).toBe(
      `{"id":null,"method":"update3","params":[["m",1],"${txnId(1)}",{"C":{"${U1}":{"insert":{"v":5}}}}]}`,
    );
    expect(m.takeUpdate()).toBeNull();
  });

  it('changes confined to unmonitored columns send nothing; unmonitored tables neither', () => {
    const f = new Fixture();
    f.insert('T', U1, { x: 1, name: 'a' });
    const a = f.monitor('a', 1, { T: { columns: ['x'] } });
    const b = f.monitor('b', 2, { T: { columns: ['x'] } });
    f.update('T', U1, { name: 'b' });
    f.insert('C', U2, { v: 1 });
    expect(take(a)).toEqual([]);
    expect(take(b)).toEqual([]);
  });

  it('per-column select flags (v1: old lists only changed modify columns; v2: an empty modify)', () => {
    const f = new Fixture();
    f.insert('T', U1, { x: 1, name: 'a', tags: ['set', ['t1', 't2']] });
    const req: JsonValue = { T: [{ columns: ['x'], select: { modify: false } }, { columns: ['name', 'tags'] }] };
    const v1 = f.monitor('m1', 1, req);
    const v2 = f.monitor('m2', 2, req);
    expect(v1.initial()).toEqual({ T: { [U1]: { new: { x: 1, name: 'a', tags: ['set', ['t1', 't2']] } } } });
    expect(v2.initial()).toEqual({ T: { [U1]: { initial: { x: 1, name: 'a', tags: ['set', ['t1', 't2']] } } } });
    f.update('T', U1, { x: 5 });
    expect(take(v1)).toEqual([
      { id: null, method: 'update', params: ['m1', { T: { [U1]: { new: { name: 'a', tags: ['set', ['t1', 't2']] }, old: {} } } }] },
    ]);
    expect(take(v2)).toEqual([{ id: null, method: 'update2', params: ['m2', { T: { [U1]: { modify: {} } } }] }]);
    f.update('T', U1, { name: 'b' });
    expect(take(v1)).toEqual([
      {
        id: null,
        method: 'update',
        params: ['m1', { T: { [U1]: { new: { name: 'b', tags: ['set', ['t1', 't2']] }, old: { name: 'a' } } } }],
      },
    ]);
    expect(take(v2)).toEqual([{ id: null, method: 'update2', params: ['m2', { T: { [U1]: { modify: { name: 'b' } } } }] }]);
  });

  it('per-table select flags', () => {
    const f = new Fixture();
    const m = f.monitor('s', 2, { C: { select: { insert: false, modify: false } } });
    f.insert('C', U1, { v: 1 });
    f.update('C', U1, { v: 2 });
    expect(take(m)).toEqual([]);
    f.delete('C', U1);
    expect(take(m)).toEqual([{ id: null, method: 'update2', params: ['s', { C: { [U1]: { delete: null } } }] }]);
    const v1 = f.monitor('v1', 1, { C: { columns: ['v'], select: { delete: false } } });
    f.insert('C', U2, { v: 3 });
    expect(take(v1)).toEqual([{ id: null, method: 'update', params: ['v1', { C: { [U2]: { new: { v: 3 } } } }] }]);
    f.delete('C', U2);
    expect(take(v1)).toEqual([]);
  });

  it('insert columns follow the insert flag, delete the delete flag (v1)', () => {
    const f = new Fixture();
    const m = f.monitor('e', 1, { T: [{ columns: ['x'], select: { insert: false } }, { columns: ['name'], select: { delete: false } }] });
    f.insert('T', U1, { x: 1, name: 'a' });
    expect(take(m)).toEqual([{ id: null, method: 'update', params: ['e', { T: { [U1]: { new: { name: 'a' } } } }] }]);
    f.delete('T', U1);
    expect(take(m)).toEqual([{ id: null, method: 'update', params: ['e', { T: { [U1]: { old: { x: 1 } } } }] }]);
  });

  it('optional columns becoming empty, and defaults omitted from v2 inserts', () => {
    const f = new Fixture();
    const m = f.monitor('o', 2, { T: { columns: ['opt', 'x', 'b', 'name'] } });
    f.insert('T', U1, { opt: 4, x: 0, b: false, name: '' });
    expect(take(m)).toEqual([{ id: null, method: 'update2', params: ['o', { T: { [U1]: { insert: { opt: 4 } } } }] }]);
    f.update('T', U1, { opt: ['set', []], x: 2 });
    expect(take(m)).toEqual([
      { id: null, method: 'update2', params: ['o', { T: { [U1]: { modify: { opt: ['set', []], x: 2 } } } }] },
    ]);
    // A max-1 column's diff is its new value, even when that is the default.
    f.update('T', U1, { x: 0 });
    expect(take(m)).toEqual([{ id: null, method: 'update2', params: ['o', { T: { [U1]: { modify: { x: 0 } } } }] }]);
  });

  it('map diffs carry removed, added and changed pairs (changed with the new value)', () => {
    const f = new Fixture();
    const m = f.monitor('mp', 3, { T: { columns: ['m'] } });
    f.insert('T', U1, { m: ['map', [['a', '1'], ['b', '2'], ['k', 'same']]] });
    take(m);
    f.update('T', U1, { m: ['map', [['b', '9'], ['c', '3'], ['k', 'same']]] });
    expect(take(m)).toEqual([
      {
        id: null,
        method: 'update3',
        params: ['mp', txnId(2), { T: { [U1]: { modify: { m: ['map', [['a', '1'], ['b', '9'], ['c', '3']]] } } } }],
      },
    ]);
  });

  it('modifies crossing the condition become insert (full row) or delete', () => {
    const f = new Fixture();
    f.insert('T', U1, { x: 1, name: 'a' });
    const m = f.monitor('c', 2, { T: { columns: ['x', 'name', 'tags'], where: [['x', '==', 1]] } });
    f.update('T', U1, { x: 5 });
    expect(take(m)).toEqual([{ id: null, method: 'update2', params: ['c', { T: { [U1]: { delete: null } } }] }]);
    f.update('T', U1, { name: 'b' });
    expect(take(m)).toEqual([]);
    f.update('T', U1, { x: 1 });
    expect(take(m)).toEqual([
      { id: null, method: 'update2', params: ['c', { T: { [U1]: { insert: { x: 1, name: 'b' } } } }] },
    ]);
    f.update('T', U1, { name: 'c' });
    expect(take(m)).toEqual([{ id: null, method: 'update2', params: ['c', { T: { [U1]: { modify: { name: 'c' } } } }] }]);
    // Inserts and deletes outside the condition are not reported.
    f.insert('T', U2, { x: 9 });
    f.delete('T', U2);
    expect(take(m)).toEqual([]);
  });

  it('crossing into the condition with insert:false sends nothing; crossing out sends delete', () => {
    const f = new Fixture();
    f.insert('T', U1, { x: 1, name: 'a' });
    const m = f.monitor('m3', 2, { T: { where: [['x', '==', 5]], select: { insert: false } } });
    f.update('T', U1, { x: 5 });
    expect(take(m)).toEqual([]);
    f.update('T', U1, { name: 'b' });
    expect(take(m)).toEqual([
      {
        id: null,
        method: 'update2',
        params: ['m3', { T: { [U1]: { modify: { _version: ['uuid', f.version('T', U1)], name: 'b' } } } }],
      },
    ]);
    f.update('T', U1, { x: 1 });
    expect(take(m)).toEqual([{ id: null, method: 'update2', params: ['m3', { T: { [U1]: { delete: null } } }] }]);
  });

  it('one commit touching several tables gives one notification', () => {
    const f = new Fixture();
    const m = f.monitor('two', 2, { T: { columns: ['x'] }, C: { columns: ['v'] } });
    f.tx(
      { op: 'insert', table: 'T', uuid: U1, row: { x: 1 } },
      { op: 'insert', table: 'C', uuid: U2, row: { v: 2 } },
    );
    expect(take(m)).toEqual([
      { id: null, method: 'update2', params: ['two', { T: { [U1]: { insert: { x: 1 } } }, C: { [U2]: { insert: { v: 2 } } } }] },
    ]);
  });
});

describe('shared serialization', () => {
  it('monitors of one shape get the identical string; ids differ only in the envelope', () => {
    const f = new Fixture();
    const a = f.monitor('a', 2, { T: { columns: ['x', 'name'], where: [['x', '>', 0]] } });
    const b = f.monitor('b', 3, { T: { columns: ['name', 'x'], where: [['x', '>', 0], false] } });
    const c = f.monitor('c', 2, { T: { columns: ['x'] } });
    expect(f.set.size).toBe(3);
    expect(f.set.shapes).toBe(2);
    f.insert('T', U1, { x: 1, name: 'n' });
    const body = (s: string | null) => JSON.stringify((parseJson(s!) as { params: unknown[] }).params.at(-1));
    const ta = a.takeUpdate();
    const tb = b.takeUpdate();
    // Conditional monitors: the row object's members in the reference's hash order.
    expect(ta).toBe(`{"id":null,"method":"update2","params":["a",{"T":{"${U1}":{"insert":{"name":"n","x":1}}}}]}`);
    expect(tb).toBe(`{"id":null,"method":"update3","params":["b","${txnId(1)}",{"T":{"${U1}":{"insert":{"name":"n","x":1}}}}]}`);
    expect(body(ta)).toBe(body(tb));
    expect(c.takeUpdate()).toBe(`{"id":null,"method":"update2","params":["c",{"T":{"${U1}":{"insert":{"x":1}}}}]}`);
    f.set.remove(a);
    f.set.remove(c);
    expect(f.set.shapes).toBe(1);
    expect(f.set.size).toBe(1);
    f.update('T', U1, { x: 2 });
    expect(a.takeUpdate()).toBeNull();
    expect(b.hasUpdate).toBe(true);
  });
  it('monitors of one shape untaken over several commits share one merged body; one taken in between gets only the rest', () => {
    const f = new Fixture();
    const a = f.monitor('a', 2, { T: { columns: ['x'] } });
    const b = f.monitor('b', 2, { T: { columns: ['x'] } });
    const c = f.monitor('c', 2, { T: { columns: ['x'] } });
    f.insert('T', U1, { x: 1 });
    expect(c.takeUpdate()).toBe(`{"id":null,"method":"update2","params":["c",{"T":{"${U1}":{"insert":{"x":1}}}}]}`);
    f.update('T', U1, { x: 2 });
    f.insert('T', U2, { x: 3 });
    const merged = `{"T":{"${U1}":{"insert":{"x":2}},"${U2}":{"insert":{"x":3}}}}`;
    expect(a.takeUpdate()).toBe(`{"id":null,"method":"update2","params":["a",${merged}]}`);
    expect(b.takeUpdate()).toBe(`{"id":null,"method":"update2","params":["b",${merged}]}`);
    expect(c.takeUpdate()).toBe(
      `{"id":null,"method":"update2","params":["c",{"T":{"${U1}":{"modify":{"x":2}},"${U2}":{"insert":{"x":3}}}}]}`,
    );
    expect([a, b, c].map((m) => m.takeUpdate())).toEqual([null, null, null]);
  });
});

describe('backlog merging', () => {
  it('an untaken update merges with the next commits per row (first old, last new)', () => {
    const f = new Fixture();
    f.insert('T', U1, { x: 1, name: 'a' });
    const m = f.monitor('bk', 3, { T: { columns: ['x', 'name'] } });
    const v1 = f.monitor('bk1', 1, { T: { columns: ['x', 'name'] } });
    f.update('T', U1, { x: 2 });
    f.update('T', U1, { x: 3 });
    f.update('T', U1, { name: 'b' });
    expect(take(m)).toEqual([
      { id: null, method: 'update3', params: ['bk', txnId(4), { T: { [U1]: { modify: { x: 3, name: 'b' } } } }] },
    ]);
    expect(take(v1)).toEqual([
      {
        id: null,
        method: 'update',
        params: ['bk1', { T: { [U1]: { new: { x: 3, name: 'b' }, old: { x: 1, name: 'a' } } } }],
      },
    ]);
  });

  it('inserted then deleted disappears; changed and changed back reports nothing', () => {
    const f = new Fixture();
    f.insert('T', U1, { x: 1 });
    const m = f.monitor('bk', 2, { T: { columns: ['x'] } });
    f.insert('T', U2, { x: 7 });
    f.update('T', U1, { x: 2 });
    f.delete('T', U2);
    f.update('T', U1, { x: 1 });
    expect(m.hasUpdate).toBe(true);
    expect(take(m)).toEqual([]);
  });

  it('merged changes still cross conditions correctly', () => {
    const f = new Fixture();
    f.insert('T', U1, { x: 1 });
    const m = f.monitor('bk', 2, { T: { columns: ['x'], where: [['x', '==', 1]] } });
    f.update('T', U1, { x: 2 });
    f.insert('T', U2, { x: 5 });
    f.update('T', U2, { x: 1 });
    expect(take(m)).toEqual([
      { id: null, method: 'update2', params: ['bk', { T: { [U1]: { delete: null }, [U2]: { insert: { x: 1 } } } }] },
    ]);
  });

  it('a monitor with nothing pending gets the next commit unmerged', () => {
    const f = new Fixture();
    const m = f.monitor('bk', 2, { C: { columns: ['v'] } });
    f.insert('C', U1, { v: 1 });
    f.update('C', U1, { v: 2 });
    expect(take(m)).toEqual([{ id: null, method: 'update2', params: ['bk', { C: { [U1]: { insert: { v: 2 } } } }] }]);
    f.update('C', U1, { v: 3 });
    expect(take(m)).toEqual([{ id: null, method: 'update2', params: ['bk', { C: { [U1]: { modify: { v: 3 } } } }] }]);
  });

  it('discardUpdates drops the backlog', () => {
    const f = new Fixture();
    const m = f.monitor('bk', 2, { C: {} });
    f.insert('C', U1, { v: 1 });
    m.discardUpdates();
    expect(m.hasUpdate).toBe(false);
    expect(m.takeUpdate()).toBeNull();
  });
});
