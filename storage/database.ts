// The in-memory database: tables of rows, unique indexes, strong reference counts and the reverse map of
// weak references. It changes only through apply(commit), so every consumer (monitors, replication,
// durable storage) sees one change record per commit.
import type { Atom } from '../schema/atom.ts';
import type { Datum } from '../schema/datum.ts';
import type { ColumnSchema, DatabaseSchema, TableSchema } from '../schema/schema.ts';
import { isScalar, isStrongRef, isWeakRef } from '../schema/types.ts';
import { versionUuid, type Row } from './row.ts';

/** One row's change in a commit. `old` null: inserted; `new` null: deleted. */
export interface RowChange {
  readonly table: TableSchema;
  readonly uuid: string;
  readonly old: Row | null;
  readonly new: Row | null;
}

/** Everything a commit changed, in one record for monitors, replication and storage. */
export interface Commit {
  /** Per table (only tables with changes), the changed rows. */
  readonly tables: ReadonlyMap<string, ReadonlyMap<string, RowChange>>;
  /** Joined `comment` operations ("" if none). */
  readonly comment: string;
  readonly durable: boolean;
  /** Strong reference count deltas to apply: table name → uuid → delta. */
  readonly refDeltas: ReadonlyMap<string, ReadonlyMap<string, number>>;
}

export function commitIsEmpty(c: Commit): boolean {
  return c.tables.size === 0;
}

/** A canonical text key for a row's values in some columns (unique index lookups, wait projections). */
export function valuesKey(
  data: readonly Datum[],
  columns: readonly ColumnSchema[],
  row?: { readonly uuid: string; readonly version: number | string },
): string {
  let k = '';
  for (const c of columns) {
    const d: Datum | undefined = c.index >= 0 ? data[c.index] : undefined;
    k += '|';
    if (d === undefined) {
      const v = row?.version ?? '';
      k += c.name === '_uuid' ? row?.uuid ?? '' : typeof v === 'number' ? versionUuid(v) : v;
      continue;
    }
    k += atomsKey(d.keys);
    if (d.values) k += '=' + atomsKey(d.values);
  }
  return k;
}

/**
 * The key of a row in a unique index. A one-column index over a scalar column uses the atom itself (no
 * string is built, and the Map shares the row's own string); wider indexes use valuesKey().
 */
export function indexKey(data: readonly Datum[], columns: readonly ColumnSchema[], row: Row): Atom {
  if (columns.length === 1) {
    const c = columns[0];
    const t = c.type;
    if (c.index >= 0 && isScalar(t)) return data[c.index].keys[0];
  }
  return valuesKey(data, columns, row);
}

function atomsKey(atoms: readonly Atom[]): string {
  let k = '';
  for (const a of atoms) k += typeof a === 'string' ? JSON.stringify(a) + ',' : String(a) + ',';
  return k;
}

export class Table {
  readonly rows = new Map<string, Row>();
  /** Parallel to schema.indexes: indexKey() → row. */
  readonly indexes: Map<Atom, Row>[];
  /** Strong references to each row of this table from other rows (self-references excluded). */
  readonly refCount = new Map<string, number>();
  /** Weak references to rows of this table: target uuid → referring (table, uuid) → count. */
  readonly weakReferrers = new Map<string, Map<string, { table: string; n: number }>>();

  constructor(readonly schema: TableSchema) {
    this.indexes = schema.indexes.map(() => new Map());
  }

  refs(uuid: string): number {
    return this.refCount.get(uuid) ?? 0;
  }
}

/** Columns that reference other tables, computed once per table schema. */
export interface RefColumn {
  readonly column: ColumnSchema;
  readonly keyRef?: string;
  readonly valueRef?: string;
}

const strongCols = new WeakMap<TableSchema, RefColumn[]>();
const weakCols = new WeakMap<TableSchema, RefColumn[]>();

function refColumns(t: TableSchema, weak: boolean): RefColumn[] {
  const cache = weak ? weakCols : strongCols;
  let r = cache.get(t);
  if (r === undefined) {
    const test = weak ? isWeakRef : isStrongRef;
    r = [];
    for (const c of t.columns) {
      const keyRef = test(c.type.key) ? c.type.key.refTable : undefined;
      const valueRef = test(c.type.value) ? c.type.value!.refTable : undefined;
      if (keyRef || valueRef) r.push({ column: c, keyRef, valueRef });
    }
    cache.set(t, r);
  }
  return r;
}
export const strongRefColumns = (t: TableSchema): RefColumn[] => refColumns(t, false);
export const weakRefColumns = (t: TableSchema): RefColumn[] => refColumns(t, true);

/** Calls fn(targetTable, targetUuid) for every reference the row holds through `cols`. */
export function forEachRef(row: Row, cols: readonly RefColumn[], fn: (table: string, uuid: string, col: RefColumn) => void): void {
  for (const rc of cols) {
    const d = row.data[rc.column.index];
    if (rc.keyRef) for (const a of d.keys) fn(rc.keyRef, a as string, rc);
    if (rc.valueRef && d.values) for (const a of d.values) fn(rc.valueRef, a as string, rc);
  }
}

/** True if any of `cols` holds an element in the row (a reference, whatever its target). */
export function holdsRefs(row: Row, cols: readonly RefColumn[]): boolean {
  for (let c = 0; c < cols.length; c++) if (row.data[cols[c].column.index].keys.length > 0) return true;
  return false;
}

export type CommitListener = (commit: Commit) => void;

