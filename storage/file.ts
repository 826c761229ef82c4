// The standard OVSDB file format as a database engine (ovsdb(5), reference §7): record 0 is the schema,
// every commit appends one record of row changes (column diffs by default). Opening replays the records
// with the full commit checks. Uses RecordLog for framing, recovery and atomic replacement.
//
// Durability: write() returns once the record is in the OS (one write(2)); a commit with durable:true is
// also fdatasynced before write() returns, so the server acknowledges only what is written.
// Corruption: a torn tail (crash mid-append) is dropped with a WARN and cut off before the next append.
// Damage in the middle (a good record follows it) is refused by default ('strict': the error names the
// offset); the 'reference' policy keeps the records before it and cuts the rest, as ovsdb-server 3.1 does.
// Compaction: online (compact()) and automatic (the reference's schedule, CompactionSchedule), both an
// atomic "<file>.tmp" + rename, so a crash at any point leaves the old or the new file, complete.
import {
  datumApplyDiff,
  datumDiff,
  datumEquals,
  datumFromJson,
  datumToJson,
  writeDatum,
  isDefault,
  sizeOk,
  type Datum,
  type DatumParseOptions,
} from '../schema/datum.ts';
import { isUuid } from '../schema/atom.ts';
import { hashMapOrder, nameHash, ovsStringHash, shashOrder } from '../schema/ovs-order.ts';
import { OvsdbError } from '../schema/error.ts';
import { isJsonObject, parseJson, stringify, type JsonObject, type JsonValue } from '../schema/json.ts';
import { parseSchema, schemaToJson, type ColumnSchema, type DatabaseSchema, type TableSchema } from '../schema/schema.ts';
import { Database, type Commit, type Table } from './database.ts';
import { Lockfile } from './lockfile.ts';
import { LogError, RecordLog, type LogRecovery } from './log.ts';
import { defaultData, type Row } from './row.ts';
import { Transaction } from './transaction.ts';

export interface FileStorageOptions {
  /** Write full column values instead of diffs (`--disable-file-column-diff`). */
  disableColumnDiff?: boolean;
  /** Take the `.NAME.~lock~` lock (default true). */
  lock?: boolean;
  onLog?: (level: 'ERR' | 'WARN' | 'INFO', message: string) => void;
  /** Mid-file corruption: 'reference' keeps the data before it (as OVS does); 'strict' refuses to open. */
  policy?: 'strict' | 'reference';
  /** Compact automatically on the reference's schedule (checked by a timer; default false). */
  autoCompact?: boolean;
  /** Clock and randomness for the schedule (tests). */
  now?: () => number;
  random?: () => number;
}

const MINUTE = 60_000;
/** Automatic compaction thresholds (reference §7.5). */
export const COMPACT_MIN_RECORDS = 100;
export const COMPACT_MIN_BYTES = 10 * 1024 * 1024;
const AUTO_CHECK_INTERVAL_MS = 5_000;

/**
 * The standalone server's automatic compaction schedule: not before next_min (10–20 min after a load or
 * compaction); then when the log has ≥100 records and is over 10 MiB and twice its post-load size, or,
 * after next_max (24 h), when anything at all was logged.
 */
export class CompactionSchedule {
  nextMin = 0;
  nextMax = 0;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    this.reset();
  }

  /** Called after opening and after each compaction (successful or not). */
  reset(): void {
    const t = this.now();
    this.nextMin = t + 10 * MINUTE + Math.floor(this.random() * 10 * MINUTE);
    this.nextMax = t + 24 * 60 * MINUTE;
  }

  /** `logLen` counts records read and written since open; sizes are the log's bytes now and after load. */
  due(logLen: number, size: number, baseSize: number): boolean {
    const t = this.now();
    if (t < this.nextMin) return false;
    if (t < this.nextMax) return logLen >= COMPACT_MIN_RECORDS && size > COMPACT_MIN_BYTES && size > 2 * baseSize;
    return logLen > 0;
  }
}

