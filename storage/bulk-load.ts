// Loading and building whole-database records (a Raft snapshot, a schema conversion: `{table: {uuid: row}}`
// of inserts only) in event-loop slices, for databases of 100k+ rows (raft.md §7.2 item 4).
//
// Loading: the exact path is recordCommit (storage/file.ts) into an empty database, one transaction with
// every commit check. For a record written by a healthy server those checks change nothing: every strong
// reference has its target, every non-root row is referenced, no index has duplicates, no weak reference
// dangles, no table is over its limit. The bulk loader parses the rows in slices, verifies exactly those
// conditions in slices, and only then fills the new database (rows, indexes, weak links, reference counts,
// in the order the transaction would have). If any condition does not hold, it gives the record to the
// exact path instead, which applies its cleanups or reports its error as it always did.
import { datumFromJson, datumToJson, isDefault, type Datum, type DatumParseOptions } from '../schema/datum.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../schema/json.ts';
import type { Slicer } from '../schema/json-chunked.ts';
import type { DatabaseSchema, TableSchema } from '../schema/schema.ts';
import { Database, forEachRef, indexKey, strongRefColumns, weakRefColumns, type RowChange } from './database.ts';
import { fileColumnOrder, recordCommit, snapshotRecordOf, snapshotRowJson, snapshotTables } from './file.ts';
import { defaultData, nextVersion, type Row } from './row.ts';

const RECORD_VALUE: DatumParseOptions = { checkConstraints: false };
/** Rows handled between two looks at the clock. */
const STEP = 256;
/** Rows per commit handed to Database.apply. */
const APPLY_BATCH = 1024;

/**
 * Counts work (rows, and the atoms of big sets: a switch row may hold 1000 port references) and reads the
 * clock every STEP units (an await per row would cost more than the rows).
 */
class Pacer {
  private n = 0;
  constructor(private readonly slicer: Slicer) {}
  due(units = 1): boolean {
    this.n += units;
    if (this.n < STEP) return false;
    this.n = 0;
    return this.slicer.due();
  }
}

/** The work a row stands for: one, plus its set and map elements. */
function weight(data: readonly Datum[]): number {
  let w = 1;
  for (let i = 0; i < data.length; i++) w += data[i]!.keys.length;
  return w >> 2;
}

interface Parsed {
  readonly schema: TableSchema;
  readonly rows: Row[];
}

/** How often a record went to the exact path (tests read it). */
export const bulkStats = { exact: 0 };

/**
 * The database `rec` (a transaction record of inserts) makes from an empty one of `schema`: the contents
 * recordCommit(…, {reader31: true}) + apply would give, built in slices. Throws recordCommit's errors.
 */
export async function databaseFromRecord(schema: DatabaseSchema, rec: JsonObject, path: string, slicer: Slicer): Promise<Database> {
  const fast = await tryBulk(schema, rec, slicer);
  if (fast !== null) return fast;
  bulkStats.exact++;
  const db = new Database(schema);
  db.apply(recordCommit(db, rec, path, { reader31: true }));
  return db;
}

