// Turning row changes into <table-updates> (v1, "update") and <table-updates2> (v2/v3, "update2"/"update3")
// for one monitor spec, per ovsdb-server(7) and reference §3.14.3. Pure functions: the caller decides what
// set of changes (one commit, a merged backlog, a history span) and serializes the result.
import { datumDiff, isDefault, writeDatum, type Datum } from '../schema/datum.ts';
import { parseJson, type JsonObject } from '../schema/json.ts';
import type { ColumnSchema } from '../schema/schema.ts';
import { matchesAny } from '../storage/condition.ts';
import type { Database } from '../storage/database.ts';
import { columnChanged, columnValue, type Row } from '../storage/row.ts';
import { hashMapOrder, nameHash, ovsStringHash, uuidHash } from '../schema/ovs-order.ts';
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
//
// Member order is the reference's (MonitorSpec.sortedKeys): with sorted keys, tables, rows and columns are
// written by name (rows are sorted before they are written, the column lists are in name order); otherwise
// in the order the reference's hash maps give them (ovs-order.ts): a row object's columns are added in the
// reference's column order, a table's rows as its row maps iterate them, an update's tables in the
// monitor's table order, and each object is then written in its own hash order.

/** Column lists reordered to the reference's hash order of a row object holding exactly them. */
const hashedLists = new WeakMap<readonly ColumnSchema[], readonly ColumnSchema[]>();
/** Same, per subset (by positions in the monitored list): rows without defaults, changed columns. */
const hashedSubsets = new WeakMap<readonly ColumnSchema[], Map<number | string, readonly number[]>>();
const SUBSET_CACHE_LIMIT = 4096;

function hashedList(cols: readonly ColumnSchema[]): readonly ColumnSchema[] {
  let r = hashedLists.get(cols);
  if (r === undefined) {
    const order = hashMapOrder(cols.map((c) => nameHash(c.name)));
    r = Array.from(order, (i) => cols[i]);
    hashedLists.set(cols, r);
  }
  return r;
}

/** The positions `idx` (ascending, into `cols`) in the order a row object holding those columns is written. */
function hashedSubset(cols: readonly ColumnSchema[], idx: number[]): readonly number[] {
  if (idx.length < 2) return idx;
  let m = hashedSubsets.get(cols);
  if (m === undefined) hashedSubsets.set(cols, (m = new Map()));
  // The subset as a bit mask while it fits, else as a string of positions.
  let key: number | string;
  if (cols.length <= 30) {
    key = 0;
    for (let k = 0; k < idx.length; k++) key |= 1 << idx[k];
  } else key = String.fromCharCode(...idx);
  let r = m.get(key);
  if (r === undefined) {
    const order = hashMapOrder(idx.map((i) => nameHash(cols[i].name)));
    r = Array.from(order, (k) => idx[k]);
    if (m.size < SUBSET_CACHE_LIMIT) m.set(key, r);
  }
  return r;
}

/** Every listed column, defaults included (v1 rows). */
function writeRowValues(out: string[], row: Row, columns: readonly ColumnSchema[], sorted: boolean): void {
  const cols = sorted ? columns : hashedList(columns);
  out.push('{');
  for (let i = 0; i < cols.length; i++) {
    const c = cols[i];
    out.push(i > 0 ? ',"' : '"', c.name, '":');
    writeDatum(out, c.type, columnValue(row, c));
  }
  out.push('}');
}

/** Writes `{"col":datum,...}` for the columns at positions `idx` of `cols`, in the spec's member order. */
function writeSubset(
  out: string[],
  cols: readonly ColumnSchema[],
  idx: number[],
  sorted: boolean,
  value: (c: ColumnSchema) => Datum,
): void {
  const order = sorted ? idx : hashedSubset(cols, idx);
  out.push('{');
  for (let k = 0; k < order.length; k++) {
    const c = cols[order[k]];
    out.push(k > 0 ? ',"' : '"', c.name, '":');
    writeDatum(out, c.type, value(c));
  }
  out.push('}');
}

