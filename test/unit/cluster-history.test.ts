// Transaction history of clustered (and relay) databases as the reference keeps it (raft.md §3.4):
// - bounded by atoms: commits are dropped from the front while more than 100 are kept or they hold more
//   atoms than the database, one always kept; a snapshot counts as one commit (memory/show's txn-history,
//   txn-history-atoms, atoms);
// - after a restart the history is rebuilt from the snapshot and the committed log entries, so a client can
//   resume from an id older than the newest.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ClusterLog, createClusterHeader } from '../../raft/log.ts';
import type { LogRecord } from '../../raft/types.ts';
import type { JsonValue } from '../../schema/json.ts';
import { ClusteredDatabase } from '../../storage/clustered.ts';
import type { Commit, Database } from '../../storage/database.ts';
import { CommitHistory } from '../../server/history.ts';
import { Fixture, txnId, U1, U2, U3 } from './monitor-util.ts';

describe('history bound by atoms (clustered and relay databases)', () => {
  it('keeps commits while they hold no more atoms than the database, and always the newest', () => {
    const f = new Fixture({}, true);
    f.history.clear(txnId(0), f.db.atoms); // the (empty) snapshot: one commit of 0 atoms
    expect([f.history.size, f.history.atoms()]).toEqual([1, 0]);
    f.insert('T', U1, { x: 1, name: 'a' }); // 2 + x + name (+ the other columns' atoms)
    const one = f.db.atoms;
    expect([f.history.size, f.history.atoms()]).toEqual([2, one]);
    f.insert('T', U2, { x: 2, name: 'b' });
    expect([f.history.size, f.history.atoms()]).toEqual([3, f.db.atoms]);
    // An update counts its old and new rows (2 × one) and the database holds 2 × one: every older commit goes.
    f.update('T', U1, { x: 10 });
    expect([f.history.size, f.history.atoms()]).toEqual([1, 2 * one]);
    f.delete('T', U1);
    f.delete('T', U2);
    // Deleting everything: the database has 0 atoms, the newest commit stays.
    expect(f.db.atoms).toBe(0);
    expect([f.history.size, f.history.atoms()]).toEqual([1, one]);
    const m = f.monitor('s', 3, { T: { columns: ['x'] } });
    expect(m.sinceResult(f.history, txnId(5))).toEqual([true, txnId(5), {}]);
    expect(m.sinceResult(f.history, txnId(4))[0]).toBe(true); // the base: everything after it is kept
    expect(m.sinceResult(f.history, txnId(2))[0]).toBe(false);
  });

  it('at most 100 commits', () => {
    const f = new Fixture({}, true);
    f.insert('T', U3, { x: 0, name: 'a long name that holds the atoms up' });
    for (let i = 1; i <= 150; i++) f.insert('T', `0000${i.toString().padStart(4, '0')}-0000-0000-0000-000000000000`, { x: i });
    expect(f.history.size).toBe(100);
  });

  it('a history not started from a snapshot has no snapshot commit', () => {
    const f = new Fixture({}, true);
    f.insert('T', U1, { x: 1, name: 'a' });
    const one = f.db.atoms;
    f.insert('T', U2, { x: 2, name: 'b' });
    expect([f.history.size, f.history.atoms()]).toEqual([2, 2 * one]);
  });
  it('without the bound (standalone), only the commit, row-change and byte bounds apply', () => {
    const f = new Fixture();
    f.insert('T', U1, { x: 1, name: 'a' });
    for (let i = 0; i < 5; i++) f.update('T', U1, { x: 10 + i });
    expect(f.history.size).toBe(6);
  });
});

// ---------------------------------------------------------------------------------------------------------

const SID = 'aaaaaaaa-1111-4111-8111-000000000001';
const CID = 'cccccccc-3333-4333-8333-000000000003';
const SNAP = 'e0000000-0000-4000-8000-000000000000';
const E = ['e1111111-1111-4111-8111-111111111111', 'e2222222-2222-4222-8222-222222222222', 'e3333333-3333-4333-8333-333333333333'];
const ROW = (n: number) => `0000000${n}-aaaa-4aaa-8aaa-00000000000${n}`;
const SCHEMA = { name: 'Ex', version: '1.0.0', tables: { T: { columns: { name: { type: 'string' }, n: { type: 'integer' } } } } };

function insert(name: string, n: number): JsonValue {
  return [null, { T: { [ROW(n)]: { name, n } }, _date: 1796200000000 + n, _is_diff: true }];
}

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('clustered database restart', () => {
  it('replays the committed entries after the snapshot one by one, each under its eid (history rebuilt)', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cluster-history-'));
    dirs.push(dir);
    const file = path.join(dir, 's1.db');
    const address = `unix:${path.join(dir, 's1.raft')}`;
    const records: LogRecord[] = [
      { type: 'vote', term: 1, vote: SID },
      { type: 'leader', term: 1, leader: SID },
      { type: 'entry', term: 1, index: 2, entry: { term: 1 } },
      { type: 'entry', term: 1, index: 3, entry: { term: 1, data: insert('one', 1), eid: E[0]! } },
      { type: 'entry', term: 1, index: 4, entry: { term: 1, data: insert('two', 2), eid: E[1]! } },
      { type: 'entry', term: 1, index: 5, entry: { term: 1, data: insert('three', 3), eid: E[2]! } },
      { type: 'commit_index', commitIndex: 5 },
    ];
    const log = ClusterLog.create(file, createClusterHeader({ sid: SID, cid: CID, eid: SNAP, name: 'Ex', localAddress: address, data: [SCHEMA, {}] }), [], { lock: false });
    await log.appendDurable(records);
    await log.close();

    const member = await ClusteredDatabase.open(file, { log: () => {}, autoCompact: false });
    const seen: string[] = [];
    let attached: Database | null = null;
    const history = new CommitHistory({ boundByAtoms: true });
    member.start({
      attach: (db, eid) => {
        attached = db;
        seen.push(`attach ${eid} rows=${db.tables.get('T')!.rows.size}`);
        history.clear(eid, db.atoms);
      },
      replace: () => seen.push('replace'),
      commit: (c: Commit, eid) => {
        attached!.apply(c);
        history.record(eid, c, attached!.atoms);
        seen.push(`commit ${eid} rows=${attached!.tables.get('T')!.rows.size}`);
      },
      stateChanged: () => {},
      left: () => {},
      crash: () => {},
      writable: () => {},
    });
    await member.loaded();
    await member.close();
    expect(seen).toEqual([`attach ${SNAP} rows=0`, `commit ${E[0]} rows=1`, `commit ${E[1]} rows=2`, `commit ${E[2]} rows=3`]);
    // An id older than the newest is found after the restart.
    expect(history.since(E[0]!)).toBeDefined();
    expect(history.latest).toBe(E[2]);
  });
});