/**
 * A row's atoms as the reference counts them (memory/show `atoms`, its history bound): one each for _uuid
 * and _version, then every key and every map value.
 */
export function rowAtoms(row: Row): number {
  let n = 2;
  const data = row.data;
  for (let i = 0; i < data.length; i++) {
    const d = data[i];
    n += d.keys.length;
    if (d.values !== undefined) n += d.values.length;
  }
  return n;
}

export class Database {
  readonly tables = new Map<string, Table>();
  private readonly listeners = new Set<CommitListener>();
  /** Atoms of every row (see rowAtoms), kept up to date by apply(). */
  atoms = 0;

  constructor(readonly schema: DatabaseSchema) {
    for (const t of schema.tables.values()) this.tables.set(t.name, new Table(t));
  }

  get name(): string {
    return this.schema.name;
  }

  table(name: string): Table {
    const t = this.tables.get(name);
    if (t === undefined) throw new Error(`no table ${name}`);
    return t;
  }

  onCommit(fn: CommitListener): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  /** Applies a prepared commit (it was fully checked) and tells the listeners. Never fails. */
  apply(commit: Commit): void {
    if (commitIsEmpty(commit)) return;
    for (const [tname, changes] of commit.tables) {
      const table = this.table(tname);
      const hasWeak = weakRefColumns(table.schema).length > 0;
      for (const ch of changes.values()) {
        if (ch.old && ch.new) {
          // Modified: keys that did not change are overwritten in place (deleting and re-adding the same
          // key over and over slows V8's Maps down), and weak links move only if a weak column changed.
          const od = ch.old.data;
          const nd = ch.new.data;
          for (let i = 0; i < nd.length; i++) {
            if (od[i] === nd[i]) continue;
            this.atoms += nd[i].keys.length - od[i].keys.length;
            this.atoms += (nd[i].values?.length ?? 0) - (od[i].values?.length ?? 0);
          }
          table.rows.set(ch.uuid, ch.new);
          this.reindex(table, ch.old, ch.new);
          if (hasWeak && weakRefColumns(table.schema).some((rc) => ch.old!.data[rc.column.index] !== ch.new!.data[rc.column.index])) {
            this.unlinkWeak(ch.old, table);
            this.linkWeak(ch.new, table);
          }
          continue;
        }
        if (ch.old) {
          this.atoms -= rowAtoms(ch.old);
          this.unindex(table, ch.old);
          if (hasWeak && holdsRefs(ch.old, weakRefColumns(table.schema))) this.unlinkWeak(ch.old, table);
        }
        if (ch.new) {
          this.atoms += rowAtoms(ch.new);
          table.rows.set(ch.uuid, ch.new);
          this.index(table, ch.new);
          if (hasWeak && holdsRefs(ch.new, weakRefColumns(table.schema))) this.linkWeak(ch.new, table);
        } else {
          table.rows.delete(ch.uuid);
          table.refCount.delete(ch.uuid);
        }
      }
    }
    for (const [tname, deltas] of commit.refDeltas) {
      const table = this.table(tname);
      const changes = commit.tables.get(tname);
      deltas.forEach((delta, uuid) => {
        // Only rows that exist now keep a count; a changed row's fate is in the commit (no lookup in a
        // possibly large table).
        const ch = changes?.get(uuid);
        if (ch !== undefined ? ch.new === null : !table.rows.has(uuid)) return;
        // A row inserted by this commit has no count yet (counts exist only for rows in the table).
        const n = (ch !== undefined && ch.old === null ? 0 : table.refs(uuid)) + delta;
        if (n > 0) table.refCount.set(uuid, n);
        else table.refCount.delete(uuid);
      });
    }
    for (const fn of this.listeners) fn(commit);
  }

  private index(table: Table, row: Row): void {
    const idx = table.schema.indexes;
    for (let i = 0; i < idx.length; i++) table.indexes[i].set(indexKey(row.data, idx[i], row), row);
  }

  private reindex(table: Table, old: Row, next: Row): void {
    const idx = table.schema.indexes;
    for (let i = 0; i < idx.length; i++) {
      const ko = indexKey(old.data, idx[i], old);
      const kn = indexKey(next.data, idx[i], next);
      const map = table.indexes[i];
      if (ko !== kn && map.get(ko)?.uuid === old.uuid) map.delete(ko);
      map.set(kn, next);
    }
  }

  private unindex(table: Table, row: Row): void {
    const idx = table.schema.indexes;
    for (let i = 0; i < idx.length; i++) {
      const k = indexKey(row.data, idx[i], row);
      if (table.indexes[i].get(k)?.uuid === row.uuid) table.indexes[i].delete(k);
    }
  }

  private linkWeak(row: Row, table: Table): void {
    forEachRef(row, weakRefColumns(table.schema), (dstTable, dst) => {
      const dt = this.tables.get(dstTable)!;
      let m = dt.weakReferrers.get(dst);
      if (m === undefined) dt.weakReferrers.set(dst, (m = new Map()));
      const e = m.get(row.uuid);
      if (e) e.n++;
      else m.set(row.uuid, { table: table.schema.name, n: 1 });
    });
  }

  private unlinkWeak(row: Row, table: Table): void {
    forEachRef(row, weakRefColumns(table.schema), (dstTable, dst) => {
      const dt = this.tables.get(dstTable)!;
      const m = dt.weakReferrers.get(dst);
      const e = m?.get(row.uuid);
      if (!m || !e) return;
      if (--e.n === 0) {
        m.delete(row.uuid);
        if (m.size === 0) dt.weakReferrers.delete(dst);
      }
    });
  }
}
