// The transaction history of a clustered database beside the real ovsdb-server's (raft.md §3.4): the same
// writes to a 1-member cluster give the same memory/show counters (atoms, txn-history, txn-history-atoms),
// before and after a restart, and after the restart monitor_cond_since finds the entry ids the real server
// finds (the history is rebuilt from the log).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IMPLS, LineFollower, REAL_SERVER, Server, TempDir, type Impl } from './lib/harness.ts';

const haveReal = fs.existsSync(REAL_SERVER);
const SCHEMA = { name: 'Ex', version: '1.0.0', tables: { T: { columns: { name: { type: 'string' }, n: { type: 'integer' }, tags: { type: { key: 'string', min: 0, max: 'unlimited' } } }, isRoot: true } } };

/** The counters the history decides, from a memory/show line. */
function historyCounters(line: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const kv of line.trim().split(' ')) {
    const [k, v] = kv.split(':');
    if (k === 'atoms' || k === 'txn-history' || k === 'txn-history-atoms') out[k] = Number(v);
  }
  return out;
}

/** The eids of the data entries in a clustered file, in log order (the header's prev_eid excluded). */
function entryEids(file: string): string[] {
  return [...fs.readFileSync(file, 'utf8').matchAll(/[{,]"eid":"([0-9a-f-]{36})"/g)].map((m) => m[1]!);
}

describe.skipIf(!haveReal)('clustered transaction history beside the real server', () => {
  const tmp = new TempDir('cluster-history-');
  const results: Record<Impl, { counters: Record<string, number>[]; found: string[] }> = {
    ours: { counters: [], found: [] },
    real: { counters: [], found: [] },
  };

  beforeAll(async () => {
    fs.writeFileSync(tmp.file('schema'), JSON.stringify(SCHEMA));
    for (const impl of IMPLS) {
      const db = tmp.file(`${impl}.db`);
      const r = spawnSync('ovsdb-tool', ['create-cluster', db, tmp.file('schema'), `unix:${tmp.file(`${impl}.raft`)}`], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(r.stderr);
      const counters = results[impl].counters;
      const start = async () => {
        const s = await new Server(impl, tmp, { dbs: [db], name: impl }).start();
        expect((await s.client('wait', 'Ex', 'connected')).code).toBe(0);
        return s;
      };
      const show = async (s: Server) => counters.push(historyCounters((await s.appctl('memory/show')).stdout));
      let s = await start();
      await show(s);
      const tx = async (op: object) => expect((await s.client('transact', JSON.stringify(['Ex', op]))).code).toBe(0);
      for (let i = 1; i <= 4; i++) {
        await tx({ op: 'insert', table: 'T', row: { name: `r${i}`, n: i, tags: ['set', ['a', 'b']] } });
        await show(s);
      }
      await s.stop();
      s = await start();
      await show(s);
      for (const eid of entryEids(db)) {
        const mon = new LineFollower(tmp, 'ovsdb-client', ['monitor-cond-since', s.remote, 'Ex', eid, '[true]', 'T', 'name']);
        results[impl].found.push((await mon.waitMatch(/^found: (true|false)/)).split(',')[0]!);
        await mon.stop();
      }
      // Old and new rows of every row: more atoms than the database holds.
      await tx({ op: 'update', table: 'T', where: [], row: { tags: ['set', ['c']] } });
      await show(s);
      await tx({ op: 'insert', table: 'T', row: { name: 'r5', n: 5 } });
      await show(s);
      await s.stop();
    }
  }, 120_000);

  afterAll(() => tmp.cleanup());

  it('memory/show: atoms, txn-history and txn-history-atoms as the real server counts them', () => {
    expect(results.real.counters.length).toBe(8);
    expect(results.ours.counters).toEqual(results.real.counters);
    // After the restart the history holds the snapshot and the four inserts again.
    expect(results.real.counters[5]!['txn-history']).toBe(5);
    // The update dropped every older commit (it holds more atoms than the database), one is always kept.
    expect(results.real.counters[6]!['txn-history']).toBe(1);
  });

  it('after a restart, monitor_cond_since finds the entry ids from before it', () => {
    expect(results.real.found).toEqual(['found: true', 'found: true', 'found: true', 'found: true']);
    expect(results.ours.found).toEqual(results.real.found);
  });
});
