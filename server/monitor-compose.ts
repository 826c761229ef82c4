// Turning row changes into <table-updates> (v1, "update") and <table-updates2> (v2/v3, "update2"/"update3")
// for one monitor spec, per ovsdb-server(7) and reference §3.14.3. Pure functions: the caller decides what
// set of changes (one commit, a merged backlog, a history span) and serializes the result.
import { datumDiff, isDefault, writeDatum } from '../schema/datum.ts';
import { parseJson, type JsonObject } from '../schema/json.ts';
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
// neither needs escaping. Pieces go to one array joined once (no cons-string tree per row). The object forms
// (tests, monitor_cond_since results) parse this text.

/** Every listed column, defaults included (v1 rows). */
function writeRowValues(out: string[], row: Row, columns: readonly ColumnSchema[]): void {
  out.push('{');
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i];
    out.push(i > 0 ? ',"' : '"', c.name, '":');
    writeDatum(out, c.type, columnValue(row, c));
  }
  out.push('}');
}

/** The listed columns whose value is not the type's default (v2 initial and insert). */
function writeNonDefaultValues(out: string[], row: Row, columns: readonly ColumnSchema[]): void {
  out.push('{');
  let first = true;
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i];
    const d = columnValue(row, c);
    if (c.index >= 0 && isDefault(c.type, d)) continue;
    out.push(first ? '"' : ',"', c.name, '":');
    writeDatum(out, c.type, d);
    first = false;
  }
  out.push('}');
}

function anyChanged(old: Row, next: Row, columns: readonly ColumnSchema[]): boolean {
  for (let i = 0; i < columns.length; i++) if (columnChanged(old, next, columns[i])) return true;
  return false;
}

type RowUpdateWriter = (out: string[], mt: MonitoredTable, old: Row | null, next: Row | null) => boolean;

/** Appends a v1 <row-update>; false (nothing appended) when nothing is reported. */
function writeRowUpdate1(out: string[], mt: MonitoredTable, old: Row | null, next: Row | null): boolean {
  if (old === null) {
    if (next === null || (mt.select & SELECT_INSERT) === 0) return false;
    out.push('{"new":');
    writeRowValues(out, next, mt.insertColumns);
    out.push('}');
    return true;
  }
  if (next === null) {
    if ((mt.select & SELECT_DELETE) === 0) return false;
    out.push('{"old":');
    writeRowValues(out, old, mt.deleteColumns);
    out.push('}');
    return true;
  }
  if ((mt.select & SELECT_MODIFY) === 0 || !anyChanged(old, next, mt.allColumns)) return false;
  // "old" holds only the changed columns; "new" all of them.
  const cols = mt.modifyColumns;
  out.push('{"new":');
  writeRowValues(out, next, cols);
  out.push(',"old":{');
  let first = true;
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i];
    if (!columnChanged(old, next, c)) continue;
    out.push(first ? '"' : ',"', c.name, '":');
    writeDatum(out, c.type, columnValue(old, c));
    first = false;
  }
  out.push('}}');
  return true;
}

/** Appends a v2 <row-update2>; false when nothing is reported. Modifies that cross the condition become insert/delete. */
function writeRowUpdate2(out: string[], mt: MonitoredTable, old: Row | null, next: Row | null): boolean {
  const where = mt.where;
  const oldMatch = old !== null && (where.length === 0 || matchesAny(where, old));
  const newMatch = next !== null && (where.length === 0 || matchesAny(where, next));
  if (newMatch && !oldMatch) {
    if ((mt.select & SELECT_INSERT) === 0) return false;
    out.push('{"insert":');
    writeNonDefaultValues(out, next!, mt.insertColumns);
    out.push('}');
    return true;
  }
  if (oldMatch && !newMatch) {
    if ((mt.select & SELECT_DELETE) === 0) return false;
    out.push('{"delete":null}');
    return true;
  }
  if (!oldMatch) return false;
  // Both match: a modify.
  if ((mt.select & SELECT_MODIFY) === 0 || !anyChanged(old!, next!, mt.allColumns)) return false;
  out.push('{"modify":{');
  const cols = mt.modifyColumns;
  let first = true;
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i];
    if (!columnChanged(old!, next!, c)) continue;
    out.push(first ? '"' : ',"', c.name, '":');
    writeDatum(out, c.type, datumDiff(c.type, columnValue(old!, c), columnValue(next!, c)));
    first = false;
  }
  out.push('}}');
  return true;
}

