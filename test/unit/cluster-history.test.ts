// Transaction history of clustered (and relay) databases as the reference keeps it (raft.md §3.4):
// - bounded by atoms: commits are dropped from the front while more than 100 are kept or they hold more
//   atoms than the database, one always kept; a snapshot counts as one commit (memory/show's txn-history,
//   txn-history-atoms, atoms).
import { describe, expect, it } from 'vitest';
import { databaseAtoms } from '../../server/history.ts';
import { Fixture, txnId, U1, U2, U3 } from './monitor-util.ts';

describe('history bound by atoms (clustered and relay databases)', () => {
  it('keeps commits while they hold no more atoms than the database, and always the newest', () => {
    const f = new Fixture({ boundByAtoms: true });
    f.history.clear(txnId(0), f.db); // the (empty) snapshot: one commit of 0 atoms
    expect([f.history.size, f.history.atoms]).toEqual([1, 0]);
    f.insert('T', U1, { x: 1, name: 'a' }); // 2 + x + name (+ the other columns' atoms)
    const one = databaseAtoms(f.db);
    expect([f.history.size, f.history.atoms]).toEqual([2, one]);
    f.insert('T', U2, { x: 2, name: 'b' });
    expect([f.history.size, f.history.atoms]).toEqual([3, databaseAtoms(f.db)]);
    // An update counts its old and new rows (2 × one) and the database holds 2 × one: every older commit goes.
    f.update('T', U1, { x: 10 });
    expect([f.history.size, f.history.atoms]).toEqual([1, 2 * one]);
    f.delete('T', U1);
    f.delete('T', U2);
    // Deleting everything: the database has 0 atoms, the newest commit stays.
    expect(databaseAtoms(f.db)).toBe(0);
    expect([f.history.size, f.history.atoms]).toEqual([1, one]);
    const m = f.monitor('s', 3, { T: { columns: ['x'] } });
    expect(m.sinceResult(f.history, txnId(5))).toEqual([true, txnId(5), {}]);
    expect(m.sinceResult(f.history, txnId(4))[0]).toBe(true); // the base: everything after it is kept
    expect(m.sinceResult(f.history, txnId(2))[0]).toBe(false);
  });

  it('at most 100 commits', () => {
    const f = new Fixture({ boundByAtoms: true });
    f.insert('T', U3, { x: 0, name: 'a long name that holds the atoms up' });
    for (let i = 1; i <= 150; i++) f.insert('T', `0000${i.toString().padStart(4, '0')}-0000-0000-0000-000000000000`, { x: i });
    expect(f.history.size).toBe(100);
  });

  it('without the bound (standalone), atoms are not counted', () => {
    const f = new Fixture();
    f.insert('T', U1, { x: 1, name: 'a' });
    f.update('T', U1, { x: 2 });
    expect([f.history.size, f.history.atoms]).toEqual([2, 0]);
  });
});
