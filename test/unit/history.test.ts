// The bounded commit history and monitor_cond_since replies.
import { describe, expect, it } from 'vitest';
import { ZERO_UUID } from '../../schema/atom.ts';
import { parseLastTxnId } from '../../server/monitor.ts';
import { errorOf, Fixture, txnId, U1, U2, U3 } from './monitor-util.ts';

describe('monitor_cond_since', () => {
  it('a database with no commits: latest is a fresh non-zero id (found, nothing after it); the zero uuid is never found', () => {
    const f = new Fixture();
    const m = f.monitor('s', 3, { T: { columns: ['x'] } });
    const start = f.history.latest;
    expect(start).not.toBe(ZERO_UUID);
    expect(m.sinceResult(f.history, ZERO_UUID)).toEqual([false, start, {}]);
    expect(m.sinceResult(f.history, start)).toEqual([true, start, {}]);
  });

  it('a disabled history (a relay of a source without ids) reports the zero uuid and finds nothing', () => {
    const f = new Fixture();
    f.insert('T', U1, { x: 1, name: 'a' });
    const m = f.monitor('s', 3, { T: { columns: ['x'] } });
    f.history.setEnabled(false);
    f.insert('T', U2, { x: 2, name: 'b' });
    expect(f.history.latest).toBe(ZERO_UUID);
    expect(m.sinceResult(f.history, txnId(2))[0]).toBe(false);
    expect(m.sinceResult(f.history, ZERO_UUID)[1]).toBe(ZERO_UUID);
  });

  it('unknown id → [false, latest, full initial contents]', () => {
    const f = new Fixture();
    f.insert('T', U1, { x: 1, name: 'a' });
    const m = f.monitor('s', 3, { T: { columns: ['x', 'name'] } });
    expect(m.sinceResult(f.history, ZERO_UUID)).toEqual([false, txnId(1), { T: { [U1]: { initial: { x: 1, name: 'a' } } } }]);
    expect(m.sinceResult(f.history, '12345678-1234-1234-1234-123456789abc')).toEqual([
      false,
      txnId(1),
      { T: { [U1]: { initial: { x: 1, name: 'a' } } } },
    ]);
  });

  it('known id → [true, latest, only the later changes as insert/modify/delete]', () => {
    const f = new Fixture();
    f.insert('T', U1, { x: 1, name: 'a' }); // 1
    f.insert('T', U2, { x: 2, name: 'b' }); // 2
    f.update('T', U1, { x: 10 }); // 3
    f.delete('T', U2); // 4
    f.insert('T', U3, { x: 3 }); // 5
    f.insert('C', U1, { v: 1 }); // 6: not monitored
    const m = f.monitor('s', 3, { T: { columns: ['x', 'name'] } });
    expect(m.sinceResult(f.history, txnId(6))).toEqual([true, txnId(6), {}]);
    expect(m.sinceResult(f.history, txnId(5))).toEqual([true, txnId(6), {}]);
    expect(m.sinceResult(f.history, txnId(2))).toEqual([
      true,
      txnId(6),
      { T: { [U1]: { modify: { x: 10 } }, [U2]: { delete: null }, [U3]: { insert: { x: 3 } } } },
    ]);
    // U2 inserted and deleted after txn 1: it does not appear.
    expect(m.sinceResult(f.history, txnId(1))).toEqual([
      true,
      txnId(6),
      { T: { [U1]: { modify: { x: 10 } }, [U3]: { insert: { x: 3 } } } },
    ]);
    // Uppercase ids are accepted.
    expect(m.sinceResult(f.history, txnId(5).toUpperCase())[0]).toBe(true);
  });

  it('changes are filtered by the conditions (crossing → insert/delete) and select flags', () => {
    const f = new Fixture();
    f.insert('T', U1, { x: 1, name: 'a' }); // 1
    f.insert('T', U2, { x: 5, name: 'b' }); // 2
    f.update('T', U1, { x: 5 }); // 3
    f.update('T', U2, { x: 6 }); // 4
    const m = f.monitor('s', 3, { T: { columns: ['x', 'name'], where: [['x', '==', 5]] } });
    expect(m.initial()).toEqual({ T: { [U1]: { initial: { x: 5, name: 'a' } } } });
    expect(m.sinceResult(f.history, txnId(2))).toEqual([
      true,
      txnId(4),
      { T: { [U1]: { insert: { x: 5, name: 'a' } }, [U2]: { delete: null } } },
    ]);
    const n = f.monitor('n', 3, { T: { columns: ['x'], select: { delete: false } } });
    expect(n.sinceResult(f.history, txnId(3))).toEqual([true, txnId(4), { T: { [U2]: { modify: { x: 6 } } } }]);
  });

  it('last-txn-id validation texts', () => {
    expect(errorOf(() => parseLastTxnId(5))).toEqual({
      error: 'syntax error',
      details: 'last-txn-id must be string',
      syntax: '5',
    });
    expect(errorOf(() => parseLastTxnId('zzz'))).toEqual({
      error: 'syntax error',
      details: 'last-txn-id must be UUID format.',
      syntax: '"zzz"',
    });
    expect(parseLastTxnId(txnId(1).toUpperCase())).toBe(txnId(1));
  });
});

