// Turning what the active sends into commits on the backup's database: monitor replies (the initial
// snapshot) and update notifications. v1 <table-updates> come from the reference's `monitor`; v2
// <table-updates2> from `monitor_cond_since` against an ovsdb-ts active.
//
// The snapshot is applied as the difference between the local contents and the active's: one commit that
// leaves the database either untouched or equal to the active's (no delete-everything record first, as the
// reference writes), and that tells the backup's own monitors only about rows that really changed.
import { isUuid } from '../schema/atom.ts';
import { datumApplyDiff, datumFromJson, defaultDatum, type Datum } from '../schema/datum.ts';
import { isJsonObject, type JsonObject, type JsonValue } from '../schema/json.ts';
import type { TableSchema } from '../schema/schema.ts';
import type { Commit, Database } from '../storage/database.ts';
import type { Row } from '../storage/row.ts';
import { rowDataChanged } from '../storage/row.ts';
import { Transaction } from '../storage/transaction.ts';

/** 1: <table-updates> (`update`, `monitor` reply); 2: <table-updates2> (`update2`, `update3`, since reply). */
export type UpdateFormat = 1 | 2;

/** A malformed update from the active: replication goes to its error state. */
export class ReplicationError extends Error {
  override name = 'ReplicationError';
}

/** Row-level inconsistencies (the reference's "consistency violation"): logged, the row is skipped. */
export type SkipLog = (message: string) => void;

interface ParsedRow {
  uuid: string;
  /** 'new' = complete row contents; 'merge' = listed columns replace; 'diff' = update2 column diffs. */
  kind: 'delete' | 'insert' | 'merge' | 'diff';
  /** For delete: whether the row update said "old" (v1) — unused beyond validation. */
  columns: JsonObject | null;
}

function tableOf(db: Database, name: string): TableSchema {
  const t = db.tables.get(name);
  if (t === undefined) throw new ReplicationError(`unknown table ${name}`);
  return t.schema;
}

function* rowUpdates(db: Database, updates: JsonValue, format: UpdateFormat): Generator<[TableSchema, ParsedRow]> {
  if (!isJsonObject(updates)) throw new ReplicationError('<table-updates> is not object');
  for (const tname of Object.keys(updates)) {
    const tu = updates[tname];
    const table = tableOf(db, tname);
    if (!isJsonObject(tu)) throw new ReplicationError(`<table-update> for table ${tname} is not object`);
    for (const uuid of Object.keys(tu)) {
      const ru = tu[uuid];
      if (!isJsonObject(ru)) throw new ReplicationError('<row-update> is not object');
      if (!isUuid(uuid)) throw new ReplicationError('bad row UUID');
      yield [table, parseRowUpdate(uuid, ru, format)];
    }
  }
}

function parseRowUpdate(uuid: string, ru: JsonObject, format: UpdateFormat): ParsedRow {
  if (format === 1) {
    const next = ru['new'];
    if (next === undefined || next === null) return { uuid, kind: 'delete', columns: null };
    if (!isJsonObject(next)) throw new ReplicationError('<row> is not object');
    return { uuid, kind: ru['old'] === undefined ? 'insert' : 'merge', columns: next };
  }
  const keys = Object.keys(ru);
  if (keys.length !== 1) throw new ReplicationError('<row-update2> must have exactly one member');
  const op = keys[0];
  const body = ru[op];
  if (op === 'delete') return { uuid, kind: 'delete', columns: null };
  if (!isJsonObject(body)) throw new ReplicationError(`<row-update2> "${op}" is not object`);
  if (op === 'initial' || op === 'insert') return { uuid, kind: 'insert', columns: body };
  if (op === 'modify') return { uuid, kind: 'diff', columns: body };
  throw new ReplicationError(`unknown <row-update2> member "${op}"`);
}

function parseValue(table: TableSchema, name: string, json: JsonValue, diff: boolean): { index: number; datum: Datum } | null {
  const col = table.columnsByName.get(name);
  if (col === undefined) throw new ReplicationError(`unknown column ${name} in table ${table.name}`);
  if (col.index < 0) return null; // _uuid, _version: the backup makes its own _version
  try {
    // The active checked the constraints under an identical column definition (schema-compat.ts).
    return { index: col.index, datum: datumFromJson(col.type, json, { ignoreSize: diff, checkConstraints: false }) };
  } catch (e) {
    throw new ReplicationError(`table ${table.name} column ${name}: ${(e as Error).message}`);
  }
}

