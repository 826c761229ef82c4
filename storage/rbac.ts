// Role-based access control (ovsdb-server(7) §3.2, ovn-architecture(7) "Role-Based Access Controls"):
// when a schema has an RBAC_Role table and a session comes with a role, its writes are checked against
// the role's RBAC_Permission rows: which tables it may touch, whether it may insert/delete, which columns
// (or column:key pairs) it may update, and which rows it owns (authorization columns equal to its id).
import type { Datum } from '../schema/datum.ts';
import { OvsdbError } from '../schema/error.ts';
import type { ColumnSchema, TableSchema } from '../schema/schema.ts';
import type { Database } from './database.ts';
import type { Row } from './row.ts';

export interface RbacIdentity {
  readonly role: string;
  /** The client's id (its certificate's common name). */
  readonly id: string;
}

interface Permission {
  readonly authorization: readonly string[];
  readonly insertDelete: boolean;
  readonly update: readonly string[];
}

export function rbacEnabled(db: Database): boolean {
  return db.schema.tables.has('RBAC_Role');
}

function stringsOf(d: Datum | undefined): string[] {
  return d ? (d.keys.filter((k) => typeof k === 'string') as string[]) : [];
}

function colIndex(t: TableSchema, name: string): number {
  return t.columnsByName.get(name)?.index ?? -1;
}

/** The role's permission row for a table, or null (no permission at all). */
function permission(db: Database, role: string, table: string): Permission | null {
  const roles = db.tables.get('RBAC_Role');
  const perms = db.tables.get('RBAC_Permission');
  if (!roles || !perms) return null;
  const nameIdx = colIndex(roles.schema, 'name');
  const permIdx = colIndex(roles.schema, 'permissions');
  if (nameIdx < 0 || permIdx < 0) return null;
  for (const r of roles.rows.values()) {
    if (r.data[nameIdx].keys[0] !== role) continue;
    const m = r.data[permIdx];
    const i = m.keys.indexOf(table);
    if (i < 0 || !m.values) return null;
    const p = perms.rows.get(m.values[i] as string);
    if (!p) return null;
    const ps = perms.schema;
    const a = colIndex(ps, 'authorization');
    const ins = colIndex(ps, 'insert_delete');
    const up = colIndex(ps, 'update');
    return {
      authorization: a >= 0 ? stringsOf(p.data[a]) : [],
      insertDelete: ins >= 0 && p.data[ins].keys[0] === true,
      update: up >= 0 ? stringsOf(p.data[up]) : [],
    };
  }
  return null;
}

/** Does the row belong to the client? An empty criterion ("" or none) authorizes everyone. */
function authorized(p: Permission, table: TableSchema, row: Row, id: string): boolean {
  if (p.authorization.length === 0) return true;
  for (const crit of p.authorization) {
    if (crit === '') return true;
    const colon = crit.indexOf(':');
    const cname = colon < 0 ? crit : crit.slice(0, colon);
    const col = table.columnsByName.get(cname);
    if (!col || col.index < 0) continue;
    const d = row.data[col.index];
    if (colon < 0) {
      if (d.keys.some((k) => k === id)) return true;
    } else if (d.values) {
      const i = d.keys.indexOf(crit.slice(colon + 1));
      if (i >= 0 && d.values[i] === id) return true;
    }
  }
  return false;
}

/** May the client change column `col` from `before` to `after`? Whole columns or listed map keys. */
function columnUpdatable(p: Permission, col: ColumnSchema, before: Datum, after: Datum): boolean {
  if (p.update.includes(col.name)) return true;
  const keys = p.update.filter((u) => u.startsWith(`${col.name}:`)).map((u) => u.slice(col.name.length + 1));
  if (keys.length === 0 || !before.values || !after.values) return false;
  // Only the listed keys may differ.
  const changed = new Set<string>();
  const bm = new Map(before.keys.map((k, i) => [k, before.values![i]]));
  const am = new Map(after.keys.map((k, i) => [k, after.values![i]]));
  for (const [k, v] of bm) if (am.get(k) !== v) changed.add(String(k));
  for (const [k, v] of am) if (bm.get(k) !== v) changed.add(String(k));
  return [...changed].every((k) => keys.includes(k));
}

const prefix = (who: RbacIdentity) => `RBAC rules for client "${who.id}" role "${who.role}" prohibit`;

export function checkInsert(db: Database, who: RbacIdentity, table: TableSchema, row: Row): void {
  const p = permission(db, who.role, table.name);
  if (!p || !p.insertDelete || !authorized(p, table, row, who.id))
    throw new OvsdbError('permission error', `${prefix(who)} row insertion into table "${table.name}".`);
}

export function checkDelete(db: Database, who: RbacIdentity, table: TableSchema, rows: readonly Row[]): void {
  const p = permission(db, who.role, table.name);
  if (!p || !p.insertDelete || !rows.every((r) => authorized(p, table, r, who.id)))
    throw new OvsdbError('permission error', `${prefix(who)} row deletion from table "${table.name}".`);
}

/** update and mutate: every affected row must be the client's and only permitted columns may change. */
export function checkModify(
  db: Database,
  who: RbacIdentity,
  table: TableSchema,
  changes: readonly { before: Row; after: Row }[],
  columns: readonly ColumnSchema[],
  op: 'update' | 'mutate',
): void {
  const p = permission(db, who.role, table.name);
  const ok =
    p !== null &&
    changes.every(
      ({ before, after }) =>
        authorized(p, table, before, who.id) &&
        columns.every((c) => columnUpdatable(p, c, before.data[c.index], after.data[c.index])),
    );
  if (!ok)
    throw new OvsdbError(
      'permission error',
      op === 'update'
        ? `${prefix(who)} modification of table "${table.name}".`
        : `${prefix(who)} mutate operation on table "${table.name}".`,
    );
}

export function convertForbidden(who: RbacIdentity, dbName: string): OvsdbError {
  return new OvsdbError(
    'permission error',
    `${prefix(who)} "convert" of database ${dbName} (only the root role may convert databases)`,
  );
}