describe('CommitHistory bounds', () => {
  it('keeps at most maxCommits commits', () => {
    const f = new Fixture({ maxCommits: 3 });
    for (let i = 1; i <= 5; i++) f.insert('C', `00000000-0000-0000-0000-00000000000${i}`, { v: i });
    expect(f.history.size).toBe(3);
    const m = f.monitor('s', 3, { C: {} });
    // Commits 3, 4, 5 are kept, so "after 2" is still answerable; "after 1" is not.
    expect(m.sinceResult(f.history, txnId(2))[0]).toBe(true);
    expect(Object.keys((m.sinceResult(f.history, txnId(2))[2] as { C: object }).C)).toHaveLength(3);
    expect(m.sinceResult(f.history, txnId(1))[0]).toBe(false);
  });

  it('keeps at most maxRowChanges row changes; a bigger commit empties the history', () => {
    const f = new Fixture({ maxRowChanges: 3 });
    const m = f.monitor('s', 3, { C: {} });
    const row = (i: number) => ({ op: 'insert', table: 'C', row: { v: i } });
    f.tx(row(1), row(2)); // 1: 2 changes
    f.tx(row(3)); // 2: 1 change
    expect(f.history.size).toBe(2);
    f.tx(row(4)); // 3: total would be 4 → commit 1 evicted
    expect(f.history.size).toBe(2);
    expect(m.sinceResult(f.history, txnId(1))[0]).toBe(true);
    expect(m.sinceResult(f.history, txnId(2))[0]).toBe(true);
    f.tx(row(5), row(6), row(7), row(8)); // 4: too big to keep
    expect(f.history.size).toBe(0);
    expect(m.sinceResult(f.history, txnId(3))[0]).toBe(false);
    expect(m.sinceResult(f.history, txnId(4))).toEqual([true, txnId(4), {}]);
    f.tx(row(9)); // 5
    const r = m.sinceResult(f.history, txnId(4));
    expect(r[0]).toBe(true);
    expect(Object.keys((r[2] as { C: object }).C)).toHaveLength(1);
  });

  it('keeps at most maxBytes of superseded values: inserts cost nothing, updates cost the values they replaced', () => {
    const f = new Fixture({ maxBytes: 10_000 });
    const m = f.monitor('s', 3, { T: { columns: ['name'] } });
    const big = (c: string) => c.repeat(4000);
    f.insert('T', U1, { name: big('a'), x: 1 }); // 1: an insert holds no old value
    expect(f.history.retainedBytes).toBe(0);
    f.update('T', U1, { name: big('b') }); // 2: holds the 4000-char 'a' value
    const one = f.history.retainedBytes;
    expect(one).toBeGreaterThan(4000);
    expect(one).toBeLessThan(4400);
    f.update('T', U1, { x: 2 }); // 3: only the integer changed; the name datum is shared, not counted
    expect(f.history.retainedBytes - one).toBeLessThan(200);
    f.update('T', U1, { name: big('c') }); // 4
    expect(f.history.size).toBe(4);
    f.update('T', U1, { name: big('d') }); // 5: over 10,000 → commit 1 and 2 evicted (2 held 'a')
    expect(f.history.retainedBytes).toBeLessThanOrEqual(10_000);
    expect(m.sinceResult(f.history, txnId(1))[0]).toBe(false);
    expect(m.sinceResult(f.history, txnId(2))).toEqual([true, txnId(5), { T: { [U1]: { modify: { name: big('d') } } } }]);
    f.update('T', U1, { name: 'x'.repeat(20_000) }); // 6: holds the 4000-char 'd' value
    f.update('T', U1, { name: 'y' }); // 7: would hold 20,000 chars → too big: the history is emptied
    expect(f.history.size).toBe(0);
    expect(f.history.retainedBytes).toBe(0);
    expect(m.sinceResult(f.history, txnId(6))[0]).toBe(false);
    expect(m.sinceResult(f.history, txnId(7))).toEqual([true, txnId(7), {}]);
    f.delete('T', U1); // 8: a delete holds the whole old row
    expect(f.history.retainedBytes).toBeGreaterThan(64);
  });

  it('clear() forgets every id, including the latest', () => {
    const f = new Fixture();
    f.insert('C', U1, { v: 1 });
    const m = f.monitor('s', 3, { C: { columns: ['v'] } });
    f.history.clear();
    const fresh = f.history.latest;
    expect(fresh).not.toBe(ZERO_UUID);
    expect(fresh).not.toBe(txnId(1));
    expect(m.sinceResult(f.history, txnId(1))).toEqual([false, fresh, { C: { [U1]: { initial: { v: 1 } } } }]);
  });

  it('many commits: eviction keeps working after the internal array is compacted', () => {
    const f = new Fixture({ maxCommits: 10 });
    for (let i = 0; i < 500; i++) f.tx({ op: 'insert', table: 'C', row: { v: i } });
    expect(f.history.size).toBe(10);
    const m = f.monitor('s', 3, { C: { columns: [] } });
    expect(m.sinceResult(f.history, txnId(490))[0]).toBe(true);
    expect(Object.keys((m.sinceResult(f.history, txnId(490))[2] as { C: object }).C)).toHaveLength(10);
    expect(m.sinceResult(f.history, txnId(489))[0]).toBe(false);
  });
});