const parse = (text: string): JsonValue => parseJson(text, true);

/**
 * One commit as the JSON text of a file record (null when nothing persistent changed). With `diff`, modified
 * columns are written as column diffs (`_is_diff: true`), except when a diff would trip the 3.1 reader: a diff
 * with more elements than the column's max (3.1 parses diffs with the size check and refuses the file), or a
 * diff applied to a min≥1 set holding its default (3.1 replaces instead of applying, BUG-3.1). Such a commit
 * is written with full values and no `_is_diff`, which every reader applies correctly.
 *
 * The text is built directly: an object per record keyed by row uuids would give V8 a new hidden class per
 * uuid, which costs more than the rest of the write path.
 */
export function commitToRecordText(commit: Commit, opts: { diff: boolean; date?: number }): string | null {
  const rec = buildRecordText(commit, opts.diff, opts.date);
  if (rec === UNSAFE_DIFF) return buildRecordText(commit, false, opts.date) as string | null;
  return rec;
}

const UNSAFE_DIFF = Symbol('unsafe diff');

// Member order, as the reference writes records: every object in its hash order (schema/ovs-order.ts).
// A record gets its tables in the transaction's order, then _comment, _is_diff, _date; a table its rows in
// the transaction's order; a row its columns in the order the reference's map of the table's columns
// iterates them (_uuid and _version first in, then the schema text's columns as its own map gave them).

const fileColumnOrders = new WeakMap<TableSchema, readonly ColumnSchema[]>();

/** The persistent user columns in the order the reference adds them to a row object. */
function fileColumnOrder(t: TableSchema): readonly ColumnSchema[] {
  let r = fileColumnOrders.get(t);
  if (r === undefined) {
    const declared = shashOrder(t.columns.map((c) => c.name));
    const iterated = shashOrder(['_uuid', '_version', ...declared]);
    r = iterated.map((n) => t.columnsByName.get(n)!).filter((c) => c.index >= 0 && c.persistent);
    fileColumnOrders.set(t, r);
  }
  return r;
}

const hashedColumnSets = new WeakMap<readonly ColumnSchema[], Map<string, readonly number[]>>();

/**
 * The written order of a row object holding the columns at positions `idx` (ascending) of `cols`; `key`
 * names the set (the positions as char codes).
 */
function rowMemberOrder(cols: readonly ColumnSchema[], idx: number[], key: string): readonly number[] {
  if (idx.length < 2) return idx;
  let m = hashedColumnSets.get(cols);
  if (m === undefined) hashedColumnSets.set(cols, (m = new Map()));
  let r = m.get(key);
  if (r === undefined) {
    const order = hashMapOrder(idx.map((i) => nameHash(cols[i].name)));
    r = Array.from(order, (k) => idx[k]);
    if (m.size < 4096) m.set(key, r);
  }
  return r;
}

const recordOrders = new Map<string, Int32Array>();

/** `texts` (members of one object, in insertion order) joined in the object's hash order. */
function joinHashed(keys: readonly string[], texts: readonly string[], hash: (k: string) => number): string {
  if (texts.length < 2) return texts.length === 0 ? '' : texts[0];
  let order: Int32Array;
  if (hash === nameHash) {
    // Records' member lists (a few table names and _comment/_is_diff/_date) repeat: cached.
    const key = keys.join('\0');
    let o = recordOrders.get(key);
    if (o === undefined) {
      o = hashMapOrder(keys.map(hash));
      if (recordOrders.size < 4096) recordOrders.set(key, o);
    }
    order = o;
  } else {
    order = hashMapOrder(keys.map(hash));
  }
  let s = texts[order[0]];
  for (let k = 1; k < order.length; k++) s += ',' + texts[order[k]];
  return s;
}

