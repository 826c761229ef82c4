// Fan-out sharing: unsent updates of different shapes share one change run, and monitors that differ only in
// conditions share a composed text when those conditions select the same changed rows — never otherwise.
import { describe, expect, it } from 'vitest';
import { stringify, type JsonValue } from '../../schema/json.ts';
import { Fixture, take, txnId, U1, U2, U3 } from './monitor-util.ts';

const cond = (where: JsonValue[]): JsonValue => ({ T: [{ columns: ['x', 'name'], where }] });

describe('fan-out over shared change runs', () => {
  it('each conditional monitor gets exactly the rows its condition selects, in one update per burst', () => {
    const f = new Fixture();
    const a = f.monitor('a', 2, cond([['name', '==', 'a']]));
    const b = f.monitor('b', 2, cond([['name', '==', 'b']]));
    const all = f.monitor('all', 2, cond([['name', '!=', 'zzz']]));
    const notA = f.monitor('notA', 3, cond([['name', '!=', 'a']]));
    f.insert('T', U1, { x: 1, name: 'a' });
    f.insert('T', U2, { x: 2, name: 'b' });
    f.update('T', U1, { name: 'b' }); // leaves a and notA's complement
    expect(take(a)).toEqual([]); // inserted then moved out: the net change is nothing a reports
    expect(take(b)).toEqual([
      {
        id: null,
        method: 'update2',
        params: ['b', { T: { [U1]: { insert: { x: 1, name: 'b' } }, [U2]: { insert: { x: 2, name: 'b' } } } }],
      },
    ]);
    const both = { T: { [U2]: { insert: { name: 'b', x: 2 } }, [U1]: { insert: { name: 'b', x: 1 } } } };
    expect(stringify(take(all))).toBe(stringify([{ id: null, method: 'update2', params: ['all', both] }]));
    expect(stringify(take(notA))).toBe(stringify([{ id: null, method: 'update3', params: ['notA', txnId(3), both] }]));
  });

  it('same family, same selected rows: identical bodies; a different selection composes its own', () => {
    const f = new Fixture();
    const ms = [0, 1, 2].map((i) => f.monitor(`m${i}`, 2, cond([['name', '!=', `none${i}`]])));
    const only = f.monitor('only', 2, cond([['name', '==', 'c']]));
    f.insert('T', U1, { x: 1, name: 'c' });
    f.insert('T', U2, { x: 2, name: 'd' });
    const bodies = ms.map((m) => take(m).map((u) => stringify((u as { params: JsonValue[] }).params[1])));
    expect(new Set(bodies.map((b) => b.join())).size).toBe(1);
    expect(JSON.parse(bodies[0][0])).toEqual({ T: { [U1]: { insert: { x: 1, name: 'c' } }, [U2]: { insert: { x: 2, name: 'd' } } } });
    expect(take(only)).toEqual([{ id: null, method: 'update2', params: ['only', { T: { [U1]: { insert: { x: 1, name: 'c' } } } }] }]);
  });

  it('a monitor that took its update starts a new run; the others keep accumulating theirs', () => {
    const f = new Fixture();
    const early = f.monitor('early', 3, cond([['x', '>', 0]]));
    const late = f.monitor('late', 3, cond([['x', '>', 1]]));
    f.insert('T', U1, { x: 1, name: 'a' });
    expect(take(early)).toEqual([
      { id: null, method: 'update3', params: ['early', txnId(1), { T: { [U1]: { insert: { x: 1, name: 'a' } } } }] },
    ]);
    f.insert('T', U2, { x: 2, name: 'b' });
    f.delete('T', U1);
    f.insert('T', U3, { x: 3, name: 'c' });
    expect(take(early)).toEqual([
      {
        id: null,
        method: 'update3',
        params: ['early', txnId(4), { T: { [U1]: { delete: null }, [U2]: { insert: { x: 2, name: 'b' } }, [U3]: { insert: { x: 3, name: 'c' } } } }],
      },
    ]);
    expect(take(late)).toEqual([
      {
        id: null,
        method: 'update3',
        params: ['late', txnId(4), { T: { [U2]: { insert: { x: 2, name: 'b' } }, [U3]: { insert: { x: 3, name: 'c' } } } }],
      },
    ]);
  });
});