async function tryBulk(schema: DatabaseSchema, rec: JsonObject, slicer: Slicer): Promise<Database | null> {
  // 1. Rows, as recordCommit would stage them (record order), every value parsed.
  const parsed: Parsed[] = [];
  const pace = new Pacer(slicer);
  for (const name in rec) {
    if (name.charCodeAt(0) === 95 /* _ */) continue;
    const table = schema.tables.get(name);
    const value = rec[name];
    if (table === undefined || !isJsonObject(value)) return null;
    const defaults = defaultData(table);
    const rows: Row[] = [];
    for (const uuid in value) {
      const rowJson = value[uuid];
      if (!isJsonObject(rowJson)) return null; // (null: a delete of a row that does not exist)
      const data: Datum[] = defaults.slice();
      for (const cname in rowJson) {
        const col = table.columnsByName.get(cname);
        if (col === undefined || col.index < 0) return null;
        try {
          data[col.index] = datumFromJson(col.type, rowJson[cname]!, RECORD_VALUE);
        } catch {
          return null;
        }
      }
      rows.push({ uuid, version: 0, data });
      if (pace.due(weight(data))) await slicer.yield();
    }
    if (rows.length > 0) parsed.push({ schema: table, rows });
  }

  // 2. The commit checks, which must find nothing to do.
  const byTable = new Map<string, Map<string, Row>>();
  for (const p of parsed) {
    const m = new Map<string, Row>();
    for (const r of p.rows) {
      m.set(r.uuid, r);
      if (pace.due()) await slicer.yield();
    }
    byTable.set(p.schema.name, m);
    if (m.size > p.schema.maxRows) return null;
  }
  const exists = (table: string, uuid: string) => byTable.get(table)?.has(uuid) ?? false;
  const refCounts = new Map<string, Map<string, number>>();
  for (const p of parsed) {
    const strong = strongRefColumns(p.schema);
    const weak = weakRefColumns(p.schema);
    if (strong.length === 0 && weak.length === 0) continue;
    for (const r of p.rows) {
      let ok = true;
      forEachRef(r, strong, (dt, u) => {
        if (u === r.uuid) return;
        if (!exists(dt, u)) ok = false;
        let m = refCounts.get(dt);
        if (m === undefined) refCounts.set(dt, (m = new Map()));
        m.set(u, (m.get(u) ?? 0) + 1);
      });
      forEachRef(r, weak, (dt, u) => {
        if (!exists(dt, u)) ok = false;
      });
      if (!ok) return null;
      if (pace.due(weight(r.data))) await slicer.yield();
    }
  }
  for (const p of parsed) {
    if (p.schema.isRoot) continue;
    const counts = refCounts.get(p.schema.name);
    for (const r of p.rows) {
      if ((counts?.get(r.uuid) ?? 0) === 0) return null; // garbage: the transaction would delete it
      if (pace.due()) await slicer.yield();
    }
  }
  for (const p of parsed) {
    for (const cols of p.schema.indexes) {
      const seen = new Set<unknown>();
      for (const r of p.rows) {
        const k = indexKey(r.data, cols, r);
        if (seen.has(k)) return null;
        seen.add(k);
        if (pace.due()) await slicer.yield();
      }
    }
  }

  // 3. Fill the database: new versions in staging order, then apply in batches (no listeners yet).
  const db = new Database(schema);
  for (const p of parsed) {
    const rows = p.rows;
    for (let i = 0; i < rows.length; i += APPLY_BATCH) {
      const changes = new Map<string, RowChange>();
      for (let j = i; j < Math.min(rows.length, i + APPLY_BATCH); j++) {
        const r = rows[j]!;
        const row: Row = { uuid: r.uuid, version: nextVersion(), data: r.data };
        changes.set(r.uuid, { table: p.schema, uuid: r.uuid, old: null, new: row });
      }
      db.apply({ tables: new Map([[p.schema.name, changes]]), comment: '', durable: false, refDeltas: new Map() });
      if (slicer.due()) await slicer.yield();
    }
  }
  for (const [tname, counts] of refCounts) {
    const rc = db.table(tname).refCount;
    for (const [uuid, n] of counts) {
      rc.set(uuid, n);
      if (pace.due()) await slicer.yield();
    }
  }
  return db;
}

/**
 * snapshotRecord (storage/file.ts) in slices: all rows as one record of inserts, of the database as it is
 * when this is called (rows are immutable, so the row list taken now is a consistent snapshot even if
 * commits apply while the record is being built).
 */
export async function snapshotRecordChunked(db: Database, comment: string, diff: boolean, slicer: Slicer): Promise<JsonObject> {
  const tables = snapshotTables(db);
  await slicer.yield();
  const pace = new Pacer(slicer);
  const out: [string, JsonObject][] = [];
  for (const { name, table, rows } of tables) {
    const tableJson: JsonObject = {};
    const cols = fileColumnOrder(table.schema);
    for (const row of rows) {
      tableJson[row.uuid] = snapshotRowJson(cols, row);
      if (pace.due(weight(row.data))) await slicer.yield();
    }
    out.push([name, tableJson]);
  }
  return snapshotRecordOf(out, comment, diff);
}