function buildRecordText(commit: Commit, diff: boolean, date?: number): string | null | typeof UNSAFE_DIFF {
  const names: string[] = [];
  const members: string[] = [];
  const idx: number[] = [];
  const vals: Datum[] = [];
  for (const [tname, changes] of commit.tables) {
    const uuids: string[] = [];
    const rows: string[] = [];
    for (const ch of changes.values()) {
      if (ch.new === null) {
        uuids.push(ch.uuid);
        rows.push(`"${ch.uuid}":null`);
        continue;
      }
      const cols = fileColumnOrder(ch.table);
      const defaults = defaultData(ch.table);
      const newData = ch.new.data;
      const oldData = ch.old === null ? null : ch.old.data;
      idx.length = 0;
      vals.length = 0;
      let key = '';
      for (let i = 0; i < cols.length; i++) {
        const col = cols[i];
        const nv = newData[col.index];
        let d = nv;
        if (oldData === null) {
          if (datumEquals(nv, defaults[col.index])) continue;
        } else {
          const ov = oldData[col.index];
          if (ov === nv || datumEquals(ov, nv)) continue;
          if (diff) {
            d = datumDiff(col.type, ov, nv);
            const t = col.type;
            if (t.max > 1 && (d.keys.length > t.max || (t.min >= 1 && isDefault(t, ov)))) return UNSAFE_DIFF;
          }
        }
        idx.push(i);
        key += String.fromCharCode(i);
        vals[i] = d;
      }
      if (oldData !== null && idx.length === 0) continue; // a modify of transient columns only
      // Each row is joined on its own, then the row texts once: cheaper than one join of every piece.
      const row: string[] = ['"', ch.uuid, '":{'];
      const order = rowMemberOrder(cols, idx, key);
      for (let k = 0; k < order.length; k++) {
        const col = cols[order[k]];
        row.push(k === 0 ? '"' : ',"', col.name, '":');
        writeDatum(row, col.type, vals[order[k]]);
      }
      row.push('}');
      uuids.push(ch.uuid);
      rows.push(row.join(''));
    }
    if (rows.length === 0) continue;
    names.push(tname);
    members.push(`"${tname}":{${joinHashed(uuids, rows, ovsStringHash)}}`);
  }
  if (names.length === 0) return null;
  if (commit.comment) {
    names.push('_comment');
    members.push(`"_comment":${JSON.stringify(commit.comment)}`);
  }
  if (diff) {
    names.push('_is_diff');
    members.push('"_is_diff":true');
  }
  names.push('_date');
  members.push(`"_date":${date ?? Date.now()}`);
  return `{${joinHashed(names, members, nameHash)}}`;
}

/**
 * All rows as one record of inserts (compaction, conversion, snapshots), members in the reference's order:
 * tables as its database's table map iterates them, rows as each table's row map does, then the record's
 * and each object's own hash order. storage/bulk-load.ts builds the same record over several turns.
 */
export function snapshotRecord(db: Database, comment: string, diff: boolean): JsonObject {
  const tables: [string, JsonObject][] = [];
  for (const { name, table, rows } of snapshotTables(db)) {
    const cols = fileColumnOrder(table.schema);
    const tableJson: JsonObject = {};
    for (const row of rows) tableJson[row.uuid] = snapshotRowJson(cols, row);
    tables.push([name, tableJson]);
  }
  return snapshotRecordOf(tables, comment, diff);
}

/**
 * The non-empty tables of a snapshot in the reference's order, each with its rows (as they are now: rows are
 * immutable, so the lists stay a consistent snapshot while commits apply) in its row map's order.
 */
export function snapshotTables(db: Database): { name: string; table: Table; rows: Row[] }[] {
  const out: { name: string; table: Table; rows: Row[] }[] = [];
  for (const name of shashOrder(shashOrder(shashOrder([...db.tables.keys()])))) {
    const table = db.tables.get(name)!;
    if (table.rows.size === 0) continue;
    const rowKeys = [...table.rows.keys()];
    const uuids = hashMapOrder(rowKeys.map((u) => parseInt(u.slice(0, 8), 16)));
    const inTableOrder = Array.from(uuids, (i) => rowKeys[i]);
    const rows = Array.from(hashMapOrder(inTableOrder.map(ovsStringHash)), (k) => table.rows.get(inTableOrder[k])!);
    out.push({ name, table, rows });
  }
  return out;
}

