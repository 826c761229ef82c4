// Turning row changes into <table-updates> (v1, "update") and <table-updates2> (v2/v3, "update2"/"update3")
// for one monitor spec, per ovsdb-server(7) and reference §3.14.3. Pure functions: the caller decides what
// set of changes (one commit, a merged backlog, a history span) and serializes the result.
import { datumDiff, datumToJson, datumToText, isDefault, type Datum } from '../schema/datum.ts';
import { parseJson, stringify, type JsonObject } from '../schema/json.ts';
import type { ColumnSchema } from '../schema/schema.ts';
import { matchesAny } from '../storage/condition.ts';
import type { Database } from '../storage/database.ts';
import { columnChanged, columnValue, type Row } from '../storage/row.ts';
import {
  SELECT_DELETE,
  SELECT_INITIAL,
  SELECT_INSERT,
  SELECT_MODIFY,
  type MonitoredTable,
  type MonitorSpec,
} from './monitor-spec.ts';

/** One row's net change: old null = inserted, new null = deleted (a RowChange fits). */
export interface RowDelta {
  readonly old: Row | null;
  readonly new: Row | null;
}

/** Table name → row uuid → change (a Commit's `tables` fits). */
export type TableDeltas = ReadonlyMap<string, ReadonlyMap<string, RowDelta>>;

// Everything is built as JSON text: objects keyed by row uuids would give V8 a new hidden class per uuid,
// and the text is what goes on the wire anyway. Table and column names are <id>s and row uuids are uuids, so
// neither needs escaping. The object forms (tests, monitor_cond_since results) parse this text.

/** `"name":<value>` for one column (appended after `sep`). */
function member(c: ColumnSchema, d: Datum): string {
  return '"' + c.name + '":' + datumToText(c.type, d);
}

/** Every listed column, defaults included (v1 rows). */
function rowValues(row: Row, columns: readonly ColumnSchema[]): string {
  // One object of stable shape per row and one native stringify beat per-atom text concatenation.
  const o: JsonObject = {};
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i];
    o[c.name] = datumToJson(c.type, columnValue(row, c));
  }
  return stringify(o);
}

/** The listed columns whose value is not the type's default (v2 initial and insert). */
function nonDefaultValues(row: Row, columns: readonly ColumnSchema[]): string {
  const o: JsonObject = {};
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i];
    const d = columnValue(row, c);
    if (c.index >= 0 && isDefault(c.type, d)) continue;
    o[c.name] = datumToJson(c.type, d);
  }
  return stringify(o);
}

function anyChanged(old: Row, next: Row, columns: readonly ColumnSchema[]): boolean {
  for (let i = 0; i < columns.length; i++) if (columnChanged(old, next, columns[i])) return true;
  return false;
}

/** v1 <row-update> text, or null when nothing is reported. */
export function rowUpdate1Text(mt: MonitoredTable, old: Row | null, next: Row | null): string | null {
  if (old === null) {
    if (next === null || (mt.select & SELECT_INSERT) === 0) return null;
    return '{"new":' + rowValues(next, mt.insertColumns) + '}';
  }
  if (next === null) {
    if ((mt.select & SELECT_DELETE) === 0) return null;
    return '{"old":' + rowValues(old, mt.deleteColumns) + '}';
  }
  if ((mt.select & SELECT_MODIFY) === 0 || !anyChanged(old, next, mt.allColumns)) return null;
  // "old" holds only the changed columns; "new" all of them.
  const cols = mt.modifyColumns;
  let before = '{';
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i];
    if (!columnChanged(old, next, c)) continue;
    if (before.length > 1) before += ',';
    before += member(c, columnValue(old, c));
  }
  return '{"new":' + rowValues(next, cols) + ',"old":' + before + '}}';
}

/** v2 <row-update2> text, or null when nothing is reported. Modifies that cross the condition become insert/delete. */
export function rowUpdate2Text(mt: MonitoredTable, old: Row | null, next: Row | null): string | null {
  const where = mt.where;
  const oldMatch = old !== null && (where.length === 0 || matchesAny(where, old));
  const newMatch = next !== null && (where.length === 0 || matchesAny(where, next));
  if (newMatch && !oldMatch) {
    if ((mt.select & SELECT_INSERT) === 0) return null;
    return '{"insert":' + nonDefaultValues(next!, mt.insertColumns) + '}';
  }
  if (oldMatch && !newMatch) {
    if ((mt.select & SELECT_DELETE) === 0) return null;
    return '{"delete":null}';
  }
  if (!oldMatch) return null;
  // Both match: a modify.
  if ((mt.select & SELECT_MODIFY) === 0 || !anyChanged(old!, next!, mt.allColumns)) return null;
  let diff = '{';
  const cols = mt.modifyColumns;
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i];
    if (!columnChanged(old!, next!, c)) continue;
    if (diff.length > 1) diff += ',';
    diff += '"' + c.name + '":' + datumToText(c.type, datumDiff(c.type, columnValue(old!, c), columnValue(next!, c)));
  }
  return '{"modify":' + diff + '}}';
}

