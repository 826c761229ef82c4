// Turning row changes into <table-updates> (v1, "update") and <table-updates2> (v2/v3, "update2"/"update3")
// for one monitor spec, per ovsdb-server(7) and reference §3.14.3. Pure functions: the caller decides what
// set of changes (one commit, a merged backlog, a history span) and serializes the result.
import { datumDiff, datumToJson, isDefault } from '../schema/datum.ts';
import type { JsonObject, JsonValue } from '../schema/json.ts';
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

/** Every listed column, defaults included (v1 rows). */
function rowValues(row: Row, columns: readonly ColumnSchema[]): JsonObject {
  const o: JsonObject = {};
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i];
    o[c.name] = datumToJson(c.type, columnValue(row, c));
  }
  return o;
}

/** The listed columns whose value is not the type's default (v2 initial and insert). */
function nonDefaultValues(row: Row, columns: readonly ColumnSchema[]): JsonObject {
  const o: JsonObject = {};
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i];
    const d = columnValue(row, c);
    if (c.index < 0 || !isDefault(c.type, d)) o[c.name] = datumToJson(c.type, d);
  }
  return o;
}

function anyChanged(old: Row, next: Row, columns: readonly ColumnSchema[]): boolean {
  for (let i = 0; i < columns.length; i++) if (columnChanged(old, next, columns[i])) return true;
  return false;
}

/** v1 <row-update>, or null when nothing is reported. */
export function rowUpdate1(mt: MonitoredTable, old: Row | null, next: Row | null): JsonObject | null {
  if (old === null) {
    if (next === null || (mt.select & SELECT_INSERT) === 0) return null;
    return { new: rowValues(next, mt.insertColumns) };
  }
  if (next === null) {
    if ((mt.select & SELECT_DELETE) === 0) return null;
    return { old: rowValues(old, mt.deleteColumns) };
  }
  if ((mt.select & SELECT_MODIFY) === 0 || !anyChanged(old, next, mt.allColumns)) return null;
  // "old" holds only the changed columns; "new" all of them.
  const cols = mt.modifyColumns;
  const before: JsonObject = {};
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i];
    if (columnChanged(old, next, c)) before[c.name] = datumToJson(c.type, columnValue(old, c));
  }
  return { new: rowValues(next, cols), old: before };
}

/** v2 <row-update2>, or null when nothing is reported. Modifies that cross the condition become insert/delete. */
export function rowUpdate2(mt: MonitoredTable, old: Row | null, next: Row | null): JsonObject | null {
  const where = mt.where;
  const oldMatch = old !== null && (where.length === 0 || matchesAny(where, old));
  const newMatch = next !== null && (where.length === 0 || matchesAny(where, next));
  if (newMatch && !oldMatch) {
    if ((mt.select & SELECT_INSERT) === 0) return null;
    return { insert: nonDefaultValues(next!, mt.insertColumns) };
  }
  if (oldMatch && !newMatch) {
    if ((mt.select & SELECT_DELETE) === 0) return null;
    return { delete: null };
  }
  if (!oldMatch) return null;
  // Both match: a modify.
  if ((mt.select & SELECT_MODIFY) === 0 || !anyChanged(old!, next!, mt.allColumns)) return null;
  const diff: JsonObject = {};
  const cols = mt.modifyColumns;
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i];
    if (columnChanged(old!, next!, c)) {
      diff[c.name] = datumToJson(c.type, datumDiff(c.type, columnValue(old!, c), columnValue(next!, c)));
    }
  }
  return { modify: diff };
}

/** The <table-updates> / <table-updates2> for a set of changes, or null if there is nothing to report. */
export function composeUpdates(spec: MonitorSpec, deltas: TableDeltas): JsonObject | null {
  const rowUpdate = spec.version === 1 ? rowUpdate1 : rowUpdate2;
  let out: JsonObject | null = null;
  for (const [name, rows] of deltas) {
    const mt = spec.tables.get(name);
    if (mt === undefined) continue;
    let t: JsonObject | null = null;
    for (const [uuid, ch] of rows) {
      const ru = rowUpdate(mt, ch.old, ch.new);
      if (ru === null) continue;
      if (t === null) {
        t = {};
        if (out === null) out = {};
        out[name] = t;
      }
      t[uuid] = ru;
    }
  }
  return out;
}

/** The monitor reply's initial contents: rows of tables whose select has `initial` (v2: matching rows only). */
export function composeInitial(db: Database, spec: MonitorSpec): JsonObject {
  const out: JsonObject = {};
  for (const [name, mt] of spec.tables) {
    if ((mt.select & SELECT_INITIAL) === 0) continue;
    const t: JsonObject = {};
    let any = false;
    const cols = mt.initialColumns;
    const where = mt.where;
    for (const row of db.table(name).rows.values()) {
      let ru: JsonValue;
      if (spec.version === 1) {
        ru = { new: rowValues(row, cols) };
      } else {
        if (where.length !== 0 && !matchesAny(where, row)) continue;
        ru = { initial: nonDefaultValues(row, cols) };
      }
      t[row.uuid] = ru;
      any = true;
    }
    if (any) out[name] = t;
  }
  return out;
}

/**
 * The update2 body for a condition change on `tables` (name → old spec table, new spec table): `insert` for
 * rows that match only the new condition, `delete` for rows that matched only the old one. Null if none.
 */
export function composeConditionChange(
  db: Database,
  tables: ReadonlyMap<string, { readonly before: MonitoredTable; readonly after: MonitoredTable }>,
): JsonObject | null {
  let out: JsonObject | null = null;
  for (const [name, { before, after }] of tables) {
    let t: JsonObject | null = null;
    for (const row of db.table(name).rows.values()) {
      const was = before.where.length === 0 || matchesAny(before.where, row);
      const is = after.where.length === 0 || matchesAny(after.where, row);
      let ru: JsonObject;
      if (is && !was) {
        if ((after.select & SELECT_INSERT) === 0) continue;
        ru = { insert: nonDefaultValues(row, after.insertColumns) };
      } else if (was && !is) {
        if ((after.select & SELECT_DELETE) === 0) continue;
        ru = { delete: null };
      } else continue;
      if (t === null) {
        t = {};
        if (out === null) out = {};
        out[name] = t;
      }
      t[row.uuid] = ru;
    }
  }
  return out;
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
