// `db:DB,TABLE,COLUMN` references (reference §1.2.3 and §1.6): remotes and SSL settings read from database
// contents and followed live. A string column lists targets; a reference column points at rows
// (OVN's Connection, OVS's Manager) whose target / max_backoff / inactivity_probe / read_only / role /
// other_config:dscp configure one remote each.
import type { Atom } from '../schema/atom.ts';
import type { ColumnSchema, TableSchema } from '../schema/schema.ts';
import type { Row } from '../storage/row.ts';
import type { OvsdbServer, ServedDatabase } from './server.ts';

export interface DbRef {
  readonly spec: string;
  readonly db: string;
  readonly table: string;
  readonly column: string;
}

/** Options one remote gets from its Connection/Manager row. */
export interface RemoteConfig {
  readonly target: string;
  readonly maxBackoff?: number;
  readonly inactivityProbe?: number;
  readonly readOnly?: boolean;
  readonly role?: string;
  readonly dscp?: number;
  /** The row that configured it, for status write-back. */
  readonly source?: { db: string; table: string; uuid: string };
}

export class DbRefError extends Error {}

/** Validates `db:DB,TABLE,COLUMN` against the served databases; throws the reference's texts. */
export function parseDbRef(server: OvsdbServer, spec: string, opts: { needString?: boolean; name?: string } = {}): DbRef {
  const body = spec.slice(3);
  const parts = body.split(',');
  const shown = opts.name ?? spec;
  if (parts.length < 3) throw new DbRefError(`"${shown}": invalid syntax`);
  const [db, table, column] = parts;
  const served = server.databases.get(db);
  // A relay or cluster member without a schema yet has nothing to look at: not an error (the reference
  // skips it); the reference is re-read once the database is available.
  if (served === undefined && server.unavailable.has(db)) return { spec, db, table, column };
  if (served === undefined) throw new DbRefError(`"${shown}": no database named ${db}`);
  const t = served.db.schema.tables.get(table);
  if (t === undefined) throw new DbRefError(`"${shown}": no table named ${table}`);
  const c = t.columnsByName.get(column);
  if (c === undefined) throw new DbRefError(`"${shown}": table "${table}" has no column "${column}"`);
  if (opts.needString && (c.type.key.type !== 'string' || c.type.value !== undefined))
    throw new DbRefError(`"${shown}": table "${table}" column "${column}" is not string or set of strings`);
  return { spec, db, table, column };
}

function col(t: TableSchema, name: string): ColumnSchema | undefined {
  const c = t.columnsByName.get(name);
  return c !== undefined && c.index >= 0 ? c : undefined;
}

function scalar(row: Row, c: ColumnSchema | undefined, type: string): Atom | undefined {
  if (c === undefined || c.type.key.type !== type || c.type.value !== undefined) return undefined;
  const d = row.data[c.index];
  return d.keys.length === 1 ? d.keys[0] : undefined;
}

/** The remotes a `db:` reference names right now. */
export function expandRemotes(server: OvsdbServer, ref: DbRef, warn: (msg: string) => void): RemoteConfig[] {
  const served: ServedDatabase | undefined = server.databases.get(ref.db);
  const table = served?.db.tables.get(ref.table);
  const column = table?.schema.columnsByName.get(ref.column);
  if (!served || !table || !column || column.index < 0) return [];
  const out: RemoteConfig[] = [];
  const key = column.type.key;
  if (key.type === 'string' && !column.type.value) {
    for (const row of table.rows.values()) for (const a of row.data[column.index].keys) out.push({ target: a as string });
    return out;
  }
  if (key.type !== 'uuid' || key.refTable === undefined) return out;
  const refTable = served.db.tables.get(key.refTable)!;
  const rs = refTable.schema;
  const cTarget = col(rs, 'target');
  const cBackoff = col(rs, 'max_backoff');
  const cProbe = col(rs, 'inactivity_probe');
  const cReadOnly = col(rs, 'read_only');
  const cRole = col(rs, 'role');
  const cOther = col(rs, 'other_config');
  for (const row of table.rows.values()) {
    for (const u of row.data[column.index].keys) {
      const r = refTable.rows.get(u as string);
      if (r === undefined) continue;
      const target = scalar(r, cTarget, 'string');
      if (typeof target !== 'string') {
        warn(`Table \`${key.refTable}' has missing or invalid \`target' column`);
        continue;
      }
      const cfg: { -readonly [K in keyof RemoteConfig]: RemoteConfig[K] } = {
        target,
        source: { db: ref.db, table: key.refTable, uuid: r.uuid },
      };
      const backoff = scalar(r, cBackoff, 'integer');
      if (backoff !== undefined) cfg.maxBackoff = Number(backoff);
      const probe = scalar(r, cProbe, 'integer');
      if (probe !== undefined) cfg.inactivityProbe = Number(probe);
      const ro = scalar(r, cReadOnly, 'boolean');
      if (ro !== undefined) cfg.readOnly = ro as boolean;
      const role = scalar(r, cRole, 'string');
      if (role !== undefined && role !== '') cfg.role = role as string;
      if (cOther?.type.value?.type === 'string') {
        const d = r.data[cOther.index];
        const i = d.keys.indexOf('dscp');
        if (i >= 0) {
          const v = Number(d.values![i]);
          if (Number.isInteger(v) && v >= 0 && v <= 63) cfg.dscp = v;
        }
      }
      out.push(cfg);
    }
  }
  return out;
}

/** For `--private-key=db:…` and friends: the first non-empty string in the column, or null. */
export function readStringRef(server: OvsdbServer, ref: DbRef): string | null {
  const table = server.databases.get(ref.db)?.db.tables.get(ref.table);
  const c = table?.schema.columnsByName.get(ref.column);
  if (!table || !c || c.index < 0) return null;
  for (const row of table.rows.values()) {
    for (const a of row.data[c.index].keys) if (typeof a === 'string' && a !== '') return a;
  }
  return null;
}