export function rowUpdate1(mt: MonitoredTable, old: Row | null, next: Row | null): JsonObject | null {
  const t = rowUpdate1Text(mt, old, next);
  return t === null ? null : (parseJson(t) as JsonObject);
}

export function rowUpdate2(mt: MonitoredTable, old: Row | null, next: Row | null): JsonObject | null {
  const t = rowUpdate2Text(mt, old, next);
  return t === null ? null : (parseJson(t) as JsonObject);
}

/** The <table-updates> / <table-updates2> text for a set of changes, or null if there is nothing to report. */
export function composeUpdatesText(spec: MonitorSpec, deltas: TableDeltas): string | null {
  const rowUpdate = spec.version === 1 ? rowUpdate1Text : rowUpdate2Text;
  let out = '';
  for (const [name, rows] of deltas) {
    const mt = spec.tables.get(name);
    if (mt === undefined) continue;
    let t = '';
    for (const [uuid, ch] of rows) {
      const ru = rowUpdate(mt, ch.old, ch.new);
      if (ru === null) continue;
      t += (t === '' ? '"' : ',"') + uuid + '":' + ru;
    }
    if (t !== '') out += (out === '' ? '{"' : ',"') + name + '":{' + t + '}';
  }
  return out === '' ? null : out + '}';
}

export function composeUpdates(spec: MonitorSpec, deltas: TableDeltas): JsonObject | null {
  const t = composeUpdatesText(spec, deltas);
  return t === null ? null : (parseJson(t) as JsonObject);
}

/**
 * The monitor reply's initial contents as text: rows of tables whose select has `initial` (v2: matching rows
 * only). Large tables are built as parts joined once.
 */
export function composeInitialText(db: Database, spec: MonitorSpec): string {
  const tables: string[] = [];
  for (const [name, mt] of spec.tables) {
    if ((mt.select & SELECT_INITIAL) === 0) continue;
    const parts: string[] = [];
    const cols = mt.initialColumns;
    const where = mt.where;
    const v1 = spec.version === 1;
    for (const row of db.table(name).rows.values()) {
      if (v1) {
        parts.push('"' + row.uuid + '":{"new":' + rowValues(row, cols) + '}');
      } else {
        if (where.length !== 0 && !matchesAny(where, row)) continue;
        parts.push('"' + row.uuid + '":{"initial":' + nonDefaultValues(row, cols) + '}');
      }
    }
    if (parts.length > 0) tables.push('"' + name + '":{' + parts.join(',') + '}');
  }
  return '{' + tables.join(',') + '}';
}

export function composeInitial(db: Database, spec: MonitorSpec): JsonObject {
  return parseJson(composeInitialText(db, spec)) as JsonObject;
}

/**
 * The update2 body text for a condition change on `tables` (name → old spec table, new spec table): `insert`
 * for rows that match only the new condition, `delete` for rows that matched only the old one. Null if none.
 */
export function composeConditionChangeText(
  db: Database,
  tables: ReadonlyMap<string, { readonly before: MonitoredTable; readonly after: MonitoredTable }>,
): string | null {
  let out = '';
  for (const [name, { before, after }] of tables) {
    let t = '';
    for (const row of db.table(name).rows.values()) {
      const was = before.where.length === 0 || matchesAny(before.where, row);
      const is = after.where.length === 0 || matchesAny(after.where, row);
      let ru: string;
      if (is && !was) {
        if ((after.select & SELECT_INSERT) === 0) continue;
        ru = '{"insert":' + nonDefaultValues(row, after.insertColumns) + '}';
      } else if (was && !is) {
        if ((after.select & SELECT_DELETE) === 0) continue;
        ru = '{"delete":null}';
      } else continue;
      t += (t === '' ? '"' : ',"') + row.uuid + '":' + ru;
    }
    if (t !== '') out += (out === '' ? '{"' : ',"') + name + '":{' + t + '}';
  }
  return out === '' ? null : out + '}';
}

export function composeConditionChange(
  db: Database,
  tables: ReadonlyMap<string, { readonly before: MonitoredTable; readonly after: MonitoredTable }>,
): JsonObject | null {
  const t = composeConditionChangeText(db, tables);
  return t === null ? null : (parseJson(t) as JsonObject);
}

/**
 * Net changes over several commits, per row: the first old and the last new. A row inserted then deleted
 * ends as {old: null, new: null} and reports nothing; a row changed and changed back reports nothing for
 * the columns that are back to their old values.
 */
export class DeltaBuffer {
  readonly tables = new Map<string, Map<string, { old: Row | null; new: Row | null }>>();

  /** Folds in one set of changes; `only`, if given, limits it to those tables. */
  add(deltas: TableDeltas, only?: ReadonlyMap<string, unknown>): void {
    for (const [name, rows] of deltas) {
      if (only !== undefined && !only.has(name)) continue;
      let t = this.tables.get(name);
      if (t === undefined) this.tables.set(name, (t = new Map()));
      for (const [uuid, ch] of rows) {
        const e = t.get(uuid);
        if (e === undefined) t.set(uuid, { old: ch.old, new: ch.new });
        else e.new = ch.new;
      }
    }
  }

  get empty(): boolean {
    return this.tables.size === 0;
  }
}
