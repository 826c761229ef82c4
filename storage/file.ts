// The standard OVSDB file format as a database engine (ovsdb(5), reference §7): record 0 is the schema,
// every commit appends one record of row changes (column diffs by default). Opening replays the records
// with the full commit checks. Uses RecordLog for framing, recovery and atomic replacement.
import { datumApplyDiff, datumDiff, datumEquals, datumFromJson, datumToJson, defaultDatum, isDefault, sizeOk, type Datum } from '../schema/datum.ts';
import { OvsdbError } from '../schema/error.ts';
import { isJsonObject, parseJson, stringify, type JsonObject, type JsonValue } from '../schema/json.ts';
import { parseSchema, schemaToJson, type DatabaseSchema, type TableSchema } from '../schema/schema.ts';
import { Database, type Commit } from './database.ts';
import { Lockfile } from './lockfile.ts';
import { LogError, RecordLog, type LogRecovery } from './log.ts';
import type { Row } from './row.ts';
import { Transaction } from './transaction.ts';

export interface FileStorageOptions {
  /** Write full column values instead of diffs (`--disable-file-column-diff`). */
  disableColumnDiff?: boolean;
  /** Take the `.NAME.~lock~` lock (default true). */
  lock?: boolean;
  onLog?: (level: 'ERR' | 'WARN' | 'INFO', message: string) => void;
  /** Mid-file corruption: 'reference' keeps the data before it (as OVS does); 'strict' refuses to open. */
  policy?: 'strict' | 'reference';
}

const parse = (text: string): JsonValue => parseJson(text, true);

/** One commit as a file record (null when nothing persistent changed). */
export function commitToRecord(commit: Commit, opts: { diff: boolean; date?: number }): JsonObject | null {
  const rec: JsonObject = { _date: opts.date ?? Date.now() };
  if (commit.comment) rec._comment = commit.comment;
  let any = false;
  for (const [tname, changes] of commit.tables) {
    const tableJson: JsonObject = {};
    let tableAny = false;
    for (const ch of changes.values()) {
      if (ch.new === null) {
        tableJson[ch.uuid] = null;
        tableAny = true;
        continue;
      }
      const rowJson: JsonObject = {};
      let rowAny = false;
      for (const col of ch.table.columns) {
        if (!col.persistent) continue;
        const nv = ch.new.data[col.index];
        if (ch.old === null) {
          if (isDefault(col.type, nv)) continue;
          rowJson[col.name] = datumToJson(col.type, nv);
          rowAny = true;
        } else {
          const ov = ch.old.data[col.index];
          if (ov === nv || datumEquals(ov, nv)) continue;
          const d = opts.diff ? datumDiff(col.type, ov, nv) : nv;
          rowJson[col.name] = datumToJson(col.type, d);
          rowAny = true;
        }
      }
      if (ch.old === null || rowAny) {
        tableJson[ch.uuid] = rowJson;
        tableAny = true;
      }
    }
    if (tableAny) {
      rec[tname] = tableJson;
      any = true;
    }
  }
  if (!any) return null;
  if (opts.diff) rec._is_diff = true;
  return rec;
}

/** All rows as one record of inserts (compaction, conversion, snapshots). */
export function snapshotRecord(db: Database, comment: string, diff: boolean): JsonObject {
  const rec: JsonObject = { _date: Date.now(), _comment: comment };
  for (const [tname, table] of db.tables) {
    if (table.rows.size === 0) continue;
    const tableJson: JsonObject = {};
    for (const row of table.rows.values()) {
      const rowJson: JsonObject = {};
      for (const col of table.schema.columns) {
        if (!col.persistent) continue;
        const v = row.data[col.index];
        if (!isDefault(col.type, v)) rowJson[col.name] = datumToJson(col.type, v);
      }
      tableJson[row.uuid] = rowJson;
    }
    rec[tname] = tableJson;
  }
  if (diff) rec._is_diff = true;
  return rec;
}

function recordError(path: string, details: string): OvsdbError {
  return new OvsdbError('syntax error', `${path}: ${details}`);
}