/** A complete row from an insert/initial/snapshot entry: defaults for the columns not listed. */
function buildRow(table: TableSchema, uuid: string, columns: JsonObject, version: number): Row {
  const data: Datum[] = table.columns.map((c) => defaultDatum(c.type));
  for (const name of Object.keys(columns)) {
    const v = parseValue(table, name, columns[name], false);
    if (v !== null) data[v.index] = v.datum;
  }
  return { uuid, version, data };
}

function changedRow(table: TableSchema, old: Row, columns: JsonObject, diff: boolean): Row {
  const data = old.data.slice();
  for (const name of Object.keys(columns)) {
    const v = parseValue(table, name, columns[name], diff);
    if (v === null) continue;
    const type = table.columns[v.index].type;
    data[v.index] = diff ? datumApplyDiff(type, old.data[v.index], v.datum) : v.datum;
  }
  return { uuid: old.uuid, version: old.version, data };
}

/**
 * The commit for one update notification (or a `monitor_cond_since` delta). Rows that do not fit the local
 * contents (deleting or changing a missing row, inserting an existing one) are reported and skipped.
 * Throws ReplicationError on malformed input and the commit-time OvsdbError if the result is inconsistent.
 */
export function updateCommit(db: Database, updates: JsonValue, format: UpdateFormat, skip: SkipLog): Commit {
  const txn = new Transaction(db);
  for (const [table, r] of rowUpdates(db, updates, format)) {
    const existing = txn.get(table.name, r.uuid);
    if (r.kind === 'insert') {
      if (existing !== null) {
        skip(`inserting row ${r.uuid} that already exists in table ${table.name}`);
        continue;
      }
      txn.insert(table.name, buildRow(table, r.uuid, r.columns!, 0));
      continue;
    }
    if (existing === null) {
      skip(`${r.kind === 'delete' ? 'deleting' : 'modifying'} row ${r.uuid} that does not exist in table ${table.name}`);
      continue;
    }
    if (r.kind === 'delete') txn.delete(table.name, r.uuid);
    else txn.update(table.name, changedRow(table, existing, r.columns!, r.kind === 'diff'));
  }
  return txn.prepare();
}

/**
 * The one commit that makes the local database equal to a snapshot (a monitor reply without history):
 * rows of `replicated` tables missing from it are deleted, changed ones updated, new ones inserted; rows
 * of `cleared` tables (local tables the active does not have) are deleted. Other tables are untouched.
 */
export function snapshotCommit(
  db: Database,
  snapshot: JsonValue,
  format: UpdateFormat,
  replicated: ReadonlySet<string>,
  cleared: ReadonlySet<string>,
): Commit {
  const txn = new Transaction(db);
  const seen = new Map<string, Set<string>>();
  for (const name of replicated) seen.set(name, new Set());
  for (const [table, r] of rowUpdates(db, snapshot, format)) {
    if (r.kind !== 'insert' && !(format === 1 && r.kind === 'merge')) {
      throw new ReplicationError(`unexpected row update for ${r.uuid} in the initial contents of table ${table.name}`);
    }
    const rows = seen.get(table.name);
    if (rows === undefined) throw new ReplicationError(`unexpected table ${table.name} in the initial contents`);
    rows.add(r.uuid);
    const old = db.tables.get(table.name)!.rows.get(r.uuid);
    const next = buildRow(table, r.uuid, r.columns!, old?.version ?? 0);
    if (old === undefined) txn.insert(table.name, next);
    else if (rowDataChanged(old, next)) txn.update(table.name, next);
  }
  for (const [name, keep] of seen) {
    for (const uuid of db.tables.get(name)!.rows.keys()) if (!keep.has(uuid)) txn.delete(name, uuid);
  }
  for (const name of cleared) {
    for (const uuid of db.tables.get(name)!.rows.keys()) txn.delete(name, uuid);
  }
  return txn.prepare();
}