/** The listed columns whose value is not the type's default (v2 initial and insert). */
function writeNonDefaultValues(out: string[], row: Row, columns: readonly ColumnSchema[], sorted: boolean): void {
  if (sorted) {
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
    return;
  }
  const idx: number[] = [];
  const vals: Datum[] = [];
  for (let i = 0; i < columns.length; i++) {
    const c = columns[i];
    const d = columnValue(row, c);
    if (c.index >= 0 && isDefault(c.type, d)) continue;
    idx.push(i);
    vals[i] = d;
  }
  const order = hashedSubset(columns, idx);
  out.push('{');
  for (let k = 0; k < order.length; k++) {
    const c = columns[order[k]];
    out.push(k > 0 ? ',"' : '"', c.name, '":');
    writeDatum(out, c.type, vals[order[k]]);
  }
  out.push('}');
}

function changedColumns(old: Row, next: Row, cols: readonly ColumnSchema[]): number[] {
  const idx: number[] = [];
  for (let i = 0; i < cols.length; i++) if (columnChanged(old, next, cols[i])) idx.push(i);
  return idx;
}

function anyChanged(old: Row, next: Row, columns: readonly ColumnSchema[]): boolean {
  for (let i = 0; i < columns.length; i++) if (columnChanged(old, next, columns[i])) return true;
  return false;
}

type RowUpdateWriter = (out: string[], mt: MonitoredTable, old: Row | null, next: Row | null, sorted: boolean) => boolean;

/** Appends a v1 <row-update>; false (nothing appended) when nothing is reported. */
function writeRowUpdate1(out: string[], mt: MonitoredTable, old: Row | null, next: Row | null, sorted: boolean): boolean {
  if (old === null) {
    if (next === null || (mt.select & SELECT_INSERT) === 0) return false;
    out.push('{"new":');
    writeRowValues(out, next, mt.insertColumns, sorted);
    out.push('}');
    return true;
  }
  if (next === null) {
    if ((mt.select & SELECT_DELETE) === 0) return false;
    out.push('{"old":');
    writeRowValues(out, old, mt.deleteColumns, sorted);
    out.push('}');
    return true;
  }
  if ((mt.select & SELECT_MODIFY) === 0 || !anyChanged(old, next, mt.allColumns)) return false;
  // "old" holds only the changed columns; "new" all of them ("new" first in either order).
  const cols = mt.modifyColumns;
  out.push('{"new":');
  writeRowValues(out, next, cols, sorted);
  out.push(',"old":');
  writeSubset(out, cols, changedColumns(old, next, cols), sorted, (c) => columnValue(old, c));
  out.push('}');
  return true;
}