/** The persistent, non-default columns of one snapshot row in the reference's member order. */
export function snapshotRowJson(cols: readonly ColumnSchema[], row: Row): JsonObject {
  const idx: number[] = [];
  let key = '';
  for (let i = 0; i < cols.length; i++) {
    if (isDefault(cols[i].type, row.data[cols[i].index])) continue;
    idx.push(i);
    key += String.fromCharCode(i);
  }
  const rowJson: JsonObject = {};
  for (const i of rowMemberOrder(cols, idx, key)) rowJson[cols[i].name] = datumToJson(cols[i].type, row.data[cols[i].index]);
  return rowJson;
}

/** A snapshot record of its tables (in snapshotTables' order) and members, in the record's hash order. */
export function snapshotRecordOf(tables: readonly [string, JsonObject][], comment: string, diff: boolean): JsonObject {
  const keys: string[] = [];
  const values: JsonValue[] = [];
  for (const [name, json] of tables) {
    keys.push(name);
    values.push(json);
  }
  keys.push('_comment');
  values.push(comment);
  if (diff) {
    keys.push('_is_diff');
    values.push(true);
  }
  keys.push('_date');
  values.push(Date.now());
  const rec: JsonObject = {};
  for (const k of hashMapOrder(keys.map(nameHash))) rec[keys[k]] = values[k];
  return rec;
}

export { fileColumnOrder };

/** A record that does not apply, in the reference's words (`syntax "<json>": <tag>: <details>`). */
function recordError(details: string, syntax?: JsonValue, tag = 'syntax error'): OvsdbError {
  return new OvsdbError(tag, details, syntax === undefined ? {} : { syntax });
}

// Hoisted: one options object for every datum of every record (not one per column value).
const RECORD_VALUE: DatumParseOptions = { checkConstraints: false };
const RECORD_DIFF: DatumParseOptions = { checkConstraints: false, ignoreSize: true };

export interface ApplyRecordOptions {
  /**
   * Apply diffs as the 3.1.0 reader does: a column whose current value is the type's default gets the diff
   * as its new value instead of the diff applied to it (raft.md §7.2 item 3). Every member of a cluster,
   * C or ours, applies committed entries this way, so a clustered database must too or it diverges.
   */
  readonly reader31?: boolean;
}

/** Replays one transaction record into the database (all commit checks apply). */
export function applyRecord(db: Database, rec: JsonObject, path = 'record', opts: ApplyRecordOptions = {}): void {
  db.apply(recordCommit(db, rec, path, opts));
}

/**
 * The commit one transaction record makes on the database (checked, not applied). Errors are the
 * reference's texts, which do not name the file (`_path` stays for the callers that pass it).
 */
