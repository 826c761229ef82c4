// Shared fixtures for the engine unit tests: a schema with every type the engine distinguishes, and small
// helpers to run transactions and read rows back without _version noise.
import type { JsonObject, JsonValue } from '../../schema/json.ts';
import { createDatabase, execute, transactJson, type Database, type TransactContext } from '../../storage/index.ts';
import { rowToJson } from '../../storage/row.ts';

/** A deterministic uuid for explicit-uuid inserts: u(1) = 00000000-0000-0000-0000-000000000001. */
export const u = (n: number): string => `00000000-0000-0000-0000-${n.toString(16).padStart(12, '0')}`;
export const U = (n: number): JsonValue => ['uuid', u(n)];

export const OPS_SCHEMA: JsonObject = {
  name: 'Ops',
  version: '1.2.3',
  tables: {
    T: {
      isRoot: true,
      columns: {
        i: { type: 'integer' },
        r: { type: 'real' },
        b: { type: 'boolean' },
        s: { type: 'string' },
        u: { type: 'uuid' },
        oi: { type: { key: 'integer', min: 0, max: 1 } },
        or: { type: { key: 'real', min: 0, max: 1 } },
        ob: { type: { key: 'boolean', min: 0, max: 1 } },
        os: { type: { key: 'string', min: 0, max: 1 } },
        ou: { type: { key: 'uuid', min: 0, max: 1 } },
        iset: { type: { key: 'integer', min: 0, max: 'unlimited' } },
        rset: { type: { key: 'real', min: 0, max: 'unlimited' } },
        bset: { type: { key: 'boolean', min: 0, max: 'unlimited' } },
        sset: { type: { key: 'string', min: 0, max: 'unlimited' } },
        uset: { type: { key: 'uuid', min: 0, max: 'unlimited' } },
        i12: { type: { key: 'integer', min: 1, max: 2 } },
        s3: { type: { key: 'string', min: 0, max: 3 } },
        smap: { type: { key: 'string', value: 'string', min: 0, max: 'unlimited' } },
        imap: { type: { key: 'integer', value: 'real', min: 0, max: 'unlimited' } },
        umap: { type: { key: 'uuid', value: 'boolean', min: 0, max: 'unlimited' } },
        map12: { type: { key: 'string', value: 'integer', min: 1, max: 2 } },
        pct: { type: { key: { type: 'integer', minInteger: 0, maxInteger: 100 } } },
        pctset: { type: { key: { type: 'integer', minInteger: 0, maxInteger: 100 }, min: 0, max: 'unlimited' } },
        fixed: { type: 'string', mutable: false },
      },
    },
    E: {
      isRoot: true,
      columns: {
        color: { type: { key: { type: 'string', enum: ['set', ['blue', 'green', 'red']] } } },
      },
    },
  },
};

export const REFS_SCHEMA: JsonObject = {
  name: 'Refs',
  tables: {
    Root: {
      isRoot: true,
      columns: {
        name: { type: 'string' },
        kids: { type: { key: { type: 'uuid', refTable: 'Kid' }, min: 0, max: 'unlimited' } },
        weak: { type: { key: { type: 'uuid', refTable: 'Kid', refType: 'weak' }, min: 0, max: 'unlimited' } },
        wmap: {
          type: { key: 'string', value: { type: 'uuid', refTable: 'Kid', refType: 'weak' }, min: 0, max: 'unlimited' },
        },
      },
    },
    Kid: {
      columns: {
        name: { type: 'string' },
        grand: { type: { key: { type: 'uuid', refTable: 'Grand' }, min: 0, max: 'unlimited' } },
      },
    },
    Grand: { columns: { n: { type: 'integer' } } },
    Holder: {
      isRoot: true,
      columns: {
        w1: { type: { key: { type: 'uuid', refTable: 'Kid', refType: 'weak' }, min: 1, max: 2 } },
      },
    },
    Limited: { isRoot: true, maxRows: 2, columns: { a: { type: 'integer' } } },
    Idx: {
      isRoot: true,
      columns: { k: { type: 'string' }, k2: { type: 'integer' }, v: { type: 'integer' } },
      indexes: [['k'], ['k2', 'v']],
    },
  },
};

export function opsDb(): Database {
  return createDatabase(OPS_SCHEMA);
}
export function refsDb(): Database {
  return createDatabase(REFS_SCHEMA);
}

export function tx(db: Database, ops: JsonValue[], ctx?: TransactContext): JsonValue[] {
  return transactJson(db, ops, ctx);
}

/** Runs a transaction that must fully succeed; returns its results. */
export function ok(db: Database, ops: JsonValue[], ctx?: TransactContext): JsonValue[] {
  const r = transactJson(db, ops, ctx);
  const bad = r.find((x) => x !== null && typeof x === 'object' && !Array.isArray(x) && 'error' in x);
  if (bad !== undefined || r.length !== ops.length) throw new Error(`transaction failed: ${JSON.stringify(r)}`);
  return r;
}

/** The result of a transaction that is expected to stay pending (or finish): the raw outcome. */
export function run(db: Database, ops: JsonValue[], ctx: TransactContext = {}) {
  return execute(db, ops, ctx);
}

/** Rows of a table as JSON over the given columns (default: all user columns plus _uuid), sorted by _uuid. */
export function rows(db: Database, table: string, columns?: string[]): JsonObject[] {
  const t = db.table(table);
  const cols = columns
    ? columns.map((c) => t.schema.columnsByName.get(c)!)
    : [t.schema.columnsByName.get('_uuid')!, ...t.schema.columns];
  return [...t.rows.values()].sort((a, b) => (a.uuid < b.uuid ? -1 : 1)).map((r) => rowToJson(r, cols));
}

/** Everything observable about the database: rows with versions, index and refcount contents. */
export function snapshot(db: Database): JsonValue {
  const out: JsonObject = {};
  for (const [name, t] of db.tables) {
    const cols = [...t.schema.columnsByName.values()];
    out[name] = {
      rows: [...t.rows.values()].sort((a, b) => (a.uuid < b.uuid ? -1 : 1)).map((r) => rowToJson(r, cols)),
      refs: [...t.refCount.entries()].sort().map(([k, v]) => [k, v]),
      indexes: t.indexes.map((m) => [...m.entries()].sort().map(([k, r]) => [k, r.uuid])),
    };
  }
  return out;
}

export const err = (error: string, details?: string, syntax?: string): JsonObject => {
  const o: JsonObject = { error };
  if (details !== undefined) o.details = details;
  if (syntax !== undefined) o.syntax = syntax;
  return o;
};
