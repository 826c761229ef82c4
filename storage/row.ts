// Rows: an immutable uuid + _version + one datum per user column (schema order). A changed row is a new Row
// that shares the untouched datums with the old one, so "did column i change" starts with an identity test.
import { setOf, datumEquals, datumToJson, type Datum } from '../schema/datum.ts';
import type { JsonObject } from '../schema/json.ts';
import { UUID_COLUMN, VERSION_COLUMN, type ColumnSchema, type TableSchema } from '../schema/schema.ts';

export interface Row {
  readonly uuid: string;
  readonly version: string;
  readonly data: readonly Datum[];
}

export function columnValue(row: Row, col: ColumnSchema): Datum {
  if (col.index >= 0) return row.data[col.index];
  return setOf([col.index === UUID_COLUMN ? row.uuid : row.version]);
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