export function recordCommit(db: Database, rec: JsonObject, _path = 'record', opts: ApplyRecordOptions = {}): Commit {
  const reader31 = opts.reader31 === true;
  if (!isJsonObject(rec)) throw recordError('object expected', rec);
  const isDiff = rec._is_diff === true;
  const txn = new Transaction(db);
  // for-in visits own keys in Object.entries order (parsed objects have no inherited enumerable keys)
  // without an array per member.
  for (const name in rec) {
    const value = rec[name];
    const table: TableSchema | undefined = db.schema.tables.get(name);
    if (table === undefined) {
      // The members the reference writes beside the tables; any other name is an unknown table.
      if (name === '_date' && (typeof value === 'number' || typeof value === 'bigint')) continue;
      if (name === '_is_diff' && typeof value === 'boolean') continue;
      if (name === '_comment') continue;
      throw recordError(`No table named ${name}.`, rec, 'unknown table');
    }
    if (!isJsonObject(value)) throw recordError('object expected', value);
    // A uuid appears once per table in a record (object keys are distinct), so nothing is staged for it
    // yet: the committed row is what the transaction sees.
    const rows = db.table(name).rows;
    const defaults = defaultData(table);
    for (const uuid in value) {
      const rowJson = value[uuid];
      const existing = rows.get(uuid) ?? null;
      if (!isUuid(uuid)) throw recordError(`"${uuid}" is not a valid UUID`, value);
      if (rowJson === null) {
        if (existing === null) throw recordError(`transaction deletes row ${uuid} that does not exist`);
        txn.delete(name, uuid);
        continue;
      }
      if (!isJsonObject(rowJson)) throw recordError('row must be JSON object', rowJson);
      const data: Datum[] = existing !== null ? existing.data.slice() : defaults.slice();
      for (const cname in rowJson) {
        const cjson = rowJson[cname];
        const col = table.columnsByName.get(cname);
        if (col === undefined || col.index < 0) throw recordError(`No column ${cname} in table ${name}.`, rowJson, 'unknown column');
        if (existing !== null && isDiff) {
          // The fixed reader: apply the diff to whatever the row holds (the 3.1 reader replaced it when the
          // current value was the default, losing data for min-1 sets).
          const diff = datumFromJson(col.type, cjson, RECORD_DIFF);
          const cur = data[col.index];
          const next = reader31 && isDefault(col.type, cur) ? diff : datumApplyDiff(col.type, cur, diff);
          if (!sizeOk(col.type, next)) throw new OvsdbError('syntax error', 'Datum crated by diff has size error');
          data[col.index] = next;
        } else {
          data[col.index] = datumFromJson(col.type, cjson, RECORD_VALUE);
        }
      }
      if (existing !== null) txn.update(name, { uuid, version: existing.version, data });
      else txn.insert(name, { uuid, version: 0, data });
    }
  }
  return txn.prepare();
}

export class FileStorage {
  private diff: boolean;
  /** The database this file holds now (replaced by writeSnapshot, e.g. online conversion). */
  private db: Database;
  private readonly schedule: CompactionSchedule;
  private timer: NodeJS.Timeout | null = null;
  private lastError: string | null = null;
  private readonly onLog: NonNullable<FileStorageOptions['onLog']>;

  private constructor(
    readonly path: string,
    private log: RecordLog,
    private readonly lock: Lockfile | null,
    opts: FileStorageOptions,
    db: Database,
  ) {
    this.diff = !opts.disableColumnDiff;
    this.db = db;
    this.onLog = opts.onLog ?? (() => {});
    this.schedule = new CompactionSchedule(opts.now, opts.random);
    if (opts.autoCompact) {
      this.timer = setInterval(() => this.maybeCompact(), AUTO_CHECK_INTERVAL_MS);
      this.timer.unref();
    }
  }

  /** Opens a database file, replays it, and returns the database and its storage. */
  static open(path: string, opts: FileStorageOptions = {}): { db: Database; storage: FileStorage; schema: DatabaseSchema } {
    const lock = opts.lock === false ? null : Lockfile.lock(path);
    try {
      const { db, log } = FileStorage.load(path, { ...opts, writable: true });
      return { db, storage: new FileStorage(path, log, lock, opts, db), schema: db.schema };
    } catch (e) {
      lock?.unlock();
      throw e;
    }
  }

  /** Reads a database file without locking or changing it (ovsdb-tool query, db-*, show-log). */
  static read(path: string, opts: Pick<FileStorageOptions, 'onLog' | 'policy'> = {}): Database {
    const { db, log } = FileStorage.load(path, { ...opts, writable: false });
    log.close();
    return db;
  }