/** Appends a v2 <row-update2>; false when nothing is reported. Modifies that cross the condition become insert/delete. */
function writeRowUpdate2(out: string[], mt: MonitoredTable, old: Row | null, next: Row | null, sorted: boolean): boolean {
  const where = mt.where;
  const oldMatch = old !== null && (where.length === 0 || matchesAny(where, old));
  const newMatch = next !== null && (where.length === 0 || matchesAny(where, next));
  if (newMatch && !oldMatch) {
    if ((mt.select & SELECT_INSERT) === 0) return false;
    out.push('{"insert":');
    writeNonDefaultValues(out, next!, mt.insertColumns, sorted);
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
  out.push('{"modify":');
  const cols = mt.modifyColumns;
  writeSubset(out, cols, changedColumns(old!, next!, cols), sorted, (c) =>
    datumDiff(c.type, columnValue(old!, c), columnValue(next!, c)),
  );
  out.push('}');
  return true;
}

function rowUpdateText(write: RowUpdateWriter, mt: MonitoredTable, old: Row | null, next: Row | null): string | null {
  const out: string[] = [];
  return write(out, mt, old, next, true) ? out.join('') : null;
}

/** v1 <row-update> text, or null when nothing is reported. */
export function rowUpdate1Text(mt: MonitoredTable, old: Row | null, next: Row | null): string | null {
  return rowUpdateText(writeRowUpdate1, mt, old, next);
}

/** v2 <row-update2> text, or null when nothing is reported. */
export function rowUpdate2Text(mt: MonitoredTable, old: Row | null, next: Row | null): string | null {
  return rowUpdateText(writeRowUpdate2, mt, old, next);
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Members written at out[from..] as contiguous pieces (member i starts at starts[i]) are rewritten in
 * `order`, comma-separated.
 */
function reorderMembers(out: string[], from: number, starts: readonly number[], order: ArrayLike<number>): void {
  const seg = out.slice(from);
  out.length = from;
  const n = starts.length;
  for (let k = 0; k < order.length; k++) {
    const i = order[k];
    if (k > 0) out.push(',');
    const e = (i + 1 < n ? starts[i + 1] : from + seg.length) - from;
    for (let j = starts[i] - from; j < e; j++) out.push(seg[j]);
  }
}

/** The order the reference's row map (hashed by the uuid's first 32 bits) iterates these uuids in. */
function rowMapOrder(uuids: readonly string[]): string[] {
  if (uuids.length < 2) return uuids.slice();
  const order = hashMapOrder(uuids.map(uuidHash));
  return Array.from(order, (i) => uuids[i]);
}

/**
 * Writes the members `"uuid":<row-update>` of one table object; `uuids` are the candidate rows in the order
 * the reference adds them to the object (ignored with sorted keys). Returns how many rows were reported.
 */
function writeTableRows(out: string[], sorted: boolean, uuids: readonly string[], write: (uuid: string) => boolean): number {
  if (sorted || uuids.length < 2) {
    const list = sorted && uuids.length > 1 ? [...uuids].sort() : uuids;
    let n = 0;
    for (const uuid of list) {
      const mark = out.length;
      out.push(n === 0 ? '"' : ',"', uuid, '":');
      if (write(uuid)) n++;
      else out.length = mark;
    }
    return n;
  }
  // Hash order: the table object's own map over the rows it reports.
  const from = out.length;
  const starts: number[] = [];
  const reported: string[] = [];
  for (const uuid of uuids) {
    const mark = out.length;
    out.push('"', uuid, '":');
    if (write(uuid)) {
      starts.push(mark);
      reported.push(uuid);
    } else out.length = mark;
  }
  if (reported.length > 1) reorderMembers(out, from, starts, hashMapOrder(reported.map(ovsStringHash)));
  return reported.length;
}

/**
 * Writes the table objects collected in out[1..] (names[i] starting at starts[i]) by name (`sorted`) or
 * in the reference's hash order (added in the monitor's table order `rank`), and closes the update object.
 */
function finishTables(out: string[], sorted: boolean, rank: ReadonlyMap<string, number>, names: string[], starts: number[]): void {
  if (names.length > 1) {
    let order: ArrayLike<number>;
    if (sorted) {
      order = names.map((_, i) => i).sort((a, b) => byString(names[a], names[b]));
    } else {
      // Added to the update object in the monitor's table order, then written in the object's hash order.
      const added = names.map((_, i) => i).sort((a, b) => (rank.get(names[a]) ?? 0) - (rank.get(names[b]) ?? 0));
      const hashed = hashMapOrder(added.map((i) => nameHash(names[i])));
      order = Array.from(hashed, (k) => added[k]);
    }
    reorderMembers(out, 1, starts, order);
  }
  out.push('}');
}

/** The <table-updates> / <table-updates2> text for a set of changes, or null if there is nothing to report. */
export function composeUpdatesText(spec: MonitorSpec, deltas: TableDeltas): string | null {
  const write = spec.version === 1 ? writeRowUpdate1 : writeRowUpdate2;
  const sorted = spec.sortedKeys;
  const out: string[] = ['{'];
  const names: string[] = [];
  const starts: number[] = [];
  for (const [name, rows] of deltas) {
    const mt = spec.tables.get(name);
    if (mt === undefined) continue;
    const tableStart = out.length;
    out.push('"', name, '":{');
    // The change set's row map holds the rows in the order they changed.
    const n = writeTableRows(out, sorted, sorted ? [...rows.keys()] : rowMapOrder([...rows.keys()]), (uuid) => {
      const ch = rows.get(uuid)!;
      return write(out, mt, ch.old, ch.new, sorted);
    });
    if (n === 0) {
      out.length = tableStart;
      continue;
    }
    out.push('}');
    names.push(name);
    starts.push(tableStart);
  }
  if (names.length === 0) return null;
  finishTables(out, spec.sortedKeys, spec.tableRank, names, starts);
  return out.join('');
}

const MATCH_CODES = ['0', '1', '2', '3'];

/**
 * Which of the changed rows `spec`'s conditions match, before and after, as a string: two specs of one
 * family (MonitorSpec.familyKey) with equal signatures compose identical text for these changes.
 */
export function matchSignature(spec: MonitorSpec, deltas: TableDeltas): string {
  let sig = '';
  for (const [name, rows] of deltas) {
    const mt = spec.tables.get(name);
    if (mt === undefined) continue;
    // One segment per monitored table (empty without a condition), so segments never run together.
    const where = mt.where;
    if (where.length > 0) {
      for (const ch of rows.values()) {
        const o = ch.old !== null && matchesAny(where, ch.old) ? 1 : 0;
        const n = ch.new !== null && matchesAny(where, ch.new) ? 2 : 0;
        sig += MATCH_CODES[o | n];
      }
    }
    sig += '|';
  }
  return sig;
}

export function composeUpdates(spec: MonitorSpec, deltas: TableDeltas): JsonObject | null {
  const t = composeUpdatesText(spec, deltas);
  return t === null ? null : (parseJson(t) as JsonObject);
}

/** A table's rows in the order the reference's table (a row map filled in our order) iterates them. */
function tableRowOrder(rows: ReadonlyMap<string, Row>): string[] {
  return rowMapOrder([...rows.keys()]);
}

/**
 * The rows an initial reply reports, in the order it writes them: by uuid with sorted keys; else as the
 * reference's table row map, iterated into the initial change set's row map, iterated into the reply's
 * table object, whose own hash order writes them. Index arithmetic on typed arrays: this runs over every
 * row of the table.
 */
function initialRowOrder(all: readonly Row[], sorted: boolean, reported: ReadonlyMap<Row, unknown>): Row[] {
  if (sorted) {
    const list: Row[] = [];
    for (let i = 0; i < all.length; i++) if (reported.has(all[i])) list.push(all[i]);
    return sortByUuid(list);
  }
  const n = all.length;
  const h = new Int32Array(n);
  for (let i = 0; i < n; i++) h[i] = uuidHash(all[i].uuid);
  const level1 = hashMapOrder(h);
  const h2 = new Int32Array(n);
  for (let k = 0; k < n; k++) h2[k] = h[level1[k]];
  const level2 = hashMapOrder(h2);
  const candidates: Row[] = [];
  for (let k = 0; k < n; k++) {
    const row = all[level1[level2[k]]];
    if (reported.has(row)) candidates.push(row);
  }
  const m = candidates.length;
  if (m < 2) return candidates;
  const h3 = new Int32Array(m);
  for (let k = 0; k < m; k++) h3[k] = ovsStringHash(candidates[k].uuid);
  const level3 = hashMapOrder(h3);
  const out = new Array<Row>(m);
  for (let k = 0; k < m; k++) out[k] = candidates[level3[k]];
  return out;
}

/**
 * Rows in uuid order (the reference's sorted keys: byte order, which for uuids is string order). A numeric
 * sort on the first 32 bits, with the row's position packed below them, then string order among the rare
 * rows that share those bits: several times faster than comparing 100k strings.
 */
function sortByUuid(list: Row[]): Row[] {
  const n = list.length;
  if (n < 2) return list;
  if (n > 0x100000) return list.sort((a, b) => (a.uuid < b.uuid ? -1 : 1));
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = (uuidHash(list[i].uuid) >>> 0) * 0x100000 + i;
  keys.sort();
  const out = new Array<Row>(n);
  for (let k = 0; k < n; k++) out[k] = list[keys[k] % 0x100000];
  for (let k = 1; k < n; k++) {
    if (Math.floor(keys[k] / 0x100000) !== Math.floor(keys[k - 1] / 0x100000)) continue;
    // A run sharing the first 32 bits: order it by the whole uuid.
    let e = k + 1;
    while (e < n && Math.floor(keys[e] / 0x100000) === Math.floor(keys[k - 1] / 0x100000)) e++;
    const run = out.slice(k - 1, e).sort((a, b) => (a.uuid < b.uuid ? -1 : 1));
    for (let j = 0; j < run.length; j++) out[k - 1 + j] = run[j];
    k = e - 1;
  }
  return out;
}

/**
 * The monitor reply's initial contents as text: rows of tables whose select has `initial` (v2: matching rows
 * only).
 */
export function composeInitialText(db: Database, spec: MonitorSpec): string {
  const out: string[] = ['{'];
  const names: string[] = [];
  const starts: number[] = [];
  const sorted = spec.sortedKeys;
  const v1 = spec.version === 1;
  for (const [name, mt] of spec.tables) {
    if ((mt.select & SELECT_INITIAL) === 0) continue;
    const where = mt.where;
    const all = [...db.table(name).rows.values()];
    // v1 rows hold every column: one member order for the whole table.
    const cols = v1 && !sorted ? hashedList(mt.initialColumns) : mt.initialColumns;
    // Each row's text is built in memory order (the order the rows were created in, which their data
    // follows), then the texts are joined in the written order: walking the rows themselves in hash or
    // uuid order costs a cache miss per datum.
    const text = new Map<Row, string>();
    const piece: string[] = [];
    for (const row of all) {
      piece.length = 0;
      if (v1) writeRowValues(piece, row, cols, true);
      else if (where.length === 0 || matchesAny(where, row)) writeNonDefaultValues(piece, row, cols, sorted);
      else continue;
      text.set(row, piece.join(''));
    }
    if (text.size === 0) continue;
    const list = initialRowOrder(all, sorted, text);
    const tableStart = out.length;
    out.push('"', name, '":{');
    for (let k = 0; k < list.length; k++) {
      const row = list[k];
      out.push(k === 0 ? '"' : ',"', row.uuid, v1 ? '":{"new":' : '":{"initial":', text.get(row)!, '}');
    }
    out.push('}');
    names.push(name);
    starts.push(tableStart);
  }
  finishTables(out, spec.sortedKeys, spec.tableRank, names, starts);
  return out.join('');
}

export function composeInitial(db: Database, spec: MonitorSpec): JsonObject {
  return parseJson(composeInitialText(db, spec)) as JsonObject;
}

/**
 * The update2 body text for a condition change on `tables` (name → old spec table, new spec table): `insert`
 * for rows that match only the new condition, `delete` for rows that matched only the old one. Null if none.
 * The reference writes it in hash order (`rank`: the monitor's table order), whatever the monitor's mode.
 */
export function composeConditionChangeText(
  db: Database,
  tables: ReadonlyMap<string, { readonly before: MonitoredTable; readonly after: MonitoredTable }>,
  rank: ReadonlyMap<string, number> = new Map(),
): string | null {
  const out: string[] = ['{'];
  const names: string[] = [];
  const starts: number[] = [];
  for (const [name, { before, after }] of tables) {
    const rows = db.table(name).rows;
    const tableStart = out.length;
    out.push('"', name, '":{');
    const n = writeTableRows(out, false, tableRowOrder(rows), (uuid) => {
      const row = rows.get(uuid)!;
      const was = before.where.length === 0 || matchesAny(before.where, row);
      const is = after.where.length === 0 || matchesAny(after.where, row);
      if (is && !was) {
        if ((after.select & SELECT_INSERT) === 0) return false;
        out.push('{"insert":');
        writeNonDefaultValues(out, row, after.insertColumns, false);
        out.push('}');
        return true;
      }
      if (was && !is) {
        if ((after.select & SELECT_DELETE) === 0) return false;
        out.push('{"delete":null}');
        return true;
      }
      return false;
    });
    if (n === 0) {
      out.length = tableStart;
      continue;
    }
    out.push('}');
    names.push(name);
    starts.push(tableStart);
  }
  if (names.length === 0) return null;
  finishTables(out, false, rank, names, starts);
  return out.join('');
}

export function composeConditionChange(
  db: Database,
  tables: ReadonlyMap<string, { readonly before: MonitoredTable; readonly after: MonitoredTable }>,
  rank?: ReadonlyMap<string, number>,
): JsonObject | null {
  const t = composeConditionChangeText(db, tables, rank);
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
  add(deltas: TableDeltas, only?: { has(name: string): boolean }): void {
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