function rowUpdateText(write: RowUpdateWriter, mt: MonitoredTable, old: Row | null, next: Row | null): string | null {
  const out: string[] = [];
  return write(out, mt, old, next) ? out.join('') : null;
}

/** v1 <row-update> text, or null when nothing is reported. */
export function rowUpdate1Text(mt: MonitoredTable, old: Row | null, next: Row | null): string | null {
  return rowUpdateText(writeRowUpdate1, mt, old, next);
}

/** v2 <row-update2> text, or null when nothing is reported. */
export function rowUpdate2Text(mt: MonitoredTable, old: Row | null, next: Row | null): string | null {
  return rowUpdateText(writeRowUpdate2, mt, old, next);
}

/** The <table-updates> / <table-updates2> text for a set of changes, or null if there is nothing to report. */
export function composeUpdatesText(spec: MonitorSpec, deltas: TableDeltas): string | null {
  const write = spec.version === 1 ? writeRowUpdate1 : writeRowUpdate2;
  const out: string[] = [];
  for (const [name, rows] of deltas) {
    const mt = spec.tables.get(name);
    if (mt === undefined) continue;
    const tableStart = out.length;
    for (const [uuid, ch] of rows) {
      const mark = out.length;
      out.push(mark === tableStart ? '"' : ',"', uuid, '":');
      if (!write(out, mt, ch.old, ch.new)) out.length = mark;
    }
    if (out.length === tableStart) continue;
    out.splice(tableStart, 0, (tableStart === 0 ? '{"' : ',"') + name + '":{');
    out.push('}');
  }
  if (out.length === 0) return null;
  out.push('}');
  return out.join('');
}

export function composeUpdates(spec: MonitorSpec, deltas: TableDeltas): JsonObject | null {
  const t = composeUpdatesText(spec, deltas);
  return t === null ? null : (parseJson(t) as JsonObject);
}

/**
 * The monitor reply's initial contents as text: rows of tables whose select has `initial` (v2: matching rows
 * only).
 */
export function composeInitialText(db: Database, spec: MonitorSpec): string {
  const out: string[] = ['{'];
  for (const [name, mt] of spec.tables) {
    if ((mt.select & SELECT_INITIAL) === 0) continue;
    const cols = mt.initialColumns;
    const where = mt.where;
    const v1 = spec.version === 1;
    const tableStart = out.length;
    out.push(tableStart === 1 ? '"' : ',"', name, '":{');
    let first = true;
    for (const row of db.table(name).rows.values()) {
      if (v1) {
        out.push(first ? '"' : ',"', row.uuid, '":{"new":');
        writeRowValues(out, row, cols);
      } else {
        if (where.length !== 0 && !matchesAny(where, row)) continue;
        out.push(first ? '"' : ',"', row.uuid, '":{"initial":');
        writeNonDefaultValues(out, row, cols);
      }
      out.push('}');
      first = false;
    }
    if (first) out.length = tableStart;
    else out.push('}');
  }
  out.push('}');
  return out.join('');
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
  const out: string[] = [];
  for (const [name, { before, after }] of tables) {
    const tableStart = out.length;
    out.push(tableStart === 0 ? '{"' : ',"', name, '":{');
    let first = true;
    for (const row of db.table(name).rows.values()) {
      const was = before.where.length === 0 || matchesAny(before.where, row);
      const is = after.where.length === 0 || matchesAny(after.where, row);
      if (is && !was) {
        if ((after.select & SELECT_INSERT) === 0) continue;
        out.push(first ? '"' : ',"', row.uuid, '":{"insert":');
        writeNonDefaultValues(out, row, after.insertColumns);
        out.push('}');
      } else if (was && !is) {
        if ((after.select & SELECT_DELETE) === 0) continue;
        out.push(first ? '"' : ',"', row.uuid, '":{"delete":null}');
      } else continue;
      first = false;
    }
    if (first) out.length = tableStart;
    else out.push('}');
  }
  if (out.length === 0) return null;
  out.push('}');
  return out.join('');
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
