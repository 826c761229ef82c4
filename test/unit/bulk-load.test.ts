// The sliced whole-database load and snapshot build (storage/bulk-load.ts) give exactly what the one-turn
// paths give: the same rows in the same order, indexes, reference counts and weak links; and for a record the
// commit checks would change or refuse, the exact path's cleanup or error.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { datumToJson } from '../../schema/datum.ts';
import type { JsonObject, JsonValue } from '../../schema/json.ts';
import type { Slicer } from '../../schema/json-chunked.ts';
import { parseSchema } from '../../schema/schema.ts';
import { bulkStats, databaseFromRecord, snapshotRecordChunked } from '../../storage/bulk-load.ts';
import { Database } from '../../storage/database.ts';
import { execute } from '../../storage/execution.ts';
import { recordCommit, snapshotRecord } from '../../storage/file.ts';

const schema = parseSchema(JSON.parse(fs.readFileSync('/usr/share/ovn/ovn-nb.ovsschema', 'utf8')));

function everyStep(): Slicer & { yields: number } {
  const s = { yields: 0, due: () => true, yield: () => (s.yields++, Promise.resolve()) };
  return s;
}

function run(db: Database, ops: JsonValue[]): void {
  const out = execute(db, ops);
  if (out.kind !== 'done' || out.error || !out.commit) throw new Error(`setup transaction failed: ${JSON.stringify(out)}`);
  db.apply(out.commit);
}

/** A database with strong and weak references, indexes and a maxRows table. */
function sample(ports: number): Database {
  const db = new Database(schema);
  run(db, [{ op: 'insert', table: 'NB_Global', row: { name: 'global' } }]);
  run(db, [{ op: 'insert', table: 'Load_Balancer', row: { name: 'lb0', vips: ['map', [['10.0.0.1:80', '10.0.0.2:80']]] }, 'uuid-name': 'lb' }]);
  const lb = (db.table('Load_Balancer').rows.keys().next().value as string);
  for (let s = 0; s * 100 < ports; s++) {
    const ops: JsonValue[] = [];
    const refs: JsonValue[] = [];
    for (let p = s * 100; p < Math.min(ports, (s + 1) * 100); p++) {
      ops.push({ op: 'insert', table: 'Logical_Switch_Port', 'uuid-name': `p${p}`, row: { name: `lsp-${p}`, addresses: `0a:00:00:00:00:${(p % 256).toString(16).padStart(2, '0')} 10.0.0.${p % 256}`, external_ids: ['map', [['k', `v${p}`]]] } });
      refs.push(['named-uuid', `p${p}`]);
    }
    ops.push({ op: 'insert', table: 'Logical_Switch', row: { name: `sw${s}`, ports: ['set', refs], load_balancer: ['set', [['uuid', lb]]] } });
    ops.push({ op: 'insert', table: 'Port_Group', row: { name: `pg${s}`, ports: ['set', refs.slice(0, 5)] } });
    run(db, ops);
  }
  return db;
}

/** Everything a Database holds, as comparable JSON (rows in map order; versions left out: they are fresh). */
function contents(db: Database): JsonValue {
  const out: JsonObject = {};
  for (const [name, t] of db.tables) {
    if (t.rows.size === 0) continue;
    out[name] = {
      rows: [...t.rows.values()].map((r) => [r.uuid, ...t.schema.columns.map((c) => datumToJson(c.type, r.data[c.index]!) as JsonValue)]),
      indexes: t.indexes.map((m) => [...m].map(([k, r]) => [String(k), r.uuid])),
      refCount: [...t.refCount],
      weak: [...t.weakReferrers].map(([u, m]) => [u, [...m].map(([src, e]) => [src, e.table, e.n])]),
    };
  }
  return out;
}

/** contents() with every list sorted (map order left out). */
function sorted(v: JsonValue): JsonValue {
  if (Array.isArray(v)) {
    const items = v.map(sorted);
    return items.every((x) => Array.isArray(x)) ? items.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)) : items;
  }
  if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, sorted(x)]));
  return v;
}

function exact(rec: JsonObject): Database | Error {
  try {
    const db = new Database(schema);
    db.apply(recordCommit(db, rec, 'test', { reader31: true }));
    return db;
  } catch (e) {
    return e as Error;
  }
}