  private static load(path: string, opts: FileStorageOptions & { writable: boolean }): { db: Database; log: RecordLog } {
    let log: RecordLog | null = null;
    try {
      const onRecovery = (r: LogRecovery) =>
        opts.onLog?.(
          r.kind === 'torn-tail' ? 'WARN' : 'ERR',
          `${r.error.render()}; using the data before offset ${r.offset}` +
            (r.kind === 'torn-tail' ? ` (${r.discardedBytes} bytes of an incomplete last record dropped)` : ''),
        );
      log = RecordLog.open(path, { writable: opts.writable, policy: opts.policy ?? 'strict', parseJson: parse, onRecovery });
      let db: Database | null = null;
      for (const rec of log.records()) {
        if (db === null) {
          db = new Database(parseSchema(rec.json));
          continue;
        }
        try {
          applyRecord(db, rec.json);
        } catch (e) {
          if (!(e instanceof OvsdbError)) throw e;
          // A record that does not apply is treated like a corrupt one: keep what came before, cut it off.
          // The reference logs the error alone.
          opts.onLog?.('ERR', e.render());
          log.unreadLast();
          break;
        }
      }
      if (db === null) throw new OvsdbError('I/O error', `${path}: database file has no schema record`);
      return { db, log };
    } catch (e) {
      log?.close();
      if (e instanceof LogError) throw new OvsdbError(e.tag, e.details, e.ioError ? { ioError: e.ioError } : {});
      throw e;
    }
  }

  /** Creates a new database file holding only the schema (as `ovsdb-tool create`). */
  static create(path: string, schemaJson: JsonValue): void {
    const schema = parseSchema(schemaJson);
    try {
      RecordLog.create(path, stringify(schemaToJson(schema)), { parseJson: parse }).close();
    } catch (e) {
      throw toOvsdbError(e);
    }
  }

  /** Appends the commit's record (nothing if no persistent column changed); fdatasync if durable. */
  write(commit: Commit): void {
    const text = commitToRecordText(commit, { diff: this.diff });
    if (text === null) return;
    try {
      this.log.append(text);
      if (commit.durable) this.log.sync();
    } catch (e) {
      const err = toOvsdbError(e);
      this.lastError = err.render();
      throw err;
    }
  }

  /** Replaces the file with schema + one snapshot record, atomically (rename). */
  writeSnapshot(db: Database, comment: string, opts: { diff?: boolean } = {}): void {
    this.replace(db, comment, opts.diff ?? this.diff);
    this.db = db;
  }

  /** Online compaction (`ovsdb-server/compact`): the file becomes schema + one record of all rows. */
  compact(db: Database = this.db): void {
    this.replace(db, 'compacting database online');
    this.db = db;
  }

  /** The automatic policy; true if it compacted. Errors are logged and retried on the next schedule. */
  maybeCompact(): boolean {
    const st = this.log.stats();
    if (!this.schedule.due(st.recordsSinceOpen, st.size, st.baseSize)) return false;
    const t0 = Date.now();
    this.onLog('INFO', `${this.path}: compacting database online (${st.records} records, ${st.size} bytes)`);
    try {
      this.compact();
      this.onLog('INFO', `${this.path}: compacted in ${Date.now() - t0} ms, ${this.log.stats().size} bytes`);
    } catch (e) {
      const err = e instanceof OvsdbError ? e : toOvsdbError(e);
      this.onLog('ERR', `${this.path}: compaction failed: ${err.render()}`);
    }
    return true;
  }

  /** `ovsdb/file/column-diff-enable`. */
  enableColumnDiff(): void {
    this.diff = true;
  }

  /** `ovsdb-server/get-db-storage-status`: the last write error, null when healthy. */
  status(): string | null {
    return this.lastError;
  }

  stats() {
    return this.log.stats();
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.log.close();
    this.lock?.unlock();
  }

  private replace(db: Database, comment: string, diff = this.diff): void {
    try {
      this.log.replaceWith([stringify(schemaToJson(db.schema)), stringify(snapshotRecord(db, comment, diff))]);
      this.lastError = null;
    } catch (e) {
      throw toOvsdbError(e);
    } finally {
      this.schedule.reset();
    }
  }
}

function toOvsdbError(e: unknown): OvsdbError {
  if (e instanceof LogError) return new OvsdbError(e.tag, e.details, e.ioError ? { ioError: e.ioError } : {});
  if (e instanceof OvsdbError) return e;
  throw e;
}
