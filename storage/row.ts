// Rows: an immutable uuid + _version + one datum per user column (schema order). A changed row is a new Row
// that shares the untouched datums with the old one, so "did column i change" starts with an identity test.
import { newUuid, ZERO_UUID } from '../schema/atom.ts';
import { setOf, datumEquals, datumToJson, defaultDatum, type Datum } from '../schema/datum.ts';
import type { JsonObject } from '../schema/json.ts';
import { UUID_COLUMN, VERSION_COLUMN, type ColumnSchema, type TableSchema } from '../schema/schema.ts';

export interface Row {
  readonly uuid: string;
  /** The row's _version as a number (see versionUuid); 0 for a row not yet committed. */
  readonly version: number;
  readonly data: readonly Datum[];
}

// _version is "a UUID that changes whenever the row changes". A per-process random prefix and a counter
// give exactly that, without a 36-character string and a random UUID per committed row. The prefix is
// drawn (from newUuid, so a replay gets the recorded one) when the first _version is shown.
let versionPrefix: string | null = null;
let lastVersion = 0;

/** A fresh _version for a row being committed. */
export function nextVersion(): number {
  return ++lastVersion;
}

/** The _version as the UUID clients see. */
export function versionUuid(v: number): string {
  if (v === 0) return ZERO_UUID;
  versionPrefix ??= newUuid().slice(0, 24);
  return versionPrefix + v.toString(16).padStart(12, '0');
}

const defaultRows = new WeakMap<TableSchema, readonly Datum[]>();

/** Every user column's default datum, in Row.data order (shared and immutable: copy before changing). */
export function defaultData(table: TableSchema): readonly Datum[] {
  let r = defaultRows.get(table);
  if (r === undefined) defaultRows.set(table, (r = table.columns.map((c) => defaultDatum(c.type))));
  return r;
}

export function columnValue(row: Row, col: ColumnSchema): Datum {
  if (col.index >= 0) return row.data[col.index];
  return setOf([col.index === UUID_COLUMN ? row.uuid : versionUuid(row.version)]);
}

export function columnChanged(old: Row, next: Row, col: ColumnSchema): boolean {
  if (col.index >= 0) {
    const a = old.data[col.index];
    const b = next.data[col.index];
    return a !== b && !datumEquals(a, b);
  }
  return col.index === VERSION_COLUMN ? old.version !== next.version : false;
}

/** True if any user column differs (the _version is not data). */
export function rowDataChanged(old: Row, next: Row): boolean {
  for (let i = 0; i < old.data.length; i++) {
    const a = old.data[i];
    const b = next.data[i];
    if (a !== b && !datumEquals(a, b)) return true;
  }
  return false;
}

/** The row as RFC 7047 <row> JSON over `columns`. */
export function rowToJson(row: Row, columns: readonly ColumnSchema[]): JsonObject {
  const o: JsonObject = {};
  for (const c of columns) o[c.name] = datumToJson(c.type, columnValue(row, c));
  return o;
}

/** All columns of a select without a `columns` member: _uuid, _version, then the user columns. */
export function allColumns(table: TableSchema): ColumnSchema[] {
  return [table.columnsByName.get('_uuid')!, table.columnsByName.get('_version')!, ...table.columns];
}