async function chunked(rec: JsonObject): Promise<Database | Error> {
  try {
    return await databaseFromRecord(schema, rec, 'test', everyStep());
  } catch (e) {
    return e as Error;
  }
}

async function expectSame(rec: JsonObject, viaExact = false): Promise<void> {
  const n = bulkStats.exact;
  const want = exact(rec);
  const got = await chunked(rec);
  if (want instanceof Error) {
    expect(got).toBeInstanceOf(Error);
    expect((got as Error).message).toBe(want.message);
  } else {
    expect(got).toBeInstanceOf(Database);
    expect(contents(got as Database)).toEqual(contents(want));
  }
  if (viaExact) expect(bulkStats.exact).toBe(n + 1);
}

describe('bulk load of a snapshot record', () => {
  it('builds the database the exact path builds', async () => {
    const db = sample(1200);
    const rec = snapshotRecord(db, 'compacting database online', true);
    const n = bulkStats.exact;
    await expectSame(rec);
    expect(bulkStats.exact).toBe(n); // the sliced path built it
    // The record lists rows in the reference's hash order, not the order they were inserted in: the same
    // contents, in another map order.
    expect(sorted(contents((await chunked(rec)) as Database))).toEqual(sorted(contents(db)));
  });

  it('leaves records the commit checks would change or refuse to the exact path', async () => {
    const base = snapshotRecord(sample(300), 'x', true);
    const clone = () => JSON.parse(JSON.stringify(base)) as JsonObject;
    const tables = (r: JsonObject, t: string) => r[t] as JsonObject;
    const someUuid = (r: JsonObject, t: string) => Object.keys(tables(r, t))[0]!;

    // An orphan port (the transaction garbage-collects it).
    let r = clone();
    tables(r, 'Logical_Switch_Port')['00000000-0000-4000-8000-000000000001'] = { name: 'orphan' };
    await expectSame(r, true);
    // A dangling weak reference (cleaned) and a dangling strong one (refused).
    r = clone();
    (tables(r, 'Port_Group')[someUuid(r, 'Port_Group')] as JsonObject).ports = ['set', [['uuid', '00000000-0000-4000-8000-000000000002']]];
    await expectSame(r, true);
    r = clone();
    (tables(r, 'Logical_Switch')[someUuid(r, 'Logical_Switch')] as JsonObject).ports = ['uuid', '00000000-0000-4000-8000-000000000003'];
    await expectSame(r, true);
    // A duplicate index value, too many rows, an unknown column, a bad value, a delete, a bad table.
    r = clone();
    const ports = tables(r, 'Logical_Switch_Port');
    const [a, b] = Object.keys(ports);
    (ports[b!] as JsonObject).name = (ports[a!] as JsonObject).name!;
    await expectSame(r, true);
    r = clone();
    tables(r, 'NB_Global')['00000000-0000-4000-8000-000000000004'] = { name: 'second' };
    await expectSame(r, true);
    r = clone();
    (tables(r, 'Logical_Switch_Port')[a!] as JsonObject).nonesuch = 1;
    await expectSame(r, true);
    r = clone();
    (tables(r, 'Logical_Switch_Port')[someUuid(r, 'Logical_Switch_Port')] as JsonObject).tag_request = 'x';
    await expectSame(r, true);
    r = clone();
    tables(r, 'Logical_Switch_Port')[someUuid(r, 'Logical_Switch_Port')] = null;
    await expectSame(r, true);
    r = clone();
    r.Nonesuch = {};
    await expectSame(r, true);
  });
});

describe('sliced snapshot record', () => {
  it('is the record snapshotRecord makes, of the database as it was when it started', async () => {
    const db = sample(700);
    const want = snapshotRecord(db, 'compacting database online', true);
    const s = everyStep();
    let changed = false;
    const slicer: Slicer = {
      due: () => true,
      yield: async () => {
        // Commits applied while the record is built do not show in it.
        if (!changed) run(db, [{ op: 'insert', table: 'Logical_Switch', row: { name: 'late' } }]);
        changed = true;
        return s.yield();
      },
    };
    const got = await snapshotRecordChunked(db, 'compacting database online', true, slicer);
    expect({ ...got, _date: 0 }).toEqual({ ...want, _date: 0 });
    expect(Object.keys(got)).toEqual(Object.keys(want));
    expect(changed).toBe(true);
  });
});