/** Replays one transaction record into the database (all commit checks apply). */
export function applyRecord(db: Database, rec: JsonObject, path = 'record'): void {
  const isDiff = rec._is_diff === true;
  const txn = new Transaction(db);
  for (const [name, value] of Object.entries(rec)) {
    if (name.startsWith('_')) continue;
    const table: TableSchema | undefined = db.schema.tables.get(name);
    if (table === undefined) throw recordError(path, `No table named ${name}.`);
    if (!isJsonObject(value)) throw recordError(path, `table ${name} is not an object`);
    for (const [uuid, rowJson] of Object.entries(value)) {
      const existing = txn.get(name, uuid);
      if (rowJson === null) {
        if (existing === null) throw recordError(path, `transaction deletes nonexistent row ${uuid}`);
        txn.delete(name, uuid);
        continue;
      }
      if (!isJsonObject(rowJson)) throw recordError(path, `row ${uuid} is not an object`);
      const data: Datum[] = existing ? existing.data.slice() : table.columns.map((c) => defaultDatum(c.type));
      for (const [cname, cjson] of Object.entries(rowJson)) {
        const col = table.columnsByName.get(cname);
        if (col === undefined || col.index < 0) throw recordError(path, `No column ${cname} in table ${name}.`);
        if (existing && isDiff) {
          // The fixed reader: apply the diff to whatever the row holds (the 3.1 reader replaced it when the
          // current value was the default, losing data for min-1 sets).
          const diff = datumFromJson(col.type, cjson, { checkConstraints: false, ignoreSize: true });
          const next = datumApplyDiff(col.type, data[col.index], diff);
          if (!sizeOk(col.type, next)) throw new OvsdbError('syntax error', 'Datum crated by diff has size error');
          data[col.index] = next;
        } else {
          data[col.index] = datumFromJson(col.type, cjson, { checkConstraints: false });
        }
      }
      const row: Row = { uuid, version: existing?.version ?? '', data };
      if (existing) txn.update(name, row);
      else txn.insert(name, row);
    }
  }
  db.apply(txn.prepare());
}

export class FileStorage {
  private readonly diff: boolean;

  private constructor(
    readonly path: string,
    private log: RecordLog,
    private readonly lock: Lockfile | null,
    opts: FileStorageOptions,
    private readonly schemaText: string,
  ) {
    this.diff = !opts.disableColumnDiff;
  }

  /** Opens a database file, replays it, and returns the database and its storage. */
  static open(path: string, opts: FileStorageOptions = {}): { db: Database; storage: FileStorage; schema: DatabaseSchema } {
    const lock = opts.lock === false ? null : Lockfile.lock(path);
    try {
      const onRecovery = (r: LogRecovery) =>
        opts.onLog?.(r.kind === 'torn-tail' ? 'WARN' : 'ERR', `${r.error.render()}; using the data before offset ${r.offset}`);
      const log = RecordLog.open(path, { writable: true, policy: opts.policy ?? 'strict', parseJson: parse, onRecovery });
      let db: Database | null = null;
      let schemaText = '';
      for (const rec of log.records()) {
        if (db === null) {
          const schema = parseSchema(rec.json);
          db = new Database(schema);
          schemaText = stringify(schemaToJson(schema));
          continue;
        }
        try {
          applyRecord(db, rec.json, path);
        } catch (e) {
          if (!(e instanceof OvsdbError)) throw e;
          // A record that does not apply is treated like a corrupt one: keep what came before, cut it off.
          opts.onLog?.('ERR', `${path}: transaction at offset ${rec.offset} does not apply: ${e.render()}`);
          log.unreadLast();
          break;
        }
      }
      if (db === null) throw new OvsdbError('I/O error', `${path}: database file has no schema record`);
      return { db, storage: new FileStorage(path, log, lock, opts, schemaText), schema: db.schema };
    } catch (e) {
      lock?.unlock();
      if (e instanceof LogError) throw new OvsdbError(e.tag, e.details, e.ioError ? { ioError: e.ioError } : {});
      throw e;
    }
  }

  /** Creates a new database file holding only the schema (as `ovsdb-tool create`). */
  static create(path: string, schemaJson: JsonValue): void {
    const schema = parseSchema(schemaJson);
    const log = RecordLog.create(path, stringify(schemaToJson(schema)), { parseJson: parse });
    log.close();
  }

  write(commit: Commit): void {
    const rec = commitToRecord(commit, { diff: this.diff });
    if (rec === null) return;
    try {
      this.log.append(stringify(rec));
      if (commit.durable) this.log.sync();
    } catch (e) {
      if (e instanceof LogError) throw new OvsdbError(e.tag, e.details, e.ioError ? { ioError: e.ioError } : {});
      throw e;
    }
  }

  /** Replaces the file with schema + one snapshot record, atomically (rename). */
  writeSnapshot(db: Database, comment: string): void {
    const schemaText = stringify(schemaToJson(db.schema));
    this.log.replaceWith([schemaText, stringify(snapshotRecord(db, comment, this.diff))]);
  }

  compact(db: Database): void {
    this.log.replaceWith([this.schemaText, stringify(snapshotRecord(db, 'compacting database online', this.diff))]);
  }

  stats() {
    return this.log.stats();
  }

  close(): void {
    this.log.close();
    this.lock?.unlock();
  }
}
