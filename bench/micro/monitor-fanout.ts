// Micro-benchmark of monitor fan-out and initial dumps (not part of the server; run with
// `npx tsx bench/micro/monitor-fanout.ts`). Prints ms per scenario.
import { randomUUID } from 'node:crypto';
import { stringify, type JsonValue } from '../../schema/json.ts';
import { createDatabase, execute } from '../../storage/index.ts';
import type { Database } from '../../storage/database.ts';
import { CommitHistory } from '../../server/history.ts';
import { MonitorSet, type Monitor } from '../../server/monitor.ts';

const SCHEMA = {
  name: 'Bench',
  version: '1.0.0',
  tables: {
    T: {
      columns: {
        x: { type: 'integer' },
        name: { type: 'string' },
        tags: { type: { key: 'string', min: 0, max: 'unlimited' } },
        ext: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
        opt: { type: { key: 'integer', min: 0, max: 1 } },
      },
    },
  },
};

function commitOps(db: Database, ops: JsonValue[], history: CommitHistory, set: MonitorSet | null): void {
  const out = execute(db, ops);
  if (out.kind !== 'done' || out.commit === null) throw new Error('bench transaction failed');
  db.apply(out.commit);
  const id = randomUUID();
  history.record(id, out.commit);
  set?.onCommit(out.commit, id);
}

function fanout(label: string, shapes: (i: number) => { version: 1 | 2 | 3; req: JsonValue }, monitors: number, commits: number): void {
  const db = createDatabase(SCHEMA);
  const history = new CommitHistory();
  const set = new MonitorSet(db);
  const ms: Monitor[] = [];
  for (let i = 0; i < monitors; i++) {
    const s = shapes(i);
    ms.push(set.create(i, s.version, s.req));
  }
  const uuids: string[] = [];
  for (let i = 0; i < 100; i++) uuids.push(randomUUID());
  for (const u of uuids) commitOps(db, [{ op: 'insert', table: 'T', uuid: u, row: { x: 1, name: 'r', tags: ['set', ['a', 'b']] } }], history, set);
  for (const m of ms) m.takeUpdate();

  const ops = (i: number): JsonValue[] => [
    { op: 'update', table: 'T', where: [['_uuid', '==', ['uuid', uuids[i % uuids.length]]]], row: { x: i, ext: ['map', [['k', String(i)]]] } },
  ];
  // Engine alone, for reference.
  let t0 = performance.now();
  for (let i = 0; i < commits; i++) commitOps(db, ops(i), history, null);
  const engine = performance.now() - t0;

  let bytes = 0;
  t0 = performance.now();
  for (let i = 0; i < commits; i++) {
    commitOps(db, ops(i), history, set);
    for (const m of ms) {
      const s = m.takeUpdate();
      if (s !== null) bytes += s.length;
    }
  }
  const total = performance.now() - t0;
  console.log(
    `${label}: ${monitors} monitors / ${set.shapes} shapes, ${commits} commits: ` +
      `${total.toFixed(1)} ms total, engine alone ${engine.toFixed(1)} ms, ` +
      `monitor fan-out ≈ ${(total - engine).toFixed(1)} ms (${(((total - engine) * 1000) / commits).toFixed(1)} µs/commit), ` +
      `${(bytes / 1e6).toFixed(1)} MB of notifications`,
  );
}

function backlog(monitors: number, commits: number): void {
  const db = createDatabase(SCHEMA);
  const history = new CommitHistory();
  const set = new MonitorSet(db);
  const ms: Monitor[] = [];
  for (let i = 0; i < monitors; i++) ms.push(set.create(i, 2, { T: {} }));
  const uuids: string[] = [];
  for (let i = 0; i < 100; i++) uuids.push(randomUUID());
  for (const u of uuids) commitOps(db, [{ op: 'insert', table: 'T', uuid: u, row: { x: 1 } }], history, set);
  for (const m of ms) m.takeUpdate();
  const t0 = performance.now();
  for (let i = 0; i < commits; i++) {
    commitOps(db, [{ op: 'update', table: 'T', where: [['_uuid', '==', ['uuid', uuids[i % 100]]]], row: { x: i + 1000 } }], history, set);
  }
  let bytes = 0;
  for (const m of ms) bytes += m.takeUpdate()?.length ?? 0;
  console.log(
    `backlog: ${monitors} monitors never drained during ${commits} commits, then one merged update each: ` +
      `${(performance.now() - t0).toFixed(1)} ms, ${(bytes / 1e6).toFixed(1)} MB`,
  );
}

function initialDump(rows: number): void {
  const db = createDatabase(SCHEMA);
  const history = new CommitHistory();
  const ops: JsonValue[] = [];
  for (let i = 0; i < rows; i++) {
    ops.push({ op: 'insert', table: 'T', row: { x: i, name: `row${i}`, tags: ['set', ['a', String(i)]], ext: ['map', [['k', 'v']]] } });
  }
  commitOps(db, ops, history, null);
  const set = new MonitorSet(db);
  for (const [label, version, req] of [
    ['v1 all columns', 1, { T: {} }],
    ['v2 all columns', 2, { T: {} }],
    ['v2 where x < rows/2', 2, { T: { where: [['x', '<', rows / 2]] } }],
  ] as [string, 1 | 2, JsonValue][]) {
    const m = set.create(label, version, req);
    const t0 = performance.now();
    const body = m.initial();
    const t1 = performance.now();
    const text = stringify(body);
    const t2 = performance.now();
    console.log(
      `initial ${rows} rows, ${label}: build ${(t1 - t0).toFixed(1)} ms + stringify ${(t2 - t1).toFixed(1)} ms, ${(text.length / 1e6).toFixed(1)} MB`,
    );
  }
}

const warm = process.argv.includes('--quick') ? 0 : 1;
for (let w = 0; w <= warm; w++) {
  if (w < warm) console.log('(warm-up)');
  fanout(
    '2 shapes',
    (i): { version: 1 | 2 | 3; req: JsonValue } =>
      i % 2 === 0 ? { version: 2, req: { T: {} } } : { version: 3, req: { T: { columns: ['x', 'name'], where: [['x', '>=', 0]] } } },
    200,
    1000,
  );
  fanout('200 shapes', (i) => ({ version: 2, req: { T: { where: [['x', '>=', -i]] } } }), 200, 1000);
  backlog(200, 1000);
  initialDump(100_000);
}
